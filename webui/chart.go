package webui

import (
	"context"
	"fmt"
	"time"

	"github.com/fedihook/webhook"
)

// A chart is a webhook's deliveries of the last 24 hours, one stacked bar
// an hour (delivered, pending, failed), as inline SVG geometry.
type chart struct {
	Width, Height float64
	Left, Right   float64
	Top, Bottom   float64
	PlotH         float64
	Bars          []chartBar
	YTicks        []chartTick
	XTicks        []chartTick
	Delivered     int
	Pending       int
	Failed        int
	// Truncated says that the webhook had more deliveries than
	// Config.ChartScan in the last 24 hours: the chart shows the newest.
	Truncated bool
	// Label describes the chart for screen readers.
	Label string
}

// A chartBar is one hour.
type chartBar struct {
	X, W  float64
	Segs  []chartSeg
	Title string
}

// A chartSeg is one state's part of a bar.
type chartSeg struct {
	Y, H float64
	Fill string
}

// A chartTick is an axis label at a position.
type chartTick struct {
	Pos   float64
	Label string
	// Anchor is the label's text-anchor; "" centres it.
	Anchor string
}

// Colours of the chart: delivered, pending, failed.
const (
	fillDelivered = "#2f9e44"
	fillPending   = "#868e96"
	fillFailed    = "#e03131"
)

// chart reads the deliveries of the last 24 hours of a webhook, newest
// first, at most Config.ChartScan of them, and draws them.
func (h *Handler) chart(ctx context.Context, hookID string, tr *catalog) (*chart, error) {
	now := h.clock.Now()
	start := chartStart(now)
	var ds []*webhook.Delivery
	cursor, truncated := "", true
	for len(ds) < h.cfg.ChartScan {
		page, err := h.d.ListDeliveries(ctx, webhook.DeliveryQuery{HookID: hookID, Cursor: cursor,
			Limit: min(webhook.MaxPageSize, h.cfg.ChartScan-len(ds))})
		if err != nil {
			return nil, err
		}
		older := false
		for _, d := range page.Deliveries {
			if d.CreatedAt.Before(start) {
				older = true
				break
			}
			ds = append(ds, d)
		}
		if older || page.Next == "" {
			truncated = false
			break
		}
		cursor = page.Next
	}
	return drawChart(now, ds, truncated, h.cfg.Location, tr), nil
}

// chartStart is the start of the chart's first hour: 23 whole hours before
// the one now is in.
func chartStart(now time.Time) time.Time { return now.Truncate(time.Hour).Add(-23 * time.Hour) }

// drawChart counts ds (deliveries created since chartStart(now)) by hour
// and state and lays out the chart.
func drawChart(now time.Time, ds []*webhook.Delivery, truncated bool, loc *time.Location, tr *catalog) *chart {
	const hours = 24
	c := &chart{Width: 720, Height: 190, Left: 44, Right: 712, Top: 12, Bottom: 160, Truncated: truncated}
	start := chartStart(now)
	var counts [hours][3]int // delivered, pending, failed
	for _, d := range ds {
		if d.CreatedAt.Before(start) {
			continue
		}
		i := min(int(d.CreatedAt.Sub(start)/time.Hour), hours-1) // a delivery stamped ahead of our clock: now
		switch d.State {
		case webhook.StateDelivered:
			counts[i][0]++
			c.Delivered++
		case webhook.StateFailed:
			counts[i][2]++
			c.Failed++
		default:
			counts[i][1]++
			c.Pending++
		}
	}
	top := 0
	for _, n := range counts {
		top = max(top, n[0]+n[1]+n[2])
	}
	scale := max(niceCeil(top), 5) // a quiet hour is not a tall bar
	plotH := c.Bottom - c.Top
	c.PlotH = plotH
	slot := (c.Right - c.Left) / hours
	for i, n := range counts {
		b := chartBar{X: c.Left + float64(i)*slot + slot*0.15, W: slot * 0.7}
		from := start.Add(time.Duration(i) * time.Hour).In(loc)
		b.Title = tr.T("chart_bar", from.Format("15:04"), from.Add(time.Hour).Format("15:04 MST"), n[0], n[1], n[2])
		y := c.Bottom
		for k, fill := range []string{fillDelivered, fillPending, fillFailed} {
			if n[k] == 0 {
				continue
			}
			hgt := plotH * float64(n[k]) / float64(scale)
			y -= hgt
			b.Segs = append(b.Segs, chartSeg{Y: round1(y), H: round1(hgt), Fill: fill})
		}
		b.X, b.W = round1(b.X), round1(b.W)
		c.Bars = append(c.Bars, b)
		if i%6 == 0 {
			c.XTicks = append(c.XTicks, chartTick{Pos: round1(c.Left + float64(i)*slot), Label: from.Format("15:04")})
		}
	}
	c.XTicks = append(c.XTicks, chartTick{Pos: c.Right, Label: tr.T("now"), Anchor: "end"})
	ys := []int{0, scale}
	if scale%2 == 0 {
		ys = []int{0, scale / 2, scale}
	}
	for _, v := range ys {
		c.YTicks = append(c.YTicks, chartTick{Pos: round1(c.Bottom - plotH*float64(v)/float64(scale)), Label: fmt.Sprint(v)})
	}
	c.Label = tr.T("chart_label", c.Delivered, c.Pending, c.Failed)
	return c
}

