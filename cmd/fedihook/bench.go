package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults of bench's flags.
const (
	defaultBenchDuration    = 5 * time.Second
	defaultBenchConcurrency = 32
	defaultBenchBodySize    = 1024
	defaultBenchRate        = 1000
	defaultBenchMaxQueued   = 1024
	defaultBenchContenders  = "raw,memory,sqlite,postgres,river"
	// defaultBenchRounds is how many alternating rounds of saturation
	// rows bench runs by default.
	defaultBenchRounds = 3
	// maxBenchRounds bounds --rounds.
	maxBenchRounds = 20
	// defaultSQLiteSync is the sqlite contender's synchronous setting:
	// FULL, durable commits.
	defaultSQLiteSync = "FULL"
	// benchSQLiteConns is the size of the sqlite contender's
	// database/sql pool: the store serialises its writes itself, the
	// others are reads.
	benchSQLiteConns = 8
)

// benchChildEnv is set in the environment of bench's child processes, so
// that a test binary re-executed as one runs the command, not the tests.
const benchChildEnv = "FEDIHOOK_BENCH_CHILD"

const benchUsage = `Usage: fedihook bench [flags]

Measure, in one run, how many webhook deliveries per second each
contender sustains against one loopback receiver (started here, in a
process of its own, answering 204 over keep-alive connections), with a
~1 KiB note body and the same concurrency for all:

  raw          a hand-written net/http keep-alive POST loop: the ceiling
  memory       Emit -> delivery through the Dispatcher, in-memory store,
               real HTTPTransport, Workers = --concurrency
  sqlite       the same through sqlitestore (temporary file, WAL,
               synchronous=--sqlite-synchronous), followed by sqlite-db,
               SQLite's own ceiling for the same schema operations
  postgres     the same through pgstore, followed by postgres-db, its
               database ceiling; with --pg-dsn, else on a throwaway local
               server started here (skipped, with a note, if none can be)
  river        what a user would write with River v0.51 instead, on the
               same PostgreSQL: a job per delivery, inserted InsertMany
               100 at a time (one event's at the fixed rate), 100 River
               workers POSTing the same payload and headers, a 10 ms
               fetch cooldown

Each contender runs in a child process of its own, in saturation mode
(emitters keep at most --max-queued deliveries undelivered) and, with
--rate, again at a fixed rate of events per second for the latency
figures. The saturation runs come in --rounds alternating rounds: each
round runs every contender once, in the order above, so that the
machine's speed, which drifts over minutes, weighs on all of them alike
instead of on whichever ran last. The fixed-rate runs follow, once each.

For each run: deliveries/s, its ratio to raw's in the same round,
Emit-to-receipt latency p50/p99 (the receiver subtracts the emit time
carried in the body), CPU time and allocations per delivery, and peak
RSS of the contender's process, and the machine's CPU per delivery split
into the contender's, the receiver's and, for the PostgreSQL contenders
on a local server, the server's processes' (read from /proc). A table of
the runs goes to standard output, then the medians over the rounds, and,
as the last line, one JSON object with every figure, postgres_vs_river
among them. A figure of the saturation runs is the median of the
rounds' (for an even count, the mean of the middle two; a failed round
is left out), a count their sum, and a ratio (x raw, postgres_vs_river,
sqlite_vs_db, ...) the median of the ratios each round gives on its own,
not the ratio of the medians; the *_rounds keys list the rounds' values
in order.

Flags:
`

// benchOptions is bench's parsed command line.
type benchOptions struct {
	duration    time.Duration
	concurrency int
	bodySize    int
	hooks       int
	rate        int
	maxQueued   int
	contenders  []string
	rounds      int
	pgDSN       string
	pgConns     int
	sqliteSync  string
	sqliteDrv   string
	cpuProfile  string
}

// runBench is the bench command.
func runBench(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	o, err := parseBench(args, stdout)
	if code, ok := parsed("bench", err, stderr); !ok {
		return code
	}
	return bench(ctx, o, stdout, stderr)
}

