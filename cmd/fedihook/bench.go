package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
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

// A receiverProc is the receiver's process.
type receiverProc struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	addr string
}

// startReceiver starts the receiver, which stops by itself after
// lifetime, and returns once it listens.
func startReceiver(ctx context.Context, exe string, lifetime time.Duration, stderr io.Writer) (*receiverProc, error) {
	cmd := exec.CommandContext(ctx, exe, "bench-receiver", "--lifetime", lifetime.String())
	cmd.Env = append(os.Environ(), benchChildEnv+"=1")
	cmd.Stderr = stderr
	cmd.WaitDelay = 10 * time.Second
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &receiverProc{cmd: cmd, in: in, out: bufio.NewReader(out)}
	line, err := r.out.ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		r.stop()
		return nil, fmt.Errorf("the receiver said %q: %v", line, err)
	}
	r.addr = addr
	return r, nil
}

// command sends the receiver a command and returns its answer.
func (r *receiverProc) command(c string) (string, error) {
	if _, err := fmt.Fprintln(r.in, c); err != nil {
		return "", fmt.Errorf("receiver: %w", err)
	}
	line, err := r.out.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("receiver: %w", err)
	}
	return strings.TrimSpace(line), nil
}

// stop ends the receiver's input, which stops it, and waits for it.
func (r *receiverProc) stop() {
	r.in.Close()
	_ = r.cmd.Wait()
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

// roundTo rounds x to n decimals.
func roundTo(x float64, n int) float64 {
	p := math.Pow(10, float64(n))
	return math.Round(x*p) / p
}

// ms returns d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return roundTo(float64(d)/float64(time.Millisecond), 3) }

// us returns d in microseconds, to a tenth.
func us(d time.Duration) float64 { return roundTo(float64(d)/float64(time.Microsecond), 1) }

// perDelivery divides a total by the deliveries of a run.
func perDelivery(total float64, res *runResult) float64 {
	if res.Delivered == 0 {
		return 0
	}
	return total / float64(res.Delivered)
}

// figureName returns the contender's name as the JSON keys spell it.
func figureName(c string) string { return strings.ReplaceAll(c, "-", "_") }

// median returns the median of xs: the middle value, or the mean of the
// two middle ones when their count is even; 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// emitRPS returns the deliveries emitted per second of the measured
// window.
func (r *benchRow) emitRPS() float64 {
	if r.res == nil || r.res.Window <= 0 {
		return 0
	}
	return float64(r.res.WindowEmitted) / r.res.Window.Seconds()
}

// receiverUS returns the receiver's CPU per request it answered, in
// microseconds.
func receiverUS(st *receiverStats) float64 {
	if st.Received == 0 {
		return 0
	}
	return float64(st.CPU) / float64(time.Microsecond) / float64(st.Received)
}

// machineUS returns the row's CPU per delivery, in microseconds, of the
// PostgreSQL server's processes, and of the machine: the contender's, the
// server's and the receiver's together. ok is false when the server's was
// not measured.
func machineUS(r *benchRow) (server, machine float64, ok bool) {
	if r.res == nil || r.server < 0 {
		return 0, 0, false
	}
	s := r.res
	server = perDelivery(float64(r.server)/float64(time.Microsecond), s)
	machine = perDelivery(float64(s.CPU)/float64(time.Microsecond), s) + server
	if r.recv != nil {
		machine += receiverUS(r.recv)
	}
	return server, machine, true
}

// A benchFigure is one number of the JSON, with the decimals it is
// rounded to.
type benchFigure struct {
	value    float64
	decimals int
}

// rowFigures returns the numbers of one row that ran, by JSON key, as the
// row alone gives them, unrounded; figures writes their medians over the
// rounds. The counts are not among them: figures sums those.
func rowFigures(o *benchOptions, r *benchRow) map[string]benchFigure {
	k := figureName(r.contender)
	p := k + "_"
	if r.mode == modeRate {
		p = k + "_rate_"
	}
	s := r.res
	f := map[string]benchFigure{
		p + "rps":    {r.rps(), 0},
		p + "cpu_us": {perDelivery(float64(s.CPU)/float64(time.Microsecond), s), 1},
		p + "allocs": {perDelivery(float64(s.Mallocs), s), 1},
		p + "rss_mb": {float64(s.MaxRSS) / (1 << 20), 1},
	}
	if r.busy >= 0 {
		f[p+"machine_busy"] = benchFigure{r.busy, 3}
	}
	if r.contender != contRaw && isHTTPContender(r.contender) {
		f[p+"emit_rps"] = benchFigure{r.emitRPS(), 0}
		f[p+"emit_p50_us"] = benchFigure{us(s.Emit.P50), 1}
		f[p+"emit_p99_us"] = benchFigure{us(s.Emit.P99), 1}
	}
	if server, machine, ok := machineUS(r); ok {
		f[p+"server_cpu_us"] = benchFigure{server, 1}
		f[p+"machine_cpu_us"] = benchFigure{machine, 1}
	}
	if r.recv != nil {
		if r.recv.Received > 0 {
			f[p+"receiver_cpu_us"] = benchFigure{receiverUS(r.recv), 1}
		}
		if r.mode == modeRate || o.rate == 0 {
			f[k+"_p50_ms"] = benchFigure{ms(r.recv.Latency.P50), 3}
			f[k+"_p99_ms"] = benchFigure{ms(r.recv.Latency.P99), 3}
		}
		if r.mode == modeSaturation {
			f[k+"_sat_p50_ms"] = benchFigure{ms(r.recv.Latency.P50), 3}
			f[k+"_sat_p99_ms"] = benchFigure{ms(r.recv.Latency.P99), 3}
		}
	}
	return f
}

// figures returns every figure of the run by its JSON key, meta's
// included. A contender's saturation rows, one a round, make one set of
// keys: each number the median of the rounds' own (each rounded as the
// key is, a failed round left out), each count their sum; the ratios
// compare rows of the same round (see roundFigures). A fixed-rate row
// makes its *_rate_ keys alone.
func figures(o *benchOptions, rows []*benchRow, meta map[string]any) map[string]any {
	f := map[string]any{}
	for k, v := range meta {
		f[k] = v
	}
	for _, g := range groupRows(rows) {
		groupFigures(f, o, g)
	}
	roundFigures(f, rows)
	return f
}

// groupRows returns the rows by contender and mode: each group's rows in
// their order, the groups in the order of their first rows.
func groupRows(rows []*benchRow) [][]*benchRow {
	var groups [][]*benchRow
	index := map[[2]string]int{}
	for _, r := range rows {
		key := [2]string{r.contender, r.mode}
		i, ok := index[key]
		if !ok {
			i = len(groups)
			index[key] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], r)
	}
	return groups
}

