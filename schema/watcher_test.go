package schema_test

import (
	"context"
	"fmt"
	"github.com/podiumhq/podium/dbprovider/dbprovidertest"
	"sync"
	"testing"
	"time"

	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/schema"
)

// watchRun runs a Watcher on p in the background and records what it
// reports; stop ends it and waits for its goroutines.
type watchRun struct {
	mu       sync.Mutex
	checks   int
	failures int
	newer    int64
	at       time.Time
	done     chan struct{}
	cancel   context.CancelFunc
}

func startWatch(t *testing.T, p dbprovider.Provider, interval time.Duration, noListen bool) *watchRun {
	t.Helper()
	r := &watchRun{done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	w := &schema.Watcher{Provider: p, Interval: interval, NoListen: noListen,
		OnNewer: func(v int64, at time.Time) {
			r.mu.Lock()
			r.newer, r.at = v, at
			r.mu.Unlock()
		},
		OnCheck: func(_ int64, err error) {
			r.mu.Lock()
			r.checks++
			if err != nil {
				r.failures++
			}
			r.mu.Unlock()
		},
	}
	go func() {
		defer close(r.done)
		_ = w.Run(ctx)
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *watchRun) stop() {
	r.cancel()
	<-r.done
}

func (r *watchRun) get() (checks, failures int, newer int64, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.checks, r.failures, r.newer, r.at
}

// raise records a schema version above the binary's and raises the floor to
// it, as a newer binary's finalize would (the PostgreSQL trigger notifies
// at the version row's commit).
func raise(t *testing.T, p dbprovider.Provider) (int64, time.Time) {
	t.Helper()
	v := schema.Latest() + 1
	q := `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`
	if p.Name() == dbprovider.SQLite {
		q = `INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, 1)`
	}
	// The floor first (as finalize does): the version row's notification
	// wakes the watcher, which must then find the floor raised.
	if err := p.SettingPut(ctxT(t), schema.FloorKey, fmt.Sprint(v)); err != nil {
		t.Fatal(err)
	}
	if _, err := dbprovidertest.RawDB(t, p).ExecContext(ctxT(t), q, v); err != nil {
		t.Fatal(err)
	}
	return v, time.Now()
}

// TestWatcherDetectsNewerSchema: the watcher reports a newer schema once,
// with its version: on PostgreSQL through the notification alone (the poll
// interval is 30s), by polling with LISTEN off, and on SQLite by polling.
func TestWatcherDetectsNewerSchema(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		open     func(t *testing.T) dbprovider.Provider
		interval time.Duration
		noListen bool
		within   time.Duration
	}{
		{"PostgresNotification", func(t *testing.T) dbprovider.Provider { return openPostgres(t, pgtest.NewDatabase(t)) }, 30 * time.Second, false, 3 * time.Second},
		{"PostgresPollingOnly", func(t *testing.T) dbprovider.Provider { return openPostgres(t, pgtest.NewDatabase(t)) }, 300 * time.Millisecond, true, 3 * time.Second},
		{"SQLitePolling", func(t *testing.T) dbprovider.Provider { return openSQLite(t) }, 300 * time.Millisecond, false, 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := tc.open(t)
			if _, err := schema.Up(ctxT(t), p, nil, schema.Options{}); err != nil {
				t.Fatal(err)
			}
			r := startWatch(t, p, tc.interval, tc.noListen)
			// PostgreSQL with LISTEN checks twice at start: at once, and
			// when the listener has connected. Raise only after that, so
			// that only the notification can explain a quick detection.
			wantChecks := 1
			if !tc.noListen && p.SupportsListenNotify() {
				wantChecks = 2
			}
			testutil.WaitFor(t, 10*time.Second, "the first checks", func() bool { c, _, _, _ := r.get(); return c >= wantChecks })
			v, raised := raise(t, p)
			testutil.WaitFor(t, tc.within, "detection", func() bool { _, _, n, _ := r.get(); return n != 0 })
			select {
			case <-r.done:
			case <-time.After(testutil.Timeout(5 * time.Second)):
				t.Fatal("Run did not return after detection")
			}
			_, failures, newer, at := r.get()
			if newer != v || failures != 0 {
				t.Errorf("newer %d failures %d; want %d, 0", newer, failures, v)
			}
			t.Logf("detected %s after the commit", at.Sub(raised).Round(time.Millisecond))
		})
	}
}

// TestWatcherUnreachableIsNotNewer: while PostgreSQL is down the watcher
// reports failed checks, never a newer schema, and keeps checking; when the
// database returns it notices a newer schema.
func TestWatcherUnreachableIsNotNewer(t *testing.T) {
	t.Parallel()
	c := pgtest.StartCluster(t)
	p := openPostgres(t, c.CreateDatabase(t, "podium"))
	if _, err := schema.Up(ctxT(t), p, nil, schema.Options{}); err != nil {
		t.Fatal(err)
	}
	r := startWatch(t, p, 100*time.Millisecond, false)
	testutil.WaitFor(t, 10*time.Second, "a successful check", func() bool { n, _, _, _ := r.get(); return n >= 1 })
	c.Stop(t)
	testutil.WaitFor(t, 20*time.Second, "failed checks while the database is down", func() bool {
		_, f, _, _ := r.get()
		return f >= 3
	})
	if _, _, newer, _ := r.get(); newer != 0 {
		t.Fatalf("an unreachable database was taken for schema %d", newer)
	}
	c.Start(t)
	v, _ := raise(t, p)
	testutil.WaitFor(t, 20*time.Second, "detection after the database returned", func() bool { _, _, n, _ := r.get(); return n == v })
}
