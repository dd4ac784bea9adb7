package heartbeat_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/dbprovidertest"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/internal/heartbeat"
	"github.com/podiumhq/podium/internal/logging"
	"github.com/podiumhq/podium/internal/startstop"
	"github.com/podiumhq/podium/schema"
)

// flakyDB is a real database whose clock read fails while down is set:
// the database "away" as a node sees it.
type flakyDB struct {
	dbprovider.Provider
	down atomic.Bool
}

func (f *flakyDB) Now(ctx context.Context) (time.Time, error) {
	if f.down.Load() {
		return time.Time{}, errors.New("connection refused")
	}
	return f.Provider.Now(ctx)
}

// TestBeats drives the heartbeat against a real SQLite database, a beat
// every 10 ms, waiting on its Beaten signal: each beat records the status,
// the info document and the clock offset (the node clock is skewed 3 s
// ahead) in the node's row; while the database is away the node counts it
// unhealthy and recovers by itself; a removed row is registered again;
// Stop ends the goroutine.
func TestBeats(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := sqlite.Open(ctx, sqlite.Options{Dir: t.TempDir(), Exclusive: true, Purpose: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	if _, err := schema.Up(ctx, p, nil, schema.Options{}); err != nil {
		t.Fatal(err)
	}
	register := func(ctx context.Context) error {
		_, err := p.NodeUpsert(ctx, &dbprovider.NodeUpsertParams{ID: "n1", Hostname: "h", Provider: p.Name(), Status: podium.NodeStarting})
		return err
	}
	if err := register(ctx); err != nil {
		t.Fatal(err)
	}
	db := &flakyDB{Provider: p}
	var infos, registered atomic.Int64
	h := heartbeat.New(heartbeat.Options{DB: db, NodeID: "n1", Interval: 10 * time.Millisecond,
		ClockWarn: time.Second, ClockFail: 2 * time.Second, Now: time.Now,
		Skew:   func() time.Duration { return 3 * time.Second },
		Status: func() string { return podium.NodeServing },
		Info:   func() map[string]any { return map[string]any{"beat": infos.Add(1)} },
		Register: func(ctx context.Context) error {
			registered.Add(1)
			return register(ctx)
		},
		Log: logging.Component(logging.Discard(), "heartbeat")})
	h.Beaten.Init()
	if !h.LastBeat().IsZero() || !h.DBNow().IsZero() {
		t.Fatal("a heartbeat that never beat has a last beat")
	}
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Stop(context.Background()) })

	// The first beat, at once.
	if err := h.Beaten.WaitOrTimeout(t); err != nil {
		t.Fatalf("first beat: %v", err)
	}
	n, err := p.NodeGet(ctx, "n1")
	if err != nil {
		t.Fatal(err)
	}
	if n.Status != podium.NodeServing || n.Info["beat"] == nil || n.ClockOffset < 2*time.Second || n.ClockOffset > 4*time.Second {
		t.Fatalf("node row after a beat: status %q info %v offset %s; want serving, the info document, about 3s",
			n.Status, n.Info, n.ClockOffset)
	}
	if off := h.Offset(); off < 2*time.Second || off > 4*time.Second {
		t.Fatalf("Offset() = %s, want about 3s", off)
	}
	if h.LastBeat().IsZero() || h.DBNow().IsZero() || !h.Healthy() {
		t.Fatalf("after a beat: last %s, db now %s, healthy %v", h.LastBeat(), h.DBNow(), h.Healthy())
	}
	if w := h.Warnings(); len(w) != 1 {
		t.Fatalf("Warnings() = %q with a 3s offset over ClockFailOffset 2s, want one", w)
	}

	// The next beats replace the info document.
	first := n.Info["beat"].(float64)
	for {
		if err := h.Beaten.WaitOrTimeout(t); err != nil {
			t.Fatalf("later beat: %v", err)
		}
		if n, err = p.NodeGet(ctx, "n1"); err != nil {
			t.Fatal(err)
		}
		if n.Info["beat"].(float64) > first {
			break
		}
	}

	// The database goes away: the beat fails, the node is unhealthy; it
	// comes back: healthy again, without a restart.
	db.down.Store(true)
	for {
		if err := h.Beaten.WaitOrTimeout(t); err != nil {
			break
		}
	}
	if h.Healthy() {
		t.Fatal("healthy after a failed beat")
	}
	db.down.Store(false)
	for {
		if err := h.Beaten.WaitOrTimeout(t); err == nil {
			break
		}
	}
	if !h.Healthy() {
		t.Fatal("unhealthy after a beat that reached the database")
	}

	// Someone removes the row: the next beat registers the node again.
	if _, err := dbprovidertest.RawDB(t, p).ExecContext(ctx, `DELETE FROM nodes WHERE id = 'n1'`); err != nil {
		t.Fatal(err)
	}
	for registered.Load() == 0 {
		if err := h.Beaten.WaitOrTimeout(t); err != nil {
			t.Fatalf("beat after the row was removed: %v", err)
		}
	}
	if _, err := p.NodeGet(ctx, "n1"); err != nil {
		t.Fatalf("node row after the beat re-registered it: %v", err)
	}

	startstop.StopForTest(t, ctx, h)
}
