package scheduler

import (
	"strings"
	"time"

	"github.com/podiumhq/podium"
	"github.com/robfig/cron/v3"
)

// parser accepts five fields, or six with leading seconds, and the
// descriptors (@hourly, @daily, @every 30s, ...).
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Spec is a parsed schedule: a cron expression in a time zone.
type Spec struct {
	sched cron.Schedule
	loc   *time.Location
}

// ParseSpec parses a cron expression (five fields, six with seconds first,
// or a descriptor such as "@every 30s") and an IANA time zone ("" means
// UTC). Returns EINVALID with a message that says what is wrong.
func ParseSpec(expr, timezone string) (*Spec, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return nil, podium.Errorf(podium.EINVALID, "schedule: spec is empty: give a cron expression such as \"0 6 * * *\" or \"@every 30s\"")
	}
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return nil, podium.Errorf(podium.EINVALID, "schedule: put the time zone in the timezone field, not in the spec")
	}
	if timezone == "" {
		timezone = "UTC"
	}
	loc, err := time.LoadLocation(timezone)
	if err != nil || strings.EqualFold(timezone, "local") {
		return nil, podium.Errorf(podium.EINVALID, "schedule: unknown time zone %q: use an IANA name such as \"Europe/Paris\" or \"UTC\"", timezone)
	}
	// @every is checked before the cron library sees it: the library
	// rounds the interval to whole seconds (1200ms runs every second) and
	// up to one second (100ms runs every second too), so a spec it accepts
	// could run at another pace than written.
	if rest, ok := strings.CutPrefix(expr, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		switch {
		case err != nil:
			return nil, podium.Errorf(podium.EINVALID, "schedule: invalid spec %q: @every needs a duration such as 30s, 5m or 1h30m", expr)
		case d < time.Second:
			return nil, podium.Errorf(podium.EINVALID, "schedule: invalid spec %q: @every needs at least 1s", expr)
		case d%time.Second != 0:
			return nil, podium.Errorf(podium.EINVALID, "schedule: invalid spec %q: @every runs in whole seconds, so %s would run every %s: write @every %s or @every %s",
				expr, d, d.Truncate(time.Second), d.Truncate(time.Second), d.Truncate(time.Second)+time.Second)
		}
	}
	sched, err := parser.Parse(expr)
	if err != nil {
		return nil, podium.Errorf(podium.EINVALID, "schedule: invalid spec %q: %s", expr, err.Error())
	}
	if every, ok := sched.(cron.ConstantDelaySchedule); ok && every.Delay < time.Second {
		return nil, podium.Errorf(podium.EINVALID, "schedule: invalid spec %q: @every needs at least 1s", expr)
	}
	s := &Spec{sched: sched, loc: loc}
	// A date that never comes ("0 0 30 2 *", February 30th): the library
	// gives up after five years and returns the zero time.
	if s.Next(time.Now()).IsZero() {
		return nil, podium.Errorf(podium.EINVALID, "schedule: spec %q never runs (no such date within five years): check the day of month and month fields", expr)
	}
	return s, nil
}

// NextRuns returns the next n due times strictly after t, in UTC (fewer
// when the expression stops firing): what a page shows as a preview.
func (s *Spec) NextRuns(t time.Time, n int) []time.Time {
	out := make([]time.Time, 0, n)
	for len(out) < n {
		t = s.Next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out
}

// Next returns the first due time strictly after t, in UTC. The zero time
// means the expression never fires again.
func (s *Spec) Next(t time.Time) time.Time {
	n := s.sched.Next(t.In(s.loc))
	if n.IsZero() {
		return n
	}
	return n.UTC()
}

// maxSkipWalk bounds how many missed due times of a cron expression are
// walked one by one; past it the count is a lower bound ("at least").
const maxSkipWalk = 100000

// Step returns where a schedule goes after its due time 'due' is queued at
// 'now': the first due time after now, and how many due times in between
// will not run. Due times stay on the schedule's own grid: "@every 3s"
// counts from the schedule's first due time (its anchor), not from when a
// job happened to be queued, so a late enqueuer shifts nothing. Every due
// time is either run (late, when it is the one queued) or counted as
// skipped; none is dropped silently.
func (s *Spec) Step(due, now time.Time) (next time.Time, skipped int, atLeast bool) {
	if every, ok := s.sched.(cron.ConstantDelaySchedule); ok {
		d := every.Delay
		k := int64(1)
		if now.After(due) {
			k = int64(now.Sub(due)/d) + 1
		}
		return due.Add(time.Duration(k) * d).UTC(), int(k - 1), false
	}
	next = s.Next(due)
	for !next.IsZero() && !next.After(now) {
		if skipped == maxSkipWalk {
			return s.Next(now), skipped, true
		}
		skipped++
		next = s.Next(next)
	}
	return next, skipped, false
}