// parseBench parses and checks bench's flags.
func parseBench(args []string, stdout io.Writer) (*benchOptions, error) {
	fs := newFlagSet("bench")
	o := &benchOptions{}
	var contenders string
	fs.DurationVar(&o.duration, "duration", defaultBenchDuration, "measure each contender for `DURATION`, in each mode and round")
	fs.IntVar(&o.concurrency, "concurrency", defaultBenchConcurrency, "`N` goroutines POSTing (raw), or emitting, and N Dispatcher workers")
	fs.IntVar(&o.bodySize, "body-size", defaultBenchBodySize, "encoded event body of about `BYTES` (a note; the payload adds ~200)")
	fs.IntVar(&o.hooks, "hooks", 1, "`N` webhooks per user: each event makes N deliveries")
	fs.StringVar(&contenders, "contenders", defaultBenchContenders, "comma-separated `LIST` of raw, memory, sqlite, postgres, river")
	fs.IntVar(&o.rounds, "rounds", defaultBenchRounds, "run the saturation rows in `N` alternating rounds, and report medians over them")
	fs.IntVar(&o.rate, "rate", defaultBenchRate, "also run each contender at `EVENTS` per second for the latency figures; 0 skips it")
	fs.IntVar(&o.maxQueued, "max-queued", defaultBenchMaxQueued, "in saturation, keep at most `N` deliveries emitted and not yet delivered")
	fs.StringVar(&o.pgDSN, "pg-dsn", os.Getenv("FEDIHOOK_PG_DSN"), "PostgreSQL `DSN` for postgres (default $FEDIHOOK_PG_DSN, else a throwaway local server)")
	fs.IntVar(&o.pgConns, "pg-conns", 0, "postgres pool size, `N` connections (default 2 x --concurrency + 4)")
	fs.StringVar(&o.sqliteSync, "sqlite-synchronous", defaultSQLiteSync, "sqlite's synchronous `MODE`: FULL (durable commits) or NORMAL")
	fs.StringVar(&o.sqliteDrv, "sqlite-driver", "modernc", "sqlite's database/sql `DRIVER`: modernc (modernc.org/sqlite) or ncruces (github.com/ncruces/go-sqlite3)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of each contender's measured run to `DIR`/CONTENDER-MODE.pprof (CONTENDER-saturation-ROUND.pprof with --rounds > 1), and its allocations beside it, to *.allocs.pprof")
	if err := parseFlags(fs, args, benchUsage, "bench takes flags only", stdout); err != nil {
		return nil, err
	}
	switch {
	case o.duration <= 0 || o.duration > time.Hour:
		return nil, fmt.Errorf("bad --duration: must be > 0 and <= 1h, got %v", o.duration)
	case o.concurrency < 1 || o.concurrency > 1024:
		return nil, fmt.Errorf("bad --concurrency: must be 1 to 1024, got %d", o.concurrency)
	case o.hooks < 1 || o.hooks > 100:
		return nil, fmt.Errorf("bad --hooks: must be 1 to 100, got %d", o.hooks)
	case o.rounds < 1 || o.rounds > maxBenchRounds:
		return nil, fmt.Errorf("bad --rounds: must be 1 to %d, got %d", maxBenchRounds, o.rounds)
	case o.rate < 0 || o.rate > 1_000_000:
		return nil, fmt.Errorf("bad --rate: must be 0 to 1000000, got %d", o.rate)
	case o.maxQueued < o.hooks:
		return nil, fmt.Errorf("bad --max-queued: must be >= --hooks (%d), got %d", o.hooks, o.maxQueued)
	case o.pgConns != 0 && (o.pgConns < 2 || o.pgConns > 1000):
		return nil, fmt.Errorf("bad --pg-conns: must be 2 to 1000, got %d", o.pgConns)
	case o.bodySize < minBodySize || o.bodySize > 1<<20-4096:
		return nil, fmt.Errorf("bad --body-size: must be %d to %d, got %d", minBodySize, 1<<20-4096, o.bodySize)
	}
	if _, err := benchNote(o.bodySize); err != nil {
		return nil, fmt.Errorf("bad --body-size: %w", err)
	}
	if o.pgConns == 0 {
		o.pgConns = 2*o.concurrency + 4
	}
	o.sqliteSync = strings.ToUpper(o.sqliteSync)
	if o.sqliteSync != "FULL" && o.sqliteSync != "NORMAL" {
		return nil, fmt.Errorf("bad --sqlite-synchronous: want FULL or NORMAL, got %q", o.sqliteSync)
	}
	if o.sqliteDrv != "modernc" && o.sqliteDrv != "ncruces" {
		return nil, fmt.Errorf("bad --sqlite-driver: want modernc or ncruces, got %q", o.sqliteDrv)
	}
	for _, c := range strings.Split(contenders, ",") {
		c = strings.TrimSpace(c)
		switch c {
		case contRaw, contMemory, contSQLite, contPostgres, contRiver:
		default:
			return nil, fmt.Errorf("bad --contenders: unknown contender %q; want raw, memory, sqlite, postgres or river", c)
		}
		if slices.Contains(o.contenders, c) {
			return nil, fmt.Errorf("bad --contenders: %s is listed twice", c)
		}
		o.contenders = append(o.contenders, c)
	}
	if o.cpuProfile != "" {
		if err := os.MkdirAll(o.cpuProfile, 0o755); err != nil {
			return nil, fmt.Errorf("bad --cpuprofile: %w", err)
		}
	}
	return o, nil
}

