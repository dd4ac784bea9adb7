package migrate

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/migrate/migratetest"
)

// cmdSetup is a data dir whose SQLite database (in DataDir/db) is filled
// with sizes, a configuration file for it, and an empty target database.
type cmdSetup struct {
	bin, dataDir, dbDir, config, url string
}

func newCmdSetup(t *testing.T, sizes migratetest.Sizes) *cmdSetup {
	t.Helper()
	s := &cmdSetup{bin: nodetest.Binary(t), dataDir: t.TempDir(), url: pgtest.NewDatabase(t)}
	s.dbDir = filepath.Join(s.dataDir, "db")
	src := newSource(t, sizes)
	if err := os.Rename(src, s.dbDir); err != nil {
		t.Fatal(err)
	}
	s.config = nodetest.WriteConfig(t, &nodetest.Options{DataDir: s.dataDir})
	return s
}

// migrate runs "podium migrate db" on the setup's configuration, the
// target given by the environment as an operator would.
func (s *cmdSetup) migrate(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return nodetest.Run(t, s.bin, []string{"PODIUM_POSTGRES_URL=" + s.url},
		append([]string{"--config", s.config, "migrate", "db"}, args...)...)
}

func TestCommandRefusals(t *testing.T) {
	t.Parallel()
	s := newCmdSetup(t, migratetest.Sizes{Users: 2, Nodes: 1})
	expectRefused := func(t *testing.T, env []string, want string, args ...string) {
		t.Helper()
		_, stderr, code := nodetest.Run(t, s.bin, env, append([]string{"--config", s.config, "migrate", "db"}, args...)...)
		if code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("exit %d, stderr %q: want exit 2 and %q", code, stderr, want)
		}
		if tables := pgTables(t, s.url); len(tables) != 0 {
			t.Errorf("target has tables %v after a refusal", tables)
		}
	}
	env := []string{"PODIUM_POSTGRES_URL=" + s.url}

	t.Run("NodeHoldsSQLite", func(t *testing.T) {
		lock, err := sqlite.AcquireLock(filepath.Join(s.dbDir, sqlite.LockName), "serve")
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Release()
		expectRefused(t, env, `is in use by "podium serve"`)
	})
	t.Run("DropAllWithoutYesOffTerminal", func(t *testing.T) {
		expectRefused(t, env, "confirm with --yes", "--drop-all")
	})
	t.Run("GoingBack", func(t *testing.T) {
		expectRefused(t, env, "back to SQLite is not supported", "--to", "sqlite")
	})
	t.Run("TargetNotPostgreSQL", func(t *testing.T) {
		expectRefused(t, []string{"PODIUM_POSTGRES_URL=mysql://root@127.0.0.1:3306/podium"}, "")
	})
	t.Run("NoTarget", func(t *testing.T) {
		expectRefused(t, nil, "[Postgres] URL")
	})
	t.Run("NoSource", func(t *testing.T) {
		// A PostgreSQL node's configuration with no SQLite file: there is
		// nothing to move, and no way back.
		cfg := nodetest.WriteConfig(t, &nodetest.Options{Postgres: s.url})
		_, stderr, code := nodetest.Run(t, s.bin, nil, "--config", cfg, "migrate", "db")
		if code != 2 || !strings.Contains(stderr, "no SQLite database") || !strings.Contains(stderr, "not supported") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("SourceNotSQLite", func(t *testing.T) {
		dd := t.TempDir()
		os.MkdirAll(filepath.Join(dd, "db"), 0o750)
		os.WriteFile(filepath.Join(dd, "db", sqlite.FileName), []byte("not a database at all, just text\n"), 0o640)
		cfg := nodetest.WriteConfig(t, &nodetest.Options{DataDir: dd})
		_, stderr, code := nodetest.Run(t, s.bin, env, "--config", cfg, "migrate", "db")
		if code != 2 || !strings.Contains(stderr, "not a SQLite database") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("SourceNotPodium", func(t *testing.T) {
		dd := t.TempDir()
		p, err := sqlite.Open(t.Context(), sqlite.Options{Dir: filepath.Join(dd, "db"), Exclusive: true})
		if err != nil {
			t.Fatal(err)
		}
		p.DB().ExecContext(t.Context(), `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)`)
		p.Close()
		cfg := nodetest.WriteConfig(t, &nodetest.Options{DataDir: dd})
		_, stderr, code := nodetest.Run(t, s.bin, env, "--config", cfg, "migrate", "db")
		if code != 2 || !strings.Contains(stderr, "not a Podium database") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("SourceSchemaNewer", func(t *testing.T) {
		dd := t.TempDir()
		src := newSource(t, migratetest.Sizes{Users: 1})
		os.Rename(src, filepath.Join(dd, "db"))
		sqliteExec(t, filepath.Join(dd, "db"), `INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, 1)`)
		cfg := nodetest.WriteConfig(t, &nodetest.Options{DataDir: dd})
		_, stderr, code := nodetest.Run(t, s.bin, env, "--config", cfg, "migrate", "db")
		if code != 2 || !strings.Contains(stderr, "newer than this binary") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("TargetHoldsData", func(t *testing.T) {
		stdout, stderr, code := s.migrate(t)
		if code != 0 {
			t.Fatalf("first run: exit %d\n%s\n%s", code, stdout, stderr)
		}
		_, stderr, code = s.migrate(t)
		if code != 2 || !strings.Contains(stderr, "already holds Podium data") {
			t.Errorf("second run: exit %d, stderr %q", code, stderr)
		}
		stdout, stderr, code = s.migrate(t, "--drop-all", "--yes", "--json")
		var res Result
		if code != 0 || json.Unmarshal([]byte(stdout), &res) != nil || len(res.Emptied) == 0 {
			t.Errorf("--drop-all --yes: exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})
}

func TestCommandSuccessPrintsSummaryAndNextSteps(t *testing.T) {
	t.Parallel()
	s := newCmdSetup(t, migratetest.Small())
	// The test server trusts local connections, so a password in the URL
	// is accepted and ignored: it must appear in no output.
	u, err := url.Parse(s.url)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "s3cr3t-never-shown")
	s.url = u.String()
	stdout, stderr, code := s.migrate(t, "--dry-run")
	if code != 0 || !strings.Contains(stdout, "Dry run: nothing was written") || len(pgTables(t, s.url)) != 0 {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	stdout, stderr, code = s.migrate(t)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"table", "rows", "bytes", "seconds", "verified", "audit_log", "Provider = postgres", "[HA] Enabled", "DataDir"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Count(stdout, " yes ") < 16 && strings.Count(stdout, "yes") < 16 {
		t.Errorf("not every table verified:\n%s", stdout)
	}
	// Not a terminal: progress goes to the log.
	if !strings.Contains(stderr, "snapshot taken") {
		t.Errorf("no progress log line in stderr:\n%s", stderr)
	}
	if strings.Contains(stdout+stderr, "s3cr3t") {
		t.Errorf("output shows the password:\n%s\n%s", stdout, stderr)
	}
}

// TestCommandSIGKILLMidCopyLeavesTargetAsItWas kills the command while
// COPY is running, then checks that the target is still empty and that a
// clean rerun succeeds.
func TestCommandSIGKILLMidCopyLeavesTargetAsItWas(t *testing.T) {
	t.Parallel()
	sizes := migratetest.Small()
	s := newCmdSetup(t, sizes)
	// Enough rows for COPY to last a moment, made by SQLite itself (fast
	// even under the race detector).
	const bulk = 150000
	sqliteExec(t, s.dbDir, fmt.Sprintf(`INSERT INTO audit_log (id, at, action, object, detail)
		WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < %d)
		SELECT 100000 + x, '2026-01-01 00:00:00.123456+00:00', 'bulk', printf('content:%%d', x), '{"n": ' || x || ', "pad": "' || hex(randomblob(40)) || '"}' FROM n`, bulk))
	cmd := exec.Command(s.bin, "--config", s.config, "migrate", "db")
	cmd.Env = append(os.Environ(), "PODIUM_POSTGRES_URL="+s.url)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until PostgreSQL reports rows arriving through COPY from the
	// command's connection, then kill it.
	c := pgConn(t, s.url)
	var copying bool
	testutil.WaitFor(t, testutil.Timeout(30*time.Second), "COPY in progress", func() bool {
		var n int64
		err := c.QueryRow(t.Context(), `SELECT COALESCE(max(p.tuples_processed), 0) FROM pg_stat_progress_copy p
			JOIN pg_stat_activity a ON a.pid = p.pid WHERE a.application_name = 'podium/migrate-db'`).Scan(&n)
		copying = err == nil && n > 0
		return copying
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("the command was not killed mid-run (err %v):\n%s", err, out.String())
	}
	// PostgreSQL rolls back the dead connection's transaction.
	testutil.WaitFor(t, testutil.Timeout(10*time.Second), "the killed transaction to end", func() bool {
		var n int
		c.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'podium/migrate-db'`).Scan(&n)
		return n == 0
	})
	if tables := pgTables(t, s.url); len(tables) != 0 {
		t.Fatalf("target has tables %v after SIGKILL", tables)
	}
	stdout, stderr, code := s.migrate(t, "--json")
	var res Result
	if code != 0 || json.Unmarshal([]byte(stdout), &res) != nil || res.Rows != int64(sizes.Total()+bulk) {
		t.Fatalf("rerun: exit %d rows %d\n%s\n%s", code, res.Rows, stdout, stderr)
	}
}

// TestCommandNodeOnPostgresCreatesRows migrates, starts a node on
// PostgreSQL and creates rows through its API: the sequences continue
// after the copied ids.
func TestCommandNodeOnPostgresCreatesRows(t *testing.T) {
	t.Parallel()
	s := newCmdSetup(t, migratetest.Small())
	// user00003 is an admin in the generated data; give it a key we know.
	key, stderr, code := nodetest.Run(t, s.bin, nil, "--config", s.config, "keys", "create", "--username", "user00003")
	if code != 0 {
		t.Fatalf("keys create: exit %d: %s", code, stderr)
	}
	key = strings.TrimSpace(key)
	if _, stderr, code := s.migrate(t); code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, stderr)
	}
	node := nodetest.StartNode(t, nodetest.Options{Binary: s.bin, DataDir: s.dataDir, Postgres: s.url})
	post := func(path, body string) map[string]any {
		req, _ := http.NewRequest("POST", node.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Key "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %d %v", path, resp.StatusCode, out)
		}
		return out
	}
	u := post("/__api__/v1/users", `{"username":"after-cutover","role":"publisher"}`)
	if got, want := fmt.Sprint(u["id"]), fmt.Sprint(migratetest.Small().Users+1); got != want {
		t.Errorf("new user id %s, want %s (%v)", got, want, u)
	}
	var keys int
	pgConn(t, s.url).QueryRow(t.Context(), `SELECT count(*) FROM api_keys`).Scan(&keys)
	if keys != migratetest.Small().APIKeys+1 {
		t.Errorf("%d api keys on PostgreSQL, want %d", keys, migratetest.Small().APIKeys+1)
	}
	ck := post("/__api__/v1/keys", `{"name":"second"}`)
	var maxID int64
	pgConn(t, s.url).QueryRow(t.Context(), `SELECT max(id) FROM api_keys`).Scan(&maxID)
	if maxID != int64(migratetest.Small().APIKeys+2) {
		t.Errorf("api key ids end at %d, want %d (%v)", maxID, migratetest.Small().APIKeys+2, ck)
	}
}

// podiumTables counts the tables of the SQLite database in dir that a
// migration copies (all but SQLite's and goose's own): the expected count
// follows the schema instead of a number each new table must edit.
func podiumTables(t *testing.T, dir string) int {
	t.Helper()
	u := url.URL{Scheme: "file", Path: filepath.Join(dir, sqlite.FileName), RawQuery: "mode=ro"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM sqlite_master
		WHERE type = 'table' AND name NOT LIKE 'sqlite%' AND name <> 'goose_db_version'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
