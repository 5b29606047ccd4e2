package pgstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/fedihook/webhook"
)

// maxViewUsers bounds the in-process view of the webhooks: past it, the
// view is emptied and fills again with the users that emit.
const maxViewUsers = 100_000

// A hookView is the in-process view of the webhooks that MatchHooks
// answers from: each user's active webhooks (none, for most users), read
// once and kept until a change of that user's webhooks is heard of.
//
// It is used only while a listener is connected (Store.Listen): every
// change of a webhook, in any process, notifies the channel with the
// user's ID in the same transaction, and the listener drops that user's
// entry. A change made through this Store drops it at once. Each change
// also counts in fedihook_hooks_version, which every claim and enqueue
// reads on the way: a version newer than any heard of (a notification
// not yet read, or lost) empties the view. When no listener is
// connected, MatchHooks reads the database, as it did without a view.
type hookView struct {
	mu        sync.Mutex
	listeners int    // connected listeners
	epoch     uint64 // counts invalidations: a read older than one is not kept
	version   int64  // the highest webhooks version heard of
	users     map[string][]*webhook.Webhook
}

// match returns userID's active webhooks subscribed to e, from the view
// or, on a miss, from read (all of the user's active webhooks, in ID
// order), which it keeps, if keep (read sees committed data only), when
// nothing changed meanwhile.
func (v *hookView) match(ctx context.Context, userID string, e webhook.Event, keep bool, read func(context.Context) ([]*webhook.Webhook, error)) ([]*webhook.Webhook, error) {
	v.mu.Lock()
	live := v.listeners > 0
	hooks, ok := v.users[userID]
	epoch := v.epoch
	v.mu.Unlock()
	if !live || !ok {
		var err error
		hooks, err = read(ctx)
		if err != nil {
			return nil, fmt.Errorf("pgstore: matching webhooks: %w", err)
		}
		if live && keep {
			v.mu.Lock()
			if v.epoch == epoch && v.listeners > 0 {
				if len(v.users) >= maxViewUsers {
					clear(v.users)
				}
				if v.users == nil {
					v.users = make(map[string][]*webhook.Webhook)
				}
				v.users[userID] = hooks
			}
			v.mu.Unlock()
		}
	}
	var out []*webhook.Webhook
	for _, h := range hooks {
		if slices.Contains(h.On, e) {
			out = append(out, h)
		}
	}
	if out == nil {
		out = []*webhook.Webhook{}
	}
	return out, nil
}

// changed drops userID's entry: its webhooks changed.
func (v *hookView) changed(userID string) {
	v.mu.Lock()
	v.epoch++
	delete(v.users, userID)
	v.mu.Unlock()
}

// listening records that a listener connected (true) or disconnected.
// Either way the view starts empty: changes may have been missed.
func (v *hookView) listening(on bool) {
	v.mu.Lock()
	if on {
		v.listeners++
	} else {
		v.listeners--
	}
	v.epoch++
	clear(v.users)
	v.mu.Unlock()
}

// sawVersion takes the webhooks' version read by a statement: one newer
// than any heard of empties the view. So does the first one: the view
// may hold webhooks read before it, and changed since without a
// notification that arrived.
func (v *hookView) sawVersion(n int64) {
	v.mu.Lock()
	if n > v.version {
		v.epoch++
		clear(v.users)
		v.version = n
	}
	v.mu.Unlock()
}

// notified handles a notification's payload: "h VERSION USER" for a
// change of USER's webhooks. It reports whether the payload was one.
func (v *hookView) notified(payload string) bool {
	rest, ok := strings.CutPrefix(payload, "h ")
	if !ok {
		return false
	}
	num, user, _ := strings.Cut(rest, " ")
	n, err := strconv.ParseInt(num, 10, 64)
	v.mu.Lock()
	v.epoch++
	delete(v.users, user)
	if err == nil && n > v.version {
		v.version = n
	}
	v.mu.Unlock()
	return true
}
