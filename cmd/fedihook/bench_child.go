package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
)

// Each contender runs in a child process of its own (the hidden bench-run
// command), so that the CPU time, allocations and peak RSS it reports are
// its own. bench passes it a runSpec as JSON; the child sets up (store,
// webhooks, connections, a warm-up), prints "ready", waits for "go" on
// its standard input (bench resets the receiver meanwhile), measures, and
// prints its runResult as one JSON line.

// Contenders.
const (
	contRaw        = "raw"
	contMemory     = "memory"
	contSQLite     = "sqlite"
	contPostgres   = "postgres"
	contSQLiteDB   = "sqlite-db"
	contPostgresDB = "postgres-db"
	contRiver      = "river"
)

// Modes.
const (
	modeSaturation = "saturation"
	modeRate       = "rate"
)

const (
	// benchHost is the X-Misskey-Host of bench's webhooks.
	benchHost = "bench.fedihook.local"
	// benchSecret is their secret.
	benchSecret = "bench-secret"
	// benchUsers is how many users own --hooks webhooks each; the
	// emitters take them in turn.
	benchUsers = 100
	// benchEvents bounds the events of one run: a million a second of
	// --duration, far beyond what any contender reaches.
	benchEvents = 1_000_000
	// drainTimeout bounds the wait, after the measured window, for the
	// deliveries still queued.
	drainTimeout = 60 * time.Second
	// setupTimeout bounds a child's setup and warm-up.
	setupTimeout = 2 * time.Minute
)

// runSpec tells a child what to measure.
type runSpec struct {
	Contender   string        `json:"contender"`
	Mode        string        `json:"mode"`
	URL         string        `json:"url"`
	Duration    time.Duration `json:"duration"`
	Concurrency int           `json:"concurrency"`
	BodySize    int           `json:"bodySize"`
	Hooks       int           `json:"hooks"`
	Rate        int           `json:"rate"`
	MaxQueued   int           `json:"maxQueued"`
	PGDSN       string        `json:"pgDSN,omitempty"`
	PGConns     int           `json:"pgConns,omitempty"`
	SQLiteSync  string        `json:"sqliteSync,omitempty"`
	// SQLiteDriver is "modernc" or "ncruces".
	SQLiteDriver string `json:"sqliteDriver,omitempty"`
	SQLiteConns  int    `json:"sqliteConns,omitempty"`
	CPUProfile   string `json:"cpuProfile,omitempty"`
}

// runResult is what a child measured.
type runResult struct {
	// Events counts the events emitted (raw: requests started), and
	// Emitted the deliveries they made (events times webhooks).
	Events  int64 `json:"events"`
	Emitted int64 `json:"emitted"`
	// EmitErrors counts the Emits that failed.
	EmitErrors int64 `json:"emitErrors"`
	// Delivered and Failed count the deliveries that ended so, measured
	// window and drain included; Retried counts attempts to be retried.
	Delivered int64 `json:"delivered"`
	Failed    int64 `json:"failed"`
	Retried   int64 `json:"retried"`
	// WindowDelivered and WindowEmitted are the counts at the end of the
	// measured window, Window its length.
	WindowDelivered int64         `json:"windowDelivered"`
	WindowEmitted   int64         `json:"windowEmitted"`
	Window          time.Duration `json:"window"`
	// Elapsed is the window plus the drain of what was still queued.
	Elapsed time.Duration `json:"elapsed"`
	// CPU, Mallocs: the process's, over Elapsed. MaxRSS: its peak, in
	// bytes.
	CPU     time.Duration `json:"cpu"`
	Mallocs uint64        `json:"mallocs"`
	MaxRSS  int64         `json:"maxRSS"`
	// Emit summarises how long Emit calls took.
	Emit latencies `json:"emit"`
	// FirstError is the first failure seen, if any.
	FirstError string `json:"firstError,omitempty"`
	// Note says something worth knowing about the run.
	Note string `json:"note,omitempty"`
	// PayloadBytes is the size of one request's body.
	PayloadBytes int `json:"payloadBytes"`
}

