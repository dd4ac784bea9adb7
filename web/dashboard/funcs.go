package dashboard

import (
	"fmt"
	"html/template"
	"net/url"
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
	"jobs": func(dash string, list []*podium.Job, names map[string]string) jobRows {
		return jobRows{Dash: dash, Jobs: list, Names: names}
	},
	"when":   when,
	"access": accessLabel,
	"accessTypes": func() []string {
		return []string{podium.AccessACL, podium.AccessLoggedIn, podium.AccessAll}
	},
	"aclHint": aclHint,
	"modes":   func() []string { return []string{"static", "report", "app", "api"} },
	"roles":   func() []string { return []string{podium.RoleViewer, podium.RolePublisher, podium.RoleAdmin} },
	"role":    roleLabel,
	"mode":    modeLabel,
	"target":  auditTarget,
	"day":     func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
}

// auditTarget shows an audit log target: content by its name (a link to
// its page; a deleted one by its GUID), a key by its number, a user by
// name.
func auditTarget(dash string, names map[string]string, target string) template.HTML {
	kind, id, ok := strings.Cut(target, ":")
	esc := template.HTMLEscapeString
	switch {
	case target == "":
		return `<span class="muted">—</span>`
	case ok && kind == "content":
		if name, found := names[id]; found {
			return template.HTML(`<a href="` + esc(dash) + `/content/` + esc(url.PathEscape(id)) + `" title="` + esc(target) + `">` + esc(name) + `</a>`)
		}
		return template.HTML(`content <code title="` + esc(target) + `">` + esc(short(id)) + `</code> <span class="muted">(deleted)</span>`)
	case ok && kind == "key":
		return template.HTML(`API key #` + esc(id))
	case ok && kind == "user":
		return template.HTML(`user ` + esc(id))
	}
	return template.HTML(`<code>` + esc(target) + `</code>`)
}

// when shows a time as a <time> element: UTC to the second, which the
// page's script turns into the reader's own time zone, with UTC kept on
// hover (title); "—" for none.
func when(v any) template.HTML {
	t, ok := asTime(v)
	if !ok {
		return "—"
	}
	u := t.UTC()
	return template.HTML(`<time class="local" datetime="` + u.Format(time.RFC3339) + `" title="` +
		u.Format("2006-01-02 15:04:05") + ` UTC">` + u.Format("2006-01-02 15:04:05Z") + `</time>`)
}

// accessLabel says who may see content of an access type, in words.
func accessLabel(t string) string {
	switch t {
	case podium.AccessACL:
		return "Only people on the access list"
	case podium.AccessLoggedIn:
		return "Anyone who is logged in"
	case podium.AccessAll:
		return "Anyone, without logging in"
	}
	return t
}

// aclHint says what the access list means for an access type.
func aclHint(t string) string {
	switch t {
	case podium.AccessACL:
		return "The owner, administrators and the people below may see it; collaborators may also change it."
	default:
		return "Everyone above may see it already: the list says who may change it (collaborators). The owner and administrators always may."
	}
}

// roleLabel names a role on an access list.
func roleLabel(r string) string {
	switch r {
	case podium.ACLViewer:
		return "viewer (may see it)"
	case podium.ACLCollaborator:
		return "collaborator (may change and deploy it)"
	}
	return r
}

// modeLabel names an app mode.
func modeLabel(m string) string {
	switch m {
	case "static":
		return "Static site"
	case "report":
		return "Rendered report"
	case "app":
		return "Application"
	case "api":
		return "API"
	}
	return m
}

// jobRows is the data of the "jobrows" template: a list of jobs and the
// dashboard's path for links.
type jobRows struct {
	Dash string
	Jobs []*podium.Job
	// Names are content names by GUID.
	Names map[string]string
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
