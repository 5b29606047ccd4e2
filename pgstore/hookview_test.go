package pgstore_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/pgstore"
)

// hookReads counts the statements that read a user's webhooks for
// MatchHooks.
type hookReads struct{ n atomic.Int64 }

func (h *hookReads) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.Contains(d.SQL, "WHERE user_id = $1 AND active") {
		h.n.Add(1)
	}
	return ctx
}

func (h *hookReads) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// matchIDs returns the IDs of the webhooks s.MatchHooks finds.
func matchIDs(t *testing.T, s *pgstore.Store, user string, e webhook.Event) []string {
	t.Helper()
	hs, err := s.MatchHooks(context.Background(), user, e)
	require.NoError(t, err)
	ids := []string{}
	for _, h := range hs {
		ids = append(ids, h.ID)
	}
	return ids
}

// TestHookViewAcrossProcesses: while a Store listens, MatchHooks answers
// from memory (no statement), and a webhook created, changed or deleted
// through another Store on the same tables (another process) is seen by
// the next Emit once the change's notification has arrived; the test
// knows it has by a marker notified after the change, since
// notifications arrive in commit order.
func TestHookViewAcrossProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := newSchema(t)
	reads := &hookReads{}
	a := newStoreIn(t, schema, func(c *pgxpool.Config) { c.ConnConfig.Tracer = reads })
	b := newStoreIn(t, schema, nil)
	other := newPool(t, nil)
	wakes, _ := startListen(t, a)
	waitWake(t, wakes, "listening")
	synced := func(what string) {
		t.Helper()
		_, err := other.Exec(ctx, "SELECT pg_notify($1, 'marker')", a.Channel())
		require.NoError(t, err)
		waitWake(t, wakes, what)
	}

	require.Empty(t, matchIDs(t, a, "alice", webhook.EventNote))
	require.Empty(t, matchIDs(t, a, "alice", webhook.EventNote))
	require.EqualValues(t, 1, reads.n.Load(), "the second Emit reads no webhook")

	w := testHook("h1", "alice")
	require.NoError(t, b.CreateHook(ctx, w, 0))
	synced("the creation")
	require.Equal(t, []string{"h1"}, matchIDs(t, a, "alice", webhook.EventNote), "created")
	require.Equal(t, []string{"h1"}, matchIDs(t, a, "alice", webhook.EventNote))
	require.EqualValues(t, 2, reads.n.Load())

	w.On = []webhook.Event{webhook.EventReply}
	require.NoError(t, b.UpdateHook(ctx, w))
	synced("the change of events")
	require.Empty(t, matchIDs(t, a, "alice", webhook.EventNote), "changed")
	require.Equal(t, []string{"h1"}, matchIDs(t, a, "alice", webhook.EventReply))

	w.Active = false
	require.NoError(t, b.UpdateHook(ctx, w))
	synced("the deactivation")
	require.Empty(t, matchIDs(t, a, "alice", webhook.EventReply), "deactivated")

	w.Active = true
	require.NoError(t, b.UpdateHook(ctx, w))
	synced("the reactivation")
	require.Equal(t, []string{"h1"}, matchIDs(t, a, "alice", webhook.EventReply))
	require.NoError(t, b.DeleteHook(ctx, "h1"))
	synced("the deletion")
	require.Empty(t, matchIDs(t, a, "alice", webhook.EventReply), "deleted")

	// Bob's webhooks were never read: nothing of alice's touched them.
	before := reads.n.Load()
	require.Empty(t, matchIDs(t, a, "bob", webhook.EventNote))
	require.Equal(t, before+1, reads.n.Load())
}

// TestHookViewMissedNotification: a change whose notification never came
// (written here without one) is seen after the next claim, which reads
// the webhooks' version.
func TestHookViewMissedNotification(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := newSchema(t)
	a := newStoreIn(t, schema, nil)
	wakes, _ := startListen(t, a)
	waitWake(t, wakes, "listening")
	w := testHook("h1", "alice")
	require.NoError(t, a.CreateHook(ctx, w, 0))
	d := testDelivery(w, t0, []byte(`{}`))
	require.NoError(t, a.Enqueue(ctx, []*webhook.Delivery{d}))
	pool := newPool(t, nil)
	// The creation's and the enqueue's notifications have arrived.
	_, err := pool.Exec(ctx, "SELECT pg_notify($1, 'marker')", a.Channel())
	require.NoError(t, err)
	for range 2 {
		waitWake(t, wakes, "the enqueue, the marker")
	}
	require.Equal(t, []string{"h1"}, matchIDs(t, a, "alice", webhook.EventNote))

	_, err = pool.Exec(ctx, `UPDATE `+pgx.Identifier{schema, "fedihook_hooks"}.Sanitize()+` SET active = false`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE `+pgx.Identifier{schema, "fedihook_hooks_version"}.Sanitize()+` SET version = version + 1`)
	require.NoError(t, err)
	require.Equal(t, []string{"h1"}, matchIDs(t, a, "alice", webhook.EventNote), "not heard of yet")

	_, err = a.Claim(ctx, t0, 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, matchIDs(t, a, "alice", webhook.EventNote), "the claim read a newer version")
}

// TestHookViewFirstVersion: a view filled before it heard of any version
// of the webhooks (they were made before it listened) is emptied by the
// first version a claim reads, should that version carry a change whose
// notification never came.
func TestHookViewFirstVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := newSchema(t)
	b := newStoreIn(t, schema, nil)
	w := testHook("h1", "alice")
	require.NoError(t, b.CreateHook(ctx, w, 0))
	require.NoError(t, b.Enqueue(ctx, []*webhook.Delivery{testDelivery(w, t0, []byte(`{}`))}))
	a := newStoreIn(t, schema, nil)
	wakes, _ := startListen(t, a)
	waitWake(t, wakes, "listening")
	require.Equal(t, []string{"h1"}, matchIDs(t, a, "alice", webhook.EventNote))

	pool := newPool(t, nil)
	_, err := pool.Exec(ctx, `UPDATE `+pgx.Identifier{schema, "fedihook_hooks"}.Sanitize()+` SET active = false`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE `+pgx.Identifier{schema, "fedihook_hooks_version"}.Sanitize()+` SET version = version + 1`)
	require.NoError(t, err)
	cs, err := a.Claim(ctx, t0, 10, time.Minute) // a's first read of the version
	require.NoError(t, err)
	require.Len(t, cs, 1)
	require.Empty(t, matchIDs(t, a, "alice", webhook.EventNote), "the first version read may be newer than the view")
}

// TestHookViewNotListening: without a listener, every MatchHooks reads
// the database, so a change elsewhere is seen at once.
func TestHookViewNotListening(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := newSchema(t)
	reads := &hookReads{}
	a := newStoreIn(t, schema, func(c *pgxpool.Config) { c.ConnConfig.Tracer = reads })
	b := newStoreIn(t, schema, nil)
	require.Empty(t, matchIDs(t, a, "alice", webhook.EventNote))
	require.NoError(t, b.CreateHook(ctx, testHook("h1", "alice"), 0))
	require.Equal(t, []string{"h1"}, matchIDs(t, a, "alice", webhook.EventNote))
	require.EqualValues(t, 2, reads.n.Load())

	// Nor after a listener has stopped.
	wakes, stop := startListen(t, a)
	waitWake(t, wakes, "listening")
	require.Equal(t, []string{"h1"}, matchIDs(t, a, "alice", webhook.EventNote))
	require.NoError(t, stop())
	require.NoError(t, b.DeleteHook(ctx, "h1"))
	require.Empty(t, matchIDs(t, a, "alice", webhook.EventNote))
}
