package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
	"github.com/fedihook/webhook/sqlitestore"
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
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/notes/create", s.createNote)
	mux.HandleFunc("POST /api/notes/reactions/create", s.react)
	mux.HandleFunc("POST /api/following/create", s.follow)
	mux.HandleFunc("POST /api/following/delete", s.unfollow)
	mux.HandleFunc("POST /api/i/webhooks/create", s.createWebhook)
	mux.HandleFunc("POST /api/i/webhooks/list", s.listWebhooks)
	return mux
}

type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		writeJSON(w, ae.status, map[string]string{"error": ae.msg})
	case errors.Is(err, webhook.ErrInvalid), errors.Is(err, webhook.ErrUnknownEvent):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
	case errors.Is(err, webhook.ErrTooManyWebhooks):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "TOO_MANY_WEBHOOKS"})
	default:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
	}
}

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &apiError{http.StatusBadRequest, "bad JSON: " + err.Error()}
	}
	return nil
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
		return nil, &apiError{http.StatusBadRequest, fmt.Sprintf("no user %q", id)}
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
		return nil, &apiError{http.StatusBadRequest, fmt.Sprintf("no note %q", id)}
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

// createNote stores a note and emits, as Misskey does, note for its
// author, reply for the author of the note it replies to, renote for the
// author of the note it renotes or quotes (unless they renote
// themselves), and mention for each local user it mentions, all in the
// note's transaction. Each body holds the note with its parents.
func (s *server) createNote(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserID   string `json:"userId"`
		Text     string `json:"text"`
		ReplyID  string `json:"replyId,omitempty"`
		RenoteID string `json:"renoteId,omitempty"`
	}
	if err := decode(r, &in); err != nil {
		writeErr(w, err)
		return
	}
	if strings.TrimSpace(in.Text) == "" && in.RenoteID == "" {
		writeErr(w, &apiError{http.StatusBadRequest, "text must not be empty"})
		return
	}
	ctx := r.Context()
	now := time.Now()
	var note *misskey.Note
	err := s.inTx(ctx, func(tx *sql.Tx, out webhook.Outbox) error {
		author, err := s.user(ctx, tx, in.UserID)
		if err != nil {
			return err
		}
		id := webhook.NewID(now)
		if _, err := tx.ExecContext(ctx, `INSERT INTO notes (id, user_id, text, reply_id, renote_id, created_at)
			VALUES (?, ?, ?, NULLIF(?, ''), NULLIF(?, ''), ?)`,
			id, author.ID, in.Text, in.ReplyID, in.RenoteID, now.UnixMilli()); err != nil {
			if strings.Contains(err.Error(), "FOREIGN KEY") {
				return &apiError{http.StatusBadRequest, "no such note to reply to or renote"}
			}
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
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"createdNote": note})
}

// react stores a reaction and emits reaction for the note's author (not
// for their own reactions), with the note and who reacted.
func (s *server) react(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserID   string `json:"userId"`
		NoteID   string `json:"noteId"`
		Reaction string `json:"reaction"`
	}
	if err := decode(r, &in); err != nil {
		writeErr(w, err)
		return
	}
	if in.Reaction == "" {
		writeErr(w, &apiError{http.StatusBadRequest, "reaction must not be empty"})
		return
	}
	ctx := r.Context()
	err := s.inTx(ctx, func(tx *sql.Tx, out webhook.Outbox) error {
		reactor, err := s.user(ctx, tx, in.UserID)
		if err != nil {
			return err
		}
		if _, err := s.note(ctx, tx, in.NoteID, false); err != nil {
			return err
		}
		id := webhook.NewID(time.Now())
		if _, err := tx.ExecContext(ctx, `INSERT INTO reactions (id, note_id, user_id, reaction) VALUES (?, ?, ?, ?)`,
			id, in.NoteID, reactor.ID, in.Reaction); err != nil {
			return &apiError{http.StatusConflict, "ALREADY_REACTED"}
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
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

// follow stores a follow and emits follow for the follower (the followee,
// detailed, as the follower sees them) and followed for the followee (the
// follower, lite).
func (s *server) follow(w http.ResponseWriter, r *http.Request) {
	var in struct {
		FollowerID string `json:"followerId"`
		UserID     string `json:"userId"` // the followee, as Misskey's following/create
	}
	if err := decode(r, &in); err != nil {
		writeErr(w, err)
		return
	}
	ctx := r.Context()
	err := s.inTx(ctx, func(tx *sql.Tx, out webhook.Outbox) error {
		follower, err := s.user(ctx, tx, in.FollowerID)
		if err != nil {
			return err
		}
		if _, err := s.user(ctx, tx, in.UserID); err != nil {
			return err
		}
		if follower.ID == in.UserID {
			return &apiError{http.StatusBadRequest, "cannot follow yourself"}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO follows (follower_id, followee_id) VALUES (?, ?)`, follower.ID, in.UserID); err != nil {
			return &apiError{http.StatusConflict, "ALREADY_FOLLOWING"}
		}
		followee, err := s.detailedUser(ctx, tx, in.UserID, follower.ID)
		if err != nil {
			return err
		}
		if err := s.d.EmitVia(ctx, out, follower.ID, webhook.EventFollow, misskey.UserBody{User: followee}); err != nil {
			return err
		}
		return s.d.EmitVia(ctx, out, followee.ID, webhook.EventFollowed, misskey.UserBody{User: follower})
	})
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

// unfollow deletes a follow and emits unfollow for the follower, with the
// former followee detailed as the follower now sees them.
func (s *server) unfollow(w http.ResponseWriter, r *http.Request) {
	var in struct {
		FollowerID string `json:"followerId"`
		UserID     string `json:"userId"` // the followee, as Misskey's following/delete
	}
	if err := decode(r, &in); err != nil {
		writeErr(w, err)
		return
	}
	ctx := r.Context()
	err := s.inTx(ctx, func(tx *sql.Tx, out webhook.Outbox) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM follows WHERE follower_id = ? AND followee_id = ?`, in.FollowerID, in.UserID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return &apiError{http.StatusBadRequest, "NOT_FOLLOWING"}
		}
		followee, err := s.detailedUser(ctx, tx, in.UserID, in.FollowerID)
		if err != nil {
			return err
		}
		return s.d.EmitVia(ctx, out, in.FollowerID, webhook.EventUnfollow, misskey.UserBody{User: followee})
	})
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

// createWebhook is Misskey's i/webhooks/create, with the user given in the
// body instead of by a session.
func (s *server) createWebhook(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserID        string          `json:"userId"`
		Name          string          `json:"name"`
		URL           string          `json:"url"`
		Secret        string          `json:"secret"`
		On            []webhook.Event `json:"on"`
		SigningSecret string          `json:"signingSecret,omitempty"`
	}
	if err := decode(r, &in); err != nil {
		writeErr(w, err)
		return
	}
	if _, err := s.user(r.Context(), s.db, in.UserID); err != nil {
		writeErr(w, err)
		return
	}
	hook, err := s.d.CreateHook(r.Context(), &webhook.Webhook{UserID: in.UserID, Name: in.Name, URL: in.URL,
		Secret: in.Secret, On: in.On, Active: true, SigningSecret: in.SigningSecret})
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, hook)
}

// listWebhooks is Misskey's i/webhooks/list.
func (s *server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserID string `json:"userId"`
	}
	if err := decode(r, &in); err != nil {
		writeErr(w, err)
		return
	}
	hooks, err := s.d.ListHooks(r.Context(), in.UserID)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, hooks)
}