// groupFigures writes to f the figures of rows, one contender's in one
// mode: the medians of rowFigures' numbers, the sums of the counts,
// whether every row was accounted for, the first error and note the rows
// met, and, if any row failed, why (prefixed with its round when there
// are several).
func groupFigures(f map[string]any, o *benchOptions, rows []*benchRow) {
	c := rows[0].contender
	k := figureName(c)
	p := k + "_"
	if rows[0].mode == modeRate {
		p = k + "_rate_"
	}
	values := map[string][]float64{}
	decimals := map[string]int{}
	var errs []string
	var ran int
	var delivered, failed, left, received, emitErrors int64
	withRecv, accounted := false, true
	for _, r := range rows {
		switch {
		case r.skipped != "":
			f[k+"_skipped"] = r.skipped
			continue
		case r.err != "" || r.res == nil:
			e := r.err
			if len(rows) > 1 {
				e = fmt.Sprintf("round %d: %s", r.round, e)
			}
			errs = append(errs, e)
			accounted = false
			continue
		}
		ran++
		for key, v := range rowFigures(o, r) {
			values[key] = append(values[key], roundTo(v.value, v.decimals))
			decimals[key] = v.decimals
		}
		s := r.res
		delivered += s.Delivered
		failed += s.Failed
		left += s.Emitted - s.Delivered - s.Failed
		emitErrors += s.EmitErrors
		accounted = accounted && r.ok()
		if r.recv != nil {
			withRecv = true
			received += r.recv.Received
		}
		if _, ok := f[p+"first_error"]; !ok && s.FirstError != "" {
			f[p+"first_error"] = s.FirstError
		}
		if _, ok := f[p+"note"]; !ok && s.Note != "" {
			f[p+"note"] = s.Note
		}
		if s.PayloadBytes > 0 {
			f["payload_bytes"] = s.PayloadBytes
		}
	}
	if len(errs) > 0 {
		f[p+"error"] = strings.Join(errs, "; ")
	}
	if ran == 0 {
		return
	}
	for key, vs := range values {
		f[key] = roundTo(median(vs), decimals[key])
	}
	f[p+"delivered"] = delivered
	f[p+"failed"] = failed
	f[p+"left"] = left
	f[p+"accounted"] = accounted
	if withRecv {
		f[p+"received"] = received
	}
	if c != contRaw && isHTTPContender(c) {
		f[p+"emit_errors"] = emitErrors
	}
}

