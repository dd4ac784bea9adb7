package dashboard

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/podiumhq/podium"
)

// funcs are the template functions of every page.
var funcs = template.FuncMap{
	"ts":     formatTime,
	"ago":    ago,
	"dur":    formatDuration,
	"bytes":  podium.FormatBytes,
	"short":  short,
	"offset": formatOffset,
	"join":   strings.Join,
	"lower":  strings.ToLower,
	"deref":  deref,
	"took":   took,
	"jobs":   func(dash string, list []*podium.Job) jobRows { return jobRows{Dash: dash, Jobs: list} },
}

// jobRows is the data of the "jobrows" template: a list of jobs and the
// dashboard's path for links.
type jobRows struct {
	Dash string
	Jobs []*podium.Job
}

// deref returns the value of an *int64, 0 for nil.
func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// took shows how long something that started at start ran, "—" while it
// runs.
func took(start time.Time, end *time.Time) string {
	if end == nil {
		return "—"
	}
	return formatDuration(end.Sub(start))
}

// asTime accepts time.Time and *time.Time.
func asTime(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, !t.IsZero()
	case *time.Time:
		if t == nil {
			return time.Time{}, false
		}
		return *t, !t.IsZero()
	}
	return time.Time{}, false
}

// formatTime shows a time in UTC to the second, "—" for none.
func formatTime(v any) string {
	t, ok := asTime(v)
	if !ok {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// ago shows how long before now a time was ("12s ago").
func ago(now time.Time, v any) string {
	t, ok := asTime(v)
	if !ok {
		return "—"
	}
	d := now.Sub(t)
	if d < 0 {
		return "in " + formatDuration(-d)
	}
	return formatDuration(d) + " ago"
}

// formatDuration rounds a duration for people.
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < 24*time.Hour:
		return d.Round(time.Second).String()
	}
	return fmt.Sprintf("%dd%s", d/(24*time.Hour), (d % (24 * time.Hour)).Round(time.Minute))
}

// formatOffset shows a clock offset in milliseconds with its sign.
func formatOffset(d time.Duration) string {
	return fmt.Sprintf("%+.1f ms", float64(d)/float64(time.Millisecond))
}

// short keeps the first 8 characters of an id.
func short(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}