// A benchRow is one contender's run in one mode.
type benchRow struct {
	contender, mode string
	res             *runResult
	recv            *receiverStats // nil for the database ceilings
	// server is the CPU time of the PostgreSQL server's processes while
	// the row measured, -1 when not measured (no local server, or not a
	// PostgreSQL contender).
	server  time.Duration
	load    float64 // one-minute load average at its start
	busy    float64 // the machine's CPU use while it measured, 0 to 1; -1 unknown
	err     string
	skipped string
	// round is the saturation round the row belongs to, from 1; 0 for
	// the fixed-rate rows and the skipped contenders.
	round int
}

// ok reports whether the row ran, with every delivery accounted for.
func (r *benchRow) ok() bool {
	if r.res == nil || r.err != "" {
		return false
	}
	s := r.res
	if s.Failed != 0 || s.EmitErrors != 0 || s.Emitted != s.Delivered {
		return false
	}
	return r.recv == nil || (r.recv.Received == s.Delivered && r.recv.Untimed == 0)
}

// rps returns the deliveries per second of the measured window.
func (r *benchRow) rps() float64 {
	if r.res == nil || r.res.Window <= 0 {
		return 0
	}
	return float64(r.res.WindowDelivered) / r.res.Window.Seconds()
}

// isHTTPContender reports whether the contender delivers to the
// receiver; the database ceilings do not.
func isHTTPContender(c string) bool { return c != contSQLiteDB && c != contPostgresDB }

// A benchRunner runs bench's child processes.
type benchRunner struct {
	o      *benchOptions
	exe    string
	stderr io.Writer
	rcv    *receiverProc
	url    string
	pgDSN  string
	pg     *pgServerCPU // the local PostgreSQL server, if found
}

