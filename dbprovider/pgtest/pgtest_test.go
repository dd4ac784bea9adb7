package pgtest

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { Main(m) }

// mustConnect opens a connection that the test closes at cleanup.
func mustConnect(tb testing.TB, dsn string) *pgx.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatalf("connect %s: %v", dsn, err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// mustQueryInt runs a query returning one integer.
func mustQueryInt(tb testing.TB, conn *pgx.Conn, sql string, args ...any) int {
	tb.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	return n
}

func mustExec(tb testing.TB, conn *pgx.Conn, sql string) {
	tb.Helper()
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

func TestNewDatabase(t *testing.T) {
	t.Parallel()
	var firstName string
	t.Run("DistinctAndEmpty", func(t *testing.T) {
		u1, u2 := NewDatabase(t), NewDatabase(t)
		if u1 == u2 {
			t.Fatalf("two calls gave the same database %s", u1)
		}
		c1, c2 := mustConnect(t, u1), mustConnect(t, u2)
		for _, c := range []*pgx.Conn{c1, c2} {
			if n := mustQueryInt(t, c, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"); n != 0 {
				t.Fatalf("new database has %d tables, want 0", n)
			}
			if enc := mustQueryString(t, c, "SHOW server_encoding"); enc != "UTF8" {
				t.Fatalf("server_encoding = %s, want UTF8", enc)
			}
		}
		mustExec(t, c1, "CREATE TABLE only_in_first (id int)")
		if n := mustQueryInt(t, c2, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'only_in_first'"); n != 0 {
			t.Fatal("a table created in the first database is visible in the second")
		}
		parsed, err := url.Parse(u1)
		if err != nil {
			t.Fatal(err)
		}
		firstName = strings.TrimPrefix(parsed.Path, "/")
		if !strings.HasPrefix(firstName, "testnewdatabase_distinctandempty_") {
			t.Fatalf("database name %q is not derived from the test name", firstName)
		}
		// c1 stays open: the drop at cleanup must force it closed.
	})
	admin := mustConnect(t, AdminURL(t))
	if n := mustQueryInt(t, admin, "SELECT count(*) FROM pg_database WHERE datname = $1", firstName); n != 0 {
		t.Fatalf("database %s still exists after its test ended", firstName)
	}
}

func mustQueryString(tb testing.TB, conn *pgx.Conn, sql string) string {
	tb.Helper()
	var s string
	if err := conn.QueryRow(context.Background(), sql).Scan(&s); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	return s
}

func TestClusterStopStart(t *testing.T) {
	t.Parallel()
	c := StartCluster(t)
	dsn := c.CreateDatabase(t, "app")
	if want := "postgres://postgres@127.0.0.1:" + strconv.Itoa(c.Port()) + "/app?sslmode=disable"; dsn != want {
		t.Fatalf("CreateDatabase URL = %s, want %s", dsn, want)
	}
	conn := mustConnect(t, dsn)
	mustExec(t, conn, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")
	if n := mustQueryInt(t, conn, "SELECT current_setting('max_connections')::int"); n != 300 {
		t.Fatalf("max_connections = %d, want 300", n)
	}

	c.Stop(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := conn.Ping(ctx); err == nil {
		t.Fatal("a connection opened before Stop still works")
	}
	if conn2, err := pgx.Connect(ctx, dsn); err == nil {
		conn2.Close(ctx)
		t.Fatal("connected to a stopped cluster")
	}
	c.Stop(t) // stopping twice is a no-op

	c.Start(t)
	conn = mustConnect(t, dsn)
	if n := mustQueryInt(t, conn, "SELECT v FROM kept"); n != 42 {
		t.Fatalf("after restart kept.v = %d, want 42", n)
	}
}

func TestClusterRunsUnprivileged(t *testing.T) {
	t.Parallel()
	c := StartCluster(t)
	conn := mustConnect(t, c.URL("postgres"))
	pid := mustQueryInt(t, conn, "SELECT pg_backend_pid()")
	uid := procUID(t, pid)
	if os.Geteuid() != 0 {
		if uid != os.Geteuid() {
			t.Fatalf("postgres runs as uid %d, want ours (%d)", uid, os.Geteuid())
		}
		return
	}
	if uid == 0 {
		t.Fatal("postgres runs as root")
	}
	want := "nobody"
	if _, err := user.Lookup("postgres"); err == nil {
		want = "postgres"
	}
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil || u.Username != want {
		t.Fatalf("postgres runs as uid %d (%v, %v), want user %s", uid, u, err, want)
	}
	fi, err := os.Stat(c.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode&0o077 != 0 {
		t.Fatalf("data directory mode %v: want no group or other access", mode)
	}
}

// procUID returns the real uid of a process, from /proc.
func procUID(tb testing.TB, pid int) int {
	tb.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		tb.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			uid, err := strconv.Atoi(strings.Fields(rest)[0])
			if err != nil {
				tb.Fatal(err)
			}
			return uid
		}
	}
	tb.Fatalf("no Uid line in /proc/%d/status", pid)
	return 0
}

func TestNewServer(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		srv, err := newServer("postgres://u:secret@db.example:6432/maint?sslmode=require")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := srv.databaseURL("t_1"), "postgres://u:secret@db.example:6432/t_1?sslmode=require"; got != want {
			t.Fatalf("databaseURL = %s, want %s", got, want)
		}
		if got, want := srv.adminURL(), "postgres://u:secret@db.example:6432/maint?sslmode=require"; got != want {
			t.Fatalf("adminURL = %s, want %s", got, want)
		}
	})
	t.Run("DefaultMaintenanceDatabase", func(t *testing.T) {
		srv, err := newServer("postgresql://u@h")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := srv.adminURL(), "postgresql://u@h/postgres"; got != want {
			t.Fatalf("adminURL = %s, want %s", got, want)
		}
	})
	t.Run("ErrNotURL", func(t *testing.T) {
		if _, err := newServer("host=h user=u"); err == nil {
			t.Fatal("a key=value DSN was accepted")
		}
	})
}

func TestDatabaseName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ test, stem string }{
		{"TestFoo", "testfoo"},
		{"TestFoo/Sub_Case#01", "testfoo_sub_case_01"},
		{"Test/ÄÖ-weird  name/", "test_weird_name"},
		{"///", "test"},
		{strings.Repeat("x", 100), strings.Repeat("x", maxNameStem)},
	} {
		got := databaseName(tc.test)
		stem, suffix, ok := cutLast(got, "_")
		if !ok || stem != tc.stem || len(suffix) != 8 || len(got) > 63 {
			t.Errorf("databaseName(%q) = %q, want %q plus _ and 8 hex digits", tc.test, got, tc.stem)
		}
	}
	if a, b := databaseName("T"), databaseName("T"); a == b {
		t.Errorf("two names for one test are equal: %s", a)
	}
}

