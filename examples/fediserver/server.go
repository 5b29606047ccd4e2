package main

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
	"github.com/fedihook/webhook/misskeyapi"
	"github.com/fedihook/webhook/sqlitestore"
	"github.com/fedihook/webhook/webui"
)

// schema holds the example server's own tables, beside the webhook
// store's (whose names all start with "webhook_").
const schema = `
CREATE TABLE IF NOT EXISTS users (
	id       TEXT PRIMARY KEY,
	username TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS notes (
	id         TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users(id),
	text       TEXT NOT NULL, -- '' for a pure renote
	reply_id   TEXT REFERENCES notes(id),
	created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS follows (
	follower_id TEXT NOT NULL REFERENCES users(id),
	followee_id TEXT NOT NULL REFERENCES users(id),
	PRIMARY KEY (follower_id, followee_id)
);
CREATE TABLE IF NOT EXISTS reactions (
	id       TEXT PRIMARY KEY,
	note_id  TEXT NOT NULL REFERENCES notes(id),
	user_id  TEXT NOT NULL REFERENCES users(id),
	reaction TEXT NOT NULL,
	UNIQUE (note_id, user_id)
);
INSERT OR IGNORE INTO users (id, username) VALUES ('9alice', 'alice'), ('9bob', 'bob'), ('9carol', 'carol');
`

// migrations are the columns added since the first version of schema,
// for databases made by it.
var migrations = []struct{ table, column, ddl string }{
	{"notes", "renote_id", `ALTER TABLE notes ADD COLUMN renote_id TEXT REFERENCES notes(id)`},
}

