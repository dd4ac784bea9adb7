package scheduler_test

import (
	"context"
	"github.com/podiumhq/podium/dbprovider/dbprovidertest"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/scheduler"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// TestRetentionHeldOnUpgradedInstallation: on a database upgraded from a
// release without HistoryRetention (the hold row), the default retention
// deletes nothing and says so once, with the rows it would delete; once
// the administrator has set it, it applies and the hold goes.
func TestRetentionHeldOnUpgradedInstallation(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func() dbprovider.Provider) {
		db := open()
		id := mustContent(t, db, "retention-"+db.Name())
		old := time.Now().UTC().Add(-48 * time.Hour)
		for i := range 3 {
			at := old.Add(time.Duration(i) * time.Minute)
			if _, err := dbprovidertest.RawDB(t, db).ExecContext(ctxT(t), `INSERT INTO jobs (content_id, queue, due_at, status, attempts, max_attempts, claim_token, node_id, created_at, started_at, finished_at)
				VALUES ($1, 'render', $2, 'succeeded', 1, 1, '', '', $2, $2, $2)`, id, at); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.SettingPut(ctxT(t), podium.RetentionHoldKey, "2026-11-26T00:00:00Z"); err != nil {
			t.Fatal(err)
		}
		jobs := func() int {
			var n int
			if err := dbprovidertest.RawDB(t, db).QueryRowContext(ctxT(t), `SELECT count(*) FROM jobs WHERE content_id = $1`, id).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		run := func(node string, set bool) (*logtest.Hook, func(time.Duration)) {
			l, hook := logtest.NewNullLogger()
			mustNode(t, db, node)
			s := scheduler.New(scheduler.Options{DB: db, Log: logrus.NewEntry(l), NodeID: node, Concurrency: 0,
				PollInterval: 50 * time.Millisecond, HeartbeatTimeout: 10 * time.Second, NodeTimeout: time.Minute,
				HistoryRetention: time.Hour, HistoryRetentionSet: set,
				Runner: scheduler.RunnerFunc(func(context.Context, *podium.Job) (int, string, error) { return 0, "", nil })})
			return hook, startService(t, s)
		}
		hook, stop := run("ret-held-"+db.Name(), false)
		var notice *logrus.Entry
		testutil.WaitFor(t, 20*time.Second, "the hold notice", func() bool {
			for _, e := range hook.AllEntries() {
				if e.Data["held_since"] != nil {
					notice = e
					return true
				}
			}
			return false
		})
		if notice.Data["jobs_older"] != int64(3) || notice.Data["held_since"] != "2026-11-26T00:00:00Z" {
			t.Errorf("notice %v: want the 3 older jobs and the date of the hold", notice.Data)
		}
		stop(10 * time.Second)
		if n := jobs(); n != 3 {
			t.Fatalf("%d jobs left while the retention is held, want 3", n)
		}
		_, stop = run("ret-set-"+db.Name(), true)
		testutil.WaitFor(t, 20*time.Second, "the old jobs deleted once the retention is set", func() bool { return jobs() == 0 })
		stop(10 * time.Second)
		if _, err := db.SettingGet(ctxT(t), podium.RetentionHoldKey); !podium.IsCode(err, podium.ENOTFOUND) {
			t.Errorf("hold after the retention was set: %v, want it removed", err)
		}
	})
}
