package prune

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/startstop"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

// records is a table of n old records that Delete empties limit at a
// time; fail, when set, is the error of every call.
type records struct {
	n, calls int
	before   time.Time
	fail     error
}

func (r *records) delete(_ context.Context, before time.Time, limit int) (int64, error) {
	r.calls++
	r.before = before
	if r.fail != nil {
		return 0, r.fail
	}
	k := min(r.n, limit)
	r.n -= k
	return int64(k), nil
}

// TestPrune: a round deletes everything older than the retention in
// batches (until a batch comes back short) and says so in the log; a
// failure is logged with its error and ends the round.
func TestPrune(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	log, hook := test.NewNullLogger()
	r := &records{n: 5}
	p := &Pruner{Service: "thing pruner", What: "things", Delete: r.delete, Retention: time.Hour, Batch: 2,
		Now: func() time.Time { return now }, Log: logrus.NewEntry(log)}
	if got := p.Prune(context.Background()); got != 5 || r.calls != 3 || !r.before.Equal(now.Add(-time.Hour)) {
		t.Fatalf("pruned %d in %d calls before %v; want 5 in 3 batches of 2, before %v", got, r.calls, r.before, now.Add(-time.Hour))
	}
	if e := hook.LastEntry(); e == nil || e.Message != "pruned things" || e.Data["deleted"] != int64(5) {
		t.Fatalf("log: %+v", e)
	}
	hook.Reset()
	r.fail = errors.New("database is locked")
	if got := p.Prune(context.Background()); got != 0 || r.calls != 4 {
		t.Fatalf("a failing round pruned %d in %d calls", got, r.calls)
	}
	if e := hook.LastEntry(); e == nil || e.Level != logrus.WarnLevel || e.Message != "cannot prune things: will retry at the next round" || e.Data[logrus.ErrorKey] == nil {
		t.Fatalf("failure log: %+v", e)
	}
}

// TestPrunerService: started, it prunes at once (Pruned carries the
// count) and goes on until Stop; without a retention it does not start.
func TestPrunerService(t *testing.T) {
	log, _ := test.NewNullLogger()
	r := &records{n: 3}
	p := &Pruner{Service: "thing pruner", What: "things", Delete: r.delete, Retention: time.Hour, Every: 10 * time.Millisecond,
		Batch: 10, Now: time.Now, Log: logrus.NewEntry(log)}
	p.Pruned.Init()
	if p.Name() != "thing pruner" {
		t.Fatalf("Name = %q", p.Name())
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := p.Pruned.WaitOrTimeout(t); got != 3 {
		t.Fatalf("first round pruned %d, want 3", got)
	}
	if got := p.Pruned.WaitOrTimeout(t); got != 0 {
		t.Fatalf("second round pruned %d, want 0", got)
	}
	startstop.StopForTest(t, context.Background(), p)

	off := &Pruner{Delete: r.delete, Every: time.Millisecond, Batch: 10, Now: time.Now, Log: logrus.NewEntry(log)}
	off.Pruned.Init()
	if err := off.Start(context.Background()); err != nil || off.Running() {
		t.Fatalf("without a retention: running %v, %v", off.Running(), err)
	}
	off.Pruned.RequireEmpty(t)
}
