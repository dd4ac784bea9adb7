package usage_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/dbprovider/postgres"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/internal/startstop"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/schema"
	"github.com/podiumhq/podium/usage"
	"github.com/sirupsen/logrus"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := pgtest.Run(m) // stops the PostgreSQL the benchmark may start
	if err := goleak.Find(); code == 0 && err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

func openDB(t testing.TB) dbprovider.Provider {
	t.Helper()
	p, err := sqlite.Open(context.Background(), sqlite.Options{Dir: t.TempDir(), Exclusive: true, Purpose: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	migrate(t, p)
	return p
}

// openPostgres returns a new migrated PostgreSQL database.
func openPostgres(tb testing.TB) dbprovider.Provider {
	tb.Helper()
	p, err := postgres.Open(context.Background(), postgres.Options{URL: podium.Secret(pgtest.NewDatabase(tb)), ApplicationName: "podium test"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.Close() })
	migrate(tb, p)
	return p
}

func migrate(tb testing.TB, p dbprovider.Provider) {
	tb.Helper()
	if _, err := schema.Up(context.Background(), p, nil, schema.Options{}); err != nil {
		tb.Fatal(err)
	}
}

// flushLog counts the writes a recorder makes.
type flushLog struct {
	mu     sync.Mutex
	writes int
	rows   int
}

func (f *flushLog) fn(v, s int, err error) {
	if err != nil {
		return
	}
	f.mu.Lock()
	f.writes++
	f.rows += v + s
	f.mu.Unlock()
}

func (f *flushLog) get() (writes, rows int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes, f.rows
}

// TestRecorderBatches: records wait in memory and go to the database in
// batches of BatchSize (one statement per batch, not one per record),
// with their user, bundle and path; the rest waits for the interval (or
// the next full batch), even when it came in while a batch was written.
func TestRecorderBatches(t *testing.T) {
	db := openDB(t)
	var fl flushLog
	r := usage.New(usage.Options{Store: db, NodeID: "n1", BatchSize: 10, FlushInterval: time.Hour, Flushed: fl.fn})
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Stop(context.Background()) }()
	user, bundle := int64(3), int64(9)
	visit := func(i int) {
		v := &podium.Visit{ContentID: 1, ContentGUID: "g1", BundleID: &bundle, Path: "/p.html"}
		if i == 0 {
			v.UserID = &user
		}
		r.Visit(v)
	}
	for i := range 9 {
		visit(i)
	}
	// Below a batch, with the interval an hour away, nothing is written
	// (no write was started: the loop is woken only by a full batch).
	if w, _ := fl.get(); w != 0 {
		t.Fatalf("%d writes for 9 visits below the batch size, want 0", w)
	}
	visit(9)
	testutil.WaitFor(t, testutil.Timeout(30*time.Second), "the full batch written", func() bool { _, n := fl.get(); return n >= 10 })
	got, err := db.UsageVisitList(t.Context(), &dbprovider.UsageListParams{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 {
		t.Fatalf("%d visits in the database, want the batch of 10", len(got))
	}
	if got[0].UserID == nil || *got[0].UserID != user || got[0].BundleID == nil || *got[0].BundleID != bundle ||
		got[0].Path != "/p.html" || got[0].NodeID != "n1" || got[1].UserID != nil || got[0].At.IsZero() {
		t.Fatalf("first visits = %+v, %+v", got[0], got[1])
	}
	if w, _ := fl.get(); w != 1 {
		t.Fatalf("%d writes for 10 visits, want 1", w)
	}
	for i := 10; i < 25; i++ {
		visit(i)
	}
	testutil.WaitFor(t, testutil.Timeout(30*time.Second), "the second batch written", func() bool { _, n := fl.get(); return n >= 20 })
	// The 5 beyond the second batch wait for a full batch or the interval:
	// a full batch's write is not followed by one of the few records that
	// came in meanwhile.
	if w, n := fl.get(); w != 2 || n != 20 {
		t.Fatalf("%d writes of %d visits for 25 visits in batches of 10, want 2 of 20", w, n)
	}
	if got, _ := db.UsageVisitList(t.Context(), &dbprovider.UsageListParams{Limit: 100}); len(got) != 20 {
		t.Fatalf("%d visits in the database before Flush, want the two batches of 10", len(got))
	}
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.UsageVisitList(t.Context(), &dbprovider.UsageListParams{Limit: 100}); len(got) != 25 {
		t.Fatalf("%d visits after Flush, want 25", len(got))
	}
}

// TestRecorderWritesExactlyTheVisits: through a real SQLite store, a
// flush of 1, BatchSize-1, BatchSize and BatchSize+1 visits writes exactly
// those visits, every column, in the order recorded, in one write per
// BatchSize (the default 500, and a BatchSize of 7 whose batches SQLite
// cuts into several prepared statements).
func TestRecorderWritesExactlyTheVisits(t *testing.T) {
	for _, batch := range []int{0, 7} {
		size := batch
		if size == 0 {
			size = 500 // the default
		}
		for _, n := range []int{1, size - 1, size, size + 1} {
			t.Run(fmt.Sprintf("BatchSize=%d/visits=%d", size, n), func(t *testing.T) {
				t.Parallel()
				db := openDB(t)
				now := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
				var mu sync.Mutex
				clock := func() time.Time { mu.Lock(); defer mu.Unlock(); now = now.Add(1500 * time.Microsecond); return now }
				var fl flushLog
				r := usage.New(usage.Options{Store: db, NodeID: "node-7", BatchSize: batch, FlushInterval: time.Hour, Now: clock, Flushed: fl.fn})
				users, bundles := []int64{3, 4}, []int64{9, 10, 11}
				var want []podium.Visit
				for i := range n {
					v := &podium.Visit{ContentID: int64(1 + i%3), ContentGUID: fmt.Sprintf("guid-%d", i%3), Path: fmt.Sprintf("/p/%d", i)}
					if i%2 == 0 {
						v.UserID = &users[i%4/2]
					}
					if i%5 != 0 {
						v.BundleID = &bundles[i%3]
					}
					r.Visit(v)
					want = append(want, *v) // At and NodeID as Visit set them
				}
				if err := r.Flush(t.Context()); err != nil {
					t.Fatal(err)
				}
				if w, rows := fl.get(); w != (n+size-1)/size || rows != n {
					t.Fatalf("%d writes of %d visits, want %d of %d", w, rows, (n+size-1)/size, n)
				}
				got, err := db.UsageVisitList(t.Context(), &dbprovider.UsageListParams{Limit: 1000})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != n {
					t.Fatalf("%d visits in the database, want %d", len(got), n)
				}
				id := func(p *int64) int64 {
					if p == nil {
						return -1
					}
					return *p
				}
				for i, g := range got {
					w := want[i]
					if !g.At.Equal(w.At) || g.ContentID != w.ContentID || g.ContentGUID != w.ContentGUID || id(g.BundleID) != id(w.BundleID) ||
						id(g.UserID) != id(w.UserID) || g.NodeID != "node-7" || g.Path != w.Path {
						t.Fatalf("visit %d = {%s %d %s bundle %d user %d %s %s}, want {%s %d %s bundle %d user %d node-7 %s}", i,
							g.At, g.ContentID, g.ContentGUID, id(g.BundleID), id(g.UserID), g.NodeID, g.Path,
							w.At, w.ContentID, w.ContentGUID, id(w.BundleID), id(w.UserID), w.Path)
					}
				}
			})
		}
	}
}

// TestRecorderStopWritesEverything: a graceful stop writes the waiting
// visits and the sessions still open (ended at the stop), and a session
// ended twice is written once.
func TestRecorderStopWritesEverything(t *testing.T) {
	db := openDB(t)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	step := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	r := usage.New(usage.Options{Store: db, NodeID: "n1", BatchSize: 1000, FlushInterval: time.Hour, Now: clock})
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	user := int64(5)
	endA := r.SessionStart(&podium.AppSession{ContentID: 2, ContentGUID: "g2", UserID: &user})
	r.SessionStart(&podium.AppSession{ContentID: 2, ContentGUID: "g2"}) // still open at the stop
	step(time.Minute)
	endA()
	endA()
	r.Visit(&podium.Visit{ContentID: 2, ContentGUID: "g2"})
	if n := r.OpenSessions(); n != 1 {
		t.Fatalf("OpenSessions = %d, want 1", n)
	}
	step(time.Minute)
	if err := r.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	ss, err := db.UsageSessionList(t.Context(), &dbprovider.UsageListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 2 {
		t.Fatalf("%d sessions written, want 2: %+v", len(ss), ss)
	}
	if ss[0].UserID == nil || *ss[0].UserID != user || ss[0].EndedAt.Sub(ss[0].StartedAt) != time.Minute ||
		ss[1].EndedAt.Sub(ss[1].StartedAt) != 2*time.Minute || ss[1].UserID != nil {
		t.Fatalf("sessions = %+v, %+v", ss[0], ss[1])
	}
	if vs, _ := db.UsageVisitList(t.Context(), &dbprovider.UsageListParams{}); len(vs) != 1 {
		t.Fatalf("%d visits written at the stop, want 1", len(vs))
	}
	// After the stop nothing is recorded (and nothing blocks).
	r.Visit(&podium.Visit{ContentID: 2, ContentGUID: "g2"})
	r.SessionStart(&podium.AppSession{ContentID: 2})()
}

// TestRecorderKeepsRecordsWhileTheDatabaseFails: a write that fails keeps
// its records for the next one; beyond MaxPending the oldest are dropped.
func TestRecorderKeepsRecordsWhileTheDatabaseFails(t *testing.T) {
	db := openDB(t)
	fs := &failingStore{Store: db, fail: true}
	r := usage.New(usage.Options{Store: fs, BatchSize: 1000, MaxPending: 5, FlushInterval: time.Hour})
	for i := range 8 {
		r.Visit(&podium.Visit{ContentID: int64(i + 1), ContentGUID: "g"})
	}
	if err := r.Flush(t.Context()); err == nil {
		t.Fatal("Flush with a failing database = nil")
	}
	fs.fail = false
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, _ := db.UsageVisitList(t.Context(), &dbprovider.UsageListParams{})
	if len(got) != 5 || got[0].ContentID != 4 {
		t.Fatalf("written after the failure: %+v; want the newest 5 (content 4..8)", got)
	}
}

type failingStore struct {
	usage.Store
	fail bool
}

func (f *failingStore) UsageVisitInsert(ctx context.Context, v []*podium.Visit) error {
	if f.fail {
		return podium.Errorf(podium.EUNAVAILABLE, "database down")
	}
	return f.Store.UsageVisitInsert(ctx, v)
}

// TestNilRecorderRecordsNothing: recording turned off is a nil recorder.
func TestNilRecorderRecordsNothing(t *testing.T) {
	var r *usage.Recorder
	r.Visit(&podium.Visit{})
	r.SessionStart(&podium.AppSession{})()
	if r.OpenSessions() != 0 {
		t.Fatal("nil recorder has sessions")
	}
}

// TestPrunerDeletesOnlyOld: the pruner deletes what is older than the
// retention, in batches, and nothing with a zero retention.
func TestPrunerDeletesOnlyOld(t *testing.T) {
	db := openDB(t)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var vs []*podium.Visit
	for i := range 5 {
		vs = append(vs, &podium.Visit{At: now.Add(-time.Duration(i) * 24 * time.Hour), ContentID: 1, ContentGUID: "g"})
	}
	if err := db.UsageVisitInsert(t.Context(), vs); err != nil {
		t.Fatal(err)
	}
	p := usage.NewPruner(db, 36*time.Hour, time.Hour, 1, func() time.Time { return now }, logrus.NewEntry(logrus.New()))
	if n := p.Prune(t.Context()); n != 3 {
		t.Fatalf("Prune = %d, want 3 (the visits 2, 3 and 4 days old)", n)
	}
	if got, _ := db.UsageVisitList(t.Context(), &dbprovider.UsageListParams{}); len(got) != 2 {
		t.Fatalf("%d visits left, want 2", len(got))
	}
}

// TestPrunerLoop: started, the pruner prunes at once (its test signal
// carries the count) and Stop ends its goroutine.
func TestPrunerLoop(t *testing.T) {
	db := openDB(t)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	vs := []*podium.Visit{{At: now.Add(-48 * time.Hour), ContentID: 1, ContentGUID: "g"}, {At: now, ContentID: 1, ContentGUID: "g"}}
	if err := db.UsageVisitInsert(t.Context(), vs); err != nil {
		t.Fatal(err)
	}
	p := usage.NewPruner(db, 36*time.Hour, time.Hour, 10, func() time.Time { return now }, logrus.NewEntry(logrus.New()))
	p.Pruned.Init()
	if err := p.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := p.Pruned.WaitOrTimeout(t); got != 1 {
		t.Fatalf("first round pruned %d, want 1 (the visit 2 days old)", got)
	}
	startstop.StopForTest(t, context.Background(), p)
}
