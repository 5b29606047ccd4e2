package main

import (
	"bytes"
	"fmt"
	"math/bits"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
)

// This file holds what bench's processes share: the latency histogram,
// the event body, and how the emit time travels in it.

// histBuckets is the number of buckets of a histogram: 16 per power of
// two, for every int64 number of nanoseconds (the last bucket's index is
// histIndex(1<<63-1) = 959).
const histBuckets = 60 * 16

// A histogram counts durations (in nanoseconds) in buckets about 6 %
// wide, so that its quantiles are within 3 % of the truth. Record is safe
// for concurrent use and does not allocate.
type histogram struct {
	counts [histBuckets]atomic.Uint64
	total  atomic.Uint64
	sum    atomic.Int64
	max    atomic.Int64
}

// histIndex returns v's bucket: v itself below 32, then 16 buckets per
// power of two.
func histIndex(v uint64) int {
	shift := max(bits.Len64(v)-5, 0)
	return shift*16 + int(v>>uint(shift))
}

// histLow returns the smallest value of bucket i.
func histLow(i int) uint64 {
	if i < 32 {
		return uint64(i)
	}
	shift := i/16 - 1
	return uint64(i%16+16) << uint(shift)
}

// Record counts one duration; a negative one counts as 0.
func (h *histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[histIndex(uint64(v))].Add(1)
	h.total.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
}

// Reset forgets every duration recorded. It must not run concurrently
// with Record.
func (h *histogram) Reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.total.Store(0)
	h.sum.Store(0)
	h.max.Store(0)
}

// latencies summarises a histogram.
type latencies struct {
	Count int64         `json:"count"`
	P50   time.Duration `json:"p50"`
	P99   time.Duration `json:"p99"`
	Max   time.Duration `json:"max"`
	Mean  time.Duration `json:"mean"`
}

// Summary returns the count, the median, the 99th percentile (each the
// middle of its bucket), the maximum and the mean.
func (h *histogram) Summary() latencies {
	n := h.total.Load()
	s := latencies{Count: int64(n), Max: time.Duration(h.max.Load())}
	if n == 0 {
		return s
	}
	s.Mean = time.Duration(h.sum.Load() / int64(n))
	s.P50 = h.quantile(n, 0.50)
	s.P99 = h.quantile(n, 0.99)
	return s
}

// quantile returns the q-quantile of the n durations recorded.
func (h *histogram) quantile(n uint64, q float64) time.Duration {
	rank := uint64(q*float64(n-1)) + 1
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			lo, hi := histLow(i), histLow(i+1)
			v := time.Duration(lo + (hi-lo)/2)
			return min(v, time.Duration(h.max.Load()))
		}
	}
	return time.Duration(h.max.Load())
}

// Bench events carry their emit time, in Unix nanoseconds, as the id of
// their note: the receiver subtracts it from the time of receipt. A
// real note's id is unique per event too, and the body stays the
// library's own misskey.NoteBody, encoded as a host's would be.
const (
	// emitTimeDigits is the width of the emit time, in decimal digits,
	// until the year 2286.
	emitTimeDigits = 19
	// emitTimeMarker precedes the emit time in a payload.
	emitTimeMarker = `"body":{"note":{"id":"`
)

// putEmitTime writes ns into dst[:emitTimeDigits], zero-padded.
func putEmitTime(dst []byte, ns int64) {
	for i := emitTimeDigits - 1; i >= 0; i-- {
		dst[i] = byte('0' + ns%10)
		ns /= 10
	}
}

// emitTime finds the emit time in a payload.
func emitTime(payload []byte) (int64, bool) {
	i := bytes.Index(payload, []byte(emitTimeMarker))
	if i < 0 {
		return 0, false
	}
	rest := payload[i+len(emitTimeMarker):]
	if len(rest) < emitTimeDigits {
		return 0, false
	}
	var ns int64
	for _, c := range rest[:emitTimeDigits] {
		if c < '0' || c > '9' {
			return 0, false
		}
		ns = ns*10 + int64(c-'0')
	}
	return ns, true
}

