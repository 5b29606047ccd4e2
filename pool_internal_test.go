package webhook

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestPoolKeepsWhatNoWorkerTakes: claims waiting at close, claims put
// after close (a Claim that was under way when Shutdown began) and claims
// given back all come out of leftovers, none twice.
func TestPoolKeepsWhatNoWorkerTakes(t *testing.T) {
	claim := func() Claim { return Claim{Delivery: Delivery{ID: uuid.New()}} }
	p := newPool(2, 2)
	require.Equal(t, 4, p.room(), "2 workers and 2 waiting")
	a, b, c, e, late := claim(), claim(), claim(), claim(), claim()
	p.put([]Claim{a, b, c, e}, time.Time{})
	require.Equal(t, 0, p.room())
	got, _, ok := p.take()
	require.True(t, ok)
	require.Equal(t, a.Delivery.ID, got.Delivery.ID, "in claim order")
	require.Equal(t, 0, p.room(), "a taken claim holds its place until done")
	p.done()
	require.Equal(t, 1, p.room())
	got, _, ok = p.take()
	require.True(t, ok)
	require.Equal(t, b.Delivery.ID, got.Delivery.ID)

	p.close()
	p.close() // harmless
	_, _, ok = p.take()
	require.False(t, ok, "no claim is taken once closed")
	p.put([]Claim{late}, time.Time{})
	p.giveBack(got)
	var ids []uuid.UUID
	for _, l := range p.leftovers() {
		ids = append(ids, l.Delivery.ID)
	}
	require.ElementsMatch(t, []uuid.UUID{c.Delivery.ID, e.Delivery.ID, late.Delivery.ID, b.Delivery.ID}, ids)
}

// TestPoolReservation: room reserved for a claim under way is not
// offered twice; a reserve that found the room held asks for more once
// the holder frees some, and not when it filled the pool.
func TestPoolReservation(t *testing.T) {
	claim := func() Claim { return Claim{Delivery: Delivery{ID: uuid.New()}} }
	p := newPool(2, 2) // room 4
	require.Equal(t, 4, p.reserve())
	require.Equal(t, 0, p.room())
	require.Equal(t, 0, p.reserve(), "held by the first")
	select {
	case <-p.low:
		t.Fatal("nothing asked for more yet")
	default:
	}
	p.putReserved([]Claim{claim()}, 4, time.Time{})
	require.Equal(t, 3, p.room())
	select {
	case <-p.low:
	default:
		t.Fatal("the freed room was not offered to the one that wanted it")
	}
	require.Equal(t, 3, p.reserve())
	require.Equal(t, 0, p.reserve())
	p.putReserved([]Claim{claim(), claim(), claim()}, 3, time.Time{})
	require.Equal(t, 0, p.room())
	select {
	case <-p.low:
		t.Fatal("the pool is full: no room to offer")
	default:
	}
	p.close()
	require.Equal(t, 0, p.reserve(), "none once closed")
}

// TestPoolClaimsInBatches: while claims wait for the workers, the pool
// offers no room for a claim smaller than minClaim, so that the store is
// asked for batches; with none waiting, any room is offered at once.
func TestPoolClaimsInBatches(t *testing.T) {
	claim := func() Claim { return Claim{Delivery: Delivery{ID: uuid.New()}} }
	p := newPool(8, 8) // 8 workers and 8 waiting; batches of at least 4
	require.Equal(t, 4, p.minClaim)
	var cs []Claim
	for range 16 {
		cs = append(cs, claim())
	}
	p.put(cs, time.Time{})
	for range 13 { // 13 taken, 3 waiting
		_, _, ok := p.take()
		require.True(t, ok)
	}
	for range 3 {
		p.done()
	}
	require.Equal(t, 3, p.room())
	require.Equal(t, 0, p.reserve(), "3 is not worth a call while claims wait")
	p.done()
	require.Equal(t, 4, p.reserve(), "4 is")
	p.putReserved(nil, 4, time.Time{})
	p.put([]Claim{claim()}, time.Time{})
	for range 4 { // 13 under way, none waiting, room 3
		_, _, ok := p.take()
		require.True(t, ok)
	}
	require.Equal(t, 3, p.reserve(), "with no claim waiting, any room is worth a call")
}

// TestPoolEmittedClaims: an Emit may claim as it enqueues only once the
// latest claim caught up with what is due (found less than it had room
// for), and only into room not already waiting or held by other Emits;
// the claims under way of the claimer do not hold it off. Claims an Emit
// puts after the leftovers were taken come back, for it to release.
func TestPoolEmittedClaims(t *testing.T) {
	claim := func() Claim { return Claim{Delivery: Delivery{ID: uuid.New()}} }
	p := newPool(2, 2) // room 4
	require.Zero(t, p.reserveEmitted(1), "no claim has caught up yet")
	n := p.reserve()
	p.putReserved([]Claim{claim(), claim(), claim(), claim()}, n, time.Time{})
	require.Zero(t, p.reserveEmitted(1), "the latest claim was full: older deliveries may be due")
	for range 3 {
		_, _, ok := p.take()
		require.True(t, ok)
		p.done()
	}
	n = p.reserve()
	require.Equal(t, 3, n)
	p.putReserved([]Claim{claim()}, n, time.Time{})
	require.Equal(t, 2, p.room(), "two waiting")
	require.Equal(t, 2, p.reserveEmitted(5), "caught up: the room left")
	require.Zero(t, p.reserveEmitted(1), "held by the first Emit")
	require.Zero(t, p.room(), "the claimer sees it held")
	require.Nil(t, p.putEmitted([]Claim{claim()}, 2, time.Time{}))
	require.Equal(t, 1, p.room(), "one claimed, the rest freed")

	// The claimer's reservation does not hold an Emit off.
	require.Equal(t, 1, p.reserve())
	require.Equal(t, 1, p.reserveEmitted(3))
	p.putReserved(nil, 1, time.Time{})
	p.close()
	left := p.leftovers()
	require.Len(t, left, 3, "the waiting claims")
	late := []Claim{claim()}
	require.Equal(t, late, p.putEmitted(late, 1, time.Time{}), "the leftovers were taken: handed back")
}

// TestPrefetchOnlyWhereNoLimitRefuses: the pool keeps a deep stock of
// claims only when no fairness limit can refuse an attempt, one claim per
// worker otherwise.
func TestPrefetchOnlyWhereNoLimitRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want int
	}{
		{"defaults: 16 a host for 32 workers", Config{}, DefaultWorkers},
		{"limits at Workers", Config{MaxInFlightPerHook: DefaultWorkers, MaxInFlightPerHost: DefaultWorkers}, prefetchPerWorker * DefaultWorkers},
		{"limits above Workers", Config{Workers: 4, MaxInFlightPerHook: 5, MaxInFlightPerHost: 100}, prefetchPerWorker * 4},
		{"a rate limit", Config{MaxInFlightPerHook: 64, MaxInFlightPerHost: 64, RatePerHook: 10}, DefaultWorkers},
		{"per-hook limit under Workers", Config{Workers: 8, MaxInFlightPerHook: 7, MaxInFlightPerHost: 8}, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Host = "example.tld"
			s, err := NewMemoryStore(nil)
			require.NoError(t, err)
			d, err := New(s, &cfg)
			require.NoError(t, err)
			require.Equal(t, tc.want, d.prefetch())
			require.Equal(t, d.cfg.Workers+tc.want, newPool(d.cfg.Workers, d.prefetch()).capacity)
		})
	}
}
