package schema_test

import (
	"io/fs"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/schema"
	"github.com/sirupsen/logrus"
)

// rollingMigrations returns the extra migrations of the rolling-upgrade
// test binaries: N (00096) or N+1 (00096 to 00098).
func rollingMigrations(nplus1 bool) map[string]fs.FS {
	out := map[string]fs.FS{}
	for _, dir := range []string{"sqlite", "postgres"} {
		var f fs.FS = os.DirFS("testdata/rolling/n/" + dir)
		if nplus1 {
			f = schema.Overlay(f, os.DirFS("testdata/rolling/n1/"+dir))
		}
		out[dir] = f
	}
	return out
}

func names(rs []schema.Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

// TestRollingUpgrade walks the schema side of a rolling upgrade on
// PostgreSQL with a registered "old" node: N+1 applies the expand migration
// and defers the contract one while the old node is live, leaving the
// floor at N; finalize refuses (exit 2, naming the node) until the old node
// leaves, then applies the contract migration and raises the floor, after
// which binary N is refused (exit 3). Not parallel: it swaps the binary's
// migrations, which the whole process sees.
func TestRollingUpgrade(t *testing.T) {
	p := openPostgres(t, pgtest.NewDatabase(t))
	ctx := ctxT(t)

	restore := schema.SetExtraMigrations(rollingMigrations(false))
	defer func() { restore() }()
	binN := schema.Latest()
	if binN != 96 {
		t.Fatalf("binary N knows schema %d, want 96", binN)
	}
	if _, err := schema.Up(ctx, p, nil, schema.Options{Self: "old"}); err != nil {
		t.Fatal(err)
	}
	if f, err := schema.ClusterVersion(ctx, p); f != binN || err != nil {
		t.Fatalf("floor after a lone N node migrated = %d, %v; want %d", f, err, binN)
	}
	if _, err := p.NodeUpsert(ctx, &dbprovider.NodeUpsertParams{ID: "old", Hostname: "host-old", PID: 1, Version: "N",
		SchemaVersion: binN, Provider: "postgres", HAEnabled: true, Status: podium.NodeServing, Info: map[string]any{}}); err != nil {
		t.Fatal(err)
	}

	restore()
	restore = schema.SetExtraMigrations(rollingMigrations(true))
	pending, err := schema.PendingMigrations(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.CanRoll(pending); err != nil {
		t.Fatalf("CanRoll: %v", err)
	}
	log, hook := hookedLogger(t)
	m, err := schema.Up(ctx, p, log, schema.Options{Self: "new1"})
	if err != nil {
		t.Fatal(err)
	}
	// One deferral warning per upgrade: new1, which applied the expand
	// part, warns; new2, the next new node, finds nothing to apply and
	// says at info that the migration is still deferred.
	if _, err := schema.Up(ctx, p, log, schema.Options{Self: "new2"}); err != nil {
		t.Fatal(err)
	}
	if w, i := hook.count("deferring the contract migrations", logrus.WarnLevel), hook.count("still deferred", logrus.InfoLevel); w != 1 || i != 1 {
		t.Errorf("two N+1 nodes: %d deferral warnings, %d 'still deferred' info lines; want 1 and 1", w, i)
	}
	if got := names(m.Applied); !reflect.DeepEqual(got, []string{"00097_rolling_author.sql"}) {
		t.Errorf("N+1 with N live applied %v, want only the expand migration 00097", got)
	}
	if len(m.Deferred) != 1 || m.Deferred[0].Version != 98 || m.Version != 97 || m.Floor != binN {
		t.Errorf("N+1 with N live: deferred %v, version %d, floor %d; want 98 deferred, version 97, floor %d", m.Deferred, m.Version, m.Floor, binN)
	}
	st, err := schema.StatusOf(ctx, p, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !st.UpgradeInProgress || !reflect.DeepEqual(st.HeldBy, []string{"old"}) || len(st.Deferred) != 1 || st.Floor != binN {
		t.Errorf("status: in progress %t, held by %v, deferred %v, floor %d; want true, [old], [00098], %d",
			st.UpgradeInProgress, st.HeldBy, st.Deferred, st.Floor, binN)
	}

	// The same status read by binary N, while an N+1 node is live: it says
	// it is older, names the N nodes that hold the upgrade up, and lists
	// the deferred version that N+1 recorded (N cannot name it).
	if _, err := p.NodeUpsert(ctx, &dbprovider.NodeUpsertParams{ID: "new1", Hostname: "host-new", PID: 3, Version: "N+1",
		SchemaVersion: 98, Provider: "postgres", HAEnabled: true, Status: podium.NodeServing, Info: map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	restore()
	restore = schema.SetExtraMigrations(rollingMigrations(false))
	old, err := schema.StatusOf(ctx, p, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !old.BinaryOlder || old.NewestLive != 98 || !reflect.DeepEqual(old.HeldBy, []string{"old"}) ||
		len(old.Deferred) != 1 || old.Deferred[0].Version != 98 || !old.UpgradeInProgress {
		t.Errorf("status by binary N: older %t, newest %d, held by %v, deferred %v, in progress %t; want true, 98, [old], [98], true",
			old.BinaryOlder, old.NewestLive, old.HeldBy, old.Deferred, old.UpgradeInProgress)
	}
	restore()
	restore = schema.SetExtraMigrations(rollingMigrations(true))
	if err := p.NodeSetStatus(ctx, "new1", podium.NodeStopped); err != nil {
		t.Fatal(err)
	}

	_, err = schema.Finalize(ctx, p, nil, schema.FinalizeOptions{})
	if podium.ExitCode(err) != 2 || !strings.Contains(podium.ErrorMessage(err), "old (host host-old") {
		t.Fatalf("finalize with N live = %v (exit %d); want exit 2 naming node old", err, podium.ExitCode(err))
	}
	if v, _ := p.SchemaVersion(ctx); v != 97 {
		t.Fatalf("refused finalize changed the schema: version %d", v)
	}

	if err := p.NodeSetStatus(ctx, "old", podium.NodeStopped); err != nil {
		t.Fatal(err)
	}
	f, err := schema.Finalize(ctx, p, nil, schema.FinalizeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(f.Applied); !reflect.DeepEqual(got, []string{"00098_rolling_drop_legacy.sql"}) || f.Floor != 98 || f.Version != 98 {
		t.Errorf("finalize applied %v, floor %d, version %d; want [00098], 98, 98", got, f.Floor, f.Version)
	}
	if pending, _ := schema.PendingMigrations(ctx, p); len(pending) != 0 {
		t.Errorf("pending after finalize: %v", pending)
	}

	// A breaking migration (no expand path) cannot roll: beside a live
	// node, Up refuses before applying anything, naming both.
	if _, err := p.NodeUpsert(ctx, &dbprovider.NodeUpsertParams{ID: "peer", Hostname: "host-peer", PID: 2, Version: "N+1",
		SchemaVersion: 98, Provider: "postgres", HAEnabled: true, Status: podium.NodeServing, Info: map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	restore()
	withBreaking := rollingMigrations(true)
	brk := fstest.MapFS{"00099_breaking.sql": {Data: []byte("-- podium:class breaking\n-- +goose Up\nCREATE TABLE rolling_breaking (id bigint);\n")}}
	for k, f := range withBreaking {
		withBreaking[k] = schema.Overlay(f, brk)
	}
	restore = schema.SetExtraMigrations(withBreaking)
	_, err = schema.Up(ctx, p, nil, schema.Options{Self: "new1"})
	if msg := podium.ErrorMessage(err); podium.ExitCode(err) != 2 || !strings.Contains(msg, "00099_breaking.sql") || !strings.Contains(msg, "peer") {
		t.Fatalf("Up with a breaking migration beside a live node = %v (exit %d); want exit 2 naming 00099_breaking.sql and peer",
			err, podium.ExitCode(err))
	}
	if v, _ := p.SchemaVersion(ctx); v != 98 {
		t.Fatalf("the refused Up changed the schema: version %d, want 98", v)
	}

	restore()
	restore = schema.SetExtraMigrations(rollingMigrations(false))
	if _, err := schema.Check(ctx, p); podium.ExitCode(err) != 3 {
		t.Fatalf("binary N after finalize: Check = %v, want exit 3", err)
	}
}

// TestCanRollRefusesBreaking: a migration with no expand path makes the
// upgrade unable to roll, and says which.
func TestCanRollRefusesBreaking(t *testing.T) {
	t.Parallel()
	err := schema.CanRoll([]schema.Migration{{Version: 5, Name: "00005_a.sql", Class: schema.ClassExpand},
		{Version: 6, Name: "00006_b.sql", Class: schema.ClassBreaking}})
	if err == nil || !strings.Contains(err.Error(), "00006_b.sql") || strings.Contains(err.Error(), "00005") {
		t.Fatalf("CanRoll = %v, want an error naming 00006_b.sql only", err)
	}
}

// TestRollingExpandOnlyKeepsFloor: an upgrade with expand migrations only.
// The first new node applies them beside the live old node; the second new
// node finds nothing to apply and must leave the floor alone too (the old
// node keeps serving) until finalize raises it. Not parallel (swaps the
// binary's migrations).
func TestRollingExpandOnlyKeepsFloor(t *testing.T) {
	p := openPostgres(t, pgtest.NewDatabase(t))
	ctx := ctxT(t)
	restore := schema.SetExtraMigrations(rollingMigrations(false))
	defer func() { restore() }()
	if _, err := schema.Up(ctx, p, nil, schema.Options{Self: "old"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.NodeUpsert(ctx, &dbprovider.NodeUpsertParams{ID: "old", Hostname: "host-old", PID: 1, Version: "N",
		SchemaVersion: 96, Provider: "postgres", HAEnabled: true, Status: podium.NodeServing, Info: map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	expandOnly := map[string]fs.FS{}
	for _, dir := range []string{"sqlite", "postgres"} {
		b, err := os.ReadFile("testdata/rolling/n1/" + dir + "/00097_rolling_author.sql")
		if err != nil {
			t.Fatal(err)
		}
		expandOnly[dir] = schema.Overlay(os.DirFS("testdata/rolling/n/"+dir), fstest.MapFS{"00097_rolling_author.sql": {Data: b}})
	}
	restore()
	restore = schema.SetExtraMigrations(expandOnly)
	for _, self := range []string{"new1", "new2"} {
		m, err := schema.Up(ctx, p, nil, schema.Options{Self: self})
		if err != nil {
			t.Fatal(err)
		}
		if m.Floor != 96 || len(m.Deferred) != 0 {
			t.Fatalf("%s beside the live old node: floor %d, deferred %v; want floor 96, nothing deferred", self, m.Floor, m.Deferred)
		}
		if err := p.NodeSetStatus(ctx, self, podium.NodeServing); err != nil && !podium.IsCode(err, podium.ENOTFOUND) {
			t.Fatal(err)
		}
	}
	if err := p.NodeSetStatus(ctx, "old", podium.NodeStopped); err != nil {
		t.Fatal(err)
	}
	f, err := schema.Finalize(ctx, p, nil, schema.FinalizeOptions{})
	if err != nil || f.Floor != 97 || len(f.Applied) != 0 {
		t.Fatalf("finalize: floor %d, applied %v, %v; want floor 97, nothing applied", f.Floor, f.Applied, err)
	}
}