// A benchRound is one round's saturation rows that ran, by contender.
type benchRound map[string]*benchRow

// rps returns the deliveries per second of the contender c's row, ok
// false if it did not run in the round.
func (rd benchRound) rps(c string) (float64, bool) {
	r := rd[c]
	if r == nil {
		return 0, false
	}
	return r.rps(), true
}

// machine returns the machine's CPU per delivery, in microseconds, of
// the contender c's row, ok false if it did not run in the round or the
// figure was not measured.
func (rd benchRound) machine(c string) (float64, bool) {
	r := rd[c]
	if r == nil {
		return 0, false
	}
	_, m, ok := machineUS(r)
	return m, ok
}

// saturationRounds returns the rounds of the saturation rows, in order,
// each with its rows that ran, and the contenders with a saturation row
// not skipped, in the order they first come.
func saturationRounds(rows []*benchRow) (rounds []int, byRound map[int]benchRound, contenders []string) {
	byRound = map[int]benchRound{}
	for _, r := range rows {
		if r.mode != modeSaturation || r.skipped != "" {
			continue
		}
		if byRound[r.round] == nil {
			byRound[r.round] = benchRound{}
			rounds = append(rounds, r.round)
		}
		if !slices.Contains(contenders, r.contender) {
			contenders = append(contenders, r.contender)
		}
		if r.err == "" && r.res != nil {
			byRound[r.round][r.contender] = r
		}
	}
	slices.Sort(rounds)
	return rounds, byRound, contenders
}

// roundFigures writes to f the figures that compare saturation rows of
// the same round: each HTTP contender's ratio to raw, each store's to its
// database ceiling, postgres_vs_river and postgres_vs_river_cpu. Each is
// the median of the rounds' ratios (each rounded to 3 decimals), and its
// *_rounds key lists them in round order, null for a round that gives
// none. Beside them go each contender's *_rps_rounds and
// *_machine_cpu_us_rounds, whose medians groupFigures wrote.
func roundFigures(f map[string]any, rows []*benchRow) {
	rounds, byRound, contenders := saturationRounds(rows)
	series := func(key string, decimals int, withMedian bool, value func(benchRound) (float64, bool)) {
		var vals []float64
		list := make([]any, len(rounds))
		for i, n := range rounds {
			if v, ok := value(byRound[n]); ok {
				v = roundTo(v, decimals)
				vals = append(vals, v)
				list[i] = v
			}
		}
		if len(vals) == 0 {
			return
		}
		f[key+"_rounds"] = list
		if withMedian {
			f[key] = roundTo(median(vals), decimals)
		}
	}
	ratio := func(of func(benchRound, string) (float64, bool), num, den string) func(benchRound) (float64, bool) {
		return func(rd benchRound) (float64, bool) {
			n, okN := of(rd, num)
			d, okD := of(rd, den)
			if !okN || !okD || d <= 0 {
				return 0, false
			}
			return n / d, true
		}
	}
	for _, c := range contenders {
		k := figureName(c)
		series(k+"_rps", 0, false, func(rd benchRound) (float64, bool) { return rd.rps(c) })
		series(k+"_machine_cpu_us", 1, false, func(rd benchRound) (float64, bool) { return rd.machine(c) })
		if isHTTPContender(c) {
			series(k+"_ratio", 3, true, ratio(benchRound.rps, c, contRaw))
		}
	}
	for _, store := range []string{contSQLite, contPostgres} {
		series(store+"_vs_db", 3, true, ratio(benchRound.rps, store, dbCeiling(store)))
	}
	series("postgres_vs_river", 3, true, ratio(benchRound.rps, contPostgres, contRiver))
	series("postgres_vs_river_cpu", 3, true, ratio(benchRound.machine, contPostgres, contRiver))
}

