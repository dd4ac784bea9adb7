package integration

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/schema"
)

// maxDetectionToExit is the promise: an outdated node exits within 30s of
// noticing the newer schema, in every case.
const maxDetectionToExit = 30 * time.Second

// TestUpgradeClusterPostgres is the upgrade of a cluster past a contract
// migration: three nodes of version N serve on one PostgreSQL database;
// two nodes of version N+1 start together, defer the migration and serve
// beside them; finalize refuses while the N nodes live, and with
// --retire-old raises the floor: every N node exits with code 3 well
// within 30 seconds, its clients seeing only 503 from /__ping__ or refused
// connections; an N node started again is refused at once with code 3; and
// "migrate schema status" shows who ran what.
func TestUpgradeClusterPostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	data := t.TempDir()
	binN := nodetest.Binary(t)
	binN1 := nodetest.BinaryWithTags(t, tagNPlus1)

	// The default check interval (5s): detection must come from the
	// notification, not from polling.
	cfg := "[Database]\nSchemaCheckInterval = 5s\n[Server]\nShutdownGracePeriod = 5s\n"
	var old []*nodetest.Node
	for i := range 3 {
		old = append(old, nodetest.Start(t, nodetest.Options{Binary: binN, Name: fmt.Sprintf("old%d", i+1), Postgres: url, DataDir: data, Config: cfg}))
	}
	for _, n := range old {
		n.WaitReady(t, 60*time.Second)
	}
	commits := listenCommit(t, url)
	var exits []*exitWatch
	var loops []*requestLoop
	for _, n := range old {
		exits = append(exits, watchExit(n))
		loops = append(loops, startRequestLoop(n))
	}

	// Two N+1 nodes start at the same moment beside the live N nodes: the
	// N+1 migration is marked contract, so both defer it (the N nodes keep
	// serving); then "migrate schema finalize --retire-old" raises the
	// floor, the N nodes retire, and finalize applies the migration once.
	newNode := nodetest.Start(t, nodetest.Options{Binary: binN1, Name: "new1", Postgres: url, DataDir: data, Config: cfg})
	newNode2 := nodetest.Start(t, nodetest.Options{Binary: binN1, Name: "new2", Postgres: url, DataDir: data, Config: cfg})
	newNode.WaitReady(t, 60*time.Second)
	newNode2.WaitReady(t, 60*time.Second)
	// Both defer; one warning per upgrade: one of them warns, the other
	// says it is still deferred.
	warned := 0
	for _, n := range []*nodetest.Node{newNode, newNode2} {
		switch {
		case strings.Contains(n.Log(), "deferring the contract migrations"):
			warned++
		case !strings.Contains(n.Log(), "contract migrations still deferred"):
			t.Errorf("%s started beside live N nodes without deferring the contract migration:\n%s", n.Name, n.Log())
		}
	}
	if warned != 1 {
		t.Errorf("%d of the 2 N+1 nodes logged the deferral warning, want 1", warned)
	}
	for _, n := range old {
		if status, _, err := n.Ping(); err != nil || status != 200 {
			t.Fatalf("%s: ping %d %v after the N+1 nodes started; want 200 (the floor still allows N)", n.Name, status, err)
		}
	}
	conf := nodetest.WriteConfig(t, &nodetest.Options{Postgres: url, DataDir: data})
	// Mid-upgrade, "migrate schema status" explains itself whatever binary
	// runs it (issue 28): binary N says it is older than the cluster and
	// which binary to run, lists the migration the N+1 nodes deferred (by
	// number: N cannot name it) and the N nodes that hold the upgrade up.
	// Binary N+1 names the deferred migration.
	oldOut, stderr, code := nodetest.Run(t, binN, nil, "--config", conf, "migrate", "schema", "status")
	if code != 0 {
		t.Fatalf("migrate schema status with binary N: exit %d\n%s", code, stderr)
	}
	for _, w := range []string{"older than the cluster", "with the newest binary", fmt.Sprintf("%5d  (unknown to this binary", nplus1Version),
		"held up by 3 node(s) on an older binary", "finalize\" (with the newest binary)"} {
		if !strings.Contains(oldOut, w) {
			t.Errorf("status with binary N mid-upgrade lacks %q:\n%s", w, oldOut)
		}
	}
	t.Logf("migrate schema status, binary N, mid-upgrade:\n%s", oldOut)
	newOut, stderr, code := nodetest.Run(t, binN1, nil, "--config", conf, "migrate", "schema", "status")
	if code != 0 || !strings.Contains(newOut, fmt.Sprintf("%5d  %s", nplus1Version, "00099_nplus1")) ||
		!strings.Contains(newOut, "held up by 3 node(s)") || strings.Contains(newOut, "older than the cluster") {
		t.Errorf("status with binary N+1 mid-upgrade: exit %d, want the deferred 00099_nplus1 named and the 3 N nodes holding up:\n%s%s", code, newOut, stderr)
	}
	if _, stderr, code := nodetest.Run(t, binN1, nil, "--config", conf, "migrate", "schema", "finalize"); code != 2 ||
		!strings.Contains(stderr, "older binary") {
		t.Fatalf("finalize with N nodes live: exit %d, want 2 naming them\n%s", code, stderr)
	}
	fout, stderr, code := nodetest.Run(t, binN1, nil, "--config", conf, "migrate", "schema", "finalize", "--retire-old")
	if code != 0 || !strings.Contains(fout, "applied 00099_nplus1.sql") {
		t.Fatalf("finalize --retire-old: exit %d\n%s\n%s", code, fout, stderr)
	}
	commitAt := waitPayload(t, commits, floorPayload, 60*time.Second)
	if c := versionCounts(t, openPostgres(t, url).DB())[nplus1Version]; c != 1 {
		t.Errorf("version %d applied %d times, want once", nplus1Version, c)
	}

	var fromCommit, fromDetection []time.Duration
	for i, n := range old {
		select {
		case <-exits[i].done:
		case <-time.After(testutil.Timeout(maxDetectionToExit + 10*time.Second)):
			t.Fatalf("%s still runs %s after the N+1 migration committed\n%s", n.Name, time.Since(commitAt), n.Log())
		}
		code, _ := n.Exited()
		if code != 3 {
			t.Errorf("%s: exit code %d, want 3\n%s", n.Name, code, n.Log())
		}
		if !strings.Contains(n.Log(), shutdownMessage()) {
			t.Errorf("%s: log lacks %q:\n%s", n.Name, shutdownMessage(), n.Log())
		}
		c := exits[i].at.Sub(commitAt)
		d, ok := sinceDetection(n.Log())
		if !ok {
			t.Errorf("%s: no since_detection_ms in the log:\n%s", n.Name, n.Log())
		}
		if c > maxDetectionToExit || d > maxDetectionToExit {
			t.Errorf("%s: commit to exit %s, detection to exit %s; want both under %s", n.Name, c, d, maxDetectionToExit)
		}
		fromCommit = append(fromCommit, c)
		fromDetection = append(fromDetection, d)
		t.Logf("%s: migration commit -> exit %s; detection -> exit %s (node's own measure)", n.Name,
			c.Round(time.Millisecond), d.Round(time.Millisecond))
	}
	t.Logf("FIGURES (3 nodes, LISTEN on): commit->exit median %s max %s; detection->exit median %s max %s",
		median(fromCommit).Round(time.Millisecond), maxDuration(fromCommit).Round(time.Millisecond),
		median(fromDetection).Round(time.Millisecond), maxDuration(fromDetection).Round(time.Millisecond))

	for i, l := range loops {
		results := l.finish()
		counts, bad := classify(results, commitAt)
		t.Logf("%s: requests sent after the commit: %s", old[i].Name, formatCounts(counts))
		for _, b := range bad {
			t.Errorf("%s: a client of the outdated node saw a failure: %s", old[i].Name, b)
		}
		if counts["connection refused"] == 0 {
			t.Errorf("%s: no request was refused after the node exited: %s", old[i].Name, formatCounts(counts))
		}
	}

	if status, body, err := newNode.Ping(); err != nil || status != 200 {
		t.Errorf("new node: ping %d %v %v; want 200", status, body, err)
	}

	// An old binary started again is refused at once.
	started := time.Now()
	again := nodetest.Start(t, nodetest.Options{Binary: binN, Name: "old-again", Postgres: url, DataDir: data, Config: cfg})
	code, err := again.Wait(30 * time.Second)
	if err != nil || code != 3 {
		t.Fatalf("old binary started again: exit %d (%v), want 3\n%s", code, err, again.Log())
	}
	refusal := schema.NewerError(nplus1Version, schema.Latest()).Message
	if !strings.Contains(again.Log(), refusal) {
		t.Errorf("old binary started again: log lacks %q:\n%s", refusal, again.Log())
	}
	t.Logf("old binary on the N+1 database: refused with exit 3 in %s", time.Since(started).Round(time.Millisecond))

	// The status names every node with its schema; the old ones stopped.
	out, stderr, code := nodetest.Run(t, binN1, nil, "--config", conf, "migrate", "schema", "status", "--json")
	if code != 0 {
		t.Fatalf("migrate schema status: exit %d\n%s", code, stderr)
	}
	var st schema.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status JSON: %v\n%s", err, out)
	}
	if st.Database != nplus1Version || st.Binary != nplus1Version || len(st.Pending) != 0 {
		t.Errorf("status: database %d binary %d pending %v; want %d, %d, none", st.Database, st.Binary, st.Pending, nplus1Version, nplus1Version)
	}
	outdated, live := 0, 0
	for _, n := range st.Nodes {
		if n.Outdated {
			outdated++
			if n.Live || n.Status != "stopped" {
				t.Errorf("status: outdated node %s is %s (live %t); want stopped", n.ID, n.Status, n.Live)
			}
		} else if n.Live {
			live++
		}
	}
	if outdated != 3 || live != 2 {
		t.Errorf("status: %d outdated and %d live current nodes, want 3 and 2:\n%s", outdated, live, out)
	}
}

