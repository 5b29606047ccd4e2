package main

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/fedihook/webhook/misskeyapi"
)

// A signIn is who a sign-in token belongs to.
type signIn struct {
	// UserID is the user's ID, "9" + Username as for the seeded users.
	UserID string
	// Username is the name given with -user or -admin.
	Username string
	// Admin is true for -admin: the user may manage system webhooks.
	Admin bool
}

// signIns maps the sign-in tokens given with -user NAME:TOKEN and -admin
// NAME:TOKEN to their users. It is the server's one place that turns a
// token into a user: Misskey's API (misskeyapi), the server's own
// endpoints and any page the server adds resolve credentials through
// Lookup.
type signIns struct {
	byToken map[string]signIn
}

func newSignIns() *signIns { return &signIns{byToken: map[string]signIn{}} }

// Lookup returns the user token signs in, if any.
func (s *signIns) Lookup(token string) (signIn, bool) {
	u, ok := s.byToken[token]
	return u, ok
}

// Authenticate is misskeyapi.Config.Authenticate over Lookup.
func (s *signIns) Authenticate(_ context.Context, token string) (misskeyapi.Account, error) {
	u, ok := s.Lookup(token)
	if !ok {
		return misskeyapi.Account{}, misskeyapi.ErrUnknownToken
	}
	return misskeyapi.Account{UserID: u.UserID, Admin: u.Admin}, nil
}

// usernames lists the signed-in users, admins marked, for the log (never
// the tokens).
func (s *signIns) usernames() string {
	var names []string
	for _, u := range s.byToken {
		n := u.Username
		if u.Admin {
			n += " (admin)"
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// ensureUsers creates the users that do not exist yet.
func (s *signIns) ensureUsers(ctx context.Context, db *sql.DB) error {
	for _, u := range s.byToken {
		if _, err := db.ExecContext(ctx, `INSERT OR IGNORE INTO users (id, username) VALUES (?, ?)`, u.UserID, u.Username); err != nil {
			return fmt.Errorf("creating user %s: %w", u.Username, err)
		}
	}
	return nil
}

var usernameRE = regexp.MustCompile(`^[a-z0-9_]{1,20}$`)

// signInFlag is the flag.Value of -user (admin false) and -admin.
type signInFlag struct {
	s     *signIns
	admin bool
}

// String returns nothing: a flag's value is a secret.
func (f signInFlag) String() string { return "" }

// Set adds NAME:TOKEN.
func (f signInFlag) Set(v string) error {
	name, token, ok := strings.Cut(v, ":")
	if !ok || !usernameRE.MatchString(name) {
		return fmt.Errorf("want NAME:TOKEN with NAME of 1-20 of a-z, 0-9 and _")
	}
	if token == "" || strings.ContainsAny(token, " \t\r\n") {
		return fmt.Errorf("the token of %s must be non-empty, without spaces", name)
	}
	if _, dup := f.s.byToken[token]; dup {
		return fmt.Errorf("the token of %s is given twice", name)
	}
	f.s.byToken[token] = signIn{UserID: "9" + name, Username: name, Admin: f.admin}
	return nil
}
