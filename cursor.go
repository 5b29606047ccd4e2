package webhook

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Limits of [DeliveryQuery.Limit].
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// EncodeCursor returns the cursor of the page that follows a delivery
// created at created with the given ID. Stores use it so that cursors are
// the same everywhere.
func EncodeCursor(created time.Time, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(created.UnixMilli(), 10) + "." + id.String()))
}

// DecodeCursor reads a cursor made by EncodeCursor. A malformed cursor is
// an error matching ErrInvalid.
func DecodeCursor(c string) (created time.Time, id uuid.UUID, err error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, uuid.Nil, invalidf("DeliveryQuery.Cursor is malformed")
	}
	ms, rest, ok := strings.Cut(string(raw), ".")
	n, perr := strconv.ParseInt(ms, 10, 64)
	id, uerr := uuid.Parse(rest)
	if !ok || perr != nil || uerr != nil {
		return time.Time{}, uuid.Nil, invalidf("DeliveryQuery.Cursor is malformed")
	}
	return time.UnixMilli(n), id, nil
}

// CheckQuery validates q and returns its page size.
func CheckQuery(q DeliveryQuery) (int, error) {
	if q.HookID == "" {
		return 0, invalidf("DeliveryQuery.HookID must be set")
	}
	if q.State > StateFailed {
		return 0, invalidf("DeliveryQuery.State %d is not a state", q.State)
	}
	switch {
	case q.Limit == 0:
		return DefaultPageSize, nil
	case q.Limit < 0 || q.Limit > MaxPageSize:
		return 0, invalidf("DeliveryQuery.Limit must be 1-%d, got %d", MaxPageSize, q.Limit)
	}
	return q.Limit, nil
}
