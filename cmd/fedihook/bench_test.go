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

// TestBenchSmoke runs bench briefly, raw, memory and sqlite in both
// modes, and checks that its last line is the JSON of figures and that
// every contender delivered, with every delivery accounted for. Speeds
// are the command's business, not the tests'.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a dozen processes")
	}
	t.Parallel()
	code, out, errOut := runCmd(t.Context(), "", "bench", "--duration", "300ms",
		"--contenders", "raw,memory,sqlite", "--concurrency", "8", "--rate", "200")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var fig map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &fig), "last line: %s", lines[len(lines)-1])

	for _, p := range []string{"raw_", "raw_rate_", "memory_", "memory_rate_", "sqlite_", "sqlite_rate_", "sqlite_db_"} {
		require.Greater(t, fig[p+"delivered"], 0.0, p+"delivered")
		// rps counts the measured window only, which a machine loaded by
		// other builds can leave empty in a 300 ms run: its presence is
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
	require.Contains(t, out, "contender")
	require.Contains(t, out, "sqlite-db")
}

func TestParseBench(t *testing.T) {
	t.Parallel()
	o, err := parseBench(nil, nil)
	require.NoError(t, err)
	require.Equal(t, defaultBenchDuration, o.duration)
	require.Equal(t, []string{"raw", "memory", "sqlite", "postgres", "river"}, o.contenders)
	require.Equal(t, 2*defaultBenchConcurrency+4, o.pgConns)
	require.Equal(t, "FULL", o.sqliteSync)

	o, err = parseBench([]string{"--contenders", "memory, raw", "--sqlite-synchronous", "normal", "--pg-conns", "10"}, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"memory", "raw"}, o.contenders)
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
	code, out, errOut := runCmd(t.Context(), "", "bench", "--duration", "300ms", "--pg-dsn", dsn,
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

// requireRatio checks the figure key, num's rps over den's: written, and
// equal to the quotient of the rounded figures within their rounding,
// whenever both were measured. A machine loaded by other builds can leave
// a 300 ms window empty; the ratio's arithmetic is TestFiguresRiver's business.
func requireRatio(t *testing.T, fig map[string]any, key, num, den string) {
	t.Helper()
	n, _ := fig[num].(float64)
	d, _ := fig[den].(float64)
	if n < 1 || d < 1 {
		return
	}
	require.Contains(t, fig, key)
	want := n / d
	require.InDelta(t, want, fig[key], want*(1/n+1/d)+0.001, key)
}
