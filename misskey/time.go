package misskey

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// A Time is an instant that marshals to JSON as JavaScript's
// Date.prototype.toISOString writes it, in UTC with milliseconds:
// "2024-01-02T03:04:05.678Z". Finer precision is truncated. Convert with
// misskey.Time(t) and time.Time(mt).
type Time time.Time

// IsZero reports whether t is the zero time, which no packed object holds.
func (t Time) IsZero() bool { return time.Time(t).IsZero() }

// MarshalJSON encodes t as JavaScript's Date.prototype.toISOString does.
func (t Time) MarshalJSON() ([]byte, error) {
	return appendISOTime(make([]byte, 0, 26), time.Time(t)), nil
}

// UnmarshalJSON decodes an ISO 8601 date and time with a zone offset, as
// toISOString writes it, including its six-digit signed years. A JSON null
// leaves t unchanged.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("misskey: decoding time: %w", err)
	}
	v, err := parseISOTime(s)
	if err != nil {
		return err
	}
	*t = Time(v)
	return nil
}

// String returns t as toISOString writes it, without quotes.
func (t Time) String() string {
	b := appendISOTime(make([]byte, 0, 26), time.Time(t))
	return string(b[1 : len(b)-1])
}

func parseISOTime(s string) (time.Time, error) {
	year, rest := 0, s
	extended := len(s) > 7 && (s[0] == '+' || s[0] == '-')
	if extended {
		y, err := strconv.Atoi(s[1:7])
		if err != nil {
			return time.Time{}, fmt.Errorf("misskey: decoding time %q: bad year", truncate(s, 40))
		}
		year, rest = y, "2000"+s[7:]
		if s[0] == '-' {
			year = -y
		}
	}
	v, err := time.Parse(time.RFC3339Nano, rest)
	if err != nil {
		return time.Time{}, fmt.Errorf("misskey: decoding time: %w", err)
	}
	if extended {
		v = time.Date(year, v.Month(), v.Day(), v.Hour(), v.Minute(), v.Second(), v.Nanosecond(), v.Location())
	}
	return v, nil
}

// appendISOTime appends t, quoted, as toISOString writes it: UTC,
// milliseconds, a four-digit year from 0 to 9999 and a signed six-digit
// one outside.
func appendISOTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	dst = append(dst, '"')
	switch {
	case year >= 0 && year <= 9999:
		dst = appendDigits(dst, year, 4)
	case year < 0:
		dst = appendDigits(append(dst, '-'), -year, 6)
	default:
		dst = appendDigits(append(dst, '+'), year, 6)
	}
	dst = appendDigits(append(dst, '-'), int(month), 2)
	dst = appendDigits(append(dst, '-'), day, 2)
	dst = appendDigits(append(dst, 'T'), hour, 2)
	dst = appendDigits(append(dst, ':'), minute, 2)
	dst = appendDigits(append(dst, ':'), sec, 2)
	dst = appendDigits(append(dst, '.'), t.Nanosecond()/1e6, 3)
	return append(dst, 'Z', '"')
}

// appendDigits appends n >= 0 in decimal, zero-padded to width digits.
func appendDigits(dst []byte, n, width int) []byte {
	var buf [20]byte
	i := len(buf)
	for n >= 10 || width > 1 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		width--
	}
	i--
	buf[i] = byte('0' + n)
	return append(dst, buf[i:]...)
}
