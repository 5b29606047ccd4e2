package misskey

import (
	"errors"
	"fmt"
)

// ErrInvalid is wrapped by every error of encoding a value that Misskey's
// packer could not have written: a required field left empty, an
// enumerated field holding a value not among its constants, a number that
// is not finite. The Dispatcher reports such a body at Emit, with an
// error that matches webhook.ErrInvalid too.
var ErrInvalid = errors.New("invalid packed object")

// ErrUnknownEvent is wrapped by [DummyBody]'s error for an event name that
// is not one of Misskey's.
var ErrUnknownEvent = errors.New("unknown event")

// invalidf returns an error matching ErrInvalid, with a message such as
// "misskey: Note.ID is required".
func invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return "misskey: " + e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

// truncate shortens s for inclusion in an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
