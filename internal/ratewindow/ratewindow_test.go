package ratewindow

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLimiter(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	l := New(2, time.Minute, func() time.Time { return now })
	for range 2 {
		ok, _ := l.Allow("a")
		require.True(t, ok)
	}
	ok, wait := l.Allow("a")
	require.False(t, ok)
	require.Equal(t, time.Minute, wait)
	ok, _ = l.Allow("b")
	require.True(t, ok, "keys are counted apart")

	now = now.Add(59 * time.Second)
	ok, wait = l.Allow("a")
	require.False(t, ok)
	require.Equal(t, time.Second, wait)

	now = now.Add(time.Second)
	ok, _ = l.Allow("a")
	require.True(t, ok, "a new window starts when the last one ended")
}

func TestLimiterUnlimited(t *testing.T) {
	t.Parallel()
	l := New(-1, time.Minute, time.Now)
	for range 100 {
		ok, _ := l.Allow("a")
		require.True(t, ok)
	}
}

func TestLimiterSweeps(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	l := New(1, time.Minute, func() time.Time { return now })
	for i := range maxKeys + 1 {
		l.Allow(string(rune('a'+i%26)) + time.Duration(i).String())
	}
	now = now.Add(time.Minute)
	l.Allow("z")
	require.Len(t, l.seen, 1, "ended windows are swept once over maxKeys")
}
