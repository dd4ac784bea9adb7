package nodetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/testutil"
)

// Timeouts, before testutil.Timeout scaling.
const (
	// ReadyTimeout bounds the wait for a node's first 200 on /__ping__.
	ReadyTimeout = 30 * time.Second
	// StopTimeout bounds the wait after SIGTERM before SIGKILL.
	StopTimeout = 15 * time.Second
	// RunTimeout bounds a command started by Run.
	RunTimeout = 60 * time.Second
)

// Options configure a node started by [StartNode] or [Start], or a
// configuration file written by [WriteConfig]. The zero value is a
// single node on SQLite in fresh temp directories.
type Options struct {
	// Binary is the podium executable; "" means Binary(tb).
	Binary string
	// DataDir is [Server] DataDir; "" means a new tb.TempDir(). Nodes of
	// one cluster share it.
	DataDir string
	// StateDir is [Server] StateDir; "" means a new tb.TempDir(), so that
	// several nodes may share a DataDir.
	StateDir string
	// Listen is [HTTP] Listen; "" means 127.0.0.1 and a free port.
	Listen string
	// Config is gcfg text appended to the generated file; a key set here
	// overrides the generated one.
	Config string
	// Env adds environment variables ("KEY=value") to the process. The
	// test process's PODIUM_* variables are not inherited, except
	// PODIUM_TEST_*.
	Env []string
	// Postgres, when set, is the URL of the node's PostgreSQL database:
	// [Database] Provider = postgres, [Postgres] URL, and [HA] Enabled =
	// true unless NoHA.
	Postgres string
	// NoHA leaves [HA] Enabled unset on PostgreSQL.
	NoHA bool
	// Args are extra arguments after "serve".
	Args []string
	// Name names the node in the test log; "" means "node".
	Name string
	// Dir is the working directory of the process; "" means the test
	// process's.
	Dir string
	// NoConfig starts the node without --config (Dir, Env and the
	// defaults decide everything; Listen goes in PODIUM_HTTP_LISTEN).
	NoConfig bool

	// autoListen records that Listen was picked here, so that a start
	// that loses the port to another process can retry on a new one.
	autoListen bool
}

// WriteConfig writes the gcfg file that StartNode would use for opts (it
// fills in opts' empty DataDir, StateDir and Listen) and returns its path,
// so that other commands (podium migrate, podium db) can run on the same
// configuration.
func WriteConfig(tb testing.TB, opts *Options) string {
	tb.Helper()
	if opts.DataDir == "" {
		opts.DataDir = tb.TempDir()
	}
	if opts.StateDir == "" {
		opts.StateDir = tb.TempDir()
	}
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:" + strconv.Itoa(testutil.FreePort(tb))
		opts.autoListen = true
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# written by internal/nodetest for %s\n", tb.Name())
	fmt.Fprintf(&b, "[Server]\nDataDir = %s\nStateDir = %s\nShutdownGracePeriod = 5s\n", quote(opts.DataDir), quote(opts.StateDir))
	if !strings.Contains(strings.ToLower(opts.Config), "draindelay") {
		// A cluster node drains for 3s by default (config.DefaultHADrainDelay);
		// tests stop nodes often and say so when they want a drain.
		b.WriteString("DrainDelay = 0s\n")
	}
	fmt.Fprintf(&b, "[HTTP]\nListen = %s\n", quote(opts.Listen))
	fmt.Fprintf(&b, "[Database]\nSchemaCheckInterval = 1s\n")
	if opts.Postgres != "" {
		fmt.Fprintf(&b, "Provider = postgres\n[Postgres]\nURL = %s\n", quote(opts.Postgres))
		if !opts.NoHA {
			fmt.Fprintf(&b, "[HA]\nEnabled = true\n")
		}
	}
	if opts.Config != "" {
		b.WriteString(opts.Config)
		b.WriteString("\n")
	}
	f, err := os.CreateTemp(tb.TempDir(), "podium-*.gcfg")
	if err != nil {
		tb.Fatalf("nodetest: config: %v", err)
	}
	defer f.Close()
	if _, err := f.WriteString(b.String()); err != nil {
		tb.Fatalf("nodetest: config: %v", err)
	}
	return f.Name()
}

// quote writes a gcfg value in double quotes (paths and URLs may hold
// ';', '#' or spaces).
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

// Node is a podium process started by [Start] or [StartNode].
type Node struct {
	// Cmd is the running process.
	Cmd *exec.Cmd
	// URL is the node's base URL, http://127.0.0.1:port.
	URL string
	// ConfigPath is the node's configuration file ("" with NoConfig).
	ConfigPath string
	// DataDir and StateDir are the node's directories.
	DataDir, StateDir string
	// Name names the node in the test log.
	Name string
	// Opts are the options the node was started with, defaults filled in.
	Opts Options

	log  *syncBuffer
	done chan struct{}
	code int
	err  error
}

