package integration

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/schema"
)

// assertRefused waits for n to exit and checks the exit code and that its
// output holds every one of wants.
func assertRefused(t *testing.T, n *nodetest.Node, code int, wants ...string) {
	t.Helper()
	got, err := n.Wait(30 * time.Second)
	if err != nil {
		t.Fatalf("%v\n%s", err, n.Log())
	}
	if got != code {
		t.Fatalf("exit code %d, want %d\n%s", got, code, n.Log())
	}
	for _, w := range wants {
		// The refusal is one JSON log entry: quotes come escaped.
		escaped := strings.ReplaceAll(w, `"`, `\"`)
		if !strings.Contains(n.Log(), w) && !strings.Contains(n.Log(), escaped) {
			t.Errorf("output does not contain %q:\n%s", w, n.Log())
		}
	}
}

func TestRefuseHAOnSQLite(t *testing.T) {
	t.Parallel()
	n := nodetest.Start(t, nodetest.Options{Config: "[HA]\nEnabled = true"})
	assertRefused(t, n, 2, "[HA] Enabled = true needs a shared PostgreSQL database", `"podium migrate db"`, n.ConfigPath)
}

func TestRefuseSecondNodeOnSQLite(t *testing.T) {
	t.Parallel()
	first := nodetest.StartNode(t, nodetest.Options{Name: "first"})
	second := nodetest.Start(t, nodetest.Options{Name: "second", DataDir: first.DataDir})
	host, _ := os.Hostname()
	assertRefused(t, second, 2,
		"host "+host, "pid "+strconv.Itoa(first.Cmd.Process.Pid), "SQLite serves exactly one node", `"podium migrate db"`)
	if pingStatus(first) != 200 {
		t.Fatal("the first node stopped serving after the refusal")
	}
}

func TestRefusePostgresWithoutHAWhileAnotherIsLive(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	first := nodetest.StartNode(t, nodetest.Options{Name: "first", Postgres: url, NoHA: true})
	id := nodeID(t, first)
	second := nodetest.Start(t, nodetest.Options{Name: "second", Postgres: url, NoHA: true})
	assertRefused(t, second, 2, "another node is live on this database: "+id, "[HA] Enabled = true", "share [Server] DataDir")
	// An HA node next to a non-HA node is refused too.
	third := nodetest.Start(t, nodetest.Options{Name: "third", Postgres: url, DataDir: first.DataDir})
	assertRefused(t, third, 2, "another node is live on this database: "+id, "HA enabled: false")
	if pingStatus(first) != 200 {
		t.Fatal("the first node stopped serving after the refusals")
	}
}

func TestRefuseNewerSchema(t *testing.T) {
	t.Parallel()
	newer := schema.Latest() + 1
	want := fmt.Sprintf("database schema version %d is newer than this binary (%d): upgrade this node", newer, schema.Latest())
	t.Run("SQLite", func(t *testing.T) {
		t.Parallel()
		first := nodetest.StartNode(t, nodetest.Options{})
		if code := first.Stop(t); code != 0 {
			t.Fatalf("stop: exit %d", code)
		}
		p := openSQLite(t, first.DataDir)
		if _, err := p.DB().ExecContext(testCtx(t), `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, newer); err != nil {
			t.Fatal(err)
		}
		p.Close()
		n := nodetest.Start(t, nodetest.Options{DataDir: first.DataDir})
		assertRefused(t, n, 3, want)
	})
	t.Run("Postgres", func(t *testing.T) {
		t.Parallel()
		url := pgtest.NewDatabase(t)
		p := openPostgres(t, url)
		if _, err := schema.Up(testCtx(t), p, nil, schema.Options{}); err != nil {
			t.Fatal(err)
		}
		if _, err := p.DB().ExecContext(testCtx(t), `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, newer); err != nil {
			t.Fatal(err)
		}
		n := nodetest.Start(t, nodetest.Options{Postgres: url})
		assertRefused(t, n, 3, want)
	})
}

func TestRefuseMalformedConfig(t *testing.T) {
	t.Parallel()
	n := nodetest.Start(t, nodetest.Options{Config: "[Database]\nSchemaCheckInterval = banana"})
	assertRefused(t, n, 2, n.ConfigPath, "SchemaCheckInterval", "banana")

	syntax := nodetest.Start(t, nodetest.Options{Config: "[HTTP\nListen = x"})
	assertRefused(t, syntax, 2, syntax.ConfigPath)
}

func TestRefuseUnknownFlag(t *testing.T) {
	t.Parallel()
	n := nodetest.Start(t, nodetest.Options{Args: []string{"--frobnicate"}})
	assertRefused(t, n, 2, "unknown flag: --frobnicate")
	_, stderr, code := nodetest.Run(t, "", nil, "no-such-command")
	if code != 2 || !strings.Contains(stderr, "no-such-command") {
		t.Fatalf("unknown command: exit %d, stderr %q; want 2 naming it", code, stderr)
	}
}