// bench runs the benchmark o describes and prints the table and the JSON
// line to stdout, its progress to stderr.
func bench(ctx context.Context, o *benchOptions, stdout, stderr io.Writer) int {
	stderr = &lockedWriter{w: stderr}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "fedihook bench: cannot re-execute myself: %v\n", err)
		return exitFail
	}
	b := &benchRunner{o: o, exe: exe, stderr: stderr, pgDSN: o.pgDSN}
	loadStart := loadAverage()
	begun := time.Now()

	// Every row the plan can hold, PostgreSQL's included, plus a margin.
	phases := len(benchPlan(o, true)) + 1
	lifetime := time.Duration(phases)*(setupTimeout+o.duration+drainTimeout+time.Minute) + 10*time.Minute
	b.rcv, err = startReceiver(ctx, exe, lifetime, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "fedihook bench: starting the receiver: %v\n", err)
		return exitFail
	}
	defer b.rcv.stop()
	b.url = "http://" + b.rcv.addr

	var rows []*benchRow
	pgNote := ""
	needPG := slices.Contains(o.contenders, contPostgres) || slices.Contains(o.contenders, contRiver)
	if needPG && b.pgDSN == "" {
		fmt.Fprintln(stderr, "bench: no --pg-dsn nor $FEDIHOOK_PG_DSN: starting a throwaway PostgreSQL server")
		srv, err := startPostgres(ctx)
		if err != nil {
			pgNote = "no PostgreSQL: " + err.Error() + "; give one with --pg-dsn"
			fmt.Fprintf(stderr, "bench: skipping postgres: %s\n", pgNote)
		} else {
			defer srv.Stop()
			b.pgDSN = srv.dsn
			pgNote = "throwaway server: " + srv.version
			fmt.Fprintf(stderr, "bench: started %s in %s\n", srv.version, srv.dir)
		}
	}
	if needPG && b.pgDSN != "" {
		b.pg = findPGServer(ctx, b.pgDSN)
		if b.pg == nil {
			fmt.Fprintln(stderr, "bench: the PostgreSQL server is not a local process: its CPU is not measured")
		}
	}
	for _, st := range benchPlan(o, b.pgDSN != "") {
		if st.skip {
			rows = append(rows, &benchRow{contender: st.contender, mode: st.mode, skipped: pgNote})
			continue
		}
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "fedihook bench: interrupted")
			return exitFail
		}
		row := b.run(ctx, st.contender, st.mode, st.round)
		rows = append(rows, row)
		b.progress(row)
	}
	loadEnd := loadAverage()

	meta := map[string]any{
		"cpus": runtime.NumCPU(), "go": runtime.Version(), "os": runtime.GOOS + "/" + runtime.GOARCH,
		"duration_s": o.duration.Seconds(), "concurrency": o.concurrency, "body_bytes": o.bodySize,
		"hooks": o.hooks, "users": benchUsers, "rate": o.rate, "max_queued": o.maxQueued, "rounds": o.rounds,
		"sqlite_synchronous": o.sqliteSync, "sqlite_driver": o.sqliteDrv, "pg_conns": o.pgConns,
		"load1_start": loadStart, "load1_end": loadEnd, "elapsed_s": roundTo(time.Since(begun).Seconds(), 1),
	}
	if pgNote != "" {
		meta["postgres_note"] = pgNote
	}
	fig := figures(o, rows, meta)
	printTable(stdout, o, rows, fig)
	j, _ := json.Marshal(fig)
	fmt.Fprintf(stdout, "%s\n", j)
	for _, r := range rows {
		if r.skipped == "" && !r.ok() {
			return exitFail
		}
	}
	return exitOK
}

// A benchStep is one row of bench's plan: a contender to run in a mode,
// or to skip.
type benchStep struct {
	contender, mode string
	// round is the saturation round, from 1; 0 for the fixed-rate rows
	// and the skips.
	round int
	// skip marks a contender that needs PostgreSQL when there is none.
	skip bool
}

// benchPlan returns the rows bench runs, in order: o.rounds rounds, each
// of every contender's saturation row in o.contenders' order, its
// database ceiling right after it, then, with --rate, each HTTP
// contender's fixed-rate row, once. Without PostgreSQL (havePG false),
// postgres and river appear once, as skips, where the first round would
// have run them.
func benchPlan(o *benchOptions, havePG bool) []benchStep {
	var plan []benchStep
	for round := 1; round <= o.rounds; round++ {
		for _, c := range o.contenders {
			if needsPG(c) && !havePG {
				if round == 1 {
					plan = append(plan, benchStep{contender: c, mode: modeSaturation, skip: true})
				}
				continue
			}
			plan = append(plan, benchStep{contender: c, mode: modeSaturation, round: round})
			if ceiling := dbCeiling(c); ceiling != "" {
				plan = append(plan, benchStep{contender: ceiling, mode: modeSaturation, round: round})
			}
		}
	}
	if o.rate > 0 {
		for _, c := range o.contenders {
			if !needsPG(c) || havePG {
				plan = append(plan, benchStep{contender: c, mode: modeRate})
			}
		}
	}
	return plan
}

// needsPG reports whether the contender c, as --contenders names it,
// runs on PostgreSQL.
func needsPG(c string) bool { return c == contPostgres || c == contRiver }

// dbCeiling returns the name of the database ceiling that follows the
// contender c, or "" if none does.
func dbCeiling(c string) string {
	switch c {
	case contSQLite:
		return contSQLiteDB
	case contPostgres:
		return contPostgresDB
	}
	return ""
}

