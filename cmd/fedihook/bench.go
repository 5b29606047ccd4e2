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
figures. For each: deliveries/s, its ratio to raw, Emit-to-receipt
latency p50/p99 (the receiver subtracts the emit time carried in the
body), CPU time and allocations per delivery, and peak RSS of the
contender's process, and the machine's CPU per delivery split into the
contender's, the receiver's and, for the PostgreSQL contenders on a
local server, the server's processes' (read from /proc). A table goes to
standard output, and, as its last line, one JSON object with every
figure, postgres_vs_river among them.

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
	fs.DurationVar(&o.duration, "duration", defaultBenchDuration, "measure each contender for `DURATION`, in each mode")
	fs.IntVar(&o.concurrency, "concurrency", defaultBenchConcurrency, "`N` goroutines POSTing (raw), or emitting, and N Dispatcher workers")
	fs.IntVar(&o.bodySize, "body-size", defaultBenchBodySize, "encoded event body of about `BYTES` (a note; the payload adds ~200)")
	fs.IntVar(&o.hooks, "hooks", 1, "`N` webhooks per user: each event makes N deliveries")
	fs.StringVar(&contenders, "contenders", defaultBenchContenders, "comma-separated `LIST` of raw, memory, sqlite, postgres, river")
	fs.IntVar(&o.rate, "rate", defaultBenchRate, "also run each contender at `EVENTS` per second for the latency figures; 0 skips it")
	fs.IntVar(&o.maxQueued, "max-queued", defaultBenchMaxQueued, "in saturation, keep at most `N` deliveries emitted and not yet delivered")
	fs.StringVar(&o.pgDSN, "pg-dsn", os.Getenv("FEDIHOOK_PG_DSN"), "PostgreSQL `DSN` for postgres (default $FEDIHOOK_PG_DSN, else a throwaway local server)")
	fs.IntVar(&o.pgConns, "pg-conns", 0, "postgres pool size, `N` connections (default 2 x --concurrency + 4)")
	fs.StringVar(&o.sqliteSync, "sqlite-synchronous", defaultSQLiteSync, "sqlite's synchronous `MODE`: FULL (durable commits) or NORMAL")
	fs.StringVar(&o.sqliteDrv, "sqlite-driver", "modernc", "sqlite's database/sql `DRIVER`: modernc (modernc.org/sqlite) or ncruces (github.com/ncruces/go-sqlite3)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of each contender's measured run to `DIR`/CONTENDER-MODE.pprof, and its allocations to CONTENDER-MODE.allocs.pprof")
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

	var phases int
	for _, c := range o.contenders {
		phases += 2
		if c == contSQLite || c == contPostgres {
			phases++
		}
	}
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
	for _, c := range o.contenders {
		if (c == contPostgres || c == contRiver) && b.pgDSN == "" {
			rows = append(rows, &benchRow{contender: c, mode: modeSaturation, skipped: pgNote})
			continue
		}
		names := []string{c}
		switch c {
		case contSQLite:
			names = append(names, contSQLiteDB)
		case contPostgres:
			names = append(names, contPostgresDB)
		}
		for _, name := range names {
			modes := []string{modeSaturation}
			if o.rate > 0 && isHTTPContender(name) {
				modes = append(modes, modeRate)
			}
			for _, mode := range modes {
				if ctx.Err() != nil {
					fmt.Fprintln(stderr, "fedihook bench: interrupted")
					return exitFail
				}
				row := b.run(ctx, name, mode)
				rows = append(rows, row)
				b.progress(row)
			}
		}
	}
	loadEnd := loadAverage()

	meta := map[string]any{
		"cpus": runtime.NumCPU(), "go": runtime.Version(), "os": runtime.GOOS + "/" + runtime.GOARCH,
		"duration_s": o.duration.Seconds(), "concurrency": o.concurrency, "body_bytes": o.bodySize,
		"hooks": o.hooks, "users": benchUsers, "rate": o.rate, "max_queued": o.maxQueued,
		"sqlite_synchronous": o.sqliteSync, "sqlite_driver": o.sqliteDrv, "pg_conns": o.pgConns,
		"load1_start": loadStart, "load1_end": loadEnd, "elapsed_s": roundTo(time.Since(begun).Seconds(), 1),
	}
	if pgNote != "" {
		meta["postgres_note"] = pgNote
	}
	printTable(stdout, o, rows, meta)
	fig := figures(o, rows, meta)
	j, _ := json.Marshal(fig)
	fmt.Fprintf(stdout, "%s\n", j)
	for _, r := range rows {
		if r.skipped == "" && !r.ok() {
			return exitFail
		}
	}
	return exitOK
}

// progress reports a finished row on stderr.
func (b *benchRunner) progress(r *benchRow) {
	switch {
	case r.err != "":
		fmt.Fprintf(b.stderr, "bench: %s %s failed: %s\n", r.contender, r.mode, r.err)
	default:
		fmt.Fprintf(b.stderr, "bench: %s %s: %.0f deliveries/s (load %.2f)\n", r.contender, r.mode, r.rps(), r.load)
	}
}

