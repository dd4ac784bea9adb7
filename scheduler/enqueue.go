// Enqueueing: the enqueuer turns due schedules into jobs and announces
// them to the nodes that will claim them.

package scheduler

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/sirupsen/logrus"
)

// enqueueDue turns every due schedule into one job: in one transaction per
// batch the schedules are locked (skipping those another enqueuer holds),
// advanced past now on their own grid, and their jobs inserted. The due
// time queued runs, late if need be; later due times that already passed
// are recorded on the job as skipped, with the reason (see Spec.Step).
func (s *Service) enqueueDue(ctx context.Context) error {
	const batch = 100
	for range 10 {
		now, err := s.opts.DBNow(ctx)
		if err != nil {
			return err
		}
		// When now was read: real time, as the wake-up timers that wait
		// out the delays are (Options.Now is for run durations).
		read := time.Now()
		jobs, err := s.db.ScheduleEnqueueDue(ctx, &dbprovider.ScheduleEnqueueParams{Now: now, Ahead: s.opts.EnqueueAhead,
			Limit: batch, MaxAttempts: s.opts.MaxAttempts, Plan: s.plan})
		if err != nil {
			return err
		}
		for _, j := range jobs {
			log := s.log.WithFields(logrus.Fields{"job": j.ID, "content": j.ContentGUID, "due_at": j.DueAt.Format(time.RFC3339Nano)})
			if j.Skipped > 0 {
				log.WithField("skipped", j.Skipped).Warn("due times skipped: " + j.SkippedReason)
			} else {
				log.Debug("queued scheduled job")
			}
		}
		if len(jobs) > 0 {
			s.announceJobs(ctx, jobs, now, read)
			s.TestSignals.Enqueued.Signal(len(jobs))
		}
		if len(jobs) < batch {
			return nil
		}
	}
	return nil
}

// plan is the ScheduleEnqueueParams.Plan of this node.
func (s *Service) plan(sc *podium.Schedule, now time.Time) dbprovider.ScheduleStep {
	key := sc.Spec + "\x00" + sc.Timezone
	v, ok := s.specs.Load(key)
	if !ok {
		spec, err := ParseSpec(sc.Spec, sc.Timezone)
		if err != nil {
			s.log.WithError(err).WithField("content", sc.ContentGUID).Warn("stored schedule no longer parses: running it once and stopping it")
			return dbprovider.ScheduleStep{}
		}
		v, _ = s.specs.LoadOrStore(key, spec)
	}
	due := *sc.NextRunAt
	next, skipped, atLeast := v.(*Spec).Step(due, now)
	step := dbprovider.ScheduleStep{Skipped: skipped}
	if !next.IsZero() {
		step.Next = &next
	}
	if skipped > 0 {
		n := strconv.Itoa(skipped)
		if atLeast {
			n = "at least " + n
		}
		step.Reason = fmt.Sprintf("%s later due time(s) had passed when this job was queued, %s after its due time "+
			"(every node down, an enqueuer fail-over, or an overloaded cluster): this run stands for them",
			n, now.Sub(due).Round(time.Millisecond))
	}
	return step
}

// announceJobs wakes claimers for new jobs, each on its due time. The
// jobs are grouped by how long until they are due (0 for those due
// already; now is the database time the enqueue compared with, read at
// the node's time read). Each group is announced as [announce] says, with
// its delay: the nodes named set a timer, so that the enqueue and the
// notification happen before the due time, not between it and the start.
// Delays are durations, not times, so that no two clocks are compared:
// a node wakes at most the notification's transit late.
func (s *Service) announceJobs(ctx context.Context, jobs []*podium.Job, now, read time.Time) {
	elapsed := max(time.Since(read), 0)
	counts := map[time.Duration]int{}
	var delays []time.Duration
	for _, j := range jobs {
		d := j.DueAt.Sub(now) - elapsed
		// Whole milliseconds, rounded up: never before the due time.
		d = min(max((d+time.Millisecond-1).Truncate(time.Millisecond), 0), s.opts.EnqueueAhead)
		if counts[d] == 0 {
			delays = append(delays, d)
		}
		counts[d]++
	}
	slices.Sort(delays)
	var entries []string
	for _, d := range delays {
		to, all := s.announce(counts[d], d)
		switch {
		case all && d == 0:
			// Every node, now: the plain "queued" that every version
			// of the scheduler takes for "look for work", so that older
			// nodes of a rolling upgrade hear it too.
			_ = s.db.Notify(ctx, Channel, "queued")
		case all:
			entries = append(entries, everyNode+"=0@"+strconv.FormatInt(d.Milliseconds(), 10))
		default:
			entries = append(entries, to...)
		}
	}
	s.notifyWake(ctx, entries)
}

// announce assigns n jobs due in d to claimers: nodes taken round-robin
// from the live nodes that take work, each counted for up to its
// ScheduleConcurrency jobs until n are covered, and returns one entry per
// node ("n2=2", or "n2=2@350" for a delay of 350 ms). The others ignore
// them and find work on their own poll or when one of their jobs ends; so
// a job wakes about one node, not every node of the cluster, and each node
// woken claims its count without a last claim that finds nothing. This
// node wakes itself without a notification. With more jobs than the live
// nodes' slots, or no list of claimers yet, all is true: every node is to
// be woken.
func (s *Service) announce(n int, d time.Duration) (to []string, all bool) {
	entry := func(id string, k int) string {
		e := id + "=" + strconv.Itoa(k)
		if d > 0 {
			e += "@" + strconv.FormatInt(d.Milliseconds(), 10)
		}
		return e
	}
	nodes := s.claimers
	if len(nodes) == 0 {
		s.wakeAfter(d, 0)
		return nil, true
	}
	var (
		left = n
		i    int
	)
	for i = 0; i < len(nodes) && left > 0; i++ {
		c := nodes[(s.rr+i)%len(nodes)]
		k := min(max(c.Concurrency, 1), left)
		left -= k
		if c.ID == s.opts.NodeID {
			s.wakeAfter(d, k)
		} else {
			to = append(to, entry(c.ID, k))
		}
	}
	s.rr = (s.rr + i) % len(nodes)
	if left > 0 {
		// More jobs than the live nodes' slots: every node claims what
		// it can, then again as its jobs end.
		s.wakeAfter(d, 0)
		return nil, true
	}
	return to, false
}

// notifyWake sends entries in as few notifications as PostgreSQL's
// payload limit (8000 bytes) allows.
func (s *Service) notifyWake(ctx context.Context, entries []string) {
	const maxPayload = 7000
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			_ = s.db.Notify(ctx, Channel, wakePrefix+b.String())
			b.Reset()
		}
	}
	for _, e := range entries {
		if b.Len() > 0 && b.Len()+1+len(e) > maxPayload {
			flush()
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(e)
	}
	flush()
}
