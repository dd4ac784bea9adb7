package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/podiumhq/podium/internal/testutil"
)

// Cluster is a private PostgreSQL server that a test owns and may stop and
// start, for example to test how Podium survives a database restart. It is
// always a throwaway cluster, even when PODIUM_TEST_DATABASE_URL is set.
// Its methods may be called from any goroutine, but the ones taking a
// testing.TB fail the test on error and so belong on the test's goroutine.
type Cluster struct {
	dir     string              // the temporary directory; holds data/, the socket and postgres.log
	dataDir string              // dir/data
	binDir  string              // where initdb and postgres are
	port    int                 // fixed for the cluster's life, so URLs survive a restart
	cred    *syscall.Credential // who initdb and postgres run as; nil for the current user
	extra   string              // postgresql.conf lines appended after clusterSettings

	mu sync.Mutex
	pm *postmaster // the running server, nil when stopped
}

// postmaster is one run of the postgres server process.
type postmaster struct {
	proc *os.Process
	done chan struct{} // closed when the process has exited
	err  error         // its exit status; read only after done is closed
}

// Settings appended to postgresql.conf. Durability is traded for speed: a
// test cluster never survives a machine crash anyway.
const clusterSettings = `
# Added by podium's dbprovider/pgtest.
listen_addresses = '127.0.0.1'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300		# multi-node tests open many pools
jit = off			# compiling queries costs more than it saves in tests
`

// Bounds for one start and one stop, before testutil.Timeout's scaling.
const (
	startTimeout = 60 * time.Second
	stopTimeout  = 60 * time.Second
)

// StartCluster initialises and starts a private throwaway cluster on a free
// port of 127.0.0.1, and stops and removes it when the test ends. The
// server binaries are found through PODIUM_TEST_PG_BINDIR (see
// [EnvBinDir]), `pg_config --bindir`, the newest /usr/lib/postgresql/*/bin,
// or initdb on PATH, in that order. The superuser is "postgres", without a
// password.
func StartCluster(tb testing.TB) *Cluster {
	tb.Helper()
	return StartClusterWithSettings(tb, "")
}

// StartClusterWithSettings is [StartCluster] with extra postgresql.conf
// lines, appended after pgtest's own (a benchmark that needs
// "shared_preload_libraries = 'pg_stat_statements'", for example).
func StartClusterWithSettings(tb testing.TB, settings string) *Cluster {
	tb.Helper()
	c, err := newCluster(settings)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.teardown(); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return c
}

// Port returns the TCP port the cluster listens on; it stays the same
// across [Cluster.Stop] and [Cluster.Start].
func (c *Cluster) Port() int { return c.port }

// PID returns the process id of the running postmaster, 0 when stopped
// (benchmarks read the CPU time of it and its children from /proc).
func (c *Cluster) PID() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pm == nil || c.pm.proc == nil {
		return 0
	}
	return c.pm.proc.Pid
}

// URL returns the URL of database db on the cluster, connecting as the
// superuser postgres: postgres://postgres@127.0.0.1:PORT/db?sslmode=disable.
func (c *Cluster) URL(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     "127.0.0.1:" + strconv.Itoa(c.port),
		RawQuery: "sslmode=disable",
	}
	return withDatabase(&u, db).String()
}

// CreateDatabase creates database name (used as given, quoted) on the
// running cluster and returns its URL. It is removed with the cluster.
func (c *Cluster) CreateDatabase(tb testing.TB, name string) string {
	tb.Helper()
	srv, err := newServer(c.URL("postgres"))
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(30*time.Second))
	defer cancel()
	if err := srv.createDatabase(ctx, name); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return c.URL(name)
}

// Stop shuts the server down the way `pg_ctl stop -m fast` does (SIGINT:
// open transactions are rolled back, clients disconnected) and waits until
// the process has exited. Stopping a stopped cluster does nothing.
func (c *Cluster) Stop(tb testing.TB) {
	tb.Helper()
	if err := c.stop(); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
}

// Start starts the stopped server again on the same port and data
// directory, and waits until it accepts connections. Starting a running
// cluster fails the test.
func (c *Cluster) Start(tb testing.TB) {
	tb.Helper()
	if err := c.start(); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
}

// newCluster initialises a cluster in a new temporary directory and starts
// it on a free port.
func newCluster(extra string) (_ *Cluster, err error) {
	sweepOnce.Do(sweepStale)
	binDir, err := findBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(baseTempDir(), tempPrefix)
	if err != nil {
		return nil, fmt.Errorf("new cluster: %w", err)
	}
	c := &Cluster{dir: dir, dataDir: filepath.Join(dir, "data"), binDir: binDir, cred: cred, extra: extra}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.teardown())
		}
	}()
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, fmt.Errorf("new cluster: %w", err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("new cluster: %w", err)
		}
	}
	if err := c.initdb(); err != nil {
		return nil, err
	}
	// The port is free when picked but may be taken before postgres binds
	// it; a few attempts make that race harmless.
	for attempt := 1; ; attempt++ {
		if c.port, err = freePort(); err != nil {
			return nil, fmt.Errorf("new cluster: %w", err)
		}
		if err = c.start(); err == nil {
			return c, nil
		}
		if attempt == 3 {
			return nil, err
		}
	}
}

