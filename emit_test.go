package webhook_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/webhooktest"
)

// countingOutbox is an Outbox over a store that counts how it was
// written to.
type countingOutbox struct {
	webhook.Store
	enqueues, events int
}

func (o *countingOutbox) Enqueue(ctx context.Context, ds []*webhook.Delivery) error {
	o.enqueues++
	return o.Store.Enqueue(ctx, ds)
}

// eventOutbox is a countingOutbox that also takes events whole, as a
// wrapper of an EventEnqueuer forwards them.
type eventOutbox struct{ *countingOutbox }

func (o eventOutbox) EnqueueEvent(ctx context.Context, em *webhook.Emission) error {
	o.events++
	return o.Store.(webhook.EventEnqueuer).EnqueueEvent(ctx, em)
}

// TestEmitUsesEventEnqueuer checks that Emit hands an event whole to any
// Outbox that takes it so, not only to the MemoryStore, and builds a
// Delivery per webhook for the others; both give the same deliveries.
func TestEmitUsesEventEnqueuer(t *testing.T) {
	t.Parallel()
	for _, whole := range []bool{false, true} {
		d, tr, _ := newTestDispatcher(t, nil)
		a := webhooktest.CreateHook(t, d, "alice", webhook.EventNote)
		b := webhooktest.CreateHook(t, d, "alice", webhook.EventNote)
		co := &countingOutbox{Store: d.Store()}
		var o webhook.Outbox = co
		if whole {
			o = eventOutbox{co}
		}
		require.NoError(t, d.EmitVia(ctx, o, "alice", webhook.EventNote, noteBody("hi")))
		if whole {
			require.Equal(t, [2]int{0, 1}, [2]int{co.enqueues, co.events}, "EnqueueEvent, once")
		} else {
			require.Equal(t, [2]int{1, 0}, [2]int{co.enqueues, co.events}, "Enqueue, once")
		}
		require.Equal(t, 2, webhooktest.Flush(t, d))
		ra := tr.RequireReceived(t, a.ID, webhook.EventNote, noteBody("hi"))
		rb := tr.RequireReceived(t, b.ID, webhook.EventNote, noteBody("hi"))
		require.NotEqual(t, ra.Payload.EventID, rb.Payload.EventID, "each webhook its own eventId")
		require.Equal(t, ra.Payload.CreatedAt, rb.Payload.CreatedAt)
	}
}

// mintingOutbox is an eventOutbox that makes the eventIds, as a store
// that is an EventIDMinter does.
type mintingOutbox struct {
	eventOutbox
	minted []uuid.UUID
}

func (o *mintingOutbox) MintEventIDs(ids []uuid.UUID) {
	for i := range ids {
		ids[i] = uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "minted %d", len(o.minted)))
		ids[i][6] = ids[i][6]&0x0f | 0x40 // a version 4 UUID, as the interface asks
		o.minted = append(o.minted, ids[i])
	}
}

// TestEmitAsksEventIDMinter checks that Emit takes the eventIds of an
// Outbox that mints them, one per webhook, and sends them.
func TestEmitAsksEventIDMinter(t *testing.T) {
	t.Parallel()
	d, tr, _ := newTestDispatcher(t, nil)
	a := webhooktest.CreateHook(t, d, "alice", webhook.EventNote)
	b := webhooktest.CreateHook(t, d, "alice", webhook.EventNote)
	o := &mintingOutbox{eventOutbox: eventOutbox{&countingOutbox{Store: d.Store()}}}
	require.NoError(t, d.EmitVia(ctx, o, "alice", webhook.EventNote, noteBody("hi")))
	require.Len(t, o.minted, 2, "one eventId per webhook, all minted")
	require.Equal(t, 2, webhooktest.Flush(t, d))
	got := []uuid.UUID{
		uuid.MustParse(tr.RequireReceived(t, a.ID, webhook.EventNote, noteBody("hi")).Payload.EventID),
		uuid.MustParse(tr.RequireReceived(t, b.ID, webhook.EventNote, noteBody("hi")).Payload.EventID),
	}
	require.ElementsMatch(t, o.minted, got)
}

// claimSpy is a MemoryStore that counts what it hands out through Claim
// and EnqueueAndClaim, and how many events came through EnqueueEvent.
type claimSpy struct {
	*webhook.MemoryStore
	claimed, enqueueClaimed, events atomic.Int64
	caughtUp                        chan struct{} // closed by the first Claim that found less than max
	once                            sync.Once
}

