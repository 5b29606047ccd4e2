package pgstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

// TestMultiInstance: three Dispatcher processes share one database and
// 10,000 deliveries. Every delivery is received exactly once, and each
// process delivers a share.
func TestMultiInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three processes")
	}
	ctx := context.Background()
	schema := newSchema(t)
	s := newStoreIn(t, schema, nil)
	pool := newPool(t, nil)
	recv := newReceiver(t)
	const users, hooksPerUser, events = 50, 4, 2500 // 10,000 deliveries
	for u := range users {
		for h := range hooksPerUser {
			w := testHook(fmt.Sprintf("u%03d-h%d", u, h), userName(u))
			w.URL = recv.hookURL(w.ID)
			require.NoError(t, s.CreateHook(ctx, w, 0))
		}
	}

	var children []*child
	for i := range 3 {
		children = append(children, startChild(t, "dispatch", "proc"+strconv.Itoa(i), schema))
	}
	// All three are listening: emit from this process, which delivers
	// nothing itself.
	emitter, err := webhook.New(s, &webhook.Config{Host: "example.tld"})
	require.NoError(t, err)
	start := time.Now()
	const emitters = 8 // as concurrent requests of a server would
	errs := make(chan error, emitters)
	for g := range emitters {
		go func() {
			var err error
			for i := g; i < events && err == nil; i += emitters {
				err = emitter.Emit(ctx, userName(i%users), webhook.EventNote, json.RawMessage(`{"i":`+strconv.Itoa(i)+`}`))
			}
			errs <- err
		}()
	}
	for range emitters {
		require.NoError(t, <-errs)
	}
	require.NoError(t, emitter.Shutdown(ctx))
	t.Logf("emitted %d events in %v", events, time.Since(start).Round(time.Millisecond))
	recv.waitUnique(t, hooksPerUser*events, 45*time.Second)
	elapsed := time.Since(start)

	total := 0
	for _, c := range children {
		sent := c.stop(t)
		t.Logf("%s sent %d", c.name, sent)
		require.Positive(t, sent, "%s did a share", c.name)
		total += sent
	}
	const want = hooksPerUser * events
	t.Logf("%d deliveries by 3 processes in %v (%.0f/s)", want, elapsed.Round(time.Millisecond), want/elapsed.Seconds())

	recv.mu.Lock()
	defer recv.mu.Unlock()
	require.Empty(t, recv.bad)
	require.Equal(t, want, total)
	require.Equal(t, want, recv.requests, "no delivery was received twice")
	require.Len(t, recv.byPair, want)
	for _, c := range children {
		require.Positive(t, recv.byWorker[c.name], "%s did a share", c.name)
	}
	stored, delivered := storedDeliveries(t, pool, schema)
	require.Len(t, stored, want)
	require.Equal(t, want, delivered)
	for k, ids := range recv.byPair {
		require.Equal(t, []string{stored[k]}, ids, "%v received once, with its eventId", k)
	}
}

// TestCrash: a child process posts 5,000 notes, each emitting to its
// author's 3 webhooks through the outbox in the note's transaction, while
// its Dispatcher delivers them to a loopback receiver. It is killed with
// SIGKILL at three random moments and restarted each time. In the end
// every (webhook, note) pair was received at least once, always with the
// eventId it was enqueued with; duplicates (deliveries made but not
// settled when the process died) are counted.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	ctx := context.Background()
	schema := newSchema(t)
	s := newStoreIn(t, schema, nil)
	pool := newPool(t, nil)
	_, err := pool.Exec(ctx, "CREATE TABLE "+pgx.Identifier{schema, "notes"}.Sanitize()+" (i int PRIMARY KEY)")
	require.NoError(t, err)
	recv := newReceiver(t)
	const users, hooksPerUser, events = 40, 3, 5000
	const want = hooksPerUser * events
	for u := range users {
		for h := range hooksPerUser {
			w := testHook(fmt.Sprintf("u%03d-h%d", u, h), userName(u))
			w.URL = recv.hookURL(w.ID)
			require.NoError(t, s.CreateHook(ctx, w, 0))
		}
	}

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	var kills []int
	for len(kills) < 3 {
		k := want/20 + rng.IntN(want*17/20) // between 5% and 90% received
		if !slices.ContainsFunc(kills, func(o int) bool { return o > k-want/20 && o < k+want/20 }) {
			kills = append(kills, k)
		}
	}
	slices.Sort(kills)
	t.Logf("seed %d: SIGKILL after %v of %d deliveries received", seed, kills, want)

	env := []string{eventsEnv + "=" + strconv.Itoa(events), usersEnv + "=" + strconv.Itoa(users)}
	start := time.Now()
	for i, k := range kills {
		c := startChild(t, "crash", "run"+strconv.Itoa(i), schema, env...)
		recv.waitUnique(t, k, 2*time.Minute) // a failure bound: a loaded machine under -race is slow
		c.kill(t)
	}
	last := startChild(t, "crash", "final", schema, env...)
	recv.waitUnique(t, want, 2*time.Minute)
	// The receiver has every pair, but some came from a killed child that
	// never settled them: the last child delivers them again once their
	// leases lapse. Wait for the store, not the receiver.
	waitSettled(t, pool, schema, want, 2*time.Minute)
	last.stop(t)
	elapsed := time.Since(start)

	var notes int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{schema, "notes"}.Sanitize()).Scan(&notes))
	require.Equal(t, events, notes)
	stored, delivered := storedDeliveries(t, pool, schema)
	require.Len(t, stored, want, "each note's webhooks enqueued exactly once")
	require.Equal(t, want, delivered)

	recv.mu.Lock()
	defer recv.mu.Unlock()
	require.Empty(t, recv.bad)
	require.Len(t, recv.byPair, want)
	for k, id := range stored {
		ids := recv.byPair[k]
		require.NotEmpty(t, ids, "%v was received", k)
		for _, got := range ids {
			require.Equal(t, id, got, "%v received with the eventId it was enqueued with", k)
		}
	}
	t.Logf("%d deliveries through 3 crashes in %v: %d requests, %d duplicates",
		want, elapsed.Round(time.Millisecond), recv.requests, recv.requests-want)
}