// benchText is the sentence a bench note's text repeats: ASCII, a
// mention, a link, a hashtag and a few multi-byte characters, as notes
// have.
const benchText = "Trying out webhooks from @alice@example.tld: https://example.tld/notes/9k2m4q8z7x " +
	"are delivered in a few milliseconds 🎉 — très rapide, 速い! #fedihook "

// minBodySize is the smallest --body-size: a bench note with no text is
// about 800 bytes.
const minBodySize = 900

// benchNote returns the note of bench events: a note as Misskey packs it,
// with its author, reactions and emojis, whose text is long enough for
// misskey.NoteBody{Note: n} to encode to about size bytes (less than 4 bytes
// short) once its ID is an emit time.
func benchNote(size int) (*misskey.Note, error) {
	name := "Fedihook Bench :blobcat:"
	blurhash := "eQFRshof5NWBRi}rR*WBWBaya|fQ~qj[WBj[j[fQ%gayj[fQj[ay"
	n := &misskey.Note{
		ID:        strings.Repeat("0", emitTimeDigits),
		CreatedAt: misskey.Time(time.Date(2025, 3, 4, 5, 6, 7, 891e6, time.UTC)),
		UserID:    "9k2m4q8z7x000001",
		User: misskey.User{
			ID: "9k2m4q8z7x000001", Name: &name, Username: "bench",
			AvatarURL:      "https://bench.fedihook.local/proxy/avatar.webp?url=https%3A%2F%2Fbench.fedihook.local%2Ffiles%2Favatar.png&avatar=1",
			AvatarBlurhash: &blurhash,
			Emojis:         map[string]string{"blobcat": "https://bench.fedihook.local/emoji/blobcat.webp"},
			OnlineStatus:   misskey.OnlineStatusOnline,
		},
		Visibility:     misskey.VisibilityPublic,
		Mentions:       []string{"9k2m4q8z7x000002"},
		Tags:           []string{"fedihook"},
		ReactionEmojis: map[string]string{"blobcat@.": "https://bench.fedihook.local/emoji/blobcat.webp"},
		Reactions:      map[string]int{"👍": 3, ":blobcat@.:": 1},
		ReactionCount:  4,
		RenoteCount:    1,
		RepliesCount:   2,
	}
	empty := ""
	n.Text = &empty
	base, err := webhook.EncodeBody(misskey.NoteBody{Note: n})
	if err != nil {
		return nil, err
	}
	if size < len(base) {
		return nil, fmt.Errorf("the smallest bench body is %d bytes, got %d", len(base), size)
	}
	var text []byte
	for len(text) < size-len(base) {
		r, w := utf8.DecodeRuneInString(benchText[len(text)%len(benchText):])
		if len(text)+w > size-len(base) {
			break
		}
		text = utf8.AppendRune(text, r)
	}
	t := string(text)
	n.Text = &t
	return n, nil
}

// benchHeaders returns the headers the Dispatcher sends to a webhook,
// for the raw contender's hand-written requests.
func benchHeaders(hookID string) map[string][]string {
	return map[string][]string{
		"Content-Type":          {"application/json"},
		"User-Agent":            {webhook.DefaultUserAgent},
		"X-Misskey-Host":        {benchHost},
		"X-Misskey-Hook-Id":     {hookID},
		"X-Misskey-Hook-Secret": {benchSecret},
	}
}

// cpuTimes returns the machine's busy and total CPU time so far, in
// clock ticks, from /proc/stat; ok is false on systems without it.
func cpuTimes() (busy, total int64, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, 0, false
	}
	// user nice system idle iowait irq softirq [steal ...]
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		if i >= 8 { // guest times are counted in user already
			break
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total, true
}

// loadAverage returns the one-minute load average, or -1 when it cannot
// be read (on systems without /proc).
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}