// progress reports a finished row on stderr.
func (b *benchRunner) progress(r *benchRow) {
	what := r.contender + " " + r.mode
	if r.round > 0 {
		what += fmt.Sprintf(" (round %d/%d)", r.round, b.o.rounds)
	}
	switch {
	case r.err != "":
		fmt.Fprintf(b.stderr, "bench: %s failed: %s\n", what, r.err)
	default:
		fmt.Fprintf(b.stderr, "bench: %s: %.0f deliveries/s (load %.2f)\n", what, r.rps(), r.load)
	}
}

// run runs one contender in one mode in a child process; round is the
// row's saturation round, 0 for a fixed-rate row.
func (b *benchRunner) run(ctx context.Context, contender, mode string, round int) *benchRow {
	o := b.o
	row := &benchRow{contender: contender, mode: mode, round: round, load: loadAverage(), busy: -1, server: -1}
	spec := runSpec{
		Contender: contender, Mode: mode, URL: b.url, Duration: o.duration,
		Concurrency: o.concurrency, BodySize: o.bodySize, Hooks: o.hooks, Rate: o.rate,
		MaxQueued: o.maxQueued, SQLiteSync: o.sqliteSync, SQLiteDriver: o.sqliteDrv, SQLiteConns: benchSQLiteConns,
	}
	onPG := contender == contPostgres || contender == contPostgresDB || contender == contRiver
	if onPG {
		spec.PGDSN, spec.PGConns = b.pgDSN, o.pgConns
	}
	if o.cpuProfile != "" {
		spec.CPUProfile = fmt.Sprintf("%s/%s-%s.pprof", o.cpuProfile, contender, mode)
		if o.rounds > 1 && round > 0 {
			spec.CPUProfile = fmt.Sprintf("%s/%s-%s-%d.pprof", o.cpuProfile, contender, mode, round)
		}
	}
	js, err := json.Marshal(spec)
	if err != nil {
		row.err = err.Error()
		return row
	}
	cctx, cancel := context.WithTimeout(ctx, setupTimeout+o.duration+drainTimeout+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, b.exe, "bench-run", "--spec", string(js))
	cmd.Env = append(os.Environ(), benchChildEnv+"=1")
	cmd.Stderr = b.stderr
	cmd.WaitDelay = 10 * time.Second
	in, err := cmd.StdinPipe()
	if err != nil {
		row.err = err.Error()
		return row
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		row.err = err.Error()
		return row
	}
	if err := cmd.Start(); err != nil {
		row.err = err.Error()
		return row
	}
	fail := func(err error) *benchRow {
		in.Close()
		if werr := cmd.Wait(); werr != nil {
			err = fmt.Errorf("%w (child: %v)", err, werr)
		}
		row.err = err.Error()
		return row
	}
	r := bufio.NewReader(out)
	line, err := r.ReadString('\n')
	if err != nil || line != "ready\n" {
		return fail(fmt.Errorf("setting up: %q %v", strings.TrimSpace(line), err))
	}
	if isHTTPContender(contender) {
		if _, err := b.rcv.command("reset"); err != nil {
			return fail(err)
		}
	}
	busy0, total0, cpuOK := cpuTimes()
	server0 := b.pg.read()
	if _, err := fmt.Fprintln(in, "go"); err != nil {
		return fail(err)
	}
	line, err = r.ReadString('\n')
	if err != nil {
		return fail(fmt.Errorf("measuring: %v", err))
	}
	if onPG && b.pg != nil {
		row.server = max(b.pg.read()-server0, -1)
	} else if !onPG {
		row.server = 0 // no server
	}
	if busy1, total1, ok := cpuTimes(); ok && cpuOK && total1 > total0 {
		row.busy = float64(busy1-busy0) / float64(total1-total0)
	}
	var res runResult
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		return fail(fmt.Errorf("reading the result %q: %v", strings.TrimSpace(line), err))
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		row.err = err.Error()
		return row
	}
	row.res = &res
	if isHTTPContender(contender) {
		line, err := b.rcv.command("stats")
		if err != nil {
			row.err = err.Error()
			return row
		}
		var st receiverStats
		if err := json.Unmarshal([]byte(line), &st); err != nil {
			row.err = fmt.Sprintf("reading the receiver's stats %q: %v", line, err)
			return row
		}
		row.recv = &st
	}
	return row
}

// A lockedWriter serialises the writes of the child processes' stderr
// copiers.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Write writes p to the underlying writer, one Write at a time.
func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
