package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

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