func (s *claimSpy) Claim(ctx context.Context, now time.Time, max int, lease time.Duration) ([]webhook.Claim, error) {
	cs, err := s.MemoryStore.Claim(ctx, now, max, lease)
	s.claimed.Add(int64(len(cs)))
	if len(cs) < max {
		s.once.Do(func() { close(s.caughtUp) })
	}
	return cs, err
}

func (s *claimSpy) EnqueueAndClaim(ctx context.Context, em *webhook.Emission, now time.Time, max int, lease time.Duration) ([]webhook.Claim, error) {
	cs, err := s.MemoryStore.EnqueueAndClaim(ctx, em, now, max, lease)
	s.enqueueClaimed.Add(int64(len(cs)))
	return cs, err
}

func (s *claimSpy) EnqueueEvent(ctx context.Context, em *webhook.Emission) error {
	s.events.Add(1)
	return s.MemoryStore.EnqueueEvent(ctx, em)
}

// TestEmitClaimsAsItEnqueues: once a started Dispatcher's claims have
// caught up with what is due, Emit claims its deliveries as it enqueues
// them (when the store is an EnqueueClaimer) and hands them to the
// workers, so no Claim is needed for them; not an Ordered webhook's,
// and not through EmitVia with another Outbox.
func TestEmitClaimsAsItEnqueues(t *testing.T) {
	t.Parallel()
	mem, err := webhook.NewMemoryStore(nil)
	require.NoError(t, err)
	spy := &claimSpy{MemoryStore: mem, caughtUp: make(chan struct{})}
	sent := make(chan string, 8)
	d, err := webhook.New(spy, &webhook.Config{Host: "example.tld", Workers: 2,
		Transport: webhook.TransportFunc(func(ctx context.Context, req *webhook.Request) (*webhook.Response, error) {
			sent <- req.HookID
			return &webhook.Response{StatusCode: 204}, nil
		})})
	require.NoError(t, err)
	plain := webhooktest.CreateHook(t, d, "alice", webhook.EventNote)
	ordered, err := d.CreateHook(ctx, &webhook.Webhook{ID: webhook.NewID(time.Now()), UserID: "bob", Name: "ordered",
		On: []webhook.Event{webhook.EventNote}, URL: "https://receiver.test/o", Secret: "secret", Active: true, Ordered: true})
	require.NoError(t, err)

	// Before Start, nothing is claimed as it is enqueued.
	require.NoError(t, d.Emit(ctx, "alice", webhook.EventNote, noteBody("early")))
	require.EqualValues(t, 1, spy.events.Load())
	require.NoError(t, d.Start(ctx))
	require.Equal(t, plain.ID, <-sent)
	<-spy.caughtUp
	require.EqualValues(t, 1, spy.claimed.Load(), "the early event was claimed")

	require.NoError(t, d.Emit(ctx, "alice", webhook.EventNote, noteBody("hi")))
	require.Equal(t, plain.ID, <-sent)
	require.EqualValues(t, 1, spy.enqueueClaimed.Load(), "claimed as it was enqueued")
	require.EqualValues(t, 1, spy.events.Load())

	require.NoError(t, d.Emit(ctx, "bob", webhook.EventNote, noteBody("in order")))
	require.Equal(t, ordered.ID, <-sent)
	require.EqualValues(t, 2, spy.events.Load(), "an Ordered webhook's delivery waits for its turn in the store")

	other := eventOutbox{&countingOutbox{Store: spy}}
	require.NoError(t, d.EmitVia(ctx, other, "alice", webhook.EventNote, noteBody("via")))
	d.Notify()
	require.Equal(t, plain.ID, <-sent)
	require.Equal(t, 1, other.events, "through the other Outbox's EnqueueEvent")
	require.EqualValues(t, 1, spy.enqueueClaimed.Load())
	require.EqualValues(t, 3, spy.claimed.Load(), "the ordered and the outbox's deliveries were claimed")
	require.NoError(t, d.Shutdown(ctx))
}

// cachedStore is a MemoryStore that is a CachedMatcher whose memory is
// the fixed list given, and that refuses, as a stale view's enqueue
// does, every Emission with Cached set (and all of them when always).
type cachedStore struct {
	*webhook.MemoryStore
	memory []*webhook.Webhook
	always bool

	mu              sync.Mutex
	refused, strict int
}

