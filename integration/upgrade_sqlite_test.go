package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/schema"
)

// TestUpgradeSQLite is the upgrade of a single node on SQLite: while the
// node runs, "migrate schema up" with the N+1 binary is refused (exit 2:
// the SQLite lock), "rehearse" works on a copy and keeps nothing; once the
// node is stopped, "up" migrates, and the N binary then refuses to start
// with exit 3.
func TestUpgradeSQLite(t *testing.T) {
	t.Parallel()
	binN := nodetest.Binary(t)
	binN1 := nodetest.BinaryWithTags(t, tagNPlus1)
	node := nodetest.StartNode(t, nodetest.Options{Binary: binN, Name: "sqlite-n"})
	args := func(a ...string) []string {
		return append([]string{"--config", node.ConfigPath, "migrate", "schema"}, a...)
	}

	_, stderr, code := nodetest.Run(t, binN1, nil, args("up")...)
	if code != 2 || !strings.Contains(stderr, "in use by") {
		t.Fatalf("migrate schema up beside a running node: exit %d, want 2 naming the holder\n%s", code, stderr)
	}
	out, stderr, code := nodetest.Run(t, binN1, nil, args("rehearse")...)
	if code != 0 || !strings.Contains(out, "00099_nplus1.sql") || !strings.Contains(out, "copy") {
		t.Fatalf("rehearse beside a running node: exit %d, want 0\n%s\n%s", code, out, stderr)
	}
	out, stderr, code = nodetest.Run(t, nodetest.BinaryWithTags(t, tagNPlus1Broken), nil, args("rehearse")...)
	if code != 1 || !strings.Contains(stderr, "00099_nplus1_broken.sql") || !strings.Contains(stderr, "no_such_table_nplus1") {
		t.Fatalf("rehearse (broken): exit %d, want 1 naming the migration\n%s\n%s", code, out, stderr)
	}
	if status, body, err := node.Ping(); err != nil || status != 200 || body["schema"] != float64(schema.Latest()) {
		t.Fatalf("node after the rehearsals: %d %v %v; want 200 at schema %d", status, body, err, schema.Latest())
	}
	if code := node.Stop(t); code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, node.Log())
	}

	out, stderr, code = nodetest.Run(t, binN1, nil, args("up")...)
	if code != 0 || !strings.Contains(out, "applied 00099_nplus1.sql") || !strings.Contains(stderr, "applied migration") {
		t.Fatalf("migrate schema up: exit %d, want 0\n%s\n%s", code, out, stderr)
	}
	started := time.Now()
	again := nodetest.Start(t, nodetest.Options{Binary: binN, Name: "sqlite-n-again", DataDir: node.DataDir, StateDir: node.StateDir})
	code, err := again.Wait(30 * time.Second)
	refusal := schema.NewerError(nplus1Version, schema.Latest()).Message
	if err != nil || code != 3 || !strings.Contains(again.Log(), refusal) {
		t.Fatalf("N binary on the N+1 database: exit %d (%v), want 3 with %q\n%s", code, err, refusal, again.Log())
	}
	t.Logf("N binary on the N+1 SQLite database: refused with exit 3 in %s", time.Since(started).Round(time.Millisecond))
}

// TestUpgradeSQLiteWatcher: a running SQLite node whose database is moved
// past its binary by another process (here the test, writing beside it in
// WAL mode, as a second binary that ignored the lock would) notices it by
// polling and exits with code 3 within the bound.
func TestUpgradeSQLiteWatcher(t *testing.T) {
	t.Parallel()
	node := nodetest.StartNode(t, nodetest.Options{Name: "sqlite-watch"})
	exit := watchExit(node)
	p, err := sqlite.Open(context.Background(), sqlite.Options{Dir: filepath.Join(node.DataDir, "db")})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	raisedAt := time.Now()
	// What a lone N+1 node does: its migration, and the floor raised to it.
	if err := p.SettingPut(testCtx(t), schema.FloorKey, fmt.Sprint(nplus1Version)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.DB().ExecContext(testCtx(t), `INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, 1)`, nplus1Version); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exit.done:
	case <-time.After(testutil.Timeout(maxDetectionToExit + 10*time.Second)):
		t.Fatalf("the node still runs %s after its schema was raised\n%s", time.Since(raisedAt), node.Log())
	}
	code, _ := node.Exited()
	if code != 3 || !strings.Contains(node.Log(), shutdownMessage()) {
		t.Fatalf("exit %d, want 3 with %q\n%s", code, shutdownMessage(), node.Log())
	}
	d, _ := sinceDetection(node.Log())
	t.Logf("SQLite (polling every 1s): schema raised -> exit %s; detection -> exit %s",
		exit.at.Sub(raisedAt).Round(time.Millisecond), d.Round(time.Millisecond))
	if exit.at.Sub(raisedAt) > maxDetectionToExit {
		t.Errorf("schema raised -> exit %s, want under %s", exit.at.Sub(raisedAt), maxDetectionToExit)
	}
	// The lock file is released for the next process.
	if b, err := os.ReadFile(filepath.Join(node.DataDir, "db", sqlite.LockName)); err != nil || len(b) != 0 {
		t.Errorf("lock file after exit: %q %v; want empty (released)", b, err)
	}
}
