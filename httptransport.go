package webhook

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults of [HTTPTransportConfig].
const (
	// DefaultTimeout bounds one attempt, from dialing to the end of reading
	// the kept part of the response body. Misskey's is 5 s too.
	DefaultTimeout = 5 * time.Second
	// DefaultMaxResponseBytes is how many bytes of a response body are
	// kept in Response.Body.
	DefaultMaxResponseBytes = 4 << 10
	// DefaultMaxIdleConnsPerHost is how many idle keep-alive connections
	// are kept per receiver host.
	DefaultMaxIdleConnsPerHost = 64
)

const (
	// maxDrainBytes bounds how much of a response body past the kept part
	// is read and thrown away so that the connection can be reused; a
	// longer body costs the connection instead.
	maxDrainBytes = 64 << 10
	// maxResponseHeaderBytes bounds the response headers of a receiver.
	maxResponseHeaderBytes = 64 << 10
	// idleConnTimeout is how long an idle connection is kept.
	idleConnTimeout = 90 * time.Second
)

// HTTPTransportConfig configures an [HTTPTransport]. The zero value (or a
// nil *HTTPTransportConfig) gives the defaults.
type HTTPTransportConfig struct {
	// Timeout bounds one whole attempt: dialing, TLS, sending the request,
	// waiting for the response headers and reading the kept part of the
	// body. It must not be negative. Defaults to [DefaultTimeout] (5 s).
	Timeout time.Duration

	// MaxResponseBytes is how many bytes of the response body are kept in
	// Response.Body. Up to 64 KiB more are read and discarded so that the
	// connection can be reused; a longer body closes the connection. It
	// must not be negative. Defaults to [DefaultMaxResponseBytes] (4 KiB).
	MaxResponseBytes int

	// AllowNetworks lets the private-network guard connect to the networks
	// (and ports) it lists, although they are not public. Build the rules
	// with [ParseAllowRule], e.g. from --allow-network flags. Defaults to
	// none: only public addresses (see [IsPublicAddr]) are dialed.
	AllowNetworks []AllowRule

	// DisableGuard turns the private-network guard off, so that the
	// transport connects to any address, loopback and cloud metadata
	// services included. It is DANGEROUS outside tests and development:
	// whoever can create a webhook can then make the server send requests
	// into its own network. Prefer AllowNetworks. Defaults to false.
	DisableGuard bool

	// MaxIdleConnsPerHost is how many idle keep-alive connections are kept
	// per receiver host; the Dispatcher sends many concurrent deliveries to
	// the same receiver. It must not be negative. Defaults to
	// [DefaultMaxIdleConnsPerHost] (64).
	MaxIdleConnsPerHost int

	// TLSConfig configures TLS to https receivers. It is cloned. Defaults
	// to nil: the system roots and net/http's defaults.
	TLSConfig *tls.Config
}

func (c *HTTPTransportConfig) validate() error {
	if c.Timeout < 0 {
		return invalidf("HTTPTransportConfig.Timeout must be > 0, got %v", c.Timeout)
	}
	if c.MaxResponseBytes < 0 {
		return invalidf("HTTPTransportConfig.MaxResponseBytes must be > 0, got %d", c.MaxResponseBytes)
	}
	if c.MaxIdleConnsPerHost < 0 {
		return invalidf("HTTPTransportConfig.MaxIdleConnsPerHost must be > 0, got %d", c.MaxIdleConnsPerHost)
	}
	for i, r := range c.AllowNetworks {
		if !r.prefix.IsValid() {
			return invalidf("HTTPTransportConfig.AllowNetworks[%d] is the zero AllowRule; build rules with ParseAllowRule", i)
		}
	}
	return nil
}