// StartNode starts `podium serve --config X --log-format json` and waits
// until GET /__ping__ answers 200. It fails the test, with the node's log,
// if the process exits first or the wait times out. The process is stopped
// (SIGTERM, then SIGKILL) when the test ends.
func StartNode(tb testing.TB, opts Options) *Node {
	tb.Helper()
	for attempt := 0; ; attempt++ {
		n := Start(tb, opts)
		err := n.waitReady(testutil.Timeout(ReadyTimeout))
		if err == nil {
			return n
		}
		if n.Opts.autoListen && attempt < 2 && strings.Contains(n.Log(), "address already in use") {
			// Another process took the free port between FreePort and
			// listen: try a new one.
			opts.Listen = ""
			continue
		}
		tb.Fatalf("nodetest: %s: %v\n%s", n.Name, err, n.logBlock())
	}
}

// Start starts `podium serve` for opts without waiting for it to be ready
// (for tests of refusals: use Wait for the exit code and Log for the
// message). The process is stopped when the test ends.
func Start(tb testing.TB, opts Options) *Node {
	tb.Helper()
	if opts.Binary == "" {
		opts.Binary = Binary(tb)
	}
	if opts.Name == "" {
		opts.Name = "node"
	}
	n := &Node{Name: opts.Name, log: &syncBuffer{}, done: make(chan struct{})}
	var args []string
	if !opts.NoConfig {
		n.ConfigPath = WriteConfig(tb, &opts)
		args = append(args, "--config", n.ConfigPath)
	} else {
		if opts.Listen == "" {
			opts.Listen = "127.0.0.1:" + strconv.Itoa(testutil.FreePort(tb))
			opts.autoListen = true
		}
		opts.Env = append(append([]string(nil), opts.Env...), "PODIUM_HTTP_LISTEN="+opts.Listen)
	}
	args = append(args, "--log-format", "json", "serve")
	args = append(args, opts.Args...)
	n.Opts = opts
	n.DataDir, n.StateDir = opts.DataDir, opts.StateDir
	n.URL = "http://" + opts.Listen

	cmd := exec.Command(opts.Binary, args...)
	cmd.Dir = opts.Dir
	cmd.Env = environ(opts.Env)
	cmd.Stdout, cmd.Stderr = n.log, n.log
	// Its own process group, so that cleanup also ends any child the node
	// started (application processes).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	n.Cmd = cmd
	if err := cmd.Start(); err != nil {
		tb.Fatalf("nodetest: start %s: %v", n.Name, err)
	}
	go func() {
		err := cmd.Wait()
		n.code, n.err = exitCode(err)
		close(n.done)
	}()
	tb.Cleanup(func() {
		if _, done := n.Exited(); !done {
			_ = n.Signal(syscall.SIGTERM)
			select {
			case <-n.done:
			case <-time.After(testutil.Timeout(StopTimeout)):
				tb.Logf("nodetest: %s did not stop within %s of SIGTERM: killing it", n.Name, testutil.Timeout(StopTimeout))
			}
		}
		// The group may hold children even after the node exited.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-n.done
		if strings.Contains(n.Log(), "WARNING: DATA RACE") {
			tb.Errorf("nodetest: %s: the race detector found a data race in the podium process", n.Name)
		}
		if tb.Failed() {
			tb.Logf("nodetest: log of %s (%s):\n%s", n.Name, n.URL, n.logBlock())
		}
	})
	return n
}

// environ is the test process's environment without its PODIUM_*
// variables (a developer's PODIUM_CONFIG must not leak into a test), except
// PODIUM_TEST_*, plus extra.
func environ(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PODIUM_") && !strings.HasPrefix(kv, "PODIUM_TEST_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// exitCode turns cmd.Wait's error into an exit code: a signal death is
// 128+signal, as in a shell.
func exitCode(err error) (int, error) {
	if err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	return -1, err
}

func (n *Node) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if code, done := n.Exited(); done {
			return fmt.Errorf("exited with code %d before /__ping__ answered 200", code)
		}
		if status, _, err := n.Ping(); err == nil && status == http.StatusOK {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("/__ping__ did not answer 200 within %s", timeout)
		}
		select {
		case <-n.done:
		case <-time.After(testutil.PollInterval):
		}
	}
}

