package sqlitestore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/sqlitestore"
	"github.com/fedihook/webhook/webhooktest"
)

// hookChildEnv, set in the environment of the test binary, makes it a
// process that changes one webhook and exits (see hookChild).
const hookChildEnv = "SQLITESTORE_HOOK_CHILD"

// A hookOp is what a hook child does: "create", "update" or "delete" a
// webhook in the database at DB.
type hookOp struct {
	Driver string           `json:"driver"`
	DB     string           `json:"db"`
	Op     string           `json:"op"`
	Hook   *webhook.Webhook `json:"hook"`
}

// hookChild runs the hookOp encoded in op, in a process of its own.
func hookChild(op string) error {
	var o hookOp
	if err := json.Unmarshal([]byte(op), &o); err != nil {
		return err
	}
	db, err := sql.Open(o.Driver, dsn(o.DB))
	if err != nil {
		return err
	}
	defer db.Close()
	s, err := sqlitestore.New(db, nil)
	if err != nil {
		return err
	}
	ctx := context.Background()
	switch o.Op {
	case "create":
		return s.CreateHook(ctx, o.Hook, 0)
	case "update":
		return s.UpdateHook(ctx, o.Hook)
	case "delete":
		return s.DeleteHook(ctx, o.Hook.ID)
	}
	return fmt.Errorf("unknown op %q", o.Op)
}

// TestHooksChangedByAnotherProcess: a Store matches webhooks from memory,
// yet a webhook created, changed, deactivated, resubscribed or deleted by
// another process over the same database file is seen by the very next
// Emit, and a delivery claimed afterwards carries the changed webhook.
func TestHooksChangedByAnotherProcess(t *testing.T) {
	t.Parallel()
	for _, driver := range drivers {
		t.Run(driverLabel(driver), func(t *testing.T) {
			t.Parallel()
			testHooksChangedByAnotherProcess(t, driver)
		})
	}
}

func testHooksChangedByAnotherProcess(t *testing.T, driver string) {
	ctx := context.Background()
	s, path := newStoreWith(t, driver, nil)
	tr := webhooktest.NewTransport()
	d, err := webhook.New(s, &webhook.Config{Host: "example.tld", Transport: tr, Clock: webhooktest.NewClock(webhooktest.Epoch)})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.Shutdown(ctx)) })
	other := func(op string, w *webhook.Webhook) {
		t.Helper()
		js, err := json.Marshal(hookOp{Driver: driver, DB: path, Op: op, Hook: w})
		require.NoError(t, err)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), hookChildEnv+"="+string(js))
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	emit := func(e webhook.Event) int {
		t.Helper()
		tr.Reset()
		require.NoError(t, d.Emit(ctx, "alice", e, map[string]any{"note": map[string]any{"id": "n1"}}))
		return webhooktest.Flush(t, d)
	}

	require.Zero(t, emit(webhook.EventNote), "no webhook yet, and the empty match is now cached")
	w := &webhook.Webhook{ID: "h1", UserID: "alice", Name: "one", On: []webhook.Event{webhook.EventNote},
		URL: "https://receiver.test/first", Secret: "s1", Active: true}
	other("create", w)
	require.Equal(t, 1, emit(webhook.EventNote), "created by another process")
	require.Equal(t, "https://receiver.test/first", tr.To("h1")[0].URL)

	w.URL, w.Secret = "https://receiver.test/second", "s2"
	other("update", w)
	require.Equal(t, 1, emit(webhook.EventNote))
	got := tr.To("h1")[0]
	require.Equal(t, "https://receiver.test/second", got.URL, "the claim carries the changed webhook")
	require.Equal(t, "s2", got.Header.Get("X-Misskey-Hook-Secret"))

	w.Active = false
	other("update", w)
	require.Zero(t, emit(webhook.EventNote), "deactivated by another process")

	w.Active, w.On = true, []webhook.Event{webhook.EventReply}
	other("update", w)
	require.Zero(t, emit(webhook.EventNote), "unsubscribed from note")
	require.Equal(t, 1, emit(webhook.EventReply), "subscribed to reply")

	other("delete", w)
	require.Zero(t, emit(webhook.EventReply), "deleted by another process")
	_, err = s.GetHook(ctx, "h1")
	require.ErrorIs(t, err, webhook.ErrNotFound)
}