// HTTPTransport is the default [Transport]: it POSTs each attempt over
// HTTP/1.1 or HTTP/2 with its own connection pool, and
//
//   - never follows redirects: a 3xx is returned as a Response, and the
//     secret header never travels to another URL;
//   - checks every address it dials with the private-network guard (see
//     [Guard]), after DNS resolution, so neither a name that resolves to
//     a private address nor DNS rebinding gets through; a refusal is an
//     error that matches [ErrBlockedAddress] and is marked [Permanent];
//   - ignores proxy environment variables, which would bypass the guard;
//   - sends the request headers as given and adds only what net/http must
//     (Content-Length; User-Agent if the headers have none; Host, from the
//     URL or from a "Host" entry of the headers), and asks for no
//     compression;
//   - keeps at most MaxResponseBytes of the body.
//
// Its errors name the receiver by scheme and host only: the URL's path and
// query (which may hold a token), and the headers, are never in them.
// An HTTPTransport is safe for concurrent use.
type HTTPTransport struct {
	tr       *http.Transport
	timeout  time.Duration
	maxBytes int64

	// targets caches the parsed URLs of webhooks (URL string → *target):
	// every attempt of a webhook goes to the same URL, and parsing it is
	// a good part of an attempt's own cost. ntargets counts the entries;
	// past maxTargets the cache starts over.
	targets  sync.Map
	ntargets atomic.Int64
}

// maxTargets bounds HTTPTransport's cache of parsed URLs.
const maxTargets = 1 << 16

// A target is a checked webhook URL, parsed. Requests share u, which
// nothing modifies.
type target struct {
	u     *url.URL
	where string // scheme://host, the only part of the URL errors show
}

var (
	_ RequestForgetter = (*HTTPTransport)(nil)
	_ RequestSharer    = (*HTTPTransport)(nil)
)

// NewHTTPTransport returns an HTTPTransport configured by cfg; a nil cfg
// means the defaults. An invalid configuration is an error that names the
// field and matches [ErrInvalid].
func NewHTTPTransport(cfg *HTTPTransportConfig) (*HTTPTransport, error) {
	var c HTTPTransportConfig
	if cfg != nil {
		c = *cfg
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.MaxResponseBytes = cmp.Or(c.MaxResponseBytes, DefaultMaxResponseBytes)
	c.MaxIdleConnsPerHost = cmp.Or(c.MaxIdleConnsPerHost, DefaultMaxIdleConnsPerHost)

	dialer := &net.Dialer{}
	if !c.DisableGuard {
		guard := NewGuard(c.AllowNetworks...)
		// Control runs for every address the dialer connects to, after
		// resolution and before connect(2).
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("webhook: %w: cannot read dialed address %q", ErrBlockedAddress, address)
			}
			return guard.Check(ap)
		}
	}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		TLSClientConfig:        c.TLSConfig.Clone(),
		ForceAttemptHTTP2:      true,
		DisableCompression:     true,
		MaxIdleConnsPerHost:    c.MaxIdleConnsPerHost,
		IdleConnTimeout:        idleConnTimeout,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
	}
	return &HTTPTransport{
		tr:       tr,
		timeout:  c.Timeout,
		maxBytes: int64(c.MaxResponseBytes),
	}, nil
}

// ForgetsRequests implements [RequestForgetter]: Send keeps nothing of a
// Request once it has returned (it copies the body net/http may still be
// writing).
func (t *HTTPTransport) ForgetsRequests() bool { return true }

// SharesRequests implements [RequestSharer]: Send never modifies a
// Request's Header or Body, and gives a Shared one's to net/http as they
// are, not copies.
func (t *HTTPTransport) SharesRequests() bool { return true }