// printTable prints the rows as a table, with the run's settings above,
// and, for more than one round, the medians over the rounds below, read
// from fig, the figures of the run.
func printTable(w io.Writer, o *benchOptions, rows []*benchRow, fig map[string]any) {
	payload := 0
	for _, r := range rows {
		if r.res != nil && r.res.PayloadBytes > 0 {
			payload = r.res.PayloadBytes
		}
	}
	fmt.Fprintf(w, "fedihook bench: %d CPUs, %s %s; %v per contender and mode; saturation in %d alternating round(s); concurrency %d; body %d B (payload %d B); %d webhook(s) per user, %d users; saturation keeps <= %d queued",
		runtime.NumCPU(), runtime.Version(), fig["os"], o.duration, o.rounds, o.concurrency, o.bodySize, payload, o.hooks, benchUsers, o.maxQueued)
	if o.rate > 0 {
		fmt.Fprintf(w, "; fixed rate %d events/s", o.rate)
	}
	fmt.Fprintf(w, "\nsqlite: %s, WAL, synchronous=%s; postgres: pool of %d", o.sqliteDrv, o.sqliteSync, o.pgConns)
	if n, ok := fig["postgres_note"]; ok {
		fmt.Fprintf(w, ", %s", n)
	}
	fmt.Fprintf(w, "\nload average (1 min): %.2f at start, %.2f at end\n\n", fig["load1_start"], fig["load1_end"])

	rounds, byRound, contenders := saturationRounds(rows)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "contender\tmode\tround\tdeliv/s\tx raw\temit/s\tp50 ms\tp99 ms\temit p99 µs\tCPU µs/deliv\tallocs/deliv\tpeak RSS MB\trcv CPU µs\tPG CPU µs\tmachine µs\tdelivered/received\tload\tbusy\t")
	for _, r := range rows {
		mode, round := r.mode, "-"
		if mode == modeRate {
			mode = fmt.Sprintf("%d/s", o.rate)
		}
		if r.mode == modeSaturation && r.skipped == "" {
			round = fmt.Sprint(r.round)
		}
		if r.skipped != "" {
			fmt.Fprintf(tw, "%s\t-\t-\tskipped: %s\t\n", r.contender, r.skipped)
			continue
		}
		if r.err != "" || r.res == nil {
			fmt.Fprintf(tw, "%s\t%s\t%s\tfailed: %s\t\n", r.contender, mode, round, r.err)
			continue
		}
		s := r.res
		ratio, emit, p50, p99, emitP99, recv, rcvCPU := "-", "-", "-", "-", "-", "-", "-"
		if r.mode == modeSaturation && isHTTPContender(r.contender) {
			if raw, ok := byRound[r.round].rps(contRaw); ok && raw > 0 {
				ratio = fmt.Sprintf("%.3f", r.rps()/raw)
			}
		}
		if r.contender != contRaw {
			emit = fmt.Sprintf("%.0f", r.emitRPS())
		}
		if r.contender != contRaw && isHTTPContender(r.contender) {
			emitP99 = fmt.Sprintf("%.1f", us(s.Emit.P99))
		}
		if r.recv != nil {
			p50, p99 = fmt.Sprintf("%.3f", ms(r.recv.Latency.P50)), fmt.Sprintf("%.3f", ms(r.recv.Latency.P99))
			recv = fmt.Sprint(r.recv.Received)
			if r.recv.Received > 0 {
				rcvCPU = fmt.Sprintf("%.1f", receiverUS(r.recv))
			}
		}
		acc := ""
		if !r.ok() {
			acc = " (!)"
		}
		busy := "-"
		if r.busy >= 0 {
			busy = fmt.Sprintf("%.0f%%", 100*r.busy)
		}
		pgCPU, machine := "-", "-"
		if server, m, ok := machineUS(r); ok {
			if server > 0 {
				pgCPU = fmt.Sprintf("%.1f", server)
			}
			machine = fmt.Sprintf("%.1f", m)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%.1f\t%.1f\t%.1f\t%s\t%s\t%s\t%d/%s%s\t%.2f\t%s\t\n",
			r.contender, mode, round, r.rps(), ratio, emit, p50, p99, emitP99,
			perDelivery(float64(s.CPU)/float64(time.Microsecond), s), perDelivery(float64(s.Mallocs), s),
			float64(s.MaxRSS)/(1<<20), rcvCPU, pgCPU, machine, s.Delivered, recv, acc, r.load, busy)
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "round: the saturation round; x raw: deliv/s over raw's in the same round; deliv/s: deliveries ended 2xx in")
	fmt.Fprintln(w, "the window; p50/p99: Emit (raw: request start) to receipt, at the fixed rate when given, else in saturation;")
	fmt.Fprintln(w, "CPU, allocations and RSS are the contender's process only (not the receiver's, not PostgreSQL's); rcv CPU:")
	fmt.Fprintln(w, "the receiver's, per request; PG CPU: the local PostgreSQL server's processes', per delivery; machine: the")
	fmt.Fprintln(w, "three together; *-db rows: the database alone, same tables and operations, no HTTP; load: 1-minute load")
	fmt.Fprintln(w, "average at the row's start; busy: the whole machine's CPU use while the row measured (everyone's,")
	fmt.Fprintln(w, "PostgreSQL's included); (!): not every delivery accounted for (see the JSON's *_failed, *_left, *_received).")
	for _, r := range rows {
		if r.res != nil && (r.res.FirstError != "" || r.res.Note != "") {
			what := r.contender + " " + r.mode
			if r.round > 0 {
				what += fmt.Sprintf(" round %d", r.round)
			}
			fmt.Fprintf(w, "%s: %s %s\n", what, r.res.Note, r.res.FirstError)
		}
	}
	if len(rounds) > 1 {
		printMedians(w, len(rounds), contenders, fig)
	}
}