// niceCeil rounds n up to 1, 2 or 5 times a power of ten (at least 1),
// the chart's top.
func niceCeil(n int) int {
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if n <= m*p {
				return m * p
			}
		}
	}
}

func round1(f float64) float64 { return float64(int(f*10+0.5)) / 10 }

// A meter shows how late the queue runs: the wait of the oldest due
// delivery on a scale whose zones are healthy (under a minute), slow
// (under 15 minutes) and stuck.
type meter struct {
	Width, Height float64
	Zones         []chartSeg // Y and H are X and width here
	Marker        float64
	Ticks         []chartTick
	Verdict       string
	Label         string
}

// Lag thresholds of the meter.
const (
	lagSlow  = time.Minute
	lagStuck = 15 * time.Minute
	lagMax   = time.Hour
)

func newMeter(lag time.Duration, tr *catalog) *meter {
	m := &meter{Width: 600, Height: 58}
	const left, right = 10.0, 590.0
	pos := func(d time.Duration) float64 {
		// Three equal thirds: 0-1 min, 1-15 min, 15-60 min.
		seg := (right - left) / 3
		switch {
		case d <= lagSlow:
			return left + seg*float64(d)/float64(lagSlow)
		case d <= lagStuck:
			return left + seg + seg*float64(d-lagSlow)/float64(lagStuck-lagSlow)
		case d <= lagMax:
			return left + 2*seg + seg*float64(d-lagStuck)/float64(lagMax-lagStuck)
		}
		return right
	}
	m.Zones = []chartSeg{
		{Y: left, H: round1(pos(lagSlow) - left), Fill: fillDelivered},
		{Y: round1(pos(lagSlow)), H: round1(pos(lagStuck) - pos(lagSlow)), Fill: "#f08c00"},
		{Y: round1(pos(lagStuck)), H: round1(right - pos(lagStuck)), Fill: fillFailed},
	}
	m.Marker = round1(pos(lag))
	m.Ticks = []chartTick{{Pos: left, Label: "0", Anchor: "start"}, {Pos: round1(pos(lagSlow)), Label: "1 min"},
		{Pos: round1(pos(lagStuck)), Label: "15 min"}, {Pos: right, Label: "1 h+", Anchor: "end"}}
	switch {
	case lag < lagSlow:
		m.Verdict = tr.T("lag_healthy")
	case lag < lagStuck:
		m.Verdict = tr.T("lag_slow")
	default:
		m.Verdict = tr.T("lag_stuck")
	}
	m.Label = tr.T("lag_label", lag.Round(time.Second).String(), m.Verdict)
	return m
}