// Send POSTs req.Body to req.URL with req.Header and returns the status,
// the headers and the first MaxResponseBytes of the body. Any status is a
// Response; an error means there was none. Once the status has arrived, a
// failure to read the body (a reset, the timeout) only shortens
// Response.Body. Send honours ctx and the transport's Timeout, whichever
// ends first. A "Host" entry of req.Header replaces the host from the URL.
func (t *HTTPTransport) Send(ctx context.Context, req *Request) (*Response, error) {
	if req == nil {
		return nil, Permanent(invalidf("HTTPTransport.Send: nil Request"))
	}
	tg, err := t.target(req.URL)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, t.timeout, attemptTimeout{})
	defer cancel()
	// The request is built as http.NewRequestWithContext would, from the
	// parsed URL. Unless the request is Shared, the header and the body
	// are copied: net/http may go on writing them after RoundTrip has
	// returned (a receiver that answers, or fails the connection, before
	// reading the whole request), and the caller may reuse req.Header and
	// req.Body once Send has returned. The body stays a bytes.Reader in a
	// NopCloser, which net/http writes with the headers in one packet; a
	// reader of another type would make it flush the headers alone first.
	header, body := req.Header, req.Body
	host, hasHost := hostEntry(header)
	if !req.Shared || hasHost {
		header = header.Clone()
		if hasHost {
			delete(header, host)
		}
	}
	if !req.Shared {
		body = bytes.Clone(body)
	}
	hreq := (&http.Request{
		Method: http.MethodPost, URL: tg.u, Host: tg.u.Host,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: header, Body: http.NoBody,
		GetBody: func() (io.ReadCloser, error) { return http.NoBody, nil },
	}).WithContext(ctx)
	if hasHost {
		if v := req.Header[host]; len(v) > 0 {
			hreq.Host = v[0]
		}
	}
	if len(body) > 0 {
		hreq.Body, hreq.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		hreq.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	where := tg.where

	// RoundTrip, not a Client: redirects are never followed, and a Client
	// would copy the headers for them on every request.
	resp, err := t.tr.RoundTrip(hreq)
	if err != nil {
		return nil, t.sendError(ctx, where, err)
	}
	defer resp.Body.Close()
	var kept []byte
	if resp.ContentLength != 0 { // most receivers answer with no body
		kept, _ = io.ReadAll(io.LimitReader(resp.Body, t.maxBytes))
	}
	if resp.Body != http.NoBody {
		_, _ = io.CopyN(io.Discard, resp.Body, maxDrainBytes)
	}
	return &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: kept}, nil
}

// hostEntry returns the key of h's "Host" entry, in whatever case it is
// written, and whether it has one.
func hostEntry(h http.Header) (string, bool) {
	for k := range h {
		if len(k) == 4 && strings.EqualFold(k, "Host") {
			return k, true
		}
	}
	return "", false
}

// target returns the parsed form of a webhook URL, from the cache when it
// has been sent to before, or an error marked Permanent if it is not an
// absolute http or https URL without user info.
func (t *HTTPTransport) target(raw string) (*target, error) {
	if v, ok := t.targets.Load(raw); ok {
		return v.(*target), nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, Permanent(invalidf("Request.URL does not parse: %s", parseProblem(err)))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, Permanent(invalidf("Request.URL must be an absolute http or https URL, got scheme %q", truncate(u.Scheme, 16)))
	}
	if u.User != nil {
		return nil, Permanent(invalidf("Request.URL must not hold user info"))
	}
	// As http.NewRequest does: "host:" is "host".
	if _, port, err := net.SplitHostPort(u.Host); err == nil && port == "" {
		u.Host = strings.TrimSuffix(u.Host, ":")
	}
	tg := &target{u: u, where: u.Scheme + "://" + u.Host}
	if t.ntargets.Add(1) > maxTargets {
		t.targets.Clear()
		t.ntargets.Store(1)
	}
	t.targets.Store(raw, tg)
	return tg, nil
}

// sendError describes a failed round trip to where (scheme://host) without
// the URL net/http puts in its errors. ctx is the attempt's context.
func (t *HTTPTransport) sendError(ctx context.Context, where string, err error) error {
	err = unwrapURLError(err)
	var be *blockedError
	if errors.As(err, &be) {
		return Permanent(fmt.Errorf("webhook: POST %s: %w", where, be))
	}
	if _, ok := context.Cause(ctx).(attemptTimeout); ok {
		return fmt.Errorf("webhook: POST %s: no response within %v: %w", where, t.timeout, err)
	}
	return fmt.Errorf("webhook: POST %s: %w", where, err)
}

// attemptTimeout is the cause of an attempt's context when the Timeout ends
// it, to tell it from the end of the caller's context. net/http returns the
// cause, so it must still read and match as context.DeadlineExceeded.
type attemptTimeout struct{}

func (attemptTimeout) Error() string        { return context.DeadlineExceeded.Error() }
func (attemptTimeout) Is(target error) bool { return target == context.DeadlineExceeded }
func (attemptTimeout) Timeout() bool        { return true }

// unwrapURLError returns the error inside a *url.Error, whose message
// quotes the whole URL, query included.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// CloseIdleConnections closes the transport's idle keep-alive connections.
// Connections in use are not interrupted.
func (t *HTTPTransport) CloseIdleConnections() { t.tr.CloseIdleConnections() }
