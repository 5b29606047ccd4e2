package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
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

// request builds the request of one attempt to w (whose URL and secrets
// are used, not its ID), signed when w or the Config has a signing
// secret. Call o.release once the Transport has returned.
func (d *Dispatcher) request(del *Delivery, w *Webhook, now time.Time) (*outgoing, error) {
	o := d.newOutgoing()
	o.set(0, "Content-Type", "application/json")
	o.set(1, "User-Agent", d.cfg.UserAgent)
	o.set(2, "X-Misskey-Host", d.cfg.Host)
	o.set(3, "X-Misskey-Hook-Id", del.HookID)
	o.set(4, "X-Misskey-Hook-Secret", w.Secret)
	o.buf = AppendPayload(o.buf[:0], del)
	o.req = Request{URL: w.URL, Header: o.hdr, Body: o.buf,
		HookID: del.HookID, Type: del.Type, EventID: del.ID, Attempt: del.Attempts + 1}
	signing, previous := w.SigningSecret, w.PreviousSigningSecrets
	if signing == "" {
		signing, previous = d.cfg.SigningSecret, nil
	}
	if signing != "" {
		id := del.ID.String()
		ts := now.Unix()
		sig, err := signatureHeader(signing, previous, now, id, ts, o.buf)
		if err != nil {
			o.release()
			return nil, Permanent(fmt.Errorf("webhook: signing for hook %s: %w", del.HookID, err))
		}
		o.set(5, HeaderWebhookID, id)
		o.set(6, HeaderWebhookTimestamp, strconv.FormatInt(ts, 10))
		o.set(7, HeaderWebhookSignature, sig)
	}
	return o, nil
}

// send makes attempt number n of del to w, begun at start.
func (d *Dispatcher) send(ctx context.Context, del *Delivery, w *Webhook, n int, start time.Time) outcome {
	o := outcome{n: n, at: start}
	out, err := d.request(del, w, start)
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