// initdb creates the data directory and appends clusterSettings to its
// postgresql.conf.
func (c *Cluster) initdb() error {
	cmd := exec.Command(filepath.Join(c.binDir, "initdb"),
		"-D", c.dataDir, "-U", "postgres", "--auth=trust", "--no-sync",
		"--encoding=UTF8", "--locale=C")
	cmd.Dir = c.dir
	cmd.Env = childEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb %s: %w\n%s", c.dataDir, err, out)
	}
	settings := clusterSettings
	// A Unix socket path is limited to 107 bytes; without one the cluster
	// is still reachable over TCP, which is all the tests use.
	if len(c.dir)+len("/.s.PGSQL.65535") < 100 {
		settings += "unix_socket_directories = '" + c.dir + "'\n"
	} else {
		settings += "unix_socket_directories = ''\n"
	}
	settings += c.extra
	f, err := os.OpenFile(filepath.Join(c.dataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	_, err = f.WriteString(settings)
	if err := errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("initdb: write postgresql.conf: %w", err)
	}
	return nil
}

// start runs postgres and waits until it accepts connections.
//
// postgres runs as a direct child rather than through pg_ctl (which
// detaches it), so that it can have a parent-death signal: if the test
// binary dies (killed, or go test's -timeout), the kernel sends postgres
// SIGQUIT and it shuts down immediately, taking its backends with it.
func (c *Cluster) start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pm != nil {
		return fmt.Errorf("start cluster on port %d: already running", c.port)
	}
	logPath := filepath.Join(c.dir, "postgres.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("start cluster: %w", err)
	}
	logStart, _ := logf.Seek(0, 2)
	cmd := exec.Command(filepath.Join(c.binDir, "postgres"), "-D", c.dataDir, "-p", strconv.Itoa(c.port))
	cmd.Dir = c.dir
	cmd.Env = childEnv()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: c.cred,
		Pdeathsig:  syscall.SIGQUIT,
		Setpgid:    true, // a ^C meant for go test must not stop the server under the cleanup
	}
	pm := &postmaster{done: make(chan struct{})}
	started := make(chan error, 1)
	go supervise(cmd, logf, pm, started)
	if err := <-started; err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	if err := c.waitReady(pm); err != nil {
		_ = pm.proc.Signal(syscall.SIGQUIT)
		select {
		case <-pm.done:
		case <-time.After(testutil.Timeout(stopTimeout)):
			_ = pm.proc.Kill()
			<-pm.done
		}
		return fmt.Errorf("start postgres on port %d: %w\n%s", c.port, err, logTail(logPath, logStart))
	}
	c.pm = pm
	return nil
}

// supervise starts cmd and waits for it, on an OS thread it never gives
// back: the kernel sends the parent-death signal when the thread that forked
// the child exits, not the process, so that thread must outlive postgres.
// When supervise returns, the runtime ends the locked thread.
func supervise(cmd *exec.Cmd, logf *os.File, pm *postmaster, started chan<- error) {
	runtime.LockOSThread()
	defer logf.Close()
	if err := cmd.Start(); err != nil {
		started <- err
		return
	}
	pm.proc = cmd.Process
	started <- nil
	pm.err = cmd.Wait()
	close(pm.done)
}

// waitReady waits until the server accepts connections, or fails early if
// it exits.
func (c *Cluster) waitReady(pm *postmaster) error {
	deadline := time.Now().Add(testutil.Timeout(startTimeout))
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-pm.done:
			return fmt.Errorf("postgres exited: %v", pm.err)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		lastErr = err
		time.Sleep(testutil.PollInterval)
	}
	return fmt.Errorf("not accepting connections after %s: %w", testutil.Timeout(startTimeout), lastErr)
}

// stop sends SIGINT (fast shutdown) and waits for the server to exit,
// escalating to SIGQUIT (immediate shutdown) and SIGKILL if it hangs.
func (c *Cluster) stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	pm := c.pm
	if pm == nil {
		return nil
	}
	c.pm = nil
	for _, sig := range []os.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGKILL} {
		if err := pm.proc.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("stop postgres on port %d: %w", c.port, err)
		}
		select {
		case <-pm.done:
			if sig != syscall.SIGINT {
				return fmt.Errorf("stop postgres on port %d: did not stop on SIGINT within %s, needed %v", c.port, testutil.Timeout(stopTimeout), sig)
			}
			if pm.err != nil {
				return fmt.Errorf("stop postgres on port %d: %w", c.port, pm.err)
			}
			return nil
		case <-time.After(testutil.Timeout(stopTimeout)):
		}
	}
	return fmt.Errorf("stop postgres on port %d: still running after SIGKILL", c.port)
}

// teardown stops the server and removes the cluster's directory.
func (c *Cluster) teardown() error {
	err := c.stop()
	if rmErr := os.RemoveAll(c.dir); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("remove cluster: %w", rmErr))
	}
	return err
}

// childEnv is the environment of initdb and postgres: ours without the PG*
// variables (PGDATA, PGPORT... would override our flags) and with the C
// locale, so that no message or setting depends on the machine.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}

// logTail returns what postgres logged since offset from, at most the last
// 4 KiB.
func logTail(path string, from int64) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if from >= 0 && from <= int64(len(b)) {
		b = b[from:]
	}
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(bytes.TrimSpace(b))
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
