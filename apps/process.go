package apps

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/podiumhq/podium/internal/runas"
)

// Process states, as the processes API reports them.
const (
	StateStarting = "starting" // started, not listening yet
	StateReady    = "ready"    // listening, takes requests
	StateDraining = "draining" // an old bundle's process: finishes its connections, takes no new ones
	StateStopping = "stopping" // being stopped by the supervisor
	StateExited   = "exited"   // stopped by the supervisor
	StateCrashed  = "crashed"  // exited by itself
	StateFailed   = "failed"   // did not listen within InitTimeout
)

// process is one worker process of an app. Its mutable fields are guarded
// by the supervisor's mutex.
type process struct {
	pid      int
	port     int
	bundleID int64
	started  time.Time
	logPath  string
	cmd      *exec.Cmd
	proxy    *httputil.ReverseProxy
	done     chan struct{} // closed when the process has exited
	exitErr  error         // set before done is closed
	state    string
	conns    int
	served   int64
	idleFrom time.Time
	ended    time.Time
}

// ProcessInfo describes one process in the processes API.
type ProcessInfo struct {
	PID         int        `json:"pid"`
	Port        int        `json:"port"`
	BundleID    int64      `json:"bundle_id"`
	State       string     `json:"state"`
	Connections int        `json:"connections"`
	Served      int64      `json:"requests_served"`
	Started     time.Time  `json:"started_time"`
	Ended       *time.Time `json:"ended_time,omitempty"`
	Exit        string     `json:"exit,omitempty"`
}

func (p *process) info() ProcessInfo {
	i := ProcessInfo{PID: p.pid, Port: p.port, BundleID: p.bundleID, State: p.state, Connections: p.conns,
		Served: p.served, Started: p.started}
	if !p.ended.IsZero() {
		e := p.ended
		i.Ended = &e
		if p.exitErr != nil {
			i.Exit = p.exitErr.Error()
		} else {
			i.Exit = "exit status 0"
		}
	}
	return i
}

// freePort asks the kernel for a free loopback port. Another program may
// take it before the app listens; the app then fails to listen, and the
// supervisor replaces it.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// appPath is the PATH of an app process, where its serve.command is
// looked up.
const appPath = "/usr/local/bin:/usr/bin:/bin"

// credential returns the credential to run apps with: RunAs's when podium
// runs as root, nil (podium's own user) otherwise. home is the user's home
// directory.
func credential(runAs string) (cred *syscall.Credential, home string, err error) {
	if os.Geteuid() != 0 || runAs == "" {
		home, _ = os.UserHomeDir()
		return nil, home, nil
	}
	u, err := user.Lookup(runAs)
	if err != nil {
		return nil, "", fmt.Errorf("[Applications] RunAs %q: %w", runAs, err)
	}
	cred, err = runas.Credential(u)
	if errors.Is(err, runas.ErrRoot) {
		return nil, "", fmt.Errorf("[Applications] RunAs %q is root: applications must not run as root", runAs)
	}
	if err != nil {
		return nil, "", fmt.Errorf("[Applications] RunAs %q: %w", runAs, err)
	}
	return cred, u.HomeDir, nil
}

