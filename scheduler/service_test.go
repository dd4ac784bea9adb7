package scheduler_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/logging"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/scheduler"
)

// fakeClock moves only when a test advances it, by step, so that a run's
// measured duration is exactly what the runner advanced during it,
// whatever the machine's speed and whatever else reads the clock.
type fakeClock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.step)
}

// newService returns a scheduler on db with a fake runner and clock,
// polling fast. One job at a time: runs read the clock in turn.
func newService(t *testing.T, db dbprovider.Provider, node string, runner scheduler.Runner, clock *fakeClock) *scheduler.Service {
	t.Helper()
	mustNode(t, db, node)
	s := scheduler.New(scheduler.Options{DB: db, Log: logging.Component(logging.Discard(), "scheduler"), Runner: runner,
		NodeID: node, Concurrency: 1, PollInterval: 50 * time.Millisecond, HeartbeatTimeout: 10 * time.Second,
		NodeTimeout: time.Minute, Now: clock.Now})
	return s
}

func startService(t *testing.T, s *scheduler.Service) (stop func(grace time.Duration)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func(grace time.Duration) {
		once.Do(func() {
			cancel()
			sctx, c := context.WithTimeout(context.Background(), grace)
			defer c()
			if err := s.Stop(sctx); err != nil {
				t.Errorf("Stop: %v", err)
			}
		})
	}
	t.Cleanup(func() { stop(10 * time.Second) })
	return stop
}

func waitJob(t *testing.T, db dbprovider.Provider, id int64, status string) *podium.Job {
	t.Helper()
	var j *podium.Job
	testutil.WaitFor(t, 20*time.Second, "job "+status, func() bool {
		var err error
		j, err = db.JobGet(ctxT(t), id)
		return err == nil && j.Status == status
	})
	return j
}

// TestServiceRunsDueJobsThroughRunner: a due job is claimed, given to the
// runner with its content, and finished with the runner's exit code and
// log; a failing run is recorded failed with its error; the durations
// come from the injected clock.
func TestServiceRunsDueJobsThroughRunner(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func() dbprovider.Provider) {
		db := open()
		okID := mustContent(t, db, "svc-ok-"+db.Name())
		failID := mustContent(t, db, "svc-fail-"+db.Name())
		var calls atomic.Int32
		clock := &fakeClock{now: time.Unix(1_700_000_000, 0), step: 1500 * time.Millisecond}
		runner := scheduler.RunnerFunc(func(ctx context.Context, job *podium.Job) (int, string, error) {
			calls.Add(1)
			clock.advance() // each run lasts exactly one step
			if job.ContentID == failID {
				return 3, "about to fail", errors.New("render failed")
			}
			return 0, "rendered " + job.ContentGUID, nil
		})
		s := newService(t, db, "svc-node", runner, clock)
		now, err := db.Now(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		okJob, _, err := db.JobInsertDue(ctxT(t), &dbprovider.JobInsertParams{ContentID: okID, DueAt: now.Add(-time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		failJob, _, err := db.JobInsertDue(ctxT(t), &dbprovider.JobInsertParams{ContentID: failID, DueAt: now.Add(-time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		startService(t, s)
		s.Wake()

		ok := waitJob(t, db, okJob.ID, podium.JobSucceeded)
		if ok.NodeID != "svc-node" || ok.ExitCode == nil || *ok.ExitCode != 0 {
			t.Errorf("succeeded job: %+v", ok)
		}
		failed := waitJob(t, db, failJob.ID, podium.JobFailed)
		if failed.ExitCode == nil || *failed.ExitCode != 3 || failed.Error != "render failed" {
			t.Errorf("failed job: exit %v error %q, want 3 and the runner's error", failed.ExitCode, failed.Error)
		}
		attempts, err := db.JobAttemptList(ctxT(t), []int64{okJob.ID})
		if err != nil || len(attempts) != 1 || attempts[0].Log != "rendered svc-ok-"+db.Name() {
			t.Errorf("attempts of the succeeded job: %+v, %v", attempts, err)
		}
		if n := calls.Load(); n != 2 {
			t.Errorf("runner called %d times, want 2", n)
		}
		// A run's duration is recorded just before it leaves the running
		// set: wait for both.
		testutil.WaitFor(t, 10*time.Second, "both runs counted and ended", func() bool {
			st := s.Stats()
			return st.Durations[podium.QueueRender].Count == 2 && st.Running == 0
		})
		d := s.Stats().Durations[podium.QueueRender]
		if d.Succeeded != 1 || d.Failed != 1 || d.Sum != 2*clock.step || d.Max != clock.step {
			t.Errorf("render durations %+v: want 1 succeeded, 1 failed, each exactly %s (the injected clock's step)", d, clock.step)
		}
		if st := s.Stats(); st.Claimed != 2 || st.Running != 0 {
			t.Errorf("stats: claimed %d running %d, want 2 and 0", st.Claimed, st.Running)
		}
	})
}

// TestServiceStopReleasesRunningJob: Stop lets a running job finish until
// shortly before its deadline, then releases it (queued again, for
// another node) and cancels the run; a drained service claims nothing.
func TestServiceStopReleasesRunningJob(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func() dbprovider.Provider) {
		db := open()
		cid := mustContent(t, db, "svc-stop-"+db.Name())
		started := make(chan struct{})
		var once sync.Once
		runner := scheduler.RunnerFunc(func(ctx context.Context, job *podium.Job) (int, string, error) {
			once.Do(func() { close(started) })
			<-ctx.Done() // runs until released
			return -1, "", ctx.Err()
		})
		s := newService(t, db, "svc-stop", runner, &fakeClock{now: time.Unix(1_700_000_000, 0), step: time.Millisecond})
		now, err := db.Now(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		job, _, err := db.JobInsertDue(ctxT(t), &dbprovider.JobInsertParams{ContentID: cid, DueAt: now.Add(-time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		stop := startService(t, s)
		s.Wake()
		select {
		case <-started:
		case <-time.After(testutil.Timeout(20 * time.Second)):
			t.Fatal("the job did not start")
		}
		s.Drain()
		stop(1500 * time.Millisecond)
		j, err := db.JobGet(ctxT(t), job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != podium.JobQueued {
			t.Errorf("job after Stop: %s, want queued again (released)", j.Status)
		}
		if st := s.Stats(); st.Released != 1 || st.Running != 0 {
			t.Errorf("stats after Stop: released %d running %d, want 1 and 0", st.Released, st.Running)
		}
	})
}