// counters are a run's tallies, updated from many goroutines.
type counters struct {
	events, emitted, emitErrors atomic.Int64
	delivered, failed, retried  atomic.Int64
	emitLat                     histogram
	firstErr                    atomic.Pointer[string]
}

// fail keeps err if it is the first failure.
func (c *counters) fail(err error) {
	s := err.Error()
	c.firstErr.CompareAndSwap(nil, &s)
}

// reset zeroes the counters; nothing may be in flight.
func (c *counters) reset() {
	for _, a := range []*atomic.Int64{&c.events, &c.emitted, &c.emitErrors, &c.delivered, &c.failed, &c.retried} {
		a.Store(0)
	}
	c.emitLat.Reset()
	c.firstErr.Store(nil)
}

// done counts the deliveries that ended.
func (c *counters) done() int64 { return c.delivered.Load() + c.failed.Load() }

// runBenchRun is the hidden bench-run command.
func runBenchRun(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench-run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	specJSON := fs.String("spec", "", "what to measure, as `JSON`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, "Usage: fedihook bench-run --spec JSON\n\nOne contender of bench, in a process of its own; bench starts it.\n\nFlags:\n")
			printFlags(stdout, fs)
			return exitOK
		}
		fmt.Fprintf(stderr, "fedihook bench-run: %v\n", err)
		return exitUsage
	}
	var spec runSpec
	if err := json.Unmarshal([]byte(*specJSON), &spec); err != nil {
		fmt.Fprintf(stderr, "fedihook bench-run: bad --spec: %v\n", err)
		return exitUsage
	}
	in := bufio.NewReader(stdin)
	ready := func() error {
		fmt.Fprintln(stdout, "ready")
		line, err := in.ReadString('\n')
		if err != nil {
			return fmt.Errorf("waiting for go: %w", err)
		}
		if strings.TrimSpace(line) != "go" {
			return fmt.Errorf("waiting for go, got %q", line)
		}
		return nil
	}
	res, err := benchRun(ctx, &spec, ready)
	if err != nil {
		fmt.Fprintf(stderr, "fedihook bench-run %s: %v\n", spec.Contender, err)
		return exitFail
	}
	b, _ := json.Marshal(res)
	fmt.Fprintf(stdout, "%s\n", b)
	return exitOK
}

// benchRun sets up spec's contender, calls ready, and measures.
func benchRun(ctx context.Context, spec *runSpec, ready func() error) (*runResult, error) {
	switch spec.Contender {
	case contRaw:
		return runRaw(ctx, spec, ready)
	case contMemory:
		store, err := webhook.NewMemoryStore(nil)
		if err != nil {
			return nil, err
		}
		return runDispatcher(ctx, spec, store, ready)
	case contSQLite:
		store, cleanup, err := openSQLiteStore(ctx, spec)
		if err != nil {
			return nil, err
		}
		defer cleanup()
		return runDispatcher(ctx, spec, store, ready)
	case contPostgres:
		store, cleanup, err := openPostgresStore(ctx, spec)
		if err != nil {
			return nil, err
		}
		defer cleanup()
		return runDispatcher(ctx, spec, store, ready)
	case contRiver:
		return runRiver(ctx, spec, ready)
	case contSQLiteDB:
		return runSQLiteCeiling(ctx, spec, ready)
	case contPostgresDB:
		return runPostgresCeiling(ctx, spec, ready)
	}
	return nil, fmt.Errorf("unknown contender %q", spec.Contender)
}

// A meter measures the process over a run: CPU time, allocations, and a
// CPU profile when asked for.
type meter struct {
	start   time.Time
	cpu     time.Duration
	mallocs uint64
	profile *os.File
}

// startMeter starts measuring, and profiling if spec asks for it.
func startMeter(spec *runSpec) (*meter, error) {
	m := &meter{}
	if spec.CPUProfile != "" {
		f, err := os.Create(spec.CPUProfile)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, err
		}
		m.profile = f
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.mallocs = ms.Mallocs
	m.cpu, _ = processUsage()
	m.start = time.Now()
	return m, nil
}