// startProcess starts app's serve command on a free port, with a clean
// environment, its output going to a new log file under logDir.
func (s *Supervisor) startProcess(app *App) (*process, error) {
	if len(app.Command) == 0 {
		return nil, fmt.Errorf("start %s: the manifest has no serve.command", app.GUID)
	}
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", app.GUID, err)
	}
	cred, home, err := credential(s.opts.RunAs)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", app.GUID, err)
	}
	appDir, copied, err := s.runDir(app, cred)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", app.GUID, err)
	}
	cleanup := func() {
		if copied {
			removeRunDir(appDir)
		}
	}
	dir := filepath.Join(s.opts.LogDir, app.GUID)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		cleanup()
		return nil, fmt.Errorf("start %s: log dir: %w", app.GUID, err)
	}
	now := s.opts.Now()
	logf, err := os.CreateTemp(dir, now.UTC().Format("20060102T150405")+"-*.log")
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("start %s: log file: %w", app.GUID, err)
	}
	defer logf.Close() // the child holds its own descriptor

	argv0 := app.Command[0]
	if !filepath.IsAbs(argv0) && filepath.Base(argv0) != argv0 {
		// "./server" or "bin/server": relative to the bundle.
		argv0 = filepath.Join(appDir, argv0)
	}
	// A bare name ("python3") is looked up as the app would: in its own
	// PATH, as RunAs; never in podium's PATH (exec.Command's lookup).
	exe, err := runas.LookPath(argv0, appPath, cred)
	if err != nil {
		err = fmt.Errorf("serve.command: %w", err)
		fmt.Fprintf(logf, "podium: cannot start %q: %v\n", app.Command, err)
		cleanup()
		return nil, fmt.Errorf("start %s: %w", app.GUID, err)
	}
	cmd := exec.Command(exe, app.Command[1:]...)
	cmd.Args[0] = argv0
	cmd.Dir = appDir
	basePathVar := app.BasePathEnv
	if basePathVar == "" {
		basePathVar = "PODIUM_BASE_PATH"
	}
	if home == "" {
		home = appDir
	}
	cmd.Env = append(slices.Clip(app.Env),
		"PATH="+appPath,
		"HOME="+home,
		"LANG=C.UTF-8",
		"PORT="+strconv.Itoa(port),
		basePathVar+"="+app.BasePath(),
		"PODIUM_CONTENT_GUID="+app.GUID,
	)
	// The runtime's variables last (os/exec keeps the last of a name):
	// its PATH replaces the default, and no content variable reaches it.
	cmd.Env = append(cmd.Env, app.RuntimeEnv...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group, so a stop reaches the app's children too; and
	// die with podium if podium is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	if err := cmd.Start(); err != nil {
		// A child that could not enter the bundle as RunAs gets a bare
		// "permission denied": say which directory and what to do.
		if cred != nil {
			if blocked := runas.Unsearchable(appDir, cred); blocked != "" {
				err = fmt.Errorf("[Applications] RunAs %q cannot enter %s, above the app's bundle: give it search permission (for example chmod o+x %s): %w",
					s.opts.RunAs, blocked, blocked, err)
			}
		}
		fmt.Fprintf(logf, "podium: cannot start %q: %v\n", app.Command, err)
		cleanup()
		return nil, fmt.Errorf("start %s: %w", app.GUID, err)
	}
	p := &process{pid: cmd.Process.Pid, port: port, bundleID: app.BundleID, started: now, logPath: logf.Name(),
		cmd: cmd, done: make(chan struct{}), state: StateStarting, idleFrom: now}
	target := &url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(port)}
	p.proxy = s.newReverseProxy(target, app.KeepPrefix)
	go func() {
		p.exitErr = cmd.Wait()
		cleanup() // before done: a stopped supervisor leaves no copy behind
		close(p.done)
	}()
	return p, nil
}

// waitListening waits until p accepts TCP connections, exits, or timeout
// passes.
func waitListening(ctx context.Context, p *process, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := "127.0.0.1:" + strconv.Itoa(p.port)
	d := net.Dialer{Timeout: 500 * time.Millisecond}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited before listening on $PORT (%v)", p.exitErr)
		case <-ctx.Done():
			return fmt.Errorf("did not listen on $PORT within %s", timeout)
		case <-tick.C:
		}
	}
}

// terminate stops p's process group: SIGTERM, then SIGKILL after grace or
// when ctx ends.
func terminate(ctx context.Context, p *process, grace time.Duration) {
	_ = syscall.Kill(-p.pid, syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return
	case <-t.C:
	case <-ctx.Done():
	}
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	<-p.done
}
