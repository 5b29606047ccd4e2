// Package ratewindow counts calls per key in fixed windows, for the test
// sends that misskeyapi and webui let a user trigger.
package ratewindow

import (
	"sync"
	"time"
)

// maxKeys is how many keys a Limiter keeps before it sweeps out those
// whose window has ended.
const maxKeys = 10000

// A Limiter allows Limit calls per key in each Window, which starts at
// the key's first call. A negative Limit allows every call. Its methods
// are safe for concurrent use; the zero value is not usable: use New.
type Limiter struct {
	limit  int
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	seen map[string]*span
}

type span struct {
	start time.Time
	n     int
}

// New returns a Limiter of limit calls per window, reading the time from
// now.
func New(limit int, window time.Duration, now func() time.Time) *Limiter {
	return &Limiter{limit: limit, window: window, now: now, seen: map[string]*span{}}
}

// Allow counts one call of key and reports whether it is within the
// limit, and if not, how long until the key's window ends.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	if l.limit < 0 {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.seen) > maxKeys {
		for k, s := range l.seen {
			if now.Sub(s.start) >= l.window {
				delete(l.seen, k)
			}
		}
	}
	s := l.seen[key]
	if s == nil || now.Sub(s.start) >= l.window {
		s = &span{start: now}
		l.seen[key] = s
	}
	if s.n >= l.limit {
		return false, s.start.Add(l.window).Sub(now)
	}
	s.n++
	return true, 0
}
