package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
)

// TestBenchSmoke runs bench briefly, raw, memory and sqlite in two
// rounds of saturation and once at a fixed rate, and checks that its last
// line is the JSON of figures and that every contender delivered, with
// every delivery accounted for. Speeds are the command's business, not
// the tests'.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a dozen processes")
	}
	t.Parallel()
	code, out, errOut := runCmd(t.Context(), "", "bench", "--duration", "200ms", "--rounds", "2",
		"--contenders", "raw,memory,sqlite", "--concurrency", "8", "--rate", "200")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var fig map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &fig), "last line: %s", lines[len(lines)-1])

	for _, p := range []string{"raw_", "raw_rate_", "memory_", "memory_rate_", "sqlite_", "sqlite_rate_", "sqlite_db_"} {
		require.Greater(t, fig[p+"delivered"], 0.0, p+"delivered")
		// rps counts the measured window only, which a machine loaded by
		// other builds can leave empty in a 200 ms run: its presence is
		// checked, its size is the command's business.
		require.Contains(t, fig, p+"rps")
		require.Equal(t, true, fig[p+"accounted"], p+"accounted")
		require.Equal(t, 0.0, fig[p+"failed"], p+"failed")
		require.Equal(t, 0.0, fig[p+"left"], p+"left")
		if p != "sqlite_db_" {
			require.Equal(t, fig[p+"delivered"], fig[p+"received"], p+"received")
		}
	}
	requireRatio(t, fig, "memory_ratio", "memory_rps", "raw_rps")
	requireRatio(t, fig, "sqlite_ratio", "sqlite_rps", "raw_rps")
	requireRatio(t, fig, "sqlite_vs_db", "sqlite_rps", "sqlite_db_rps")
	for _, k := range []string{"raw_rps", "memory_p50_ms", "memory_p99_ms",
		"memory_cpu_us", "memory_allocs", "memory_rss_mb", "memory_receiver_cpu_us", "memory_machine_busy", "sqlite_emit_rps", "load1_start"} {
		require.Contains(t, fig, k)
	}
	require.NotContains(t, fig, "postgres_rps")
	require.Equal(t, 2.0, fig["rounds"])
	for _, k := range []string{"raw_rps_rounds", "memory_rps_rounds", "sqlite_db_rps_rounds", "memory_ratio_rounds"} {
		require.Len(t, fig[k], 2, k)
	}
	require.Contains(t, out, "contender")
	require.Contains(t, out, "sqlite-db")
	require.Contains(t, out, "medians over 2 rounds")
}

func TestParseBench(t *testing.T) {
	t.Parallel()
	o, err := parseBench(nil, nil)
	require.NoError(t, err)
	require.Equal(t, defaultBenchDuration, o.duration)
	require.Equal(t, []string{"raw", "memory", "sqlite", "postgres", "river"}, o.contenders)
	require.Equal(t, 2*defaultBenchConcurrency+4, o.pgConns)
	require.Equal(t, "FULL", o.sqliteSync)
	require.Equal(t, 3, o.rounds)

	o, err = parseBench([]string{"--contenders", "memory, raw", "--sqlite-synchronous", "normal", "--pg-conns", "10", "--rounds", "20"}, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"memory", "raw"}, o.contenders)
	require.Equal(t, 20, o.rounds)
	require.Equal(t, "NORMAL", o.sqliteSync)
	require.Equal(t, 10, o.pgConns)

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--duration", "0s"}, "bad --duration"},
		{[]string{"--duration", "2h"}, "bad --duration"},
		{[]string{"--concurrency", "0"}, "bad --concurrency"},
		{[]string{"--hooks", "0"}, "bad --hooks"},
		{[]string{"--rate", "-1"}, "bad --rate"},
		{[]string{"--rounds", "0"}, "bad --rounds: must be 1 to 20, got 0"},
		{[]string{"--rounds", "21"}, "bad --rounds: must be 1 to 20, got 21"},
		{[]string{"--rounds", "-3"}, "bad --rounds"},
		{[]string{"--rounds", "two"}, "for --rounds"},
		{[]string{"--hooks", "3", "--max-queued", "2"}, "bad --max-queued"},
		{[]string{"--pg-conns", "1"}, "bad --pg-conns"},
		{[]string{"--body-size", "100"}, "bad --body-size"},
		{[]string{"--contenders", "raw,redis"}, `unknown contender "redis"`},
		{[]string{"--contenders", "raw,raw"}, "listed twice"},
		{[]string{"--sqlite-synchronous", "OFF"}, "bad --sqlite-synchronous"},
		{[]string{"--duration", "soon"}, "for --duration"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		_, err := parseBench(tt.args, nil)
		require.ErrorContains(t, err, tt.want, "%v", tt.args)
	}
}

