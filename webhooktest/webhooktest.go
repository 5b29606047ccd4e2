// Package webhooktest helps host applications test the webhooks they emit,
// as net/http/httptest helps with handlers: a recording fake [Transport]
// with scripted replies, a [Clock] moved by hand, and assertions such as
// "webhook H received event E with this body".
//
// # A handler test in a few lines
//
//	d, tr, _ := webhooktest.New(t, nil)
//	hook := webhooktest.CreateHook(t, d, "alice", webhook.EventNote)
//	postNote(d, "alice", "hello")            // your handler, which calls d.Emit
//	webhooktest.Flush(t, d)                  // deliver what is due, now
//	tr.RequireReceived(t, hook.ID, webhook.EventNote, wantBody)
package webhooktest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

// A Reply is a scripted answer of the fake Transport: an HTTP status with
// optional headers and body, or, when Err is set, no response at all.
type Reply struct {
	Status int
	Header http.Header
	Body   string
	Err    error
}

// OK is the reply the Transport gives when nothing else is scripted.
var OK = Reply{Status: http.StatusNoContent}

// A Received is one request the fake Transport got.
type Received struct {
	// URL the request went to.
	URL string
	// Header of the request, as sent.
	Header http.Header
	// Body is the raw payload.
	Body []byte
	// Payload is Body decoded.
	Payload webhook.Payload
	// Reply is what the Transport answered.
	Reply Reply
}

// Transport is a recording fake [webhook.Transport]. It answers each URL
// with the replies scripted for it, in order, then with its default (OK
// unless SetDefault changed it). It is safe for concurrent use.
type Transport struct {
	mu       sync.Mutex
	def      Reply
	scripts  map[string][]Reply
	received []Received
	onSend   func(Received)
}

var _ webhook.Transport = (*Transport)(nil)

// NewTransport returns a Transport that answers 204 to everything.
func NewTransport() *Transport {
	return &Transport{def: OK, scripts: make(map[string][]Reply)}
}

// Script queues replies for url, used one per request before the default.
func (t *Transport) Script(url string, replies ...Reply) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.scripts[url] = append(t.scripts[url], replies...)
}

// SetDefault sets the reply given when no scripted one is left.
func (t *Transport) SetDefault(r Reply) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.def = r
}

// OnSend sets a function called with each request as it is received,
// before it is answered: use it to block a delivery or to count.
func (t *Transport) OnSend(f func(Received)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.onSend = f
}

// Send implements [webhook.Transport].
func (t *Transport) Send(ctx context.Context, req *webhook.Request) (*webhook.Response, error) {
	rec := Received{URL: req.URL, Header: req.Header.Clone(), Body: bytes.Clone(req.Body)}
	if err := json.Unmarshal(rec.Body, &rec.Payload); err != nil {
		return nil, fmt.Errorf("webhooktest: request body is not a payload: %w", err)
	}
	t.mu.Lock()
	r := t.def
	if q := t.scripts[req.URL]; len(q) > 0 {
		r, t.scripts[req.URL] = q[0], q[1:]
	}
	rec.Reply = r
	t.received = append(t.received, rec)
	onSend := t.onSend
	t.mu.Unlock()
	if onSend != nil {
		onSend(rec)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.Err != nil {
		return nil, r.Err
	}
	return &webhook.Response{StatusCode: r.Status, Header: r.Header.Clone(), Body: []byte(r.Body)}, nil
}

// Requests returns every request received so far, in order.
func (t *Transport) Requests() []Received {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.received)
}

// To returns the requests received for the webhook hookID, in order.
func (t *Transport) To(hookID string) []Received {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Received
	for _, r := range t.received {
		if r.Payload.HookID == hookID {
			out = append(out, r)
		}
	}
	return out
}

// Reset forgets the requests received so far.
func (t *Transport) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.received = nil
}

// RequireReceived fails tb unless the webhook hookID received exactly one
// event of type e; when body is not nil, that event's body must equal
// body's JSON encoding (compared as JSON). It returns the request.
func (t *Transport) RequireReceived(tb testing.TB, hookID string, e webhook.Event, body any) Received {
	tb.Helper()
	var got []Received
	for _, r := range t.To(hookID) {
		if r.Payload.Type == e {
			got = append(got, r)
		}
	}
	require.Len(tb, got, 1, "webhook %s: want one %q delivery, got %d (all requests: %s)", hookID, e, len(got), t.summary())
	if body != nil {
		want, err := webhook.EncodeBody(body)
		require.NoError(tb, err)
		require.JSONEq(tb, string(want), string(got[0].Payload.Body), "body of %q to webhook %s", e, hookID)
	}
	return got[0]
}

