package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
)

// The river contender is what a Go server author would write instead of
// using fedihook's durable stores: River (github.com/riverqueue/river)
// on the same PostgreSQL, a job per delivery carrying the event, and a
// worker that POSTs the same Misskey payload with the same headers to the
// same receiver. It is tuned as a careful user would tune it: jobs
// inserted in batches (InsertMany of riverInsertBatch, in saturation; one
// event's jobs at a time at a fixed rate, as a request handler would),
// riverWorkers workers, and a fetch cooldown of riverFetchCooldown (the
// default is 100 ms).
const (
	riverInsertBatch   = 100
	riverWorkers       = 100
	riverFetchCooldown = 10 * time.Millisecond
)

// riverArgs are a delivery job's arguments: what the Dispatcher keeps of
// a delivery.
type riverArgs struct {
	EventID   uuid.UUID `json:"event_id"`
	HookID    string    `json:"hook_id"`
	UserID    string    `json:"user_id"`
	CreatedAt time.Time `json:"created_at"`
	// Body is the encoded event body, kept byte for byte: River stores
	// the arguments as jsonb, which would reorder a JSON object's keys.
	Body []byte `json:"body"`
}

// Kind implements river.JobArgs.
func (riverArgs) Kind() string { return "fedihook_bench_delivery" }

// riverWorker delivers a job: it builds the Misskey payload, POSTs it
// with Misskey's headers, and fails the job (River retries it) on
// anything but a 2xx answer.
type riverWorker struct {
	river.WorkerDefaults[riverArgs]
	client *http.Client
	url    string
	server string
	c      *counters
	queued *throttle
}

// Work implements river.Worker.
func (w *riverWorker) Work(ctx context.Context, job *river.Job[riverArgs]) error {
	a := job.Args
	payload := webhook.AppendPayload(nil, &webhook.Delivery{
		ID: a.EventID, HookID: a.HookID, UserID: a.UserID, Type: webhook.EventNote,
		Server: w.server, CreatedAt: a.CreatedAt, Body: a.Body,
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header = benchHeaders(a.HookID)
	resp, err := w.client.Do(req)
	if err != nil {
		w.c.retried.Add(1)
		w.c.fail(err)
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, webhook.MaxResponseRecord))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		err := fmt.Errorf("status %d", resp.StatusCode)
		w.c.retried.Add(1)
		w.c.fail(err)
		return err
	}
	w.c.delivered.Add(1)
	w.queued.release(1)
	return nil
}