// migrate creates the tables and adds the columns they lack.
func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return err
	}
	for _, m := range migrations {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info(?) WHERE name = ?`, m.table, m.column).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			if _, err := db.ExecContext(ctx, m.ddl); err != nil {
				return err
			}
		}
	}
	return nil
}

// server is a tiny fediverse server: users post notes and follow each
// other, and every change emits its webhooks in the same transaction.
type server struct {
	db    *sql.DB
	store *sqlitestore.Store
	d     *webhook.Dispatcher
	host  string
	api   *misskeyapi.Handler
	// settings are the webhook pages for browsers signed in through
	// sessions (settings.go).
	settings *webui.Handler
	sessions *sessions
}

// routes serves Misskey's API at /api/: the webhook endpoints, meta and
// users/show from misskeyapi, and the server's own endpoints through the
// same handler, so that all take the credential ("i" or a Bearer token)
// and answer errors as Misskey does.
func (s *server) routes() http.Handler {
	cred := misskeyapi.EndpointOptions{RequireCredential: true}
	s.api.Handle("notes/create", cred, s.createNote)
	s.api.Handle("notes/reactions/create", cred, s.react)
	s.api.Handle("following/create", cred, s.follow)
	s.api.Handle("following/delete", cred, s.unfollow)
	mux := http.NewServeMux()
	mux.Handle("/api/", s.api)
	s.settingsRoutes(mux)
	return mux
}

// Misskey's errors of the endpoints above, with its ids.
var (
	errNoSuchReplyTarget  = apiError("No such reply target.", "NO_SUCH_REPLY_TARGET", "749ee0f6-d3da-459a-bf02-282e2da4292c")
	errNoSuchRenoteTarget = apiError("No such renote target.", "NO_SUCH_RENOTE_TARGET", "b5c90186-4ab0-49c8-9bba-a1f76c282ba4")
	errNoSuchNote         = apiError("No such note.", "NO_SUCH_NOTE", "033d0620-5bfe-4027-965d-980b0c85a3ea")
	errAlreadyReacted     = apiError("You are already reacting to that note.", "ALREADY_REACTED", "71efcf98-86d6-4e2b-b2ad-9d032369366b")
	errFollowNoSuchUser   = apiError("No such user.", "NO_SUCH_USER", "fcd2eef9-a9b2-4c4f-8624-038099e90aa5")
	errFolloweeIsYourself = apiError("Followee is yourself.", "FOLLOWEE_IS_YOURSELF", "26fbe7bb-a331-4857-af17-205b426669a9")
	errAlreadyFollowing   = apiError("You are already following that user.", "ALREADY_FOLLOWING", "35387507-38c7-4cb9-9197-300b93783fa0")
	errUnfollowNoSuchUser = apiError("No such user.", "NO_SUCH_USER", "5b12c78d-2b28-4dca-99d2-f56139b42ff8")
	errUnfollowYourself   = apiError("Followee is yourself.", "FOLLOWEE_IS_YOURSELF", "d9e400b9-36b0-4808-b1d8-79e707f1296c")
	errNotFollowing       = apiError("You are not following that user.", "NOT_FOLLOWING", "5dbf82f5-c92b-40b1-87d1-6c8c0741fd09")
)

func apiError(message, code, id string) *misskeyapi.Error {
	return &misskeyapi.Error{Status: http.StatusBadRequest, Message: message, Code: code, ID: id, Kind: "client"}
}

// errNoUser and errNoNote are returned by user and note for IDs that do
// not exist; each endpoint answers them with its own Misskey error.
var (
	errNoUser = errors.New("fediserver: no such user")
	errNoNote = errors.New("fediserver: no such note")
)

// or returns apiErr when err is want, else err.
func or(err, want error, apiErr *misskeyapi.Error) error {
	if errors.Is(err, want) {
		return apiErr
	}
	return err
}

// inTx runs fn in a transaction that commits only if fn succeeds: the
// webhooks fn emits through out are enqueued if and only if it commits.
func (s *server) inTx(ctx context.Context, fn func(tx *sql.Tx, out webhook.Outbox) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx, s.store.InTx(tx)); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.d.Notify() // the deliveries are committed: wake the workers now
	return nil
}

// usersCreatedAt is when the seeded users signed up.
var usersCreatedAt = time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC)

// querier is what both *sql.DB and *sql.Tx offer for reads.
type querier interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}

func (s *server) user(ctx context.Context, q querier, id string) (*misskey.User, error) {
	var username string
	err := q.QueryRowContext(ctx, `SELECT username FROM users WHERE id = ?`, id).Scan(&username)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoUser
	}
	if err != nil {
		return nil, err
	}
	return &misskey.User{ID: id, Username: username, AvatarURL: "https://" + s.host + "/avatar/" + id,
		OnlineStatus: misskey.OnlineStatusUnknown}, nil
}

// detailedUser returns user id as viewer sees it, as Misskey packs the
// other party of follow and unfollow webhooks: with the profile and the
// viewer's relation to the user.
func (s *server) detailedUser(ctx context.Context, q querier, id, viewer string) (*misskey.UserDetailed, error) {
	u, err := s.user(ctx, q, id)
	if err != nil {
		return nil, err
	}
	var followers, following, notes int
	var isFollowing, isFollowed bool
	err = q.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM follows WHERE followee_id = ?1),
		(SELECT count(*) FROM follows WHERE follower_id = ?1),
		(SELECT count(*) FROM notes WHERE user_id = ?1),
		EXISTS (SELECT 1 FROM follows WHERE follower_id = ?2 AND followee_id = ?1),
		EXISTS (SELECT 1 FROM follows WHERE follower_id = ?1 AND followee_id = ?2)`, id, viewer).
		Scan(&followers, &following, &notes, &isFollowing, &isFollowed)
	if err != nil {
		return nil, err
	}
	return &misskey.UserDetailed{User: *u, CreatedAt: misskey.Time(usersCreatedAt),
		FollowersCount: followers, FollowingCount: following, NotesCount: notes,
		FollowersVisibility: misskey.FollowVisibilityPublic, FollowingVisibility: misskey.FollowVisibilityPublic,
		ChatScope: misskey.ChatScopeMutual, PublicReactions: true,
		Relation: &misskey.UserRelation{IsFollowing: isFollowing, IsFollowed: isFollowed, Notify: misskey.FollowNotifyNone},
	}, nil
}

// note loads note id as Misskey packs it for webhooks: with its counts and
// reactions, and with its parents (the note it replies to, without
// parents of its own, and the note it renotes, with), which receivers
// show beside it.
func (s *server) note(ctx context.Context, q querier, id string, withParents bool) (*misskey.Note, error) {
	var userID, text string
	var replyID, renoteID sql.NullString
	var createdAt int64
	err := q.QueryRowContext(ctx, `SELECT user_id, text, reply_id, renote_id, created_at FROM notes WHERE id = ?`, id).
		Scan(&userID, &text, &replyID, &renoteID, &createdAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoNote
	}
	if err != nil {
		return nil, err
	}
	author, err := s.user(ctx, q, userID)
	if err != nil {
		return nil, err
	}
	n := &misskey.Note{ID: id, CreatedAt: misskey.Time(time.UnixMilli(createdAt)), User: *author,
		Visibility: misskey.VisibilityPublic, ReplyID: replyID.String, RenoteID: renoteID.String,
		Reactions: map[string]int{}}
	if text != "" {
		n.Text = &text
	}
	if err := q.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM notes WHERE reply_id = ?1),
		(SELECT count(*) FROM notes WHERE renote_id = ?1)`, id).Scan(&n.RepliesCount, &n.RenoteCount); err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT reaction, count(*) FROM reactions WHERE note_id = ? GROUP BY reaction`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var r string
		var c int
		if err := rows.Scan(&r, &c); err != nil {
			return nil, err
		}
		n.Reactions[r] = c
		n.ReactionCount += c
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	n.Mentions = s.mentions(ctx, q, text)
	if !withParents {
		return n, nil
	}
	if n.ReplyID != "" {
		if n.Reply, err = s.note(ctx, q, n.ReplyID, false); err != nil {
			return nil, err
		}
	}
	if n.RenoteID != "" {
		if n.Renote, err = s.note(ctx, q, n.RenoteID, true); err != nil {
			return nil, err
		}
	}
	return n, nil
}

