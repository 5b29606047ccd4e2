package misskeyapi

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/fedihook/webhook/misskey"
)

// A UserQuery is what users/show asks Config.LookupUser for: a user by ID,
// or by username (case-insensitive) on Host ("" for a local user).
//
// Receivers call users/show on the server named in a payload's "server":
// Discord bridges for Misskey webhooks look up the reporter and the
// target of an abuseReport this way, and bots fetch a follower's profile.
type UserQuery struct {
	// ID is the user's ID; when set, Username and Host are empty.
	ID string
	// Username is the user's username, as given (trimmed of spaces).
	Username string
	// Host is the user's server for a remote username, "" for local.
	Host string
}

// users/show {userId} | {userIds} | {username, host?}, with detailed?:
// boolean = true. Misskey answers a UserDetailed (or UserLite when not
// detailed), or an array for userIds, leaving out the users not found.
func (h *Handler) showUser(ctx context.Context, c *Call) (any, error) {
	r := newReader(c.Params)
	_, hasID := c.Params["userId"]
	_, hasIDs := c.Params["userIds"]
	_, hasName := c.Params["username"]
	var (
		q   UserQuery
		ids []string
	)
	switch {
	case hasID:
		q.ID, _ = r.id("userId")
	case hasIDs:
		seen := map[string]bool{}
		ids, _ = r.strings("userIds", func(s string) bool {
			dup := seen[s]
			seen[s] = true
			return isMisskeyID(s) && !dup
		}, "format", `must match format "misskey:id" and be unique`)
	case hasName:
		q.Username, _ = r.str("username", 0, -1)
		q.Username = strings.TrimSpace(q.Username)
	default:
		return nil, invalidParam("#/allOf/0/anyOf", "must match a schema in anyOf")
	}
	host, _, _ := r.nullableStr("host", 0, -1, true)
	detailed, set := r.boolean("detailed")
	if r.err != nil {
		return nil, r.err
	}
	if hasName {
		q.Host = host
	}
	lite := set && !detailed
	if hasIDs {
		out := make([]any, 0, len(ids))
		for _, id := range ids {
			u, err := h.cfg.LookupUser(ctx, UserQuery{ID: id})
			if errors.Is(err, ErrUserNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, packUser(u, lite))
		}
		return out, nil
	}
	u, err := h.cfg.LookupUser(ctx, q)
	if errors.Is(err, ErrUserNotFound) {
		return nil, ErrNoSuchUser
	}
	if err != nil {
		return nil, err
	}
	return packUser(u, lite), nil
}

func packUser(u *misskey.UserDetailed, lite bool) any {
	if lite {
		return u.User
	}
	return u
}

var _ json.Marshaler = misskey.UserDetailed{}
