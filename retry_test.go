package webhook_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

func TestMisskeySchedule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		r    float64
		want []time.Duration
	}{
		{"no jitter drawn", 0, []time.Duration{60 * time.Second, 180 * time.Second, 420 * time.Second}},
		{"full jitter", 0.999999, []time.Duration{72 * time.Second, 216 * time.Second, 504 * time.Second}},
		{"half jitter", 0.5, []time.Duration{66 * time.Second, 198 * time.Second, 462 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := webhook.BackOffPolicy{New: func() backoff.BackOff { return &webhook.MisskeyBackOff{Rand: func() float64 { return tc.r }} }}
			for i, want := range tc.want {
				got, ok := p.Backoff(i + 1)
				require.True(t, ok)
				require.InDelta(t, float64(want), float64(got), float64(time.Millisecond), "wait after attempt %d", i+1)
			}
			_, ok := p.Backoff(4)
			require.False(t, ok, "4 attempts in all")
			_, ok = p.Backoff(0)
			require.False(t, ok)
		})
	}
}

func TestMisskeyBackOffCapsAtMax(t *testing.T) {
	t.Parallel()
	b := &webhook.MisskeyBackOff{Attempts: 100, Jitter: -1}
	var last time.Duration
	for range 99 {
		last = b.NextBackOff()
	}
	require.Equal(t, 8*time.Hour, last)
	require.Equal(t, backoff.Stop, b.NextBackOff())
	b.Reset()
	require.Equal(t, time.Minute, b.NextBackOff())
}

func TestDefaultRetryPolicyJitterRange(t *testing.T) {
	t.Parallel()
	p := webhook.DefaultRetryPolicy()
	for range 200 {
		w, ok := p.Backoff(2)
		require.True(t, ok)
		require.GreaterOrEqual(t, w, 180*time.Second)
		require.Less(t, w, 216*time.Second)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		err    error
		want   webhook.Verdict
	}{
		{200, nil, webhook.Delivered}, {204, nil, webhook.Delivered}, {299, nil, webhook.Delivered},
		{100, nil, webhook.Retry}, {301, nil, webhook.Retry}, {308, nil, webhook.Retry},
		{400, nil, webhook.GiveUp}, {403, nil, webhook.GiveUp}, {410, nil, webhook.GiveUp}, {499, nil, webhook.GiveUp},
		{429, nil, webhook.Retry}, {500, nil, webhook.Retry}, {599, nil, webhook.Retry}, {600, nil, webhook.Retry},
		{0, errors.New("reset"), webhook.Retry},
		{0, webhook.ErrBlockedAddress, webhook.GiveUp},
		{0, webhook.Permanent(errors.New("x")), webhook.GiveUp},
		{0, backoff.Permanent(errors.New("x")), webhook.GiveUp},
	} {
		require.Equal(t, tc.want, webhook.Classify(tc.status, tc.err), "status %d err %v", tc.status, tc.err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{" 5 ", 5 * time.Second, true},
		{"0", 0, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"99999999999999999999", time.Duration(1<<63 - 1), true},
		{"", 0, false},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"tomorrow", 0, false},
	} {
		got, ok := webhook.ParseRetryAfter(tc.in, now)
		require.Equal(t, tc.ok, ok, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"120", "Wed, 21 Oct 2015 07:28:00 GMT", "", "-1", "9999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := webhook.ParseRetryAfter(s, time.Unix(1e9, 0))
		require.GreaterOrEqual(t, d, time.Duration(0))
		if !ok {
			require.Zero(t, d)
		}
	})
}