// stop fills in res's Elapsed, CPU, Mallocs and MaxRSS.
func (m *meter) stop(res *runResult) error {
	res.Elapsed = time.Since(m.start)
	cpu, rss := processUsage()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.CPU, res.Mallocs, res.MaxRSS = cpu-m.cpu, ms.Mallocs-m.mallocs, rss
	if m.profile != nil {
		pprof.StopCPUProfile()
		if err := m.profile.Close(); err != nil {
			return err
		}
		// Beside it, where the process allocated (since it started).
		f, err := os.Create(strings.TrimSuffix(m.profile.Name(), ".pprof") + ".allocs.pprof")
		if err != nil {
			return err
		}
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	return nil
}

// A window is a snapshot of the counters at the end of the measured
// window.
type window struct {
	delivered, emitted int64
	length             time.Duration
}

// drive calls work from spec.Concurrency goroutines for spec.Duration:
// back to back in saturation mode, or, in rate mode, spec.Rate times a
// second in all, paced from one goroutine. work gets a context that ends
// with the window, for waiting only, and the goroutine's number. drive
// returns when every goroutine has, with the counters at the window's
// end.
func drive(ctx context.Context, spec *runSpec, c *counters, work func(ctx context.Context, worker int)) window {
	start := time.Now()
	deadline := start.Add(spec.Duration)
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	maxEvents := int64(spec.Duration.Seconds()*benchEvents) + 1
	var (
		wg      sync.WaitGroup
		started atomic.Int64
		win     window
	)
	wg.Go(func() {
		<-wctx.Done()
		win = window{delivered: c.delivered.Load(), emitted: c.emitted.Load(), length: time.Since(start)}
	})
	if spec.Mode == modeRate {
		jobs := make(chan struct{})
		wg.Go(func() {
			defer close(jobs)
			total := int64(float64(spec.Rate) * spec.Duration.Seconds())
			t := time.NewTimer(time.Hour)
			defer t.Stop()
			for i := range min(total, maxEvents) {
				next := start.Add(time.Duration(i * int64(time.Second) / int64(spec.Rate)))
				if d := time.Until(next); d > 0 {
					t.Reset(d)
					select {
					case <-t.C:
					case <-wctx.Done():
						return
					}
				}
				select {
				case jobs <- struct{}{}:
				case <-wctx.Done():
					return
				}
			}
		})
		for w := range spec.Concurrency {
			wg.Go(func() {
				for range jobs {
					work(wctx, w)
				}
			})
		}
	} else {
		for w := range spec.Concurrency {
			wg.Go(func() {
				for wctx.Err() == nil && started.Add(1) <= maxEvents {
					work(wctx, w)
				}
			})
		}
	}
	wg.Wait()
	return win
}

// drain waits until every delivery emitted has ended, or drainTimeout.
func drain(ctx context.Context, c *counters) error {
	t := time.NewTimer(drainTimeout)
	defer t.Stop()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for c.done() < c.emitted.Load() {
		select {
		case <-tick.C:
		case <-t.C:
			return fmt.Errorf("%d deliveries still queued after %v", c.emitted.Load()-c.done(), drainTimeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// result assembles a runResult from the counters and the window.
func result(c *counters, win window) *runResult {
	res := &runResult{
		Events: c.events.Load(), Emitted: c.emitted.Load(), EmitErrors: c.emitErrors.Load(),
		Delivered: c.delivered.Load(), Failed: c.failed.Load(), Retried: c.retried.Load(),
		WindowDelivered: win.delivered, WindowEmitted: win.emitted, Window: win.length,
		Emit: c.emitLat.Summary(),
	}
	if p := c.firstErr.Load(); p != nil {
		res.FirstError = *p
	}
	return res
}

// loopback is the allow-list rule that lets the transport reach the
// receiver.
func loopback() webhook.AllowRule {
	r, err := webhook.ParseAllowRule("127.0.0.0/8")
	if err != nil {
		panic(err) // a constant that parses
	}
	return r
}

// runRaw measures the ceiling: a hand-written keep-alive POST loop from
// spec.Concurrency goroutines, of the bytes the Dispatcher would send,
// with the same headers, through net/http's own Transport.
func runRaw(ctx context.Context, spec *runSpec, ready func() error) (*runResult, error) {
	note, err := benchNote(spec.BodySize)
	if err != nil {
		return nil, err
	}
	body, err := webhook.EncodeBody(misskey.NoteBody{Note: note})
	if err != nil {
		return nil, err
	}
	const hookID = "9k2m4q8z7xhook01"
	template := webhook.AppendPayload(nil, &webhook.Delivery{
		ID: uuid.New(), HookID: hookID, UserID: note.UserID, Type: webhook.EventNote,
		Server: "https://" + benchHost, CreatedAt: time.Now(), Body: body,
	})
	at := bytes.Index(template, []byte(emitTimeMarker)) + len(emitTimeMarker)
	tr := &http.Transport{
		MaxIdleConns:        spec.Concurrency,
		MaxIdleConnsPerHost: spec.Concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: webhook.DefaultTimeout}
	bufs := make([][]byte, spec.Concurrency)
	headers := make([]http.Header, spec.Concurrency)
	for i := range bufs {
		bufs[i] = bytes.Clone(template)
		headers[i] = benchHeaders(hookID)
	}
	var c counters
	post := func(_ context.Context, w int) {
		c.events.Add(1)
		c.emitted.Add(1)
		buf := bufs[w]
		putEmitTime(buf[at:], time.Now().UnixNano())
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, spec.URL, bytes.NewReader(buf))
		if err != nil {
			c.failed.Add(1)
			c.fail(err)
			return
		}
		req.Header = headers[w]
		resp, err := client.Do(req)
		if err != nil {
			c.failed.Add(1)
			c.fail(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			c.delivered.Add(1)
		} else {
			c.failed.Add(1)
			c.fail(fmt.Errorf("status %d", resp.StatusCode))
		}
	}
	// Warm-up: one request per goroutine at once, to open the
	// connections.
	var wg sync.WaitGroup
	for w := range spec.Concurrency {
		wg.Go(func() { post(ctx, w) })
	}
	wg.Wait()
	if c.delivered.Load() != int64(spec.Concurrency) {
		return nil, fmt.Errorf("warm-up: %d of %d requests failed: %s", c.failed.Load(), spec.Concurrency, *c.firstErr.Load())
	}
	c.reset()
	if err := ready(); err != nil {
		return nil, err
	}
	m, err := startMeter(spec)
	if err != nil {
		return nil, err
	}
	win := drive(ctx, spec, &c, post)
	res := result(&c, win)
	if err := m.stop(res); err != nil {
		return nil, err
	}
	res.PayloadBytes = len(template)
	return res, nil
}

// measureQueued runs a queued contender's measurement: a warm-up of one
// emit per emitter, all delivered (sctx bounds it), then spec's load
// through emit until the window closes and the drain after it. what
// names an emit in the warm-up's error.
func measureQueued(ctx, sctx context.Context, spec *runSpec, c *counters, emit func(context.Context, int), ready func() error, what string) (*runResult, error) {
	for w := range spec.Concurrency {
		emit(sctx, w)
	}
	if err := drain(sctx, c); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	if c.emitErrors.Load() > 0 || c.failed.Load() > 0 {
		return nil, fmt.Errorf("warm-up: %d %s and %d deliveries failed: %s", c.emitErrors.Load(), what, c.failed.Load(), *c.firstErr.Load())
	}
	c.reset()
	if err := ready(); err != nil {
		return nil, err
	}
	m, err := startMeter(spec)
	if err != nil {
		return nil, err
	}
	win := drive(ctx, spec, c, emit)
	derr := drain(ctx, c)
	res := result(c, win)
	if err := m.stop(res); err != nil {
		return nil, err
	}
	if derr != nil {
		res.Note = derr.Error()
	}
	return res, nil
}

// runDispatcher measures Emit → delivery through a Dispatcher over store,
// with the real HTTPTransport and Workers = spec.Concurrency. Emitters
// (spec.Concurrency goroutines, as a host's request handlers) keep at
// most spec.MaxQueued deliveries undelivered.
func runDispatcher(ctx context.Context, spec *runSpec, store webhook.Store, ready func() error) (*runResult, error) {
	sctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	note, err := benchNote(spec.BodySize)
	if err != nil {
		return nil, err
	}
	tr, err := webhook.NewHTTPTransport(&webhook.HTTPTransportConfig{
		AllowNetworks:       []webhook.AllowRule{loopback()},
		MaxIdleConnsPerHost: spec.Concurrency,
	})
	if err != nil {
		return nil, err
	}
	defer tr.CloseIdleConnections()
	var c counters
	// queued counts the deliveries emitted and not yet ended.
	queued := newThrottle(spec.MaxQueued)
	var payloadBytes atomic.Int64
	d, err := webhook.New(store, &webhook.Config{
		Host: benchHost, Workers: spec.Concurrency, Transport: tr,
		// The one receiver stands for the many hosts and webhooks of a
		// real fan-out: the fairness limits, which would otherwise hold
		// it to fewer deliveries in flight than raw's, are the workers'.
		MaxInFlightPerHost: spec.Concurrency, MaxInFlightPerHook: spec.Concurrency,
		OnAttempt: func(r webhook.AttemptReport) {
			switch r.State {
			case webhook.StateDelivered:
				c.delivered.Add(1)
			case webhook.StateFailed:
				c.failed.Add(1)
				c.fail(r.Err)
			default:
				c.retried.Add(1)
				c.fail(r.Err)
				return
			}
			if payloadBytes.Load() == 0 {
				payloadBytes.Store(int64(len(webhook.AppendPayload(nil, r.Delivery))))
			}
			queued.release(1)
		},
	})
	if err != nil {
		return nil, err
	}
	users := make([]string, benchUsers)
	for u := range users {
		users[u] = fmt.Sprintf("9k2m4q8z7xu%05d", u)
		for h := range spec.Hooks {
			_, err := d.CreateHook(sctx, &webhook.Webhook{
				UserID: users[u], Name: fmt.Sprintf("bench %d", h), On: []webhook.Event{webhook.EventNote},
				URL: fmt.Sprintf("%s/hook/%d/%d", spec.URL, u, h), Secret: benchSecret, Active: true,
			})
			if err != nil {
				return nil, fmt.Errorf("creating webhooks: %w", err)
			}
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	if err := d.Start(runCtx); err != nil {
		return nil, err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = d.Shutdown(sctx)
	}()

	turn := make([]int, spec.Concurrency)
	emit := func(wctx context.Context, w int) {
		if !queued.acquire(wctx, int64(spec.Hooks)) {
			return
		}
		user := users[(w+turn[w]*spec.Concurrency)%benchUsers]
		turn[w]++
		n := *note
		t := time.Now()
		n.ID = strconv.FormatInt(t.UnixNano(), 10)
		n.CreatedAt = misskey.Time(t)
		// Emit gets ctx, not wctx: the end of the window must not cut an
		// Emit in two.
		err := d.Emit(ctx, user, webhook.EventNote, misskey.NoteBody{Note: &n})
		c.emitLat.Record(time.Since(t))
		if err != nil {
			queued.release(int64(spec.Hooks))
			c.emitErrors.Add(1)
			c.fail(err)
			return
		}
		c.events.Add(1)
		c.emitted.Add(int64(spec.Hooks))
	}

	// Warm-up: an event per emitter, delivered, so that the connections
	// are open and the statements prepared.
	res, err := measureQueued(ctx, sctx, spec, &c, emit, ready, "Emits")
	if err != nil {
		return nil, err
	}
	res.PayloadBytes = int(payloadBytes.Load())
	return res, nil
}
