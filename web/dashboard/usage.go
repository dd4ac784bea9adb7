package dashboard

import (
	"context"
	"time"

	"github.com/podiumhq/podium"
)

// usageDays is how far back the usage chart and the top list look.
const usageDays = 30

// usageChart is a content item's visits and app sessions per UTC day over
// the last usageDays days, drawn as server-rendered SVG bars.
type usageChart struct {
	Days           []usageDay
	Visits         int64
	Sessions       int64
	Max            int64
	Width, Height  int
	From, To       time.Time
	Error          string
	SessionsShown  bool // the content runs app sessions (an app)
	BarW, SessionW int
}

// usageDay is one bar pair of the chart, with its SVG geometry.
type usageDay struct {
	Day              time.Time
	Visits, Sessions int64
	X, VisitY        int
	VisitH, SessH    int
	SessX, SessY     int
}

// Chart geometry: one slot per day, a bar for visits and one for
// sessions side by side.
const (
	chartSlot   = 18
	chartHeight = 80
)

// contentUsage builds the usage chart of content id (nil without a
// database).
func (d *Dashboard) contentUsage(ctx context.Context, id int64, app bool) *usageChart {
	if d.opts.Usage == nil {
		return nil
	}
	to := time.Now().UTC().Truncate(24 * time.Hour)
	from := to.AddDate(0, 0, -(usageDays - 1))
	ch := &usageChart{From: from, To: to, Width: usageDays * chartSlot, Height: chartHeight}
	counts, err := d.opts.Usage.UsageDaily(ctx, id, from)
	if err != nil {
		ch.Error = podium.ErrorMessage(err)
		return ch
	}
	byDay := map[time.Time]*podium.UsageCount{}
	for _, c := range counts {
		byDay[c.Day] = c
	}
	for i := range usageDays {
		day := usageDay{Day: from.AddDate(0, 0, i)}
		if c := byDay[day.Day]; c != nil {
			day.Visits, day.Sessions = c.Visits, c.Sessions
		}
		ch.Visits += day.Visits
		ch.Sessions += day.Sessions
		ch.Max = max(ch.Max, day.Visits, day.Sessions)
		ch.Days = append(ch.Days, day)
	}
	ch.SessionsShown = app || ch.Sessions > 0
	ch.BarW = chartSlot - 4
	if ch.SessionsShown {
		ch.BarW, ch.SessionW = (chartSlot-4)/2, (chartSlot-4)/2
	}
	for i := range ch.Days {
		dd := &ch.Days[i]
		dd.X = i*chartSlot + 2
		dd.VisitH = barHeight(dd.Visits, ch.Max)
		dd.VisitY = chartHeight - dd.VisitH
		dd.SessX = dd.X + ch.BarW
		dd.SessH = barHeight(dd.Sessions, ch.Max)
		dd.SessY = chartHeight - dd.SessH
	}
	return ch
}

// barHeight scales n to the chart, at least one pixel for any use.
func barHeight(n, top int64) int {
	if n == 0 || top == 0 {
		return 0
	}
	return max(1, int(n*(chartHeight-2)/top))
}

// topRow is one line of the most used content.
type topRow struct {
	GUID, Name       string
	Visits, Sessions int64
}

// topUsage returns the most used content of the last usageDays days
// among visible (the content the user may see), at most 10.
func (d *Dashboard) topUsage(ctx context.Context, visible map[int64]*podium.Content) ([]topRow, string) {
	if d.opts.Usage == nil || len(visible) == 0 {
		return nil, ""
	}
	since := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -(usageDays - 1))
	top, err := d.opts.Usage.UsageTop(ctx, since, 100)
	if err != nil {
		return nil, podium.ErrorMessage(err)
	}
	var out []topRow
	for _, c := range top {
		ct := visible[c.ContentID]
		if ct == nil {
			continue
		}
		name := ct.Title
		if name == "" {
			name = ct.Name
		}
		out = append(out, topRow{GUID: ct.GUID, Name: name, Visits: c.Visits, Sessions: c.Sessions})
		if len(out) == 10 {
			break
		}
	}
	return out, ""
}