func TestBenchNoteSize(t *testing.T) {
	t.Parallel()
	for _, size := range []int{minBodySize + 100, 1024, 1500, 4096, 100_000} {
		note, err := benchNote(size)
		require.NoError(t, err)
		n := *note
		n.ID = fmt.Sprint(time.Now().UnixNano())
		b, err := webhook.EncodeBody(misskey.NoteBody{Note: &n})
		require.NoError(t, err)
		require.LessOrEqual(t, len(b), size, "size %d", size)
		require.Greater(t, len(b), size-4, "size %d", size)
	}
	_, err := benchNote(minBodySize - 300)
	require.Error(t, err)
}

func TestEmitTime(t *testing.T) {
	t.Parallel()
	note, err := benchNote(1024)
	require.NoError(t, err)
	now := time.Now().UnixNano()
	n := *note
	n.ID = fmt.Sprint(now)
	body, err := webhook.EncodeBody(misskey.NoteBody{Note: &n})
	require.NoError(t, err)
	payload := webhook.AppendPayload(nil, &webhook.Delivery{HookID: "h", UserID: "u", Type: webhook.EventNote,
		Server: "https://" + benchHost, CreatedAt: time.Now(), Body: body})
	got, ok := emitTime(payload)
	require.True(t, ok)
	require.Equal(t, now, got)

	i := strings.Index(string(payload), emitTimeMarker) + len(emitTimeMarker)
	putEmitTime(payload[i:], 42)
	got, ok = emitTime(payload)
	require.True(t, ok)
	require.Equal(t, int64(42), got)

	for _, bad := range []string{`{}`, `{"body":{"note":{"id":"123"}}}`, `{"body":{"note":{"id":"12345678901234567x9"}}}`} {
		_, ok := emitTime([]byte(bad))
		require.False(t, ok, bad)
	}
}