func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

func TestSweepStale(t *testing.T) {
	t.Parallel()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale, err := os.MkdirTemp(baseTempDir(), tempPrefix)
	if err != nil {
		t.Fatal(err)
	}
	live, err := os.MkdirTemp(baseTempDir(), tempPrefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(stale); os.RemoveAll(live) })
	for dir, pid := range map[string]int{stale: dead.Process.Pid, live: os.Getpid()} {
		if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sweepStale()
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("directory of a dead test binary survived the sweep (%v)", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("directory of a live test binary was swept: %v", err)
	}
}

// TestGoleakIgnore runs serially, after the parallel tests are done with
// their private clusters, while the shared one is still up.
func TestGoleakIgnore(t *testing.T) {
	conn := mustConnect(t, NewDatabase(t))
	if n := mustQueryInt(t, conn, "SELECT 1"); n != 1 {
		t.Fatal("SELECT 1 != 1")
	}
	conn.Close(context.Background())
	if shared.cluster == nil {
		return // PODIUM_TEST_DATABASE_URL: no process of ours to ignore
	}
	if err := goleak.Find(); err == nil {
		t.Fatal("goleak found no goroutine while the shared cluster runs: is supervise still the goroutine's function?")
	}
	goleak.VerifyNone(t, GoleakIgnore())
}
