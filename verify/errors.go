package verify

import (
	"errors"
	"fmt"
	"strings"

	"github.com/fedihook/webhook"
)

// Sentinel errors, for callers to test with [errors.Is]. The errors this
// package returns wrap one of them with details (which header, how old),
// and never quote a secret.
var (
	// ErrMissingHeader is returned when a header the check needs is
	// absent, or empty for the signature headers (an empty
	// X-Misskey-Hook-Secret is a value: the empty secret).
	ErrMissingHeader = errors.New("webhook: verify: missing header")
	// ErrMalformedHeader is returned when a header is present but cannot
	// be parsed, such as a webhook-timestamp that is not a UNIX time in
	// seconds.
	ErrMalformedHeader = errors.New("webhook: verify: malformed header")
	// ErrBadSecret is returned when the X-Misskey-Hook-Secret header does
	// not match the expected secret.
	ErrBadSecret = errors.New("webhook: verify: bad secret")
	// ErrBadSignature is returned when no v1 signature in the
	// webhook-signature header matches any candidate signing secret.
	ErrBadSignature = errors.New("webhook: verify: bad signature")
	// ErrStaleTimestamp is returned when webhook-timestamp is further from
	// the current time, in the past or in the future, than the tolerance.
	ErrStaleTimestamp = errors.New("webhook: verify: stale timestamp")
	// ErrMalformedPayload is returned when a body is not a well-formed
	// webhook payload.
	ErrMalformedPayload = errors.New("webhook: verify: malformed payload")
)

// configError reports a bad argument or Config field, naming it. It
// matches [webhook.ErrInvalid], and wraps the cause when there is one,
// dropping the cause's own "webhook: " prefix from the message.
type configError struct {
	msg string
	err error
}

func (e *configError) Error() string {
	if e.err == nil {
		return "webhook: verify: " + e.msg
	}
	return "webhook: verify: " + e.msg + ": " + strings.TrimPrefix(e.err.Error(), "webhook: ")
}

func (e *configError) Unwrap() error { return e.err }

func (e *configError) Is(target error) bool { return target == webhook.ErrInvalid }

// invalidf returns an error matching [webhook.ErrInvalid], such as
// "webhook: verify: Config.MaxBodyBytes must be >= 0, got -1".
func invalidf(format string, args ...any) error {
	return &configError{msg: fmt.Sprintf(format, args...)}
}

// reason returns err's message without the package prefix, as told to a
// client in a response body.
func reason(err error) string {
	return strings.TrimPrefix(err.Error(), "webhook: verify: ")
}