func TestHistogram(t *testing.T) {
	t.Parallel()
	var h histogram
	require.Equal(t, latencies{}, h.Summary())
	// Buckets tile the values, in order.
	for i := range histBuckets - 1 {
		require.Less(t, histLow(i), histLow(i+1), "bucket %d", i)
		require.Equal(t, i, histIndex(histLow(i)), "bucket %d", i)
		require.Equal(t, i, histIndex(histLow(i+1)-1), "bucket %d", i)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	var vals []time.Duration
	for range 10_000 {
		v := time.Duration(rnd.Int64N(int64(50 * time.Millisecond)))
		vals = append(vals, v)
		h.Record(v)
	}
	h.Record(-time.Second) // counts as 0
	vals = append(vals, 0)
	slices.Sort(vals)
	s := h.Summary()
	require.Equal(t, int64(len(vals)), s.Count)
	require.Equal(t, vals[len(vals)-1], s.Max)
	for _, q := range []struct {
		got  time.Duration
		want time.Duration
	}{{s.P50, vals[len(vals)/2]}, {s.P99, vals[len(vals)*99/100]}} {
		require.InEpsilon(t, float64(q.want), float64(q.got), 0.04)
	}
	h.Reset()
	require.Equal(t, latencies{}, h.Summary())
}

func TestCPUTimes(t *testing.T) {
	t.Parallel()
	busy, total, ok := cpuTimes()
	if !ok {
		t.Skip("no /proc/stat")
	}
	require.Positive(t, total)
	require.LessOrEqual(t, busy, total)
	require.GreaterOrEqual(t, busy, int64(0))
}

func TestProcStat(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	comm, ppid, ticks, ok := procStat(os.Getpid())
	require.True(t, ok)
	require.Equal(t, os.Getppid(), ppid)
	require.NotEmpty(t, comm)
	require.GreaterOrEqual(t, ticks, int64(0))
	_, _, _, ok = procStat(-1)
	require.False(t, ok)
}

// TestFiguresRiver: the JSON gets river_rps, postgres_vs_river and the
// machine's CPU per delivery split into the contender's, the server's
// and the receiver's.
func TestFiguresRiver(t *testing.T) {
	t.Parallel()
	o := &benchOptions{rate: 0}
	row := func(contender string, delivered int64, cpu, server, rcv time.Duration) *benchRow {
		return &benchRow{contender: contender, mode: modeSaturation, server: server,
			res:  &runResult{Delivered: delivered, Emitted: delivered, WindowDelivered: delivered, Window: time.Second, CPU: cpu},
			recv: &receiverStats{Received: delivered, CPU: rcv}}
	}
	f := figures(o, []*benchRow{
		row(contPostgres, 3000, 300*time.Millisecond, 600*time.Millisecond, 90*time.Millisecond),
		row(contRiver, 2000, 400*time.Millisecond, 800*time.Millisecond, 60*time.Millisecond),
	}, map[string]any{})
	require.Equal(t, 2000.0, f["river_rps"])
	require.Equal(t, 1.5, f["postgres_vs_river"])
	require.Equal(t, 100.0, f["postgres_cpu_us"])
	require.Equal(t, 200.0, f["postgres_server_cpu_us"])
	require.Equal(t, 330.0, f["postgres_machine_cpu_us"])
	require.Equal(t, 630.0, f["river_machine_cpu_us"])
	require.Equal(t, roundTo(330.0/630.0, 3), f["postgres_vs_river_cpu"])
}

// TestBenchSmokeRiver runs the postgres and river contenders briefly on
// the server of $FEDIHOOK_PG_DSN (as .ci/test.sh gives), and checks their
// figures: every delivery accounted for, postgres_vs_river, and the
// server's CPU read from /proc.
func TestBenchSmokeRiver(t *testing.T) {
	if testing.Short() {
		t.Skip("starts several processes")
	}
	dsn := os.Getenv("FEDIHOOK_PG_DSN")
	if dsn == "" {
		t.Skip("no $FEDIHOOK_PG_DSN")
	}
	t.Parallel()
	code, out, errOut := runCmd(t.Context(), "", "bench", "--duration", "300ms", "--rounds", "1", "--pg-dsn", dsn,
		"--contenders", "postgres,river", "--concurrency", "8", "--rate", "200")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var fig map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &fig), "last line: %s", lines[len(lines)-1])
	for _, p := range []string{"river_", "river_rate_", "postgres_"} {
		require.Greater(t, fig[p+"delivered"], 0.0, p+"delivered")
		require.Equal(t, true, fig[p+"accounted"], p+"accounted")
		require.Equal(t, fig[p+"delivered"], fig[p+"received"], p+"received")
		require.Contains(t, fig, p+"machine_cpu_us")
	}
	require.Contains(t, fig, "river_rps")
	requireRatio(t, fig, "postgres_vs_river", "postgres_rps", "river_rps")
	// Written only when the local server's processes were found in /proc;
	// a 300 ms window may hold less than a clock tick of their CPU.
	require.Contains(t, fig, "river_server_cpu_us", "the local server's CPU is read from /proc")
	require.GreaterOrEqual(t, fig["river_server_cpu_us"], 0.0)
}

// requireRatio checks the figure key, num's rps over den's, round by
// round: in each round where both were measured, key_rounds holds the
// quotient of their rounded num_rounds and den_rounds within their
// rounding, and key is the median of key_rounds. A machine loaded by
// other builds can leave a short window empty; the ratio's arithmetic is
// TestBenchFiguresRounds' business.
func requireRatio(t *testing.T, fig map[string]any, key, num, den string) {
	t.Helper()
	ns, _ := fig[num+"_rounds"].([]any)
	ds, _ := fig[den+"_rounds"].([]any)
	for i := range min(len(ns), len(ds)) {
		n, _ := ns[i].(float64)
		d, _ := ds[i].(float64)
		if n < 1 || d < 1 {
			continue
		}
		rs, ok := fig[key+"_rounds"].([]any)
		require.True(t, ok, "%s_rounds: %v", key, fig[key+"_rounds"])
		require.Len(t, rs, len(ns), key+"_rounds")
		want := n / d
		require.InDelta(t, want, rs[i], want*(1/n+1/d)+0.001, "%s, round %d", key, i+1)
	}
	rs, _ := fig[key+"_rounds"].([]any)
	var vals []float64
	for _, v := range rs {
		if x, ok := v.(float64); ok {
			vals = append(vals, x)
		}
	}
	if len(vals) > 0 {
		require.Equal(t, roundTo(median(vals), 3), fig[key], key)
	}
}

