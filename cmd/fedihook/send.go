package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
)

// Defaults of send's flags.
const (
	// defaultSendHost is the X-Misskey-Host of send: a name that is
	// clearly not a real server's.
	defaultSendHost = "fedihook.local"
	// defaultSendUserID owns the webhook of a user event.
	defaultSendUserID = "fedihook-cli"
	// sendHookName is the name of the webhook send creates.
	sendHookName = "fedihook send"
)

const sendUsage = `Usage: fedihook send --url URL --event EVENT [flags]

Send one Misskey-compatible webhook to URL and retry it on Misskey's
schedule (shortened by --attempts and --backoff-base). One line per
attempt goes to standard output, then "delivered" or "gave up: REASON".

The private-network guard is on: a receiver on loopback or a private
network needs an --allow-network rule, e.g. --allow-network 127.0.0.0/8.

With --signing-secret, each request also carries the Standard Webhooks
headers webhook-id, webhook-timestamp and webhook-signature; "fedihook
listen --signing-secret" with the same secret verifies them.

Exit status: 0 delivered, 1 gave up or interrupted, 2 bad usage.

Flags:
`

// sendOptions is send's parsed command line.
type sendOptions struct {
	url         string
	event       webhook.Event
	secret      string
	signing     string // "" for unsigned requests
	host        string
	userID      string // "" for a system event
	hookID      string // "" for a generated one
	body        []byte // nil for the event's dummy body
	attempts    int
	backoffBase time.Duration
	allow       []webhook.AllowRule
}

// runSend is the send command.
func runSend(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts, err := parseSend(args, stdin, stdout)
	if code, ok := parsed("send", err, stderr); !ok {
		return code
	}
	return send(ctx, opts, stdout, stderr)
}

