package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/internal/startstop"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

var _ startstop.Service = (*auth.Sweeper)(nil)

// TestSweeperRunsAndStops: the sweeper sweeps every interval until Stop,
// which ends its goroutine.
func TestSweeperRunsAndStops(t *testing.T) {
	t.Parallel()
	db := openSQLite(t)
	mustUp(t, db)
	log, _ := test.NewNullLogger()
	s := auth.NewSweeper(newService(t, db, auth.Options{}), 10*time.Millisecond, logrus.NewEntry(log))
	s.Swept.Init()
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.Swept.WaitOrTimeout(t)
	s.Swept.WaitOrTimeout(t) // it goes on sweeping
	startstop.StopForTest(t, context.Background(), s)
}

// TestSweepErrorsAreLogged: a sweep the database refuses (here closed) is
// logged as a warning, not discarded.
func TestSweepErrorsAreLogged(t *testing.T) {
	t.Parallel()
	db := openSQLite(t)
	mustUp(t, db)
	log, hook := test.NewNullLogger()
	s := auth.NewSweeper(newService(t, db, auth.Options{}), time.Hour, logrus.NewEntry(log))
	s.SweepOnce(context.Background())
	if len(hook.AllEntries()) != 0 {
		t.Fatalf("a successful sweep logged %v", hook.AllEntries())
	}
	_ = db.Close() // the database goes away under the sweeper
	s.SweepOnce(context.Background())
	var warned bool
	for _, e := range hook.AllEntries() {
		warned = warned || (e.Level == logrus.WarnLevel && e.Data[logrus.ErrorKey] != nil)
	}
	if !warned {
		t.Fatalf("a failed sweep logged no warning with its error: %v", hook.AllEntries())
	}
}