var mentionRE = regexp.MustCompile(`@([a-z0-9_]+)`)

// mentions returns the IDs of the local users text mentions, once each.
func (s *server) mentions(ctx context.Context, q querier, text string) []string {
	var ids []string
	for _, m := range mentionRE.FindAllStringSubmatch(text, -1) {
		var id string
		if err := q.QueryRowContext(ctx, `SELECT id FROM users WHERE username = ?`, m[1]).Scan(&id); err != nil {
			continue // not a local user
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// createNote is Misskey's notes/create {i, text?, replyId?, renoteId?}:
// it stores a note by the caller and emits, as Misskey does, note for its
// author, reply for the author of the note it replies to, renote for the
// author of the note it renotes or quotes (unless they renote
// themselves), and mention for each local user it mentions, all in the
// note's transaction. Each body holds the note with its parents.
func (s *server) createNote(ctx context.Context, c *misskeyapi.Call) (any, error) {
	var in struct {
		Text     string `json:"text"`
		ReplyID  string `json:"replyId"`
		RenoteID string `json:"renoteId"`
	}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Text) == "" && in.RenoteID == "" {
		return nil, misskeyapi.InvalidParam("#/anyOf", "must have text or renoteId")
	}
	now := time.Now()
	var note *misskey.Note
	err := s.inTx(ctx, func(tx *sql.Tx, out webhook.Outbox) error {
		author, err := s.user(ctx, tx, c.Account.UserID)
		if err != nil {
			return err
		}
		if in.ReplyID != "" {
			if _, err := s.note(ctx, tx, in.ReplyID, false); err != nil {
				return or(err, errNoNote, errNoSuchReplyTarget)
			}
		}
		if in.RenoteID != "" {
			if _, err := s.note(ctx, tx, in.RenoteID, false); err != nil {
				return or(err, errNoNote, errNoSuchRenoteTarget)
			}
		}
		id := webhook.NewID(now)
		if _, err := tx.ExecContext(ctx, `INSERT INTO notes (id, user_id, text, reply_id, renote_id, created_at)
			VALUES (?, ?, ?, NULLIF(?, ''), NULLIF(?, ''), ?)`,
			id, author.ID, in.Text, in.ReplyID, in.RenoteID, now.UnixMilli()); err != nil {
			return err
		}
		if note, err = s.note(ctx, tx, id, true); err != nil {
			return err
		}
		body := misskey.NoteBody{Note: note}
		if err := s.d.EmitVia(ctx, out, author.ID, webhook.EventNote, body); err != nil {
			return err
		}
		if p := note.Reply; p != nil && p.User.ID != author.ID {
			if err := s.d.EmitVia(ctx, out, p.User.ID, webhook.EventReply, body); err != nil {
				return err
			}
		}
		if p := note.Renote; p != nil && p.User.ID != author.ID {
			if err := s.d.EmitVia(ctx, out, p.User.ID, webhook.EventRenote, body); err != nil {
				return err
			}
		}
		for _, id := range note.Mentions {
			if err := s.d.EmitVia(ctx, out, id, webhook.EventMention, body); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"createdNote": note}, nil
}

// react is Misskey's notes/reactions/create {i, noteId, reaction}: it
// stores the caller's reaction and emits reaction for the note's author
// (not for their own reactions), with the note and who reacted. Like
// Misskey's, it answers 204.
func (s *server) react(ctx context.Context, c *misskeyapi.Call) (any, error) {
	var in struct {
		NoteID   string `json:"noteId"`
		Reaction string `json:"reaction"`
	}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	if in.Reaction == "" {
		return nil, misskeyapi.InvalidParam("#/required", "must have required property 'reaction'")
	}
	err := s.inTx(ctx, func(tx *sql.Tx, out webhook.Outbox) error {
		reactor, err := s.user(ctx, tx, c.Account.UserID)
		if err != nil {
			return err
		}
		if _, err := s.note(ctx, tx, in.NoteID, false); err != nil {
			return or(err, errNoNote, errNoSuchNote)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM reactions WHERE note_id = ? AND user_id = ?`,
			in.NoteID, reactor.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return errAlreadyReacted
		}
		id := webhook.NewID(time.Now())
		if _, err := tx.ExecContext(ctx, `INSERT INTO reactions (id, note_id, user_id, reaction) VALUES (?, ?, ?, ?)`,
			id, in.NoteID, reactor.ID, in.Reaction); err != nil {
			return err
		}
		note, err := s.note(ctx, tx, in.NoteID, true) // with the reaction counted
		if err != nil {
			return err
		}
		if note.User.ID == reactor.ID {
			return nil
		}
		return s.d.EmitVia(ctx, out, note.User.ID, webhook.EventReaction, misskey.ReactionBody{
			Note: note, Reaction: misskey.Reaction{ID: id, User: *reactor, Reaction: in.Reaction}})
	})
	return nil, err
}

// follow is Misskey's following/create {i, userId}: the caller follows
// userId. It emits follow for the follower (the followee, detailed, as
// the follower sees them) and followed for the followee (the follower,
// lite), and answers the followee, lite, as Misskey does.
func (s *server) follow(ctx context.Context, c *misskeyapi.Call) (any, error) {
	var in struct {
		UserID string `json:"userId"` // the followee
	}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	var followee *misskey.UserDetailed
	err := s.inTx(ctx, func(tx *sql.Tx, out webhook.Outbox) error {
		follower, err := s.user(ctx, tx, c.Account.UserID)
		if err != nil {
			return err
		}
		if follower.ID == in.UserID {
			return errFolloweeIsYourself
		}
		if _, err := s.user(ctx, tx, in.UserID); err != nil {
			return or(err, errNoUser, errFollowNoSuchUser)
		}
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO follows (follower_id, followee_id) VALUES (?, ?)`, follower.ID, in.UserID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errAlreadyFollowing
		}
		if followee, err = s.detailedUser(ctx, tx, in.UserID, follower.ID); err != nil {
			return err
		}
		if err := s.d.EmitVia(ctx, out, follower.ID, webhook.EventFollow, misskey.UserBody{User: followee}); err != nil {
			return err
		}
		return s.d.EmitVia(ctx, out, followee.ID, webhook.EventFollowed, misskey.UserBody{User: follower})
	})
	if err != nil {
		return nil, err
	}
	return followee.User, nil
}

// unfollow is Misskey's following/delete {i, userId}: the caller stops
// following userId. It emits unfollow for the follower, with the former
// followee detailed as the follower now sees them, and answers the
// followee, lite.
func (s *server) unfollow(ctx context.Context, c *misskeyapi.Call) (any, error) {
	var in struct {
		UserID string `json:"userId"` // the followee
	}
	if err := c.Decode(&in); err != nil {
		return nil, err
	}
	follower := c.Account.UserID
	var followee *misskey.UserDetailed
	err := s.inTx(ctx, func(tx *sql.Tx, out webhook.Outbox) error {
		if follower == in.UserID {
			return errUnfollowYourself
		}
		if _, err := s.user(ctx, tx, in.UserID); err != nil {
			return or(err, errNoUser, errUnfollowNoSuchUser)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM follows WHERE follower_id = ? AND followee_id = ?`, follower, in.UserID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errNotFollowing
		}
		if followee, err = s.detailedUser(ctx, tx, in.UserID, follower); err != nil {
			return err
		}
		return s.d.EmitVia(ctx, out, follower, webhook.EventUnfollow, misskey.UserBody{User: followee})
	})
	if err != nil {
		return nil, err
	}
	return followee.User, nil
}

// lookupUser serves users/show, which receivers call back: a local user
// by ID or username, detailed as a visitor sees them.
func (s *server) lookupUser(ctx context.Context, q misskeyapi.UserQuery) (*misskey.UserDetailed, error) {
	if q.Host != "" {
		return nil, misskeyapi.ErrUserNotFound // no remote users here
	}
	id := q.ID
	if id == "" {
		err := s.db.QueryRowContext(ctx, `SELECT id FROM users WHERE username = ?`, strings.ToLower(q.Username)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, misskeyapi.ErrUserNotFound
		}
		if err != nil {
			return nil, err
		}
	}
	u, err := s.detailedUser(ctx, s.db, id, "")
	if errors.Is(err, errNoUser) {
		return nil, misskeyapi.ErrUserNotFound
	}
	if err != nil {
		return nil, err
	}
	u.Relation = nil // no viewer
	return u, nil
}