// satRow returns a saturation row of round that delivered rps deliveries
// in a one-second window, every one accounted for, using cpuUS
// microseconds of the contender's CPU per delivery; the receiver's CPU
// and the server's are nil.
func satRow(contender string, round int, rps int64, cpuUS float64) *benchRow {
	return &benchRow{contender: contender, mode: modeSaturation, round: round, busy: 0.5,
		res: &runResult{Delivered: rps, Emitted: rps, WindowDelivered: rps, WindowEmitted: rps, Window: time.Second,
			CPU: time.Duration(cpuUS * float64(rps) * float64(time.Microsecond))},
		recv: &receiverStats{Received: rps}}
}

// TestBenchFiguresRounds: with the machine's speed drifting between
// rounds, a ratio is the median of each round's own ratio, not the ratio
// of the medians; the other numbers are medians, the counts sums, a
// failed round is left out, and an even count's median is the mean of
// the middle two.
func TestBenchFiguresRounds(t *testing.T) {
	t.Parallel()
	o := &benchOptions{rounds: 3}
	var rows []*benchRow
	for i, n := range []struct{ raw, memory, pg, river int64 }{
		{40_000, 36_000, 3000, 2000},
		{30_000, 27_000, 2000, 1000},
		{35_000, 30_000, 2400, 2000},
	} {
		round := i + 1
		rows = append(rows, satRow(contRaw, round, n.raw, 10), satRow(contMemory, round, n.memory, 20))
		// Machine CPU per delivery: postgres 100, 200, 300 µs; river
		// 200, 400, 150.
		rows = append(rows, satRow(contPostgres, round, n.pg, float64(100*round)),
			satRow(contRiver, round, n.river, []float64{200, 400, 150}[i]))
	}
	for _, r := range rows {
		if r.contender != contPostgres && r.contender != contRiver {
			r.server = 0 // measured: there is no server
		}
	}
	rows[5].res.Emitted++ // round 2's memory lost a delivery
	f := figures(o, rows, map[string]any{"rounds": 3})

	require.Equal(t, 3, f["rounds"])
	require.Equal(t, []any{40000.0, 30000.0, 35000.0}, f["raw_rps_rounds"])
	require.Equal(t, 35000.0, f["raw_rps"])
	require.Equal(t, []any{36000.0, 27000.0, 30000.0}, f["memory_rps_rounds"])
	require.Equal(t, 30000.0, f["memory_rps"])
	require.Equal(t, []any{0.9, 0.9, 0.857}, f["memory_ratio_rounds"])
	require.Equal(t, 0.9, f["memory_ratio"])
	require.NotEqual(t, roundTo(30000.0/35000.0, 3), f["memory_ratio"], "the ratio of the medians")
	require.Equal(t, []any{1.0, 1.0, 1.0}, f["raw_ratio_rounds"])
	require.Equal(t, 20.0, f["memory_cpu_us"])
	require.Equal(t, 0.5, f["memory_machine_busy"])

	require.Equal(t, int64(36_000+27_000+30_000), f["memory_delivered"])
	require.Equal(t, int64(36_000+27_000+30_000), f["memory_received"])
	require.Equal(t, int64(1), f["memory_left"])
	require.Equal(t, int64(0), f["memory_failed"])
	require.Equal(t, false, f["memory_accounted"])
	require.Equal(t, true, f["raw_accounted"])
	require.NotContains(t, f, "memory_error")

	// postgres over river: 1.5, 2, 1.2 by round; their medians' quotient
	// is 2400 / 2000 = 1.2.
	require.Equal(t, []any{1.5, 2.0, 1.2}, f["postgres_vs_river_rounds"])
	require.Equal(t, 1.5, f["postgres_vs_river"])
	require.Equal(t, 2400.0, f["postgres_rps"])
	require.Equal(t, 2000.0, f["river_rps"])
	// Machine CPU, postgres over river: 0.5, 0.5, 2 by round; their
	// medians' quotient is 200 / 200 = 1.
	require.Equal(t, []any{100.0, 200.0, 300.0}, f["postgres_machine_cpu_us_rounds"])
	require.Equal(t, []any{200.0, 400.0, 150.0}, f["river_machine_cpu_us_rounds"])
	require.Equal(t, 200.0, f["postgres_machine_cpu_us"])
	require.Equal(t, 200.0, f["river_machine_cpu_us"])
	require.Equal(t, []any{0.5, 0.5, 2.0}, f["postgres_vs_river_cpu_rounds"])
	require.Equal(t, 0.5, f["postgres_vs_river_cpu"])
	_, err := json.Marshal(f)
	require.NoError(t, err)

	// The table compares each row with raw of its own round, and the
	// medians below it are the figures'.
	var out strings.Builder
	printTable(&out, o, rows, f)
	var memoryRatios []string
	for line := range strings.Lines(out.String()) {
		if fields := strings.Fields(line); len(fields) > 4 && fields[0] == contMemory && fields[1] == modeSaturation {
			memoryRatios = append(memoryRatios, fields[2]+":"+fields[4])
		}
	}
	require.Equal(t, []string{"1:0.900", "2:0.900", "3:0.857"}, memoryRatios, out.String())
	require.Contains(t, out.String(), "medians over 3 rounds")
	require.Regexp(t, `(?m)^\s*memory\s+30000\s+0\.900\s+\S+\s+0\.900 0\.900 0\.857\s*$`, out.String())
	require.Contains(t, out.String(), "postgres_vs_river: 1.500 (by round: 1.500 2.000 1.200)")
}