// RequireNone fails tb if the webhook hookID received anything.
func (t *Transport) RequireNone(tb testing.TB, hookID string) {
	tb.Helper()
	require.Empty(tb, t.To(hookID), "webhook %s should have received nothing", hookID)
}

func (t *Transport) summary() string {
	var b bytes.Buffer
	for i, r := range t.Requests() {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s→%s", r.Payload.Type, r.Payload.HookID)
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// Clock is a fake [webhook.Clock] that moves only when told. It is safe
// for concurrent use.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	// changed is closed, and replaced, when the waiting timers change.
	changed chan struct{}
}

var _ webhook.Clock = (*Clock)(nil)

// NewClock returns a Clock set to start.
func NewClock(start time.Time) *Clock { return &Clock{now: start, changed: make(chan struct{})} }

// Timers returns how many timers are waiting to fire.
func (c *Clock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// WaitForTimers waits until at least n timers are waiting to fire, so that
// a test can advance the clock once the code under test waits on it,
// rather than poll; it returns ctx's error if ctx ends first.
func (c *Clock) WaitForTimers(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		if c.changed == nil { // a zero Clock
			c.changed = make(chan struct{})
		}
		waiting, changed := len(c.timers), c.changed
		c.mu.Unlock()
		if waiting >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("webhooktest: %d timers waiting, not %d: %w", waiting, n, ctx.Err())
		}
	}
}

// timersChanged wakes WaitForTimers. c.mu is held.
func (c *Clock) timersChanged() {
	if c.changed == nil { // nobody waits yet
		return
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d, firing the timers that fall due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if !t.at.After(c.now) {
			t.ch <- c.now
			continue
		}
		kept = append(kept, t)
	}
	clear(c.timers[len(kept):])
	if len(kept) != len(c.timers) {
		c.timersChanged()
	}
	c.timers = kept
}

// NewTimer implements [webhook.Clock].
func (c *Clock) NewTimer(d time.Duration) webhook.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.ch <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	c.timersChanged()
	return t
}

type fakeTimer struct {
	c  *Clock
	at time.Time
	ch chan time.Time
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	for i, x := range t.c.timers {
		if x == t {
			t.c.timers = slices.Delete(t.c.timers, i, i+1)
			t.c.timersChanged()
			return true
		}
	}
	return false
}

// Epoch is the time a Clock made by New starts at.
var Epoch = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// New returns a Dispatcher over a new in-memory store with a fake
// Transport and a fake Clock (starting at Epoch), for tests. cfg may be
// nil; its Host defaults to "example.tld", and its Transport and Clock are
// replaced by the fakes. The Dispatcher is shut down when tb ends.
func New(tb testing.TB, cfg *webhook.Config) (*webhook.Dispatcher, *Transport, *Clock) {
	tb.Helper()
	c := webhook.Config{}
	if cfg != nil {
		c = *cfg
	}
	if c.Host == "" {
		c.Host = "example.tld"
	}
	tr, clk := NewTransport(), NewClock(Epoch)
	c.Transport, c.Clock = tr, clk
	d, err := webhook.New(nil, &c)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = d.Shutdown(context.Background()) })
	return d, tr, clk
}

// CreateHook creates an active webhook of userID ("" for a system one)
// subscribed to events, with URL https://receiver.test/<its ID> and secret
// "secret", and returns it.
func CreateHook(tb testing.TB, d *webhook.Dispatcher, userID string, events ...webhook.Event) *webhook.Webhook {
	tb.Helper()
	id := webhook.NewID(time.Now())
	w, err := d.CreateHook(context.Background(), &webhook.Webhook{
		ID: id, UserID: userID, Name: "test hook " + id, On: events,
		URL: "https://receiver.test/" + id, Secret: "secret", Active: true,
	})
	require.NoError(tb, err)
	return w
}

// Flush delivers every delivery due now (see [webhook.Dispatcher.Drain])
// and returns how many attempts it made.
func Flush(tb testing.TB, d *webhook.Dispatcher) int {
	tb.Helper()
	n, err := d.Drain(context.Background())
	require.NoError(tb, err)
	return n
}
