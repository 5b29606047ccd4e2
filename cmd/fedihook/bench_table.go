package main

import (
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

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