// printMedians prints the medians over n rounds of the contenders'
// saturation rows, and of the ratios between them, from fig, the figures
// of the run.
func printMedians(w io.Writer, n int, contenders []string, fig map[string]any) {
	fmt.Fprintf(w, "\nmedians over %d rounds (a ratio's is the median of the rounds' own ratios):\n\n", n)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "contender\tdeliv/s\tx raw\tmachine µs\tx raw by round\t")
	for _, c := range contenders {
		k := figureName(c)
		rps, ok := fig[k+"_rps"].(float64)
		if !ok {
			fmt.Fprintf(tw, "%s\tfailed\t\n", c)
			continue
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t\n", c, rps,
			formatFigure(fig[k+"_ratio"], 3), formatFigure(fig[k+"_machine_cpu_us"], 1), formatRounds(fig[k+"_ratio_rounds"], 3))
	}
	tw.Flush()
	for _, key := range []string{"postgres_vs_river", "postgres_vs_river_cpu", "sqlite_vs_db", "postgres_vs_db"} {
		if v, ok := fig[key]; ok {
			fmt.Fprintf(w, "%s: %s (by round: %s)\n", key, formatFigure(v, 3), formatRounds(fig[key+"_rounds"], 3))
		}
	}
}

// formatFigure formats the figure v, a float64, with the decimals given,
// or "-" if it is absent.
func formatFigure(v any, decimals int) string {
	x, ok := v.(float64)
	if !ok {
		return "-"
	}
	return strconv.FormatFloat(x, 'f', decimals, 64)
}

// formatRounds formats a *_rounds figure, a list of float64 and nil, as
// its values separated by spaces, "-" for a nil or an absent list.
func formatRounds(v any, decimals int) string {
	list, ok := v.([]any)
	if !ok {
		return "-"
	}
	s := make([]string, len(list))
	for i, x := range list {
		s[i] = formatFigure(x, decimals)
	}
	return strings.Join(s, " ")
}
