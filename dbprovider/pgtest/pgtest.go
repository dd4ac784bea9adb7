// Package pgtest gives tests a PostgreSQL server: each test gets its own
// empty database on a shared server ([NewDatabase]), and tests that must
// stop and restart PostgreSQL get a private one ([StartCluster]).
//
// The shared server is the one named by PODIUM_TEST_DATABASE_URL when that
// is set. Otherwise it is a throwaway cluster that pgtest initialises in a
// temporary directory from the machine's PostgreSQL server binaries and
// starts on a free port the first time a test asks for a database. A package
// that calls [NewDatabase] or [AdminURL] must stop that cluster at the end
// by calling [Main] (or [Run]) from its TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// Throwaway clusters listen on 127.0.0.1 only, trust every local
// connection, and trade durability for speed (fsync, synchronous_commit and
// full_page_writes are off). When the tests run as root, initdb and postgres
// run as the "postgres" system user (or "nobody"), because PostgreSQL
// refuses to run as root. postgres is a direct child of the test binary and
// gets SIGQUIT (immediate shutdown) if the test binary dies, so a killed
// test leaves no server behind; its directory under os.TempDir()
// (podium-pgtest-*) is removed by the next test binary that starts a
// cluster.
//
// A test that needs PostgreSQL never skips: when no server binaries are
// found the test fails, naming what to install (scripts/ensure-deps.sh does
// it).
//
// pgtest is for tests only; no production package may import it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/podiumhq/podium/internal/testutil"
)

// EnvDatabaseURL names the environment variable holding the URL of an
// existing PostgreSQL server on which the tests may create and drop
// databases, for example
// postgres://podium:secret@db.example:5432/postgres?sslmode=disable. Its
// path names the maintenance database that [AdminURL] returns. When it is
// unset, tests use a throwaway cluster.
const EnvDatabaseURL = "PODIUM_TEST_DATABASE_URL"

// shared is the server behind NewDatabase and AdminURL, set up once per
// test binary.
var shared struct {
	once    sync.Once
	srv     *server
	cluster *Cluster // nil when the server comes from EnvDatabaseURL
	err     error
}

// mainCalled records that Main or Run owns the shared cluster's shutdown.
var mainCalled atomic.Bool

// Main runs the tests, stops the shared throwaway cluster if one was
// started, and exits with the tests' exit code. Call it from TestMain in
// every package that uses [NewDatabase] or [AdminURL].
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run is [Main] without the exit: it runs the tests, stops the shared
// cluster and returns the exit code, for a TestMain that has more to do
// afterwards, such as checking for leaked goroutines:
//
//	func TestMain(m *testing.M) {
//		code := pgtest.Run(m)
//		if err := goleak.Find(); code == 0 && err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			code = 1
//		}
//		os.Exit(code)
//	}
func Run(m *testing.M) int {
	mainCalled.Store(true)
	code := m.Run()
	if c := shared.cluster; c != nil {
		if err := c.teardown(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stop the shared cluster: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// GoleakIgnore returns the goleak option that ignores the goroutines pgtest
// keeps while a cluster runs (one per postgres process), for tests that call
// goleak.VerifyNone while the shared cluster is up.
func GoleakIgnore() goleak.Option {
	return goleak.IgnoreAnyFunction("github.com/podiumhq/podium/dbprovider/pgtest.supervise")
}

// NewDatabase creates a fresh, empty database for this test, named after
// tb.Name() with a random suffix, drops it when the test ends (WITH (FORCE),
// so connections left open do not block the drop), and returns its URL:
// postgres://postgres@127.0.0.1:PORT/NAME?sslmode=disable for a throwaway
// cluster, or PODIUM_TEST_DATABASE_URL with its path replaced.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	srv := sharedServer(tb)
	name := databaseName(tb.Name())
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(30*time.Second))
	defer cancel()
	if err := srv.createDatabase(ctx, name); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(30*time.Second))
		defer cancel()
		if err := srv.dropDatabase(ctx, name); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return srv.databaseURL(name)
}

// AdminURL returns the URL of the shared server's maintenance database
// (postgres), connected as a superuser on a throwaway cluster, for tests that
// need to create roles or inspect the server. Objects created there outlive
// the test unless the test removes them; roles are global to the server.
func AdminURL(tb testing.TB) string {
	tb.Helper()
	return sharedServer(tb).adminURL()
}

// sharedServer returns the server behind NewDatabase, starting the
// throwaway cluster on first use.
func sharedServer(tb testing.TB) *server {
	tb.Helper()
	shared.once.Do(func() {
		if raw := os.Getenv(EnvDatabaseURL); raw != "" {
			shared.srv, shared.err = newServer(raw)
			if shared.err != nil {
				shared.err = fmt.Errorf("%s: %w", EnvDatabaseURL, shared.err)
			}
			return
		}
		if !mainCalled.Load() {
			shared.err = fmt.Errorf("the shared PostgreSQL cluster is stopped by pgtest.Main: add `func TestMain(m *testing.M) { pgtest.Main(m) }` to this package (or set %s)", EnvDatabaseURL)
			return
		}
		c, err := newCluster("")
		if err != nil {
			shared.err = err
			return
		}
		shared.cluster = c
		shared.srv, shared.err = newServer(c.URL("postgres"))
	})
	if shared.err != nil {
		tb.Fatalf("pgtest: %v", shared.err)
	}
	return shared.srv
}

// maxNameStem bounds the part of a database name taken from the test name:
// PostgreSQL identifiers are at most 63 bytes and the suffix takes 9.
const maxNameStem = 48

// databaseName turns a test name into a database name: lower-case letters,
// digits and single underscores, then an underscore and 8 random hex digits
// so that reruns (-count) and parallel tests never collide.
func databaseName(testName string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(testName) {
		if b.Len() >= maxNameStem {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			under = false
		case !under && b.Len() > 0:
			b.WriteByte('_')
			under = true
		}
	}
	stem := strings.TrimRight(b.String(), "_")
	if stem == "" {
		stem = "test"
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:]) // never fails (crypto/rand since Go 1.24)
	return stem + "_" + hex.EncodeToString(suffix[:])
}

// withDatabase returns a copy of base naming database db instead.
func withDatabase(base *url.URL, db string) *url.URL {
	u := *base
	u.Path = "/" + db
	u.RawPath = ""
	return &u
}
