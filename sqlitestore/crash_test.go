package sqlitestore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

// The crash test's shape: crashEvents notes, each by one of crashUsers
// users, each user with crashHooksPerUser webhooks.
const (
	crashEvents       = 5000
	crashUsers        = 250
	crashHooksPerUser = 3
	crashKills        = 3
)

// crashPair is one (webhook, event) pair: a webhook and a note.
type crashPair struct{ hook, note string }

// crashReceiver is the loopback receiver of the crash test. It records
// every request and reports progress in unique pairs.
type crashReceiver struct {
	mu       sync.Mutex
	got      map[crashPair][]string // eventIds received
	requests int
	bad      []string

	unique  atomic.Int64
	killAt  atomic.Int64 // report on reached when unique reaches it; 0: never
	reached chan struct{}
	all     chan struct{}
	allOnce sync.Once
	want    int
}

func (rc *crashReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return // the child died mid-request
	}
	var p struct {
		webhook.Payload
		Body struct {
			Note struct {
				ID string `json:"id"`
			} `json:"note"`
		} `json:"body"`
	}
	err = json.Unmarshal(raw, &p)
	rc.mu.Lock()
	rc.requests++
	if err != nil || p.HookID == "" || p.HookID != r.Header.Get("X-Misskey-Hook-Id") || p.Body.Note.ID == "" {
		rc.bad = append(rc.bad, string(raw))
		rc.mu.Unlock()
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	k := crashPair{p.HookID, p.Body.Note.ID}
	first := len(rc.got[k]) == 0
	rc.got[k] = append(rc.got[k], p.EventID)
	rc.mu.Unlock()
	if first {
		n := rc.unique.Add(1)
		if at := rc.killAt.Load(); at > 0 && n >= at && rc.killAt.CompareAndSwap(at, 0) {
			rc.reached <- struct{}{}
		}
		if int(n) == rc.want {
			rc.allOnce.Do(func() { close(rc.all) })
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// TestCrash runs a child process that emits crashEvents notes through the
// transactional outbox and delivers them to a loopback receiver, kills it
// with SIGKILL at crashKills random moments, restarting it each time, and
// checks that every (webhook, note) pair was received at least once, with
// the eventId stored with its delivery. Duplicates (deliveries made but
// not settled when the child died) are counted and logged.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	t.Parallel()
	ctx := context.Background()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SQLITESTORE_CRASH_SEED"); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err)
	}
	t.Logf("seed %d (set SQLITESTORE_CRASH_SEED to repeat)", seed)
	rnd := rand.New(rand.NewPCG(seed, 0))

	dir := t.TempDir()
	child := buildCrashChild(t, dir)
	path := filepath.Join(dir, "crash.db")
	store := openStore(t, path, nil)
	db := openDB(t, path)
	_, err := db.ExecContext(ctx, `CREATE TABLE notes (id TEXT PRIMARY KEY, user_id TEXT NOT NULL)`)
	require.NoError(t, err)

	want := crashEvents * crashHooksPerUser
	rc := &crashReceiver{got: map[crashPair][]string{}, reached: make(chan struct{}, 1), all: make(chan struct{}), want: want}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	var created sync.WaitGroup
	hookErrs := make([]error, crashUsers)
	for u := range crashUsers {
		created.Go(func() {
			for h := range crashHooksPerUser {
				id := fmt.Sprintf("hook-%03d-%d", u, h)
				if err := store.CreateHook(ctx, &webhook.Webhook{ID: id, UserID: crashUser(u), Name: id,
					On: []webhook.Event{webhook.EventNote}, URL: srv.URL + "/" + id, Secret: "s", Active: true}, 0); err != nil {
					hookErrs[u] = err
					return
				}
			}
		})
	}
	created.Wait()
	for _, err := range hookErrs {
		require.NoError(t, err)
	}

	// Kill when the receiver has seen these many distinct pairs: the
	// first early, when the child is likely still emitting, the others
	// anywhere before the end.
	kills := []int64{int64(1 + rnd.IntN(want/10))}
	for len(kills) < crashKills {
		k := int64(want/10 + rnd.IntN(want*4/5))
		if !slices.Contains(kills, k) {
			kills = append(kills, k)
		}
	}
	slices.Sort(kills)

	deadline := time.NewTimer(55 * time.Second)
	defer deadline.Stop()
	for run := 0; ; run++ {
		cmd := exec.Command(child, "-db", path, "-events", strconv.Itoa(crashEvents), "-users", strconv.Itoa(crashUsers))
		stdin, err := cmd.StdinPipe()
		require.NoError(t, err)
		out := &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if run < len(kills) {
			rc.killAt.Store(kills[run])
		}
		require.NoError(t, cmd.Start())
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()

		if run < len(kills) {
			select {
			case <-rc.reached:
			case err := <-exited:
				t.Fatalf("child %d exited early: %v\n%s", run, err, out)
			case <-deadline.C:
				_ = cmd.Process.Kill()
				<-exited
				t.Fatalf("child %d: kill point %d not reached in time (%d of %d pairs)\n%s", run, kills[run], rc.unique.Load(), want, out)
			}
			require.NoError(t, cmd.Process.Kill())
			<-exited
			var emitted int
			require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM notes`).Scan(&emitted))
			t.Logf("killed child %d at %d of %d pairs received, %d of %d notes emitted", run, rc.unique.Load(), want, emitted, crashEvents)
			continue
		}
		// The last child runs until everything has arrived, then is asked
		// to stop by closing its stdin.
		select {
		case <-rc.all:
		case err := <-exited:
			t.Fatalf("last child exited early: %v\n%s", err, out)
		case <-deadline.C:
			_ = cmd.Process.Kill()
			<-exited
			t.Fatalf("not every pair arrived in time: %d of %d\n%s", rc.unique.Load(), want, out)
		}
		// Every pair arrived, but some from a killed child that never
		// settled them: this child delivers them again once their leases
		// lapse. Wait for the store to say every delivery is delivered,
		// not for the receiver.
		waitCrashSettled(t, db, want, deadline.C)
		require.NoError(t, stdin.Close())
		select {
		case err := <-exited:
			require.NoError(t, err, "last child\n%s", out)
		case <-deadline.C:
			_ = cmd.Process.Kill()
			<-exited
			t.Fatalf("last child did not stop\n%s", out)
		}
		break
	}

	// Every pair arrived, each time with the eventId of its delivery.
	rows, err := db.QueryContext(ctx, `SELECT d.id, h.id, p.body, d.state FROM webhook_deliveries d
		JOIN webhook_hooks h ON h.pk = d.hook_pk JOIN webhook_payloads p ON p.pk = d.payload_pk`)
	require.NoError(t, err)
	defer rows.Close()
	stored := map[crashPair]string{}
	for rows.Next() {
		var (
			id    []byte
			hook  string
			body  []byte
			state int
		)
		require.NoError(t, rows.Scan(&id, &hook, &body, &state))
		var b struct {
			Note struct{ ID string } `json:"note"`
		}
		require.NoError(t, json.Unmarshal(body, &b))
		k := crashPair{hook, b.Note.ID}
		if _, dup := stored[k]; dup {
			t.Fatalf("pair %v has two deliveries: its note was emitted twice", k)
		}
		u, err := uuid.FromBytes(id)
		require.NoError(t, err)
		stored[k] = u.String()
		require.Equal(t, 2, state, "pair %v is delivered", k)
	}
	require.NoError(t, rows.Err())
	require.Len(t, stored, want)

	rc.mu.Lock()
	defer rc.mu.Unlock()
	require.Empty(t, rc.bad, "malformed requests")
	require.Len(t, rc.got, want)
	dups := 0
	for k, ids := range rc.got {
		for _, id := range ids {
			if id != stored[k] {
				t.Fatalf("pair %v arrived with eventId %s, enqueued with %s", k, id, stored[k])
			}
		}
		dups += len(ids) - 1
	}
	t.Logf("%d pairs received through %d requests: %d duplicates after %d SIGKILLs", want, rc.requests, dups, crashKills)
}

func crashUser(u int) string { return fmt.Sprintf("user%03d", u) }

// buildCrashChild builds internal/crashchild into dir, without the race
// detector (under it, SQLite is too slow for the test's scale), and
// returns the program's path. Its dependencies are usually in the build
// cache already, compiled by go vet.
func buildCrashChild(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the crash test builds its child with the go command, not found: %v", err)
	}
	out := filepath.Join(dir, "crashchild")
	start := time.Now()
	cmd := exec.Command(goTool, "build", "-o", out, "./internal/crashchild")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the child: %v\n%s", err, b)
	}
	t.Logf("built the child in %v", time.Since(start).Round(time.Millisecond))
	return out
}

// lockedBuffer collects a child's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

// waitCrashSettled waits until want deliveries are delivered in the store
// (state 2), or fails when timeout fires, saying how many were not yet
// settled (pending: leased by a killed child, or due again) and how many
// were lost (failed for good, or never stored).
func waitCrashSettled(t *testing.T, db *sql.DB, want int, timeout <-chan time.Time) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var pending, delivered, failed int
		require.NoError(t, db.QueryRowContext(context.Background(), `SELECT
				coalesce(sum(state = 1), 0), coalesce(sum(state = 2), 0), coalesce(sum(state = 3), 0)
			FROM webhook_deliveries`).Scan(&pending, &delivered, &failed))
		if delivered == want {
			return
		}
		select {
		case <-timeout:
			missing := max(want-pending-delivered-failed, 0)
			t.Fatalf("%d of %d deliveries settled as delivered: %d not yet settled (pending), %d lost (%d failed, %d never stored)",
				delivered, want, pending, failed+missing, failed, missing)
		case <-tick.C:
		}
	}
}