// parseSend parses send's flags and checks them, reading the --body file.
// Every error it returns is a usage error, except flag.ErrHelp after the
// usage has been printed to stdout.
func parseSend(args []string, stdin io.Reader, stdout io.Writer) (*sendOptions, error) {
	fs := newFlagSet("send")
	o := &sendOptions{}
	var event, bodyFile string
	fs.StringVar(&o.url, "url", "", "receiver's `URL`, http or https (required)")
	fs.StringVar(&event, "event", "", "the `EVENT` type to send (required): "+eventList())
	fs.StringVar(&o.secret, "secret", "", "webhook `SECRET`, sent as X-Misskey-Hook-Secret (default empty)")
	fs.StringVar(&o.signing, "signing-secret", "", "also sign each request with the Standard Webhooks signing secret `WHSEC`, a whsec_... secret (default unsigned)")
	fs.StringVar(&o.host, "host", defaultSendHost, "emitting server's `HOST`[:PORT], sent as X-Misskey-Host; the body's server is https://HOST")
	fs.StringVar(&o.userID, "user-id", defaultSendUserID, "webhook owner's `ID`, the body's userId (user events only)")
	fs.StringVar(&o.hookID, "hook-id", "", "webhook `ID`, sent as X-Misskey-Hook-Id and hookId (default a new Misskey-style id)")
	fs.StringVar(&bodyFile, "body", "", "read the event body, a JSON object, from `FILE`; - reads standard input (default Misskey's dummy body for the event)")
	fs.IntVar(&o.attempts, "attempts", webhook.DefaultAttempts, "make at most `N` attempts in all, the first included")
	fs.DurationVar(&o.backoffBase, "backoff-base", webhook.DefaultBackoffBase, "wait (2^n-1)*`DURATION`, plus up to 20% jitter, before retry n")
	fs.Func("allow-network", "let the private-network guard connect to `CIDR`[:PORT], e.g. 127.0.0.0/8 or 10.0.0.5/32:8080 (repeatable)", func(s string) error {
		r, err := webhook.ParseAllowRule(s)
		if err != nil {
			return err
		}
		o.allow = append(o.allow, r)
		return nil
	})
	if err := parseFlags(fs, args, sendUsage, "flags go before any argument; send takes none", stdout); err != nil {
		return nil, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	if o.url == "" {
		return nil, errors.New("missing --url (the receiver's URL)")
	}
	if err := webhook.ValidateURL(o.url); err != nil {
		return nil, fmt.Errorf("bad --url: %w", err)
	}
	if event == "" {
		return nil, errors.New("missing --event (one of " + eventList() + ")")
	}
	e, err := webhook.ParseEvent(event)
	if err != nil {
		return nil, fmt.Errorf("bad --event: %w; want one of %s", err, eventList())
	}
	o.event = e
	if err := webhook.ValidateSecret(o.secret); err != nil {
		return nil, fmt.Errorf("bad --secret: %w", err)
	}
	if set["signing-secret"] {
		// The flag package would quote the value; a secret is not quoted.
		if _, err := webhook.ParseSigningSecret(o.signing); err != nil {
			return nil, fmt.Errorf("bad --signing-secret: %w", err)
		}
	}
	if e.IsSystem() {
		if set["user-id"] {
			return nil, fmt.Errorf("--user-id does not go with %s: a system event goes to a system webhook, which has no user", e)
		}
		o.userID = ""
	} else if err := checkID(o.userID, true); err != nil {
		return nil, fmt.Errorf("bad --user-id: %w", err)
	}
	if set["hook-id"] {
		if err := checkID(o.hookID, false); err != nil {
			return nil, fmt.Errorf("bad --hook-id: %w", err)
		}
	}
	if o.attempts < 1 {
		return nil, fmt.Errorf("bad --attempts: must be >= 1, got %d", o.attempts)
	}
	if o.backoffBase <= 0 {
		return nil, fmt.Errorf("bad --backoff-base: must be > 0, got %v", o.backoffBase)
	}
	if set["body"] {
		b, err := readBody(bodyFile, stdin)
		if err != nil {
			return nil, fmt.Errorf("bad --body: %w", err)
		}
		o.body = b
	}
	return o, nil
}

// checkID checks a webhook or user ID with the library's rules for the
// webhook record, so that send refuses what CreateHook would.
func checkID(id string, user bool) error {
	if id == "" {
		return errors.New("must not be empty")
	}
	w := &webhook.Webhook{Name: sendHookName, URL: "https://example.tld/"}
	if user {
		w.UserID = id
	} else {
		w.ID = id
	}
	return w.Validate()
}

// readBody reads the --body file ("-" for stdin) and checks that it holds
// one JSON object no larger than the Dispatcher accepts.
func readBody(name string, stdin io.Reader) ([]byte, error) {
	if name == "" {
		return nil, errors.New("needs a file name, or - for standard input")
	}
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	} else {
		name = "standard input"
	}
	b, err := io.ReadAll(io.LimitReader(r, webhook.DefaultMaxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(b) > webhook.DefaultMaxBodyBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, webhook.DefaultMaxBodyBytes)
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("%s is not valid JSON", name)
	}
	enc, err := webhook.EncodeBody(json.RawMessage(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return enc, nil
}

// eventList names every event, for messages.
func eventList() string {
	var names []string
	for _, e := range append(webhook.UserEvents(), webhook.SystemEvents()...) {
		names = append(names, string(e))
	}
	return strings.Join(names, ", ")
}

// send delivers the webhook o describes and reports each attempt to
// stdout. It returns the exit code.
func send(ctx context.Context, o *sendOptions, stdout, stderr io.Writer) int {
	tr, err := webhook.NewHTTPTransport(&webhook.HTTPTransportConfig{AllowNetworks: o.allow})
	if err != nil {
		fmt.Fprintf(stderr, "fedihook send: %v\n", err)
		return exitUsage
	}
	defer tr.CloseIdleConnections()

	var (
		mu   sync.Mutex
		last *webhook.AttemptReport
	)
	attempts, base := o.attempts, o.backoffBase
	d, err := webhook.New(nil, &webhook.Config{
		Host:      o.host,
		Transport: tr,
		Workers:   1,
		RetryPolicy: webhook.BackOffPolicy{New: func() backoff.BackOff {
			return &webhook.MisskeyBackOff{Attempts: attempts, Base: base}
		}},
		OnAttempt: func(r webhook.AttemptReport) {
			mu.Lock()
			defer mu.Unlock()
			last = &r
			fmt.Fprintln(stdout, attemptLine(r))
		},
	})
	if err != nil {
		// The host is the only part of the Config from the command line.
		fmt.Fprintf(stderr, "fedihook send: bad --host: %v\nRun 'fedihook send -h' for usage.\n", err)
		return exitUsage
	}
	defer d.Shutdown(context.WithoutCancel(ctx))

	hook, err := d.CreateHook(ctx, &webhook.Webhook{
		ID: o.hookID, UserID: o.userID, Name: sendHookName,
		On: []webhook.Event{o.event}, URL: o.url, Secret: o.secret, Active: true,
		SigningSecret: o.signing,
	})
	if err != nil {
		fmt.Fprintf(stderr, "fedihook send: creating the webhook: %v\n", err)
		return exitFail
	}
	var body any = json.RawMessage(o.body)
	if o.body == nil {
		if body, err = misskey.DummyBody(string(o.event)); err != nil {
			fmt.Fprintf(stderr, "fedihook send: %v\n", err)
			return exitFail
		}
	}
	if o.event.IsSystem() {
		err = d.EmitSystem(ctx, o.event, body)
	} else {
		err = d.Emit(ctx, hook.UserID, o.event, body)
	}
	if err != nil {
		fmt.Fprintf(stderr, "fedihook send: emitting %s: %v\n", o.event, err)
		return exitFail
	}

	report := func() *webhook.AttemptReport {
		mu.Lock()
		defer mu.Unlock()
		return last
	}
	for {
		_, err := d.Drain(ctx)
		if ctx.Err() != nil {
			fmt.Fprintln(stdout, "gave up: interrupted")
			return exitFail
		}
		if err != nil {
			fmt.Fprintf(stdout, "gave up: %v\n", err)
			return exitFail
		}
		r := report()
		if r == nil {
			fmt.Fprintln(stdout, "gave up: no attempt was made")
			return exitFail
		}
		switch r.State {
		case webhook.StateDelivered:
			fmt.Fprintf(stdout, "delivered (eventId %s)\n", r.Delivery.ID)
			return exitOK
		case webhook.StateFailed:
			fmt.Fprintf(stdout, "gave up: %s (eventId %s)\n", giveUpReason(r), r.Delivery.ID)
			return exitFail
		}
		// Pending: wait for the retry to fall due, then Drain again.
		t := time.NewTimer(max(time.Until(r.NextAttemptAt), time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			fmt.Fprintln(stdout, "gave up: interrupted")
			return exitFail
		case <-t.C:
		}
	}
}

// attemptLine describes one attempt: its status and duration, or its
// error, and the wait before the retry if there is one.
func attemptLine(r webhook.AttemptReport) string {
	var s string
	if r.Status != 0 {
		s = fmt.Sprintf("attempt %d: %s in %v", r.Attempt, statusText(r.Status), round(r.Duration))
	} else {
		s = fmt.Sprintf("attempt %d: failed after %v: %s", r.Attempt, round(r.Duration), attemptError(r.Err))
	}
	if r.State == webhook.StatePending {
		s += fmt.Sprintf(", retrying in %v", round(time.Until(r.NextAttemptAt)))
	}
	return s
}

// attemptError returns the error of a failed attempt without the library's
// "webhook: delivery to hook H, attempt N" wrapping, which the attempt
// line already says.
func attemptError(err error) string {
	var de *webhook.DeliveryError
	if errors.As(err, &de) && de.Err != nil {
		err = de.Err
	}
	if err == nil {
		return "unknown error"
	}
	return strings.TrimPrefix(err.Error(), "webhook: ")
}

// giveUpReason says why a failed delivery will not be tried again.
func giveUpReason(r *webhook.AttemptReport) string {
	var de *webhook.DeliveryError
	var cause error
	if errors.As(r.Err, &de) {
		cause = de.Err
	}
	switch {
	case errors.Is(r.Err, webhook.ErrBlockedAddress):
		return "the private-network guard refused the receiver's address; allow it with --allow-network"
	case webhook.Classify(r.Status, cause) != webhook.GiveUp:
		return fmt.Sprintf("no attempt left after %d", r.Attempt)
	case r.Status != 0:
		return statusText(r.Status) + " is final, not retried"
	}
	return attemptError(r.Err) + " is final, not retried"
}

// statusText returns "503 Service Unavailable", or "599" for a status
// without a text.
func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return fmt.Sprint(code)
}

// round shortens a duration for display: 2.1ms, 1.2s, 1m3s.
func round(d time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d < time.Millisecond:
		return d.Round(time.Microsecond)
	case d < time.Second:
		return d.Round(100 * time.Microsecond)
	case d < time.Minute:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}