// TestUpgradeRehearsePostgres: "migrate schema rehearse" with the N+1
// binary on an N database succeeds and keeps nothing; with a broken N+1
// migration it exits 1 naming the migration and the database's error; a
// migration that would wait for a lock longer than --lock-timeout fails
// instead of queueing behind production traffic; and a failed "migrate
// schema up" leaves the database at N too.
func TestUpgradeRehearsePostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	binN := nodetest.Binary(t)
	binN1 := nodetest.BinaryWithTags(t, tagNPlus1)
	binBroken := nodetest.BinaryWithTags(t, tagNPlus1Broken)
	conf := nodetest.WriteConfig(t, &nodetest.Options{Postgres: url})
	args := func(a ...string) []string { return append([]string{"--config", conf, "migrate", "schema"}, a...) }

	if _, stderr, code := nodetest.Run(t, binN, nil, args("up")...); code != 0 {
		t.Fatalf("migrate schema up (N): exit %d\n%s", code, stderr)
	}
	p := openPostgres(t, url)
	n := schema.Latest()
	atN := func(when string) {
		t.Helper()
		v, err := p.SchemaVersion(testCtx(t))
		if err != nil || v != n {
			t.Fatalf("%s: database schema %d (%v), want %d", when, v, err, n)
		}
		var exists bool
		if err := p.DB().QueryRowContext(testCtx(t), `SELECT to_regclass('upgrade_rehearsal') IS NOT NULL`).Scan(&exists); err != nil || exists {
			t.Fatalf("%s: table of the N+1 migration exists: %t (%v)", when, exists, err)
		}
	}

	t.Run("OK", func(t *testing.T) {
		out, stderr, code := nodetest.Run(t, binN1, nil, args("rehearse", "--json")...)
		if code != 0 {
			t.Fatalf("rehearse: exit %d\n%s\n%s", code, out, stderr)
		}
		var r struct {
			schema.Rehearsal
			After int64 `json:"database_schema_after"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("rehearse JSON: %v\n%s", err, out)
		}
		if !r.OK || r.From != n || r.To != nplus1Version || len(r.Steps) != 1 || r.Steps[0].Name != "00099_nplus1.sql" || !r.Steps[0].OK || r.After != n {
			t.Errorf("rehearsal report: %s", out)
		}
		atN("after a good rehearsal")
	})

	t.Run("ErrBrokenMigration", func(t *testing.T) {
		out, stderr, code := nodetest.Run(t, binBroken, nil, args("rehearse")...)
		if code != 1 {
			t.Fatalf("rehearse (broken): exit %d, want 1\n%s\n%s", code, out, stderr)
		}
		for _, want := range []string{"00099_nplus1_broken.sql", "no_such_table_nplus1", "42P01"} {
			if !strings.Contains(stderr, want) || !strings.Contains(out, want) {
				t.Errorf("rehearse (broken): %q missing from stdout or stderr\n%s\n%s", want, out, stderr)
			}
		}
		atN("after a failed rehearsal")
	})

	t.Run("ErrLockTimeout", func(t *testing.T) {
		// A production transaction reading settings: the N+1 migration's
		// ALTER TABLE settings needs an exclusive lock and must give up
		// after --lock-timeout rather than queue everyone behind it.
		tx, err := p.DB().BeginTx(testCtx(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(testCtx(t), `LOCK TABLE settings IN ACCESS SHARE MODE`); err != nil {
			t.Fatal(err)
		}
		started := time.Now()
		out, stderr, code := nodetest.Run(t, binN1, nil, args("rehearse", "--lock-timeout", "300ms")...)
		if code != 1 || !strings.Contains(out, "55P03") || !strings.Contains(out, "lock_timeout") {
			t.Fatalf("rehearse under a lock: exit %d, want 1 with a lock_timeout report\n%s\n%s", code, out, stderr)
		}
		if time.Since(started) > testutil.Timeout(20*time.Second) {
			t.Errorf("rehearse under a lock took %s", time.Since(started))
		}
		atN("after a rehearsal that timed out on a lock")
	})

	t.Run("ErrUpBrokenKeepsN", func(t *testing.T) {
		_, stderr, code := nodetest.Run(t, binBroken, nil, args("up")...)
		if code != 1 || !strings.Contains(stderr, "00099_nplus1_broken.sql") {
			t.Fatalf("migrate schema up (broken): exit %d, want 1 naming the migration\n%s", code, stderr)
		}
		atN("after a failed migrate schema up")
	})
}
