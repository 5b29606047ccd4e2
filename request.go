package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// An outgoing is the request of one attempt with the storage behind it:
// its header map, the header values and the payload buffer. With a
// Transport that forgets its requests (see [RequestForgetter]), outgoings
// are reused from attempt to attempt; any other Transport gets a fresh one
// each attempt.
type outgoing struct {
	req    Request
	hdr    http.Header
	vals   [8]string
	buf    []byte
	pooled bool
}

var outgoingPool = sync.Pool{New: func() any {
	return &outgoing{hdr: make(http.Header, 8), buf: make([]byte, 0, 4096), pooled: true}
}}

// newOutgoing returns an outgoing for one attempt.
func (d *Dispatcher) newOutgoing() *outgoing {
	if d.reuseRequests {
		return outgoingPool.Get().(*outgoing)
	}
	return &outgoing{hdr: make(http.Header, 8)}
}

// set sets header k to the single value v, held in o.vals[i].
func (o *outgoing) set(i int, k, v string) {
	o.vals[i] = v
	o.hdr[k] = o.vals[i : i+1 : i+1]
}

// release returns a pooled o to the pool once the Transport has returned,
// unless its buffer grew too large to keep.
func (o *outgoing) release() {
	if !o.pooled || cap(o.buf) > 1<<16 {
		return
	}
	clear(o.hdr)
	o.vals = [8]string{}
	o.req = Request{}
	outgoingPool.Put(o)
}

// request builds the request of one attempt of del to w (whose URL and
// secrets are used, not its ID), signed when w or the Config has a
// signing secret. payload is del's payload when the store kept it, else
// nil. Call o.release once the Transport has returned.
func (d *Dispatcher) request(del *Delivery, w *Webhook, payload []byte, now time.Time) (*outgoing, error) {
	signing, previous := w.SigningSecret, w.PreviousSigningSecrets
	if signing == "" {
		signing, previous = d.cfg.SigningSecret, nil
	}
	if d.shareRequests {
		return d.sharedRequest(del, w, payload, now, signing, previous)
	}
	o := d.newOutgoing()
	o.set(0, "Content-Type", "application/json")
	o.set(1, "User-Agent", d.cfg.UserAgent)
	o.set(2, "X-Misskey-Host", d.cfg.Host)
	o.set(3, "X-Misskey-Hook-Id", del.HookID)
	o.set(4, "X-Misskey-Hook-Secret", w.Secret)
	if payload != nil {
		o.buf = append(o.buf[:0], payload...)
	} else {
		o.buf = AppendPayload(o.buf[:0], del)
	}
	o.req = Request{URL: w.URL, Header: o.hdr, Body: o.buf,
		HookID: del.HookID, Type: del.Type, EventID: del.ID, Attempt: del.Attempts + 1}
	if signing != "" {
		id, ts, sig, err := sign(del, signing, previous, now, o.buf)
		if err != nil {
			o.release()
			return nil, err
		}
		o.set(5, HeaderWebhookID, id)
		o.set(6, HeaderWebhookTimestamp, ts)
		o.set(7, HeaderWebhookSignature, sig)
	}
	return o, nil
}

// sign returns the signature headers' values of an attempt of del with
// body, sent at now.
func sign(del *Delivery, signing string, previous []PreviousSecret, now time.Time, body []byte) (id, ts, sig string, err error) {
	id = del.ID.String()
	unix := now.Unix()
	sig, err = signatureHeader(signing, previous, now, id, unix, body)
	if err != nil {
		return "", "", "", Permanent(fmt.Errorf("webhook: signing for hook %s: %w", del.HookID, err))
	}
	return id, strconv.FormatInt(unix, 10), sig, nil
}