// run runs one contender in one mode in a child process.
func (b *benchRunner) run(ctx context.Context, contender, mode string) *benchRow {
	o := b.o
	row := &benchRow{contender: contender, mode: mode, load: loadAverage(), busy: -1, server: -1}
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

// figures returns every figure of the run by its JSON key.
func figures(o *benchOptions, rows []*benchRow, meta map[string]any) map[string]any {
	f := map[string]any{}
	for k, v := range meta {
		f[k] = v
	}
	var rawRPS float64
	for _, r := range rows {
		if r.contender == contRaw && r.mode == modeSaturation && r.res != nil {
			rawRPS = r.rps()
		}
	}
	rps := map[string]float64{}
	for _, r := range rows {
		k := strings.ReplaceAll(r.contender, "-", "_")
		if r.skipped != "" {
			f[k+"_skipped"] = r.skipped
			continue
		}
		p := k + "_"
		if r.mode == modeRate {
			p = k + "_rate_"
		}
		if r.err != "" {
			f[p+"error"] = r.err
			continue
		}
		s := r.res
		f[p+"rps"] = roundTo(r.rps(), 0)
		f[p+"cpu_us"] = roundTo(perDelivery(float64(s.CPU)/float64(time.Microsecond), s), 1)
		f[p+"allocs"] = roundTo(perDelivery(float64(s.Mallocs), s), 1)
		f[p+"rss_mb"] = roundTo(float64(s.MaxRSS)/(1<<20), 1)
		f[p+"delivered"] = s.Delivered
		f[p+"failed"] = s.Failed
		f[p+"left"] = s.Emitted - s.Delivered - s.Failed
		f[p+"accounted"] = r.ok()
		if r.busy >= 0 {
			f[p+"machine_busy"] = roundTo(r.busy, 3)
		}
		if s.FirstError != "" {
			f[p+"first_error"] = s.FirstError
		}
		if s.Note != "" {
			f[p+"note"] = s.Note
		}
		if r.contender != contRaw && isHTTPContender(r.contender) {
			f[p+"emit_rps"] = roundTo(float64(s.WindowEmitted)/s.Window.Seconds(), 0)
			f[p+"emit_p50_us"] = us(s.Emit.P50)
			f[p+"emit_p99_us"] = us(s.Emit.P99)
			f[p+"emit_errors"] = s.EmitErrors
		}
		if s.PayloadBytes > 0 {
			f["payload_bytes"] = s.PayloadBytes
		}
		if r.server >= 0 {
			server := perDelivery(float64(r.server)/float64(time.Microsecond), s)
			machine := perDelivery(float64(s.CPU)/float64(time.Microsecond), s) + server
			if r.recv != nil && r.recv.Received > 0 {
				machine += float64(r.recv.CPU) / float64(time.Microsecond) / float64(r.recv.Received)
			}
			f[p+"server_cpu_us"] = roundTo(server, 1)
			f[p+"machine_cpu_us"] = roundTo(machine, 1)
		}
		if r.recv != nil {
			f[p+"received"] = r.recv.Received
			if r.recv.Received > 0 {
				f[p+"receiver_cpu_us"] = roundTo(float64(r.recv.CPU)/float64(time.Microsecond)/float64(r.recv.Received), 1)
			}
			if r.mode == modeRate || o.rate == 0 {
				f[k+"_p50_ms"] = ms(r.recv.Latency.P50)
				f[k+"_p99_ms"] = ms(r.recv.Latency.P99)
			}
			if r.mode == modeSaturation {
				f[k+"_sat_p50_ms"] = ms(r.recv.Latency.P50)
				f[k+"_sat_p99_ms"] = ms(r.recv.Latency.P99)
			}
		}
		if r.mode == modeSaturation {
			rps[r.contender] = r.rps()
			if rawRPS > 0 && isHTTPContender(r.contender) {
				f[k+"_ratio"] = roundTo(r.rps()/rawRPS, 3)
			}
		}
	}
	for _, store := range []string{contSQLite, contPostgres} {
		if ceiling := rps[store+"-db"]; ceiling > 0 && rps[store] > 0 {
			f[store+"_vs_db"] = roundTo(rps[store]/ceiling, 3)
		}
	}
	if rps[contRiver] > 0 && rps[contPostgres] > 0 {
		f["postgres_vs_river"] = roundTo(rps[contPostgres]/rps[contRiver], 3)
	}
	pgMachine, pgOK := f["postgres_machine_cpu_us"].(float64)
	riverMachine, riverOK := f["river_machine_cpu_us"].(float64)
	if pgOK && riverOK && riverMachine > 0 {
		f["postgres_vs_river_cpu"] = roundTo(pgMachine/riverMachine, 3)
	}
	return f
}

// printTable prints the rows as a table, with the run's settings above.
func printTable(w io.Writer, o *benchOptions, rows []*benchRow, meta map[string]any) {
	payload := 0
	for _, r := range rows {
		if r.res != nil && r.res.PayloadBytes > 0 {
			payload = r.res.PayloadBytes
		}
	}
	fmt.Fprintf(w, "fedihook bench: %d CPUs, %s %s; %v per contender and mode; concurrency %d; body %d B (payload %d B); %d webhook(s) per user, %d users; saturation keeps <= %d queued",
		runtime.NumCPU(), runtime.Version(), meta["os"], o.duration, o.concurrency, o.bodySize, payload, o.hooks, benchUsers, o.maxQueued)
	if o.rate > 0 {
		fmt.Fprintf(w, "; fixed rate %d events/s", o.rate)
	}
	fmt.Fprintf(w, "\nsqlite: %s, WAL, synchronous=%s; postgres: pool of %d", o.sqliteDrv, o.sqliteSync, o.pgConns)
	if n, ok := meta["postgres_note"]; ok {
		fmt.Fprintf(w, ", %s", n)
	}
	fmt.Fprintf(w, "\nload average (1 min): %.2f at start, %.2f at end\n\n", meta["load1_start"], meta["load1_end"])

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "contender\tmode\tdeliv/s\tx raw\temit/s\tp50 ms\tp99 ms\temit p99 µs\tCPU µs/deliv\tallocs/deliv\tpeak RSS MB\trcv CPU µs\tPG CPU µs\tmachine µs\tdelivered/received\tload\tbusy\t")
	var rawRPS float64
	for _, r := range rows {
		if r.contender == contRaw && r.mode == modeSaturation && r.res != nil {
			rawRPS = r.rps()
		}
	}
	for _, r := range rows {
		mode := r.mode
		if mode == modeRate {
			mode = fmt.Sprintf("%d/s", o.rate)
		}
		if r.skipped != "" {
			fmt.Fprintf(tw, "%s\t%s\tskipped: %s\t\n", r.contender, "-", r.skipped)
			continue
		}
		if r.err != "" {
			fmt.Fprintf(tw, "%s\t%s\tfailed: %s\t\n", r.contender, mode, r.err)
			continue
		}
		s := r.res
		ratio, emit, p50, p99, emitP99, recv, rcvCPU := "-", "-", "-", "-", "-", "-", "-"
		if rawRPS > 0 && r.mode == modeSaturation && isHTTPContender(r.contender) {
			ratio = fmt.Sprintf("%.3f", r.rps()/rawRPS)
		}
		if r.contender != contRaw {
			emit = fmt.Sprintf("%.0f", float64(s.WindowEmitted)/s.Window.Seconds())
		}
		if r.contender != contRaw && isHTTPContender(r.contender) {
			emitP99 = fmt.Sprintf("%.1f", us(s.Emit.P99))
		}
		if r.recv != nil {
			p50, p99 = fmt.Sprintf("%.3f", ms(r.recv.Latency.P50)), fmt.Sprintf("%.3f", ms(r.recv.Latency.P99))
			recv = fmt.Sprint(r.recv.Received)
			if r.recv.Received > 0 {
				rcvCPU = fmt.Sprintf("%.1f", float64(r.recv.CPU)/float64(time.Microsecond)/float64(r.recv.Received))
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
		if r.server >= 0 {
			server := perDelivery(float64(r.server)/float64(time.Microsecond), s)
			m := perDelivery(float64(s.CPU)/float64(time.Microsecond), s) + server
			if r.recv != nil && r.recv.Received > 0 {
				m += float64(r.recv.CPU) / float64(time.Microsecond) / float64(r.recv.Received)
			}
			if server > 0 {
				pgCPU = fmt.Sprintf("%.1f", server)
			}
			machine = fmt.Sprintf("%.1f", m)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%.1f\t%.1f\t%.1f\t%s\t%s\t%s\t%d/%s%s\t%.2f\t%s\t\n",
			r.contender, mode, r.rps(), ratio, emit, p50, p99, emitP99,
			perDelivery(float64(s.CPU)/float64(time.Microsecond), s), perDelivery(float64(s.Mallocs), s),
			float64(s.MaxRSS)/(1<<20), rcvCPU, pgCPU, machine, s.Delivered, recv, acc, r.load, busy)
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "deliv/s: deliveries ended 2xx in the window; p50/p99: Emit (raw: request start) to receipt, at the fixed rate")
	fmt.Fprintln(w, "when given, else in saturation; CPU, allocations and RSS are the contender's process only (not the receiver's,")
	fmt.Fprintln(w, "not PostgreSQL's); rcv CPU: the receiver's, per request; PG CPU: the local PostgreSQL server's processes', per")
	fmt.Fprintln(w, "delivery; machine: the three together; *-db rows: the database alone, same tables and")
	fmt.Fprintln(w, "operations, no HTTP; load: 1-minute load average at the row's start; busy: the whole machine's CPU use")
	fmt.Fprintln(w, "while the row measured (everyone's, PostgreSQL's included); (!): not every delivery accounted for (see the")
	fmt.Fprintln(w, "JSON's *_failed, *_left, *_received).")
	for _, r := range rows {
		if r.res != nil && (r.res.FirstError != "" || r.res.Note != "") {
			fmt.Fprintf(w, "%s %s: %s %s\n", r.contender, r.mode, r.res.Note, r.res.FirstError)
		}
	}
}
