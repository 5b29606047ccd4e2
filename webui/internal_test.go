package webui

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

func TestNegotiate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		header string
		want   string
	}{
		{"", "en"},
		{"ja", "ja"},
		{"ja-JP,ja;q=0.9,en;q=0.8", "ja"},
		{"en-US,en;q=0.9,ja;q=0.8", "en"},
		{"fr-FR,fr;q=0.9", "en"},
		{"fr,ja;q=0.5", "ja"},
		{"en;q=0.3, JA;q=0.7", "ja"},
		{"ja;q=0,en;q=0.1", "en"},
		{"ja;q=bad", "en"},
		{"*", "en"},
	} {
		require.Equal(t, tc.want, negotiate(tc.header).lang, tc.header)
	}
}

func TestCatalogsComplete(t *testing.T) {
	t.Parallel()
	// Every English sentence has a Japanese one, except the event names
	// and technical words that stay as they are.
	same := map[string]bool{"url": true}
	for k := range english.msgs {
		if _, ok := japanese.msgs[k]; !ok {
			t.Errorf("Japanese lacks %q", k)
		}
	}
	for k := range japanese.msgs {
		_, ok := english.msgs[k]
		require.True(t, ok, "Japanese has %q, English not", k)
		if !same[k] && k != "app" {
			require.NotEqual(t, english.msgs[k], japanese.msgs[k], k)
		}
	}
}

func TestNiceCeil(t *testing.T) {
	t.Parallel()
	for _, tc := range [][2]int{{0, 1}, {1, 1}, {2, 2}, {3, 5}, {5, 5}, {6, 10}, {11, 20}, {21, 50}, {51, 100}, {999, 1000}, {1001, 2000}} {
		require.Equal(t, tc[1], niceCeil(tc[0]), "niceCeil(%d)", tc[0])
	}
}

func TestDrawChart(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 14, 30, 0, 0, time.UTC)
	at := func(ago time.Duration, s webhook.State) *webhook.Delivery {
		return &webhook.Delivery{ID: uuid.New(), CreatedAt: now.Add(-ago), State: s}
	}
	ds := []*webhook.Delivery{
		at(-time.Minute, webhook.StatePending), // ahead of the clock: the current hour
		at(10*time.Minute, webhook.StateDelivered),
		at(20*time.Minute, webhook.StateDelivered),
		at(25*time.Minute, webhook.StateFailed),
		at(5*time.Hour, webhook.StateDelivered),
		at(23*time.Hour+29*time.Minute, webhook.StateFailed), // 15:01 yesterday: the first hour (15:00)
		at(23*time.Hour+31*time.Minute, webhook.StateFailed), // 14:59 yesterday: before the chart
	}
	c := drawChart(now, ds, false, time.UTC, english)
	require.Equal(t, 3, c.Delivered)
	require.Equal(t, 1, c.Pending)
	require.Equal(t, 2, c.Failed)
	require.Len(t, c.Bars, 24)
	require.Equal(t, "Deliveries created in the last 24 hours, by hour: 3 delivered, 1 pending, 2 failed.", c.Label)

	last := c.Bars[23]
	require.Equal(t, "14:00–15:00 UTC: 2 delivered, 1 pending, 1 failed", last.Title)
	// Stacked from the bottom: delivered, pending, failed; the top is 5
	// (niceCeil of 4), so a delivery is 1/5 of the plot's height.
	unit := c.PlotH / 5
	require.Len(t, last.Segs, 3)
	require.Equal(t, []string{fillDelivered, fillPending, fillFailed}, []string{last.Segs[0].Fill, last.Segs[1].Fill, last.Segs[2].Fill})
	require.InDelta(t, 2*unit, last.Segs[0].H, 0.1)
	require.InDelta(t, c.Bottom-2*unit, last.Segs[0].Y, 0.1)
	require.InDelta(t, unit, last.Segs[2].H, 0.1)
	require.InDelta(t, c.Bottom-4*unit, last.Segs[2].Y, 0.1)
	require.Equal(t, "15:00–16:00 UTC: 0 delivered, 0 pending, 1 failed", c.Bars[0].Title)
	require.Len(t, c.Bars[0].Segs, 1)
	require.Equal(t, "09:00–10:00 UTC: 1 delivered, 0 pending, 0 failed", c.Bars[18].Title)
	require.Empty(t, c.Bars[10].Segs)
	require.Equal(t, []string{"15:00", "21:00", "03:00", "09:00", "now"}, tickLabels(c.XTicks))
	require.Equal(t, []string{"0", "5"}, tickLabels(c.YTicks), "5 has no whole half")
	for i := 1; i < 24; i++ {
		require.Greater(t, c.Bars[i].X, c.Bars[i-1].X+c.Bars[i-1].W, "bars do not overlap")
	}
	require.LessOrEqual(t, c.Bars[23].X+c.Bars[23].W, c.Right)

	// In another time zone, the labels move, not the bars.
	tokyo := time.FixedZone("JST", 9*3600)
	cj := drawChart(now, ds, false, tokyo, japanese)
	require.Equal(t, "23:00〜00:00 JST: 配信済み2件、待機中1件、失敗1件", cj.Bars[23].Title)

	empty := drawChart(now, nil, true, time.UTC, english)
	require.True(t, empty.Truncated)
	require.Equal(t, []string{"0", "5"}, tickLabels(empty.YTicks), "the least top is 5")
	for _, b := range empty.Bars {
		require.Empty(t, b.Segs)
	}
}

func tickLabels(ts []chartTick) []string {
	var s []string
	for _, t := range ts {
		s = append(s, t.Label)
	}
	return s
}

func TestMeter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		lag     time.Duration
		verdict string
		marker  float64
	}{
		{0, "healthy", 10},
		{30 * time.Second, "healthy", 106.7},
		{time.Minute, "slow", 203.3},
		{8 * time.Minute, "slow", 300},
		{15 * time.Minute, "stuck", 396.7},
		{time.Hour, "stuck", 590},
		{48 * time.Hour, "stuck", 590},
	} {
		m := newMeter(tc.lag, english)
		require.Equal(t, tc.verdict, m.Verdict, tc.lag)
		require.InDelta(t, tc.marker, m.Marker, 0.11, tc.lag)
	}
	require.Equal(t, "The oldest due delivery has waited 1m30s: slow.", newMeter(90*time.Second, english).Label)
}
