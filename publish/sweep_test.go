package publish_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/schema"
	"github.com/sirupsen/logrus"
)

// TestSweepScratch (issue 12, defect 5): a sweep removes what an earlier
// run of this node left and the data-directory scratch of nodes that are
// not live, and never the scratch of a live node, nor render directories
// in TempDir that are not this node's.
func TestSweepScratch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	log := logrus.New()
	log.SetOutput(io.Discard)
	db, err := sqlite.Open(ctx, sqlite.Options{Dir: t.TempDir(), Exclusive: true, Purpose: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := schema.Up(ctx, db, logrus.NewEntry(log), schema.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"self", "live", "dead"} {
		if _, err := db.NodeUpsert(ctx, &dbprovider.NodeUpsertParams{ID: id, Hostname: "h", PID: 1, Version: "t",
			Provider: "sqlite", Status: podium.NodeServing}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.NodeSetStatus(ctx, "dead", podium.NodeStopped); err != nil {
		t.Fatal(err)
	}
	data, tmp := t.TempDir(), t.TempDir()
	mk := func(parts ...string) string {
		p := filepath.Join(parts...)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	liveWork := mk(data, "scratch", "live", "r0123-upload-ab.tar.gz.d")
	deadWork := mk(data, "scratch", "dead", "r4567-upload-cd.tar.gz.d")
	ownOld := mk(data, "scratch", "self", "r89ab-unpack-ef")
	ownOldRender := mk(tmp, "podium-render-self", "r89ab-123")
	otherRender := mk(tmp, "podium-render-dead", "r4567-456")
	svc := publish.New(publish.Options{DB: db, DataDir: data, TempDir: tmp, NodeID: "self", Log: logrus.NewEntry(log),
		Apps: config.ApplicationsConfig{RunAs: "nobody"}, NodeTimeout: time.Hour})
	svc.Sweep(ctx)
	for path, keep := range map[string]bool{liveWork: true, deadWork: false, ownOld: false, ownOldRender: false, otherRender: true} {
		_, err := os.Stat(path)
		if kept := err == nil; kept != keep {
			t.Errorf("%s: kept = %v, want %v", path, kept, keep)
		}
	}
}
