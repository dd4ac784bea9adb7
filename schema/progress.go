package schema

import (
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// Phases of a schema upgrade, as the log and /__ping__ name them.
const (
	PhaseDisk    = "checking free disk space"
	PhaseRepair  = "cleaning Podium's own data"
	PhaseCheck   = "checking rows"
	PhaseMigrate = "migrating"
)

// ProgressInterval is the most often a long upgrade logs a progress line
// per phase (each table finished is logged too).
var ProgressInterval = 2 * time.Second

// Progress is where a schema upgrade is: logged as a progress line, shown
// by /__ping__ (as String) while a node migrates.
type Progress struct {
	Phase     string `json:"phase"`
	Migration string `json:"migration,omitempty"`
	Table     string `json:"table,omitempty"`
	// Rows done of Total (0: unknown) in this phase; Left the estimated
	// time left (0: unknown).
	Rows  int64         `json:"rows_done,omitempty"`
	Total int64         `json:"rows_total,omitempty"`
	Left  time.Duration `json:"-"`
}

// String is the phase in one line: "migrating 00035_parity.sql: table
// jobs, 120000/500000 rows, about 12s left".
func (p Progress) String() string {
	s := p.Phase
	if p.Migration != "" {
		s += " " + p.Migration
	}
	if p.Table != "" {
		s += ": table " + p.Table
	}
	if p.Total > 0 {
		s += fmt.Sprintf(", %d/%d rows", p.Rows, p.Total)
	} else if p.Rows > 0 {
		s += fmt.Sprintf(", %d rows", p.Rows)
	}
	if p.Left > 0 {
		s += ", about " + p.Left.Round(time.Second).String() + " left"
	}
	return s
}

// progress reports a long upgrade: to the log, at most every
// ProgressInterval unless forced, and to a callback (the node's
// /__ping__) every time. A nil *progress reports nothing.
type progress struct {
	log  *logrus.Entry
	fn   func(Progress)
	mu   sync.Mutex
	last time.Time
}

func newProgress(log *logrus.Entry, fn func(Progress)) *progress {
	return &progress{log: log, fn: fn}
}

// note reports p, logging it if the last line is old enough.
func (pr *progress) note(p Progress) { pr.report(p, false) }

// step reports p and logs it (a table finished).
func (pr *progress) step(p Progress) { pr.report(p, true) }

func (pr *progress) report(p Progress, force bool) {
	if pr == nil {
		return
	}
	if pr.fn != nil {
		pr.fn(p)
	}
	pr.mu.Lock()
	now := time.Now()
	due := force || now.Sub(pr.last) >= ProgressInterval
	if due {
		pr.last = now
	}
	pr.mu.Unlock()
	if !due || pr.log == nil {
		return
	}
	f := logrus.Fields{"phase": p.Phase}
	if p.Migration != "" {
		f["migration"] = p.Migration
	}
	if p.Table != "" {
		f["table"] = p.Table
	}
	if p.Rows > 0 || p.Total > 0 {
		f["rows_done"] = p.Rows
	}
	if p.Total > 0 {
		f["rows_total"] = p.Total
	}
	if p.Left > 0 {
		f["estimated_left"] = p.Left.Round(time.Second).String()
	}
	pr.log.WithFields(f).Info("upgrade progress")
}

// during reports p every ProgressInterval until the returned stop is
// called, with Left counting down from estimate: for a step that cannot
// report its own rows (one SQL migration).
func (pr *progress) during(p Progress, estimate time.Duration) (stop func()) {
	if pr == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	started := time.Now()
	pr.step(withLeft(p, estimate, 0))
	go func() {
		defer wg.Done()
		t := time.NewTicker(ProgressInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				pr.note(withLeft(p, estimate, time.Since(started)))
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// withLeft sets p.Left from an estimate (0: unknown), counting down
// from it: a step running late says "about 1s" rather than nothing.
func withLeft(p Progress, estimate, elapsed time.Duration) Progress {
	p.Left = 0
	if estimate > 0 {
		p.Left = max(estimate-elapsed, time.Second)
	}
	return p
}

// eta is the time left at the rate seen so far.
func eta(started time.Time, done, total int64) time.Duration {
	if done <= 0 || total <= done {
		return 0
	}
	el := time.Since(started)
	return time.Duration(float64(el) * float64(total-done) / float64(done))
}
