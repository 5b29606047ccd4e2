package pgstore_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/pgstore"
)

// The multi-process tests re-execute the test binary: with childEnv set,
// TestMain runs childMain instead of the tests. A child runs a Dispatcher
// on the store in the schema named by schemaEnv, says "ready" on stdout
// once started, runs until its stdin is closed, then shuts down and says
// "sent N" (the deliveries its transport got a 2xx for) before exiting.
// It labels every request with its name (nameEnv) in the workerHeader.
const (
	childEnv     = "PGSTORE_TEST_CHILD" // its role: "dispatch" or "crash"
	schemaEnv    = "PGSTORE_TEST_SCHEMA"
	nameEnv      = "PGSTORE_TEST_NAME"
	eventsEnv    = "PGSTORE_TEST_EVENTS" // crash role: how many events to emit
	usersEnv     = "PGSTORE_TEST_USERS"  // crash role: spread over how many users
	workerHeader = "X-Pgstore-Test-Worker"
)

// The lease of the children's Dispatchers. A crash child's is short, so
// that a killed child's deliveries are taken over quickly. A dispatch
// child's is long: TestMultiInstance counts each delivery received once,
// which holds only while every result settles within its lease, and under
// -race on a busy machine a settle has once taken longer than 3 seconds.
const (
	crashLease    = 3 * time.Second
	dispatchLease = 30 * time.Second
)

func childMain(role string) int {
	if err := runChild(role); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

func runChild(role string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool, err := pgxpool.New(ctx, os.Getenv("FEDIHOOK_PG_DSN"))
	if err != nil {
		return err
	}
	defer pool.Close()
	store, err := pgstore.New(pool, &pgstore.Config{Schema: os.Getenv(schemaEnv)})
	if err != nil {
		return err
	}
	loopback, err := webhook.ParseAllowRule("127.0.0.1")
	if err != nil {
		return err
	}
	ht, err := webhook.NewHTTPTransport(&webhook.HTTPTransportConfig{
		Timeout: time.Second, AllowNetworks: []webhook.AllowRule{loopback},
	})
	if err != nil {
		return err
	}
	defer ht.CloseIdleConnections()
	name := os.Getenv(nameEnv)
	lease := dispatchLease
	if role == "crash" {
		lease = crashLease
	}
	var sent atomic.Int64
	d, err := webhook.New(store, &webhook.Config{
		Host:         "example.tld",
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
		Lease:        lease,
		PollInterval: 200 * time.Millisecond,
		Transport: webhook.TransportFunc(func(ctx context.Context, req *webhook.Request) (*webhook.Response, error) {
			req.Header.Set(workerHeader, name)
			resp, err := ht.Send(ctx, req)
			if err == nil && resp.StatusCode/100 == 2 {
				sent.Add(1)
			}
			return resp, err
		}),
	})
	if err != nil {
		return err
	}
	if err := d.Start(ctx); err != nil {
		return err
	}
	fmt.Println("ready")

	emitted := make(chan error, 1)
	if role == "crash" {
		go func() {
			err := emitNotes(ctx, pool, store, d)
			if err != nil {
				fmt.Fprintln(os.Stderr, "child: emitting:", err) // now: the parent may kill the child before its end
			}
			emitted <- err
		}()
	} else {
		emitted <- nil
	}
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it
	cancelErr := <-emitted
	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer scancel()
	if err := d.Shutdown(sctx); err != nil {
		return err
	}
	fmt.Printf("sent %d\n", sent.Load())
	return cancelErr
}

// emitNotes is the crash child's application: it "posts" notes 0 to
// PGSTORE_TEST_EVENTS-1, each in a transaction that records the note and
// emits its webhooks through the outbox, resuming after the last note
// committed by a previous (killed) run.
func emitNotes(ctx context.Context, pool *pgxpool.Pool, store *pgstore.Store, d *webhook.Dispatcher) error {
	events, err := strconv.Atoi(os.Getenv(eventsEnv))
	if err != nil {
		return err
	}
	users, err := strconv.Atoi(os.Getenv(usersEnv))
	if err != nil {
		return err
	}
	notes := pgx.Identifier{os.Getenv(schemaEnv), "notes"}.Sanitize()
	var next int
	if err := pool.QueryRow(ctx, "SELECT coalesce(max(i) + 1, 0) FROM "+notes).Scan(&next); err != nil {
		return err
	}
	for i := next; i < events; i++ {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "INSERT INTO "+notes+" (i) VALUES ($1)", i); err != nil {
				return err
			}
			return d.EmitVia(ctx, store.InTx(tx), userName(i%users), webhook.EventNote, json.RawMessage(`{"i":`+strconv.Itoa(i)+`}`))
		})
		if err != nil {
			return fmt.Errorf("note %d: %w", i, err)
		}
	}
	return nil
}

func userName(u int) string { return fmt.Sprintf("user%03d", u) }

// A child is a running child process.
type child struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string // its stdout, closed when it ends
}

// startChild starts the test binary as a child with role, and waits for
// it to say "ready".
func startChild(t *testing.T, role, name, schema string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+role, schemaEnv+"="+schema, nameEnv+"="+name)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	c := &child{name: name, cmd: cmd, stdin: stdin, lines: make(chan string, 16)}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			_ = c.cmd.Process.Kill()
			c.wait()
		}
	})
	select {
	case line := <-c.lines:
		require.Equal(t, "ready", line, "child %s", name)
	case <-time.After(30 * time.Second):
		t.Fatalf("child %s did not start", name)
	}
	return c
}