func (c *cachedStore) MatchHooksCached(context.Context, string, webhook.Event) ([]*webhook.Webhook, error) {
	return c.memory, nil
}

func (c *cachedStore) MatchHooks(ctx context.Context, userID string, e webhook.Event) ([]*webhook.Webhook, error) {
	c.mu.Lock()
	c.strict++
	c.mu.Unlock()
	return c.MemoryStore.MatchHooks(ctx, userID, e)
}

func (c *cachedStore) refuse(em *webhook.Emission) error {
	if !em.Cached && !c.always {
		return nil
	}
	c.mu.Lock()
	c.refused++
	c.mu.Unlock()
	return fmt.Errorf("cachedstore: %w", webhook.ErrHooksChanged)
}

func (c *cachedStore) EnqueueEvent(ctx context.Context, em *webhook.Emission) error {
	if err := c.refuse(em); err != nil {
		return err
	}
	return c.MemoryStore.EnqueueEvent(ctx, em)
}

func (c *cachedStore) EnqueueAndClaim(ctx context.Context, em *webhook.Emission, now time.Time, max int, lease time.Duration) ([]webhook.Claim, error) {
	if err := c.refuse(em); err != nil {
		return nil, err
	}
	return c.MemoryStore.EnqueueAndClaim(ctx, em, now, max, lease)
}

// TestEmitMatchesAgainWhenCachedHooksAreStale: through a CachedMatcher,
// Emit enqueues the webhooks it matched from memory, and when the store
// finds them stale, matches again from the database and enqueues those,
// once; a store that refuses that too gets its error back.
func TestEmitMatchesAgainWhenCachedHooksAreStale(t *testing.T) {
	ctx := context.Background()
	body := map[string]any{"note": map[string]any{"id": "n1"}}
	for _, started := range []bool{false, true} {
		t.Run(fmt.Sprintf("started=%v", started), func(t *testing.T) {
			ms, err := webhook.NewMemoryStore(nil)
			require.NoError(t, err)
			current := &webhook.Webhook{ID: "h1", UserID: "alice", Name: "one", On: []webhook.Event{webhook.EventNote},
				URL: "https://receiver.test/current", Secret: "s1", Active: true}
			require.NoError(t, ms.CreateHook(ctx, current, 0))
			old := current.Clone()
			old.URL = "https://receiver.test/old"
			store := &cachedStore{MemoryStore: ms, memory: []*webhook.Webhook{old}}

			tr := webhooktest.NewTransport()
			sent := make(chan webhooktest.Received, 4)
			tr.OnSend(func(r webhooktest.Received) { sent <- r })
			d, err := webhook.New(store, &webhook.Config{Host: "example.tld", Transport: tr})
			require.NoError(t, err)
			if started {
				require.NoError(t, d.Start(ctx))
			}
			t.Cleanup(func() { require.NoError(t, d.Shutdown(ctx)) })

			require.NoError(t, d.Emit(ctx, "alice", webhook.EventNote, body))
			if !started {
				require.Equal(t, 1, webhooktest.Flush(t, d))
			}
			var got webhooktest.Received
			select {
			case got = <-sent:
			case <-time.After(10 * time.Second):
				t.Fatal("nothing was sent")
			}
			require.Equal(t, "https://receiver.test/current", got.URL, "sent to the webhook as matched again")
			require.Equal(t, 1, store.refused)
			require.Equal(t, 1, store.strict)

			// Deleted meanwhile: matched again, nothing to enqueue.
			require.NoError(t, ms.DeleteHook(ctx, "h1"))
			require.NoError(t, d.Emit(ctx, "alice", webhook.EventNote, body))
			require.Equal(t, 2, store.refused)
			require.Equal(t, 2, store.strict)
			if !started {
				require.Zero(t, webhooktest.Flush(t, d), "nothing enqueued for the deleted webhook")
			}

			// A store that refuses the fresh match too: its error, not a loop.
			require.NoError(t, ms.CreateHook(ctx, current, 0))
			store.always = true
			err = d.Emit(ctx, "alice", webhook.EventNote, body)
			require.ErrorIs(t, err, webhook.ErrHooksChanged)
			require.Equal(t, 4, store.refused)
			require.Equal(t, 3, store.strict)
		})
	}
}
