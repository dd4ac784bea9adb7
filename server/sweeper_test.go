package server

import (
	"context"
	"testing"
	"time"

	"github.com/podiumhq/podium/auth"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

// TestSessionSweepErrorsAreLogged: a sweep the database refuses (here
// closed) is logged as a warning, not discarded.
func TestSessionSweepErrorsAreLogged(t *testing.T) {
	t.Parallel()
	n := testNode(t)
	log, hook := test.NewNullLogger()
	s := &sessionSweeper{auth: auth.New(n.DB(), logrus.NewEntry(log), auth.Options{}), every: time.Hour, log: logrus.NewEntry(log)}
	s.sweep(context.Background())
	if len(hook.AllEntries()) != 0 {
		t.Fatalf("a successful sweep logged %v", hook.AllEntries())
	}
	n.Close() // the database goes away under the sweeper
	s.sweep(context.Background())
	var warned bool
	for _, e := range hook.AllEntries() {
		warned = warned || (e.Level == logrus.WarnLevel && e.Data[logrus.ErrorKey] != nil)
	}
	if !warned {
		t.Fatalf("a failed sweep logged no warning with its error: %v", hook.AllEntries())
	}
}