// TestBenchFiguresEvenRounds: over an even count of rounds that ran, a
// median is the mean of the middle two; a failed round is reported and
// left out, its place in the *_rounds lists null.
func TestBenchFiguresEvenRounds(t *testing.T) {
	t.Parallel()
	o := &benchOptions{rounds: 3}
	failed := &benchRow{contender: contMemory, mode: modeSaturation, round: 3, err: "boom"}
	rows := []*benchRow{
		satRow(contRaw, 1, 40_000, 10), satRow(contMemory, 1, 36_000, 20),
		satRow(contRaw, 2, 30_000, 10), satRow(contMemory, 2, 24_000, 30),
		satRow(contRaw, 3, 50_000, 10), failed,
	}
	f := figures(o, rows, map[string]any{})
	require.Equal(t, 40000.0, f["raw_rps"])
	require.Equal(t, []any{36000.0, 24000.0, nil}, f["memory_rps_rounds"])
	require.Equal(t, 30000.0, f["memory_rps"])
	require.Equal(t, 25.0, f["memory_cpu_us"])
	require.Equal(t, []any{0.9, 0.8, nil}, f["memory_ratio_rounds"])
	require.Equal(t, 0.85, f["memory_ratio"])
	require.Equal(t, "round 3: boom", f["memory_error"])
	require.Equal(t, int64(60_000), f["memory_delivered"])
	require.Equal(t, false, f["memory_accounted"], "a failed round is not accounted for")
	j, err := json.Marshal(f)
	require.NoError(t, err)
	require.Contains(t, string(j), `"memory_rps_rounds":[36000,24000,null]`)

	require.Equal(t, 0.0, median(nil))
	require.Equal(t, 2.5, median([]float64{4, 1, 3, 2}))
	require.Equal(t, 3.0, median([]float64{5, 1, 3}))
}

// TestBenchPlan: the saturation rows alternate, round by round, each
// store's database ceiling right after it; the fixed-rate rows follow,
// once each; without PostgreSQL, its contenders are skipped once.
func TestBenchPlan(t *testing.T) {
	t.Parallel()
	show := func(plan []benchStep) []string {
		var s []string
		for _, st := range plan {
			switch {
			case st.skip:
				s = append(s, st.contender+" skipped")
			default:
				s = append(s, fmt.Sprintf("%s %s %d", st.contender, st.mode, st.round))
			}
		}
		return s
	}
	o := &benchOptions{rounds: 2, rate: 100, contenders: []string{contRaw, contSQLite, contPostgres, contRiver}}
	require.Equal(t, []string{
		"raw saturation 1", "sqlite saturation 1", "sqlite-db saturation 1", "postgres saturation 1", "postgres-db saturation 1", "river saturation 1",
		"raw saturation 2", "sqlite saturation 2", "sqlite-db saturation 2", "postgres saturation 2", "postgres-db saturation 2", "river saturation 2",
		"raw rate 0", "sqlite rate 0", "postgres rate 0", "river rate 0",
	}, show(benchPlan(o, true)))
	require.Equal(t, []string{
		"raw saturation 1", "sqlite saturation 1", "sqlite-db saturation 1", "postgres skipped", "river skipped",
		"raw saturation 2", "sqlite saturation 2", "sqlite-db saturation 2",
		"raw rate 0", "sqlite rate 0",
	}, show(benchPlan(o, false)))
	o.rate = 0
	require.Len(t, benchPlan(o, true), 12)
}
