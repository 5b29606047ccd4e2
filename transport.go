package webhook

import (
	"context"
	"net/http"

	"github.com/google/uuid"
)

// A Request is one delivery attempt as the Transport sends it: a POST of
// Body to URL with Header.
type Request struct {
	// URL is the webhook's URL.
	URL string
	// Header holds the request headers; it includes the webhook's secret.
	Header http.Header
	// Body is the payload; the Transport must not modify it.
	Body []byte

	// What the request delivers, for Transports that log, trace or
	// measure; they are not sent.

	// HookID is the webhook's ID.
	HookID string
	// Type is the event type.
	Type Event
	// EventID is the delivery's eventId.
	EventID uuid.UUID
	// Attempt is the attempt's number, counting from 1; 0 for a test send.
	Attempt int

	// Shared reports that nothing modifies Header, its values or Body
	// once Send is called, and nothing may: they may be shared with other
	// requests, and the Transport may keep them past Send's return, or
	// hand them to another goroutine, without copying them. The
	// Dispatcher sets it only for a [RequestSharer].
	Shared bool
}

// A Response is what the receiver answered.
type Response struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Header holds the response headers (Retry-After is read from it).
	Header http.Header
	// Body holds the first bytes of the response body, up to the
	// Transport's cap.
	Body []byte
}

// A Transport sends one delivery attempt. It is shaped like
// [http.RoundTripper]: a non-2xx status is a Response, not an error; an
// error means no response (DNS, connect, TLS, reset, timeout, or an
// address refused by the private-network guard). A Transport never
// retries: the Dispatcher alone decides. Implementations must be safe for
// concurrent use. [HTTPTransport] is the default.
type Transport interface {
	Send(ctx context.Context, req *Request) (*Response, error)
}

// TransportFunc adapts a function to a [Transport].
type TransportFunc func(ctx context.Context, req *Request) (*Response, error)

// Send calls f(ctx, req).
func (f TransportFunc) Send(ctx context.Context, req *Request) (*Response, error) { return f(ctx, req) }

// A RequestForgetter is a [Transport] that can say it keeps nothing of a
// Request once Send has returned: neither the Request, nor its Header map
// and values, nor its Body. The Dispatcher then reuses their storage from
// one attempt to the next; other Transports get fresh storage each
// attempt, so that they may keep what they were given (as a test's
// recording Transport does). A Transport that wraps another forwards the
// answer of the one it wraps. [HTTPTransport] forgets its requests.
type RequestForgetter interface {
	Transport
	// ForgetsRequests reports whether Send keeps nothing of its Request
	// once it has returned. It gives the same answer every time.
	ForgetsRequests() bool
}

// A RequestSharer is a [Transport] that can say it never modifies a
// Request's Header, its values or its Body (as [http.RoundTripper]
// promises for its requests). The Dispatcher then sends every attempt of
// a webhook with one header map, built once and never modified (when
// nothing in it changes from attempt to attempt), gives each attempt a
// body that nothing modifies either (built for the attempt, or the
// payload the store kept for the delivery), and sets Request.Shared, so
// that the Transport needs no copies of them to keep. A Transport that
// wraps another forwards the answer of the one it wraps. [HTTPTransport]
// shares requests.
type RequestSharer interface {
	Transport
	// SharesRequests reports whether Send never modifies a Request's
	// Header, its values or its Body. It gives the same answer every
	// time.
	SharesRequests() bool
}