// TestCachedMatchCheckedAtEnqueue: MatchHooksCached hands out the
// webhooks in memory without a read, and the enqueue of an Emission of
// them (Cached) refuses, with ErrHooksChanged and nothing enqueued, when
// another Store over the same database changed them meanwhile; an empty
// match is never taken from memory.
func TestCachedMatchCheckedAtEnqueue(t *testing.T) {
	ctx := context.Background()
	s, path := newStore(t, nil)
	other := openStore(t, path, nil)
	w := createHook(t, s, "alice")

	emission := func(hooks []*webhook.Webhook, cached bool) *webhook.Emission {
		ids := make([]uuid.UUID, len(hooks))
		for i := range ids {
			ids[i] = uuid.New()
		}
		return &webhook.Emission{Type: webhook.EventNote, Server: "https://example.tld", CreatedAt: t0,
			NextAttemptAt: t0, Body: []byte(`{"note":{}}`), Hooks: hooks, IDs: ids, Cached: cached}
	}
	pending := func() int {
		t.Helper()
		page, err := s.ListDeliveries(ctx, webhook.DeliveryQuery{HookID: w.ID, Limit: 100})
		require.NoError(t, err)
		return len(page.Deliveries)
	}

	hooks, err := s.MatchHooksCached(ctx, "alice", webhook.EventNote)
	require.NoError(t, err)
	require.Len(t, hooks, 1)
	again, err := s.MatchHooksCached(ctx, "alice", webhook.EventNote)
	require.NoError(t, err)
	require.Same(t, &hooks[0], &again[0], "the second match comes from memory")
	require.NoError(t, s.EnqueueEvent(ctx, emission(hooks, true)), "current: enqueued")
	require.Equal(t, 1, pending())

	changed := w.Clone()
	changed.URL = "https://receiver.example/moved"
	require.NoError(t, other.UpdateHook(ctx, changed))
	stale, err := s.MatchHooksCached(ctx, "alice", webhook.EventNote)
	require.NoError(t, err)
	require.Equal(t, w.URL, stale[0].URL, "from memory, unchecked")

	err = s.EnqueueEvent(ctx, emission(stale, true))
	require.ErrorIs(t, err, webhook.ErrHooksChanged)
	require.ErrorContains(t, err, "sqlitestore: ")
	cs, err := s.EnqueueAndClaim(ctx, emission(stale, true), t0, 1, time.Minute)
	require.ErrorIs(t, err, webhook.ErrHooksChanged)
	require.Empty(t, cs)
	require.Equal(t, 1, pending(), "nothing enqueued from stale webhooks")

	fresh, err := s.MatchHooksCached(ctx, "alice", webhook.EventNote)
	require.NoError(t, err)
	require.Equal(t, changed.URL, fresh[0].URL, "the refused enqueue emptied the cache")
	cs, err = s.EnqueueAndClaim(ctx, emission(fresh, true), t0, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	require.Equal(t, changed.URL, cs[0].Hook.URL)
	require.Equal(t, 2, pending())

	// Without Cached, nothing is checked: the caller matched as it saw fit.
	require.NoError(t, other.UpdateHook(ctx, w))
	require.NoError(t, s.EnqueueEvent(ctx, emission(fresh, false)))
	require.Equal(t, 3, pending())

	// An empty match is read again each time, so a webhook created
	// elsewhere is found by the next one.
	none, err := s.MatchHooksCached(ctx, "bob", webhook.EventNote)
	require.NoError(t, err)
	require.Empty(t, none)
	createHook(t, other, "bob")
	found, err := s.MatchHooksCached(ctx, "bob", webhook.EventNote)
	require.NoError(t, err)
	require.Len(t, found, 1)
}