// wait drains the child's output and waits for it to exit.
func (c *child) wait() error {
	for range c.lines {
	}
	return c.cmd.Wait()
}

// kill ends the child with SIGKILL, as a crash would.
func (c *child) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, c.cmd.Process.Kill())
	err := c.wait()
	require.Error(t, err, "the child was killed")
}

// stop closes the child's stdin, so that it shuts down cleanly, and
// returns how many deliveries it said it sent.
func (c *child) stop(t *testing.T) int {
	t.Helper()
	require.NoError(t, c.stdin.Close())
	var sent = -1
	for line := range c.lines {
		if s, ok := strings.CutPrefix(line, "sent "); ok {
			n, err := strconv.Atoi(s)
			require.NoError(t, err)
			sent = n
		}
	}
	require.NoError(t, c.cmd.Wait(), "child %s exits cleanly", c.name)
	require.GreaterOrEqual(t, sent, 0, "child %s reported its count", c.name)
	return sent
}

// A receiver is a loopback webhook receiver that records what it got.
type receiver struct {
	*httptest.Server

	mu       sync.Mutex
	requests int
	byPair   map[pairKey][]string // (hook, body) -> eventIds received
	byWorker map[string]int
	waiters  []waiter
	bad      []string
}

type pairKey struct{ hook, body string }

type waiter struct {
	n  int
	ch chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{byPair: map[pairKey][]string{}, byWorker: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	var p webhook.Payload
	err := json.NewDecoder(req.Body).Decode(&p)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil || p.HookID != req.Header.Get("X-Misskey-Hook-Id") {
		r.bad = append(r.bad, fmt.Sprintf("hook %s: %v", p.HookID, err))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.requests++
	r.byWorker[req.Header.Get(workerHeader)]++
	k := pairKey{p.HookID, string(p.Body)}
	r.byPair[k] = append(r.byPair[k], p.EventID)
	unique := len(r.byPair)
	kept := r.waiters[:0]
	for _, wt := range r.waiters {
		if unique >= wt.n {
			close(wt.ch)
		} else {
			kept = append(kept, wt)
		}
	}
	r.waiters = kept
	w.WriteHeader(http.StatusNoContent)
}

// waitUnique waits until n distinct (webhook, body) pairs were received.
func (r *receiver) waitUnique(t *testing.T, n int, timeout time.Duration) {
	t.Helper()
	ch := make(chan struct{})
	r.mu.Lock()
	if len(r.byPair) >= n {
		close(ch)
	} else {
		r.waiters = append(r.waiters, waiter{n, ch})
	}
	r.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(timeout):
		r.mu.Lock()
		got := len(r.byPair)
		r.mu.Unlock()
		t.Fatalf("received %d distinct deliveries of %d within %v", got, n, timeout)
	}
}

// hookURL is the URL of webhook id at the receiver.
func (r *receiver) hookURL(id string) string { return r.URL + "/hooks/" + id }

// waitSettled waits until want deliveries in schema are delivered, while
// a child still runs: a delivery a killed child attempted but did not
// settle is delivered again, and settled, by another once its lease
// lapses. When that does not happen in time, it fails saying how many
// were not yet settled (still pending: leased, or due again) and how many
// were lost (failed for good, or never stored).
func waitSettled(t *testing.T, pool *pgxpool.Pool, schema string, want int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var pending, delivered, failed int
		require.NoError(t, pool.QueryRow(context.Background(), `SELECT
				count(*) FILTER (WHERE state = 1), count(*) FILTER (WHERE state = 2), count(*) FILTER (WHERE state = 3)
			FROM `+pgx.Identifier{schema, "fedihook_deliveries"}.Sanitize()).Scan(&pending, &delivered, &failed))
		if delivered == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d deliveries settled as delivered after %v: %d not yet settled (pending), %d lost (%d failed, %d never stored)",
				delivered, want, timeout, pending, failed+max(want-pending-delivered-failed, 0), failed, max(want-pending-delivered-failed, 0))
		}
		<-tick.C
	}
}

// storedDeliveries returns the (webhook, body) -> eventId of every
// delivery in schema, and how many are delivered.
func storedDeliveries(t *testing.T, pool *pgxpool.Pool, schema string) (map[pairKey]string, int) {
	t.Helper()
	rows, err := pool.Query(context.Background(),
		"SELECT d.id::text, d.hook_id, e.body, d.state FROM "+pgx.Identifier{schema, "fedihook_deliveries"}.Sanitize()+
			" d JOIN "+pgx.Identifier{schema, "fedihook_events"}.Sanitize()+" e ON e.id = d.event_id")
	require.NoError(t, err)
	out := map[pairKey]string{}
	delivered := 0
	for rows.Next() {
		var id, hook string
		var body []byte
		var state int16
		require.NoError(t, rows.Scan(&id, &hook, &body, &state))
		k := pairKey{hook, string(body)}
		_, dup := out[k]
		require.False(t, dup, "%v enqueued twice", k)
		out[k] = id
		if webhook.State(state) == webhook.StateDelivered {
			delivered++
		}
	}
	require.NoError(t, rows.Err())
	return out, delivered
}