// runRiver measures the river contender: spec.Concurrency emitters insert
// jobs, riverWorkers River workers deliver them.
func runRiver(ctx context.Context, spec *runSpec, ready func() error) (*runResult, error) {
	sctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	cfg, err := pgxpool.ParseConfig(spec.PGDSN)
	if err != nil {
		return nil, fmt.Errorf("river: bad DSN: %w", err)
	}
	cfg.MaxConns = int32(spec.PGConns)
	pool, err := pgxpool.NewWithConfig(sctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("river: %w", err)
	}
	defer pool.Close()
	schema := fmt.Sprintf("fedihook_bench_river_%d", os.Getpid())
	if _, err := pool.Exec(sctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return nil, fmt.Errorf("river: %w", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, _ = pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	}()
	driver := riverpgxv5.New(pool)
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Schema: schema})
	if err != nil {
		return nil, fmt.Errorf("river: %w", err)
	}
	if _, err := migrator.Migrate(sctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("river: migrating: %w", err)
	}

	note, err := benchNote(spec.BodySize)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		MaxIdleConns: riverWorkers, MaxIdleConnsPerHost: riverWorkers,
		IdleConnTimeout: 90 * time.Second, DisableCompression: true,
	}
	defer tr.CloseIdleConnections()
	var c counters
	queued := newThrottle(spec.MaxQueued)
	workers := river.NewWorkers()
	river.AddWorker(workers, &riverWorker{
		client: &http.Client{Transport: tr, Timeout: webhook.DefaultTimeout},
		url:    spec.URL + "/hook", server: "https://" + benchHost, c: &c, queued: queued,
	})
	client, err := river.NewClient(driver, &river.Config{
		Schema:        schema,
		Queues:        map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: riverWorkers}},
		FetchCooldown: riverFetchCooldown,
		Workers:       workers,
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return nil, fmt.Errorf("river: %w", err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	if err := client.Start(runCtx); err != nil {
		return nil, fmt.Errorf("river: %w", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = client.Stop(ctx)
	}()

	hooks := make([]string, benchUsers*spec.Hooks)
	for i := range hooks {
		hooks[i] = fmt.Sprintf("9k2m4q8z7xh%05d", i)
	}
	// Jobs per insert: a batch in saturation, one event's at a fixed rate.
	perInsert := max(riverInsertBatch/spec.Hooks, 1) * spec.Hooks
	if spec.Mode == modeRate {
		perInsert = spec.Hooks
	}
	turn := make([]int, spec.Concurrency)
	params := make([][]river.InsertManyParams, spec.Concurrency)
	emit := func(wctx context.Context, w int) {
		if !queued.acquire(wctx, int64(perInsert)) {
			return
		}
		t := time.Now()
		ps := params[w][:0]
		for e := 0; e < perInsert/spec.Hooks; e++ {
			u := (w + turn[w]*spec.Concurrency) % benchUsers
			turn[w]++
			n := *note
			n.ID = strconv.FormatInt(time.Now().UnixNano(), 10)
			n.CreatedAt = misskey.Time(t)
			body, err := webhook.EncodeBody(misskey.NoteBody{Note: &n})
			if err != nil {
				queued.release(int64(perInsert))
				c.fail(err)
				return
			}
			for h := range spec.Hooks {
				ps = append(ps, river.InsertManyParams{Args: riverArgs{
					EventID: uuid.New(), HookID: hooks[u*spec.Hooks+h], UserID: n.UserID,
					CreatedAt: t.Truncate(time.Millisecond), Body: body,
				}})
			}
		}
		params[w] = ps
		// ctx, not wctx: the end of the window must not cut an insert in
		// two.
		_, err := client.InsertMany(ctx, ps)
		c.emitLat.Record(time.Since(t))
		if err != nil {
			queued.release(int64(perInsert))
			c.emitErrors.Add(1)
			c.fail(err)
			return
		}
		c.events.Add(int64(perInsert / spec.Hooks))
		c.emitted.Add(int64(perInsert))
	}

	// Warm-up: an insert per emitter, delivered.
	res, err := measureQueued(ctx, sctx, spec, &c, emit, ready, "inserts")
	if err != nil {
		return nil, err
	}
	res.PayloadBytes = len(webhook.AppendPayload(nil, &webhook.Delivery{ID: uuid.New(), HookID: hooks[0],
		UserID: note.UserID, Type: webhook.EventNote, Server: "https://" + benchHost, CreatedAt: time.Now(),
		Body: mustBody(note)}))
	return res, nil
}

// mustBody encodes the bench note's body.
func mustBody(note *misskey.Note) []byte {
	b, err := webhook.EncodeBody(misskey.NoteBody{Note: note})
	if err != nil {
		panic(err) // the bench note always encodes
	}
	return b
}

// A pgServerCPU reads the CPU time of a local PostgreSQL server's
// processes: its postmaster and every process it started (backends,
// WAL writer, checkpointer, ...), live or ended, from /proc.
type pgServerCPU struct {
	postmaster int
	tick       time.Duration
}

// findPGServer finds the postmaster of the server at dsn, on this
// machine: the parent of the backend serving a connection. nil when the
// server is elsewhere or /proc is not there.
func findPGServer(ctx context.Context, dsn string) *pgServerCPU {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var backend int
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		return nil
	}
	_, ppid, _, ok := procStat(backend)
	if !ok {
		return nil
	}
	if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", ppid)); err != nil || !strings.HasPrefix(string(comm), "postgres") {
		return nil
	}
	// The kernel's USER_HZ is 100 on every Linux that Go runs on.
	return &pgServerCPU{postmaster: ppid, tick: 10 * time.Millisecond}
}

// read returns the CPU time of the server's processes so far: the
// postmaster's own, its live children's, and its ended children's (which
// the postmaster's stat holds once it has waited for them). A child that
// ends and is waited for while /proc is walked would count in neither
// place, or in both: read walks again until the ended children's time
// did not move meanwhile.
func (p *pgServerCPU) read() time.Duration {
	if p == nil {
		return 0
	}
	var ticks int64
	for range 10 {
		ended := childTicks(p.postmaster)
		var ok bool
		if ticks, ok = p.live(); !ok {
			return 0
		}
		ticks += ended
		if childTicks(p.postmaster) == ended {
			break
		}
	}
	return time.Duration(ticks) * p.tick
}

// live returns the CPU time, in clock ticks, of the postmaster and of its
// live children (ended ones not yet waited for among them).
func (p *pgServerCPU) live() (int64, bool) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	var ticks int64
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, ppid, t, ok := procStat(pid); ok && (pid == p.postmaster || ppid == p.postmaster) {
			ticks += t
		}
	}
	return ticks, true
}

// childTicks returns the CPU time (in clock ticks) of the ended children
// that process pid has waited for, from /proc/PID/stat.
func childTicks(pid int) int64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	s := string(b)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return 0
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 15 {
		return 0
	}
	cu, err1 := strconv.ParseInt(f[13], 10, 64)
	cs, err2 := strconv.ParseInt(f[14], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return cu + cs
}

// procStat reads a process's command, parent and CPU time (user plus
// system, in clock ticks) from /proc/PID/stat.
func procStat(pid int) (comm string, ppid int, ticks int64, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", 0, 0, false
	}
	// pid (comm) state ppid ... utime(14) stime(15): comm may hold spaces
	// and parentheses, so fields are counted from its last ")".
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return "", 0, 0, false
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 13 {
		return "", 0, 0, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	ut, err2 := strconv.ParseInt(f[11], 10, 64)
	st, err3 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return "", 0, 0, false
	}
	return s[open+1 : end], ppid, ut + st, true
}