// WaitReady waits until /__ping__ answers 200, failing the test with the
// node's log if the process exits first or timeout (scaled) passes.
func (n *Node) WaitReady(tb testing.TB, timeout time.Duration) {
	tb.Helper()
	if err := n.waitReady(testutil.Timeout(timeout)); err != nil {
		tb.Fatalf("nodetest: %s: %v\n%s", n.Name, err, n.logBlock())
	}
}

// Wait waits up to timeout (scaled) for the process to exit and returns its
// exit code (128+signal if a signal ended it).
func (n *Node) Wait(timeout time.Duration) (exitCode int, err error) {
	select {
	case <-n.done:
		return n.code, n.err
	case <-time.After(testutil.Timeout(timeout)):
		return -1, fmt.Errorf("nodetest: %s still running after %s", n.Name, testutil.Timeout(timeout))
	}
}

// Exited reports whether the process has exited, and its exit code.
func (n *Node) Exited() (code int, done bool) {
	select {
	case <-n.done:
		return n.code, true
	default:
		return 0, false
	}
}

// Done is closed when the process has exited.
func (n *Node) Done() <-chan struct{} { return n.done }

// Stop sends SIGTERM, waits for the exit (failing the test after
// StopTimeout, scaled) and returns the exit code.
func (n *Node) Stop(tb testing.TB) int {
	tb.Helper()
	if err := n.Signal(syscall.SIGTERM); err != nil {
		tb.Fatalf("nodetest: stop %s: %v", n.Name, err)
	}
	code, err := n.Wait(StopTimeout)
	if err != nil {
		tb.Fatalf("%v\n%s", err, n.logBlock())
	}
	return code
}

// Kill sends SIGKILL to the node and its process group, and waits for the
// exit.
func (n *Node) Kill(tb testing.TB) {
	tb.Helper()
	_ = syscall.Kill(-n.Cmd.Process.Pid, syscall.SIGKILL)
	if _, err := n.Wait(StopTimeout); err != nil {
		tb.Fatalf("nodetest: kill %s: %v", n.Name, err)
	}
}

// Signal sends sig to the node's process (not its group). Signalling an
// exited process is not an error.
func (n *Node) Signal(sig os.Signal) error {
	if _, done := n.Exited(); done {
		return nil
	}
	err := n.Cmd.Process.Signal(sig)
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}

// Log returns what the process wrote to stdout and stderr so far.
func (n *Node) Log() string { return n.log.String() }

// logBlock is the log, indented and labelled, for failure messages.
func (n *Node) logBlock() string {
	s := strings.TrimRight(n.Log(), "\n")
	if s == "" {
		return "  (" + n.Name + " wrote nothing)"
	}
	return "  | " + strings.ReplaceAll(s, "\n", "\n  | ")
}

// WaitLog waits until the node's log contains substr, failing the test
// with the log after timeout (scaled).
func (n *Node) WaitLog(tb testing.TB, timeout time.Duration, substr string) {
	tb.Helper()
	deadline := time.Now().Add(testutil.Timeout(timeout))
	for !strings.Contains(n.Log(), substr) {
		if time.Now().After(deadline) {
			tb.Fatalf("nodetest: %s: log does not contain %q after %s:\n%s", n.Name, substr, testutil.Timeout(timeout), n.logBlock())
		}
		time.Sleep(testutil.PollInterval)
	}
}

var pingClient = &http.Client{Timeout: 5 * time.Second}

// Ping sends GET /__ping__ and returns the status and the decoded JSON body
// (nil if the body is not JSON).
func (n *Node) Ping() (status int, body map[string]any, err error) {
	resp, err := pingClient.Get(n.URL + "/__ping__")
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	_ = json.Unmarshal(raw, &body)
	return resp.StatusCode, body, nil
}

// Run runs the podium binary bin with args (for example "--config", path,
// "migrate", "status") and the extra environment env, and returns its
// stdout, stderr and exit code. It fails the test if the process cannot be
// started or runs longer than RunTimeout (scaled).
func Run(tb testing.TB, bin string, env []string, args ...string) (stdout, stderr string, code int) {
	tb.Helper()
	return RunIn(tb, "", bin, env, args...)
}

// RunIn is [Run] in the working directory dir.
func RunIn(tb testing.TB, dir, bin string, env []string, args ...string) (stdout, stderr string, code int) {
	tb.Helper()
	if bin == "" {
		bin = Binary(tb)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(RunTimeout))
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = environ(env)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		tb.Fatalf("nodetest: podium %s: still running after %s\nstdout:\n%s\nstderr:\n%s",
			strings.Join(args, " "), testutil.Timeout(RunTimeout), out.String(), errb.String())
	}
	code, err = exitCode(err)
	if err != nil {
		tb.Fatalf("nodetest: podium %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
}

// syncBuffer is a bytes.Buffer safe for one writer and many readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
