package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/stretchr/testify/require"
)

// TestItemHeapOrder checks the memory store's heaps against a sorted
// list under random pushes, pops and removals by index: the least item
// comes out first (the ready heap by due time, then enqueue order; the
// leased heap by lease expiry), and every item records its index.
func TestItemHeapOrder(t *testing.T) {
	t.Parallel()
	for _, byLease := range []bool{false, true} {
		rng := rand.New(rand.NewPCG(1, 2))
		h := itemHeap{byLease: byLease}
		key := func(it *memItem) [2]int64 {
			if byLease {
				return [2]int64{it.leaseUntil, 0}
			}
			return [2]int64{it.nextAt, int64(it.seq)}
		}
		var ref []*memItem // what the heap holds
		least := func() *memItem {
			return slices.MinFunc(ref, func(a, b *memItem) int {
				ka, kb := key(a), key(b)
				if ka[0] != kb[0] {
					return int(ka[0] - kb[0])
				}
				return int(ka[1] - kb[1])
			})
		}
		seq := uint64(0)
		for range 5000 {
			switch op := rng.IntN(10); {
			case op < 5 || len(ref) == 0:
				seq++
				it := &memItem{nextAt: rng.Int64N(50), leaseUntil: rng.Int64N(50), seq: seq, index: -1}
				h.push(it)
				ref = append(ref, it)
			case op < 8:
				want := key(least())
				it := h.pop()
				require.Equal(t, want, key(it), "byLease %v", byLease)
				require.EqualValues(t, -1, it.index)
				ref = slices.DeleteFunc(ref, func(x *memItem) bool { return x == it })
			default:
				it := ref[rng.IntN(len(ref))]
				require.Same(t, it, h.remove(int(it.index)))
				require.EqualValues(t, -1, it.index)
				ref = slices.DeleteFunc(ref, func(x *memItem) bool { return x == it })
			}
			require.Equal(t, len(ref), h.Len())
			for i, e := range h.e {
				require.EqualValues(t, i, e.it.index)
			}
			if len(ref) > 0 {
				require.Equal(t, key(least()), key(h.top()))
			}
		}
	}
}

// TestMemoryStoreKeepsOneWebhooksPayload checks the payloads a
// MemoryStore keeps: an event emitted to one webhook (a user's or a
// system one) is claimed with its payload, byte for byte what
// AppendPayload writes for the claimed delivery, attempt after attempt;
// its body reads as the body alone. An event to several webhooks keeps
// its body once, and its claims carry no payload. The attempts send what
// AppendPayload writes either way.
func TestMemoryStoreKeepsOneWebhooksPayload(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := NewMemoryStore(nil)
	require.NoError(t, err)
	var mu sync.Mutex
	sent := map[uuid.UUID][]byte{}
	tr := TransportFunc(func(_ context.Context, r *Request) (*Response, error) {
		mu.Lock()
		sent[r.EventID] = bytes.Clone(r.Body)
		mu.Unlock()
		return &Response{StatusCode: 204}, nil
	})
	d, err := New(s, &Config{Host: "example.tld", Transport: tr})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.Shutdown(ctx)) })
	for _, w := range []*Webhook{
		{UserID: "9alice", Name: "one", On: []Event{EventNote}, URL: "https://r.example/1", Active: true},
		{UserID: "9bob", Name: "two", On: []Event{EventNote}, URL: "https://r.example/2", Active: true},
		{UserID: "9bob", Name: "three", On: []Event{EventNote}, URL: "https://r.example/3", Active: true},
		{Name: "system", On: []Event{EventAbuseReport}, URL: "https://r.example/s", Active: true},
	} {
		_, err := d.CreateHook(ctx, w)
		require.NoError(t, err)
	}
	body := json.RawMessage(`{"note": {"text": "\u00e9 \"quoted\""}}`)
	require.NoError(t, d.Emit(ctx, "9alice", EventNote, body))
	require.NoError(t, d.Emit(ctx, "9bob", EventNote, body))
	require.NoError(t, d.EmitSystem(ctx, EventAbuseReport, body))
	wantBody, err := EncodeBody(body)
	require.NoError(t, err)

	for round := range 2 {
		cs, err := s.Claim(ctx, time.Unix(1800000000, 0), 10, time.Minute)
		require.NoError(t, err)
		require.Len(t, cs, 4, "round %d", round)
		kept := 0
		for _, c := range cs {
			require.Equal(t, string(wantBody), string(c.Delivery.Body))
			if c.Hook.UserID == "9bob" {
				require.Nil(t, c.payload, "an event to two webhooks keeps its body once")
				continue
			}
			kept++
			require.Equal(t, string(AppendPayload(nil, &c.Delivery)), string(c.payload), "hook %s", c.Hook.Name)
			got, err := s.GetDelivery(ctx, c.Delivery.ID)
			require.NoError(t, err)
			require.Equal(t, string(wantBody), string(got.Body))
		}
		require.Equal(t, 2, kept)
		rs := make([]Result, len(cs))
		for i, c := range cs {
			rs[i] = Result{ID: c.Delivery.ID, HookID: c.Delivery.HookID, Lease: c.Lease, Release: true, State: StatePending}
		}
		require.NoError(t, s.Settle(ctx, rs))
	}

	n, err := d.Drain(ctx)
	require.NoError(t, err)
	require.Equal(t, 4, n)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, sent, 4)
	for id, b := range sent {
		del, err := s.GetDelivery(ctx, id)
		require.NoError(t, err)
		require.Equal(t, string(AppendPayload(nil, del)), string(b))
	}
}