// sharedRequest builds the request of one attempt for a RequestSharer:
// the payload the store kept, or one built for the attempt, and unless it
// is signed, the header map that every attempt of the webhook shares;
// neither is modified once built.
func (d *Dispatcher) sharedRequest(del *Delivery, w *Webhook, payload []byte, now time.Time, signing string, previous []PreviousSecret) (*outgoing, error) {
	body := payload
	if body == nil {
		body = AppendPayload(make([]byte, 0, payloadSizeHint(del)), del)
	}
	var hdr http.Header
	if signing == "" {
		hdr = d.hookHeader(del.HookID, w.Secret)
	} else {
		id, ts, sig, err := sign(del, signing, previous, now, body)
		if err != nil {
			return nil, err
		}
		hdr = d.header(del.HookID, w.Secret, HeaderWebhookID, id, HeaderWebhookTimestamp, ts, HeaderWebhookSignature, sig)
	}
	o := &outgoing{}
	if d.reuseRequests {
		o = outgoingPool.Get().(*outgoing)
	}
	o.req = Request{URL: w.URL, Header: hdr, Body: body, Shared: true,
		HookID: del.HookID, Type: del.Type, EventID: del.ID, Attempt: del.Attempts + 1}
	return o, nil
}

// payloadSizeHint returns the length of del's payload when no string in
// it needs escaping, or up to 19 bytes more: its keys, quotes and
// punctuation (69 bytes, and 12 with a userId), its eventId (36) and
// createdAt (at most 20 characters), its strings and its body.
func payloadSizeHint(del *Delivery) int {
	n := 69 + 36 + 20 + len(del.Server) + len(del.HookID) + len(del.Type) + len(del.Body)
	if del.UserID != "" {
		n += 12 + len(del.UserID)
	}
	return n
}

// header returns a new header map of an attempt to hook ID id with
// secret, with the extra keys and values kv, all its values in one
// allocation.
func (d *Dispatcher) header(id, secret string, kv ...string) http.Header {
	vals := [...]string{"application/json", d.cfg.UserAgent, d.cfg.Host, id, secret, "", "", ""}
	n := 5 + len(kv)/2
	vs := make([]string, n)
	copy(vs, vals[:5])
	h := make(http.Header, n)
	h["Content-Type"] = vs[0:1:1]
	h["User-Agent"] = vs[1:2:2]
	h["X-Misskey-Host"] = vs[2:3:3]
	h["X-Misskey-Hook-Id"] = vs[3:4:4]
	h["X-Misskey-Hook-Secret"] = vs[4:5:5]
	for i := 0; i+1 < len(kv); i += 2 {
		j := 5 + i/2
		vs[j] = kv[i+1]
		h[kv[i]] = vs[j : j+1 : j+1]
	}
	return h
}

// A hookHeaders caches the header map of each webhook's unsigned
// attempts, for a RequestSharer: built once per webhook and secret,
// shared by the attempts, never modified. Past maxHookHeaders entries it
// starts over.
type hookHeaders struct {
	m sync.Map // hook ID → *hookHeader
	n atomic.Int64
}

// A hookHeader is the header map of a webhook's attempts with secret.
type hookHeader struct {
	secret string
	hdr    http.Header
}

const maxHookHeaders = 1 << 16

// hookHeader returns the shared header map of the unsigned attempts to
// hook ID id with secret.
func (d *Dispatcher) hookHeader(id, secret string) http.Header {
	if v, ok := d.headers.m.Load(id); ok {
		if h := v.(*hookHeader); h.secret == secret {
			return h.hdr
		}
	}
	h := &hookHeader{secret: secret, hdr: d.header(id, secret)}
	if d.headers.n.Add(1) > maxHookHeaders {
		d.headers.m.Clear()
		d.headers.n.Store(1)
	}
	d.headers.m.Store(id, h)
	return h.hdr
}

// send makes attempt number n of del to w, begun at start; payload is
// del's payload when the store kept it, else nil.
func (d *Dispatcher) send(ctx context.Context, del *Delivery, w *Webhook, payload []byte, n int, start time.Time) outcome {
	o := outcome{n: n, at: start}
	out, err := d.request(del, w, payload, start)
	if err != nil {
		o.err = err
		return o
	}
	resp, err := d.transport.Send(ctx, &out.req)
	out.release()
	o.dur = d.clock.Now().Sub(start)
	if err == nil && resp == nil {
		err = errors.New("webhook: Transport returned neither a response nor an error")
	}
	if err != nil {
		o.err = err
		return o
	}
	o.status, o.retryAfter, o.body = resp.StatusCode, resp.Header.Get("Retry-After"), resp.Body
	return o
}
