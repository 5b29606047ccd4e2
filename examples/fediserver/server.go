package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
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
	text       TEXT NOT NULL,
	reply_id   TEXT REFERENCES notes(id),
	created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS follows (
	follower_id TEXT NOT NULL REFERENCES users(id),
	followee_id TEXT NOT NULL REFERENCES users(id),
	PRIMARY KEY (follower_id, followee_id)
);
INSERT OR IGNORE INTO users (id, username) VALUES ('9alice', 'alice'), ('9bob', 'bob'), ('9carol', 'carol');
`

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
	mux.HandleFunc("POST /api/following/create", s.follow)
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

func (s *server) user(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id string) (*misskey.User, error) {
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

var mentionRE = regexp.MustCompile(`@([a-z0-9_]+)`)

// createNote stores a note and emits note for its author, reply for the
// author of the note it replies to, and mention for each local user it
// mentions, all in the note's transaction.
func (s *server) createNote(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserID  string `json:"userId"`
		Text    string `json:"text"`
		ReplyID string `json:"replyId,omitempty"`
	}
	if err := decode(r, &in); err != nil {
		writeErr(w, err)
		return
	}
	if strings.TrimSpace(in.Text) == "" {
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
		text := in.Text
		note = &misskey.Note{ID: webhook.NewID(now), CreatedAt: misskey.Time(now), Text: &text, UserID: author.ID,
			User: *author, Visibility: misskey.VisibilityPublic}
		var replyTo string
		if in.ReplyID != "" {
			if err := tx.QueryRowContext(ctx, `SELECT user_id FROM notes WHERE id = ?`, in.ReplyID).Scan(&replyTo); err != nil {
				return &apiError{http.StatusBadRequest, fmt.Sprintf("no note %q to reply to", in.ReplyID)}
			}
			note.ReplyID = in.ReplyID
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO notes (id, user_id, text, reply_id, created_at) VALUES (?, ?, ?, NULLIF(?, ''), ?)`,
			note.ID, author.ID, text, in.ReplyID, now.UnixMilli()); err != nil {
			return err
		}
		body := misskey.NoteBody{Note: note}
		if err := s.d.EmitVia(ctx, out, author.ID, webhook.EventNote, body); err != nil {
			return err
		}
		if replyTo != "" && replyTo != author.ID {
			if err := s.d.EmitVia(ctx, out, replyTo, webhook.EventReply, body); err != nil {
				return err
			}
		}
		for _, m := range mentionRE.FindAllStringSubmatch(text, -1) {
			var id string
			if err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE username = ?`, m[1]).Scan(&id); err != nil {
				continue // not a local user
			}
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

// follow stores a follow and emits follow for the follower (the followee,
// detailed) and followed for the followee (the follower, lite).
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
		followee, err := s.user(ctx, tx, in.UserID)
		if err != nil {
			return err
		}
		if follower.ID == followee.ID {
			return &apiError{http.StatusBadRequest, "cannot follow yourself"}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO follows (follower_id, followee_id) VALUES (?, ?)`, follower.ID, followee.ID); err != nil {
			return &apiError{http.StatusConflict, "ALREADY_FOLLOWING"}
		}
		detailed := &misskey.UserDetailed{User: *followee, CreatedAt: misskey.Time(time.Now()),
			FollowingVisibility: misskey.FollowVisibilityPublic, FollowersVisibility: misskey.FollowVisibilityPublic,
			ChatScope: misskey.ChatScopeEveryone}
		if err := s.d.EmitVia(ctx, out, follower.ID, webhook.EventFollow, misskey.UserBody{User: detailed}); err != nil {
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
