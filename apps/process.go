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
	"github.com/podiumhq/podium/internal/sandbox"
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
	sb       *sandbox.Process
	dialKey  string // the host of the proxy's target, when the process has its own network namespace
	proxy    *httputil.ReverseProxy
	// up holds the direct path's connections to the process; nil when
	// every request takes proxy ([Applications] Proxy = standard).
	up         *upstream
	keepPrefix bool
	done       chan struct{} // closed when the process has exited
	exitErr    error         // set before done is closed
	// limitKill says which limit killed the process, "" if none; set
	// before done is closed.
	limitKill string
	state     string
	conns     int
	served    int64
	idleFrom  time.Time
	ended     time.Time
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

// Live reports whether a process of state runs: starting, ready,
// draining or stopping. A process that has ended is exited, crashed or
// failed; a failed one is failed once its process is gone (terminated
// after InitTimeout), a moment before it is recorded as ended, so its
// Ended time is not the test.
func Live(state string) bool {
	switch state {
	case StateStarting, StateReady, StateDraining, StateStopping:
		return true
	}
	return false
}

func (p *process) info() ProcessInfo {
	i := ProcessInfo{PID: p.pid, Port: p.port, BundleID: p.bundleID, State: p.state, Connections: p.conns,
		Served: p.served, Started: p.started}
	if !p.ended.IsZero() {
		e := p.ended
		i.Ended = &e
		if p.limitKill != "" {
			i.Exit = p.limitKill
		} else if p.exitErr != nil {
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
	sb := s.opts.Sandbox
	sandboxed := sb != nil && !sb.Off()
	var (
		cred *syscall.Credential
		home string
	)
	if sandboxed {
		// The content's own uid; its home is the sandbox's private /tmp.
		cred, err = sb.Identity(app.ContentID, app.RunAs)
		home = "/tmp"
	} else if sb != nil && app.RunAs != "" {
		cred, err = sb.Identity(app.ContentID, app.RunAs)
		if err == nil && cred != nil {
			if u, uerr := user.LookupId(strconv.FormatUint(uint64(cred.Uid), 10)); uerr == nil {
				home = u.HomeDir
			}
		}
	} else {
		cred, home, err = credential(s.opts.RunAs)
	}
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", app.GUID, err)
	}
	appDir, copied := app.Dir, false
	if !sandboxed {
		// A sandbox shows the bundle at its path whatever the
		// directories above it allow; without one, RunAs must enter them.
		if appDir, copied, err = s.runDir(app, cred); err != nil {
			return nil, fmt.Errorf("start %s: %w", app.GUID, err)
		}
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
	var sp *sandbox.Process
	if sb != nil {
		sp, err = sb.Command(&sandbox.Spec{Kind: sandbox.KindApp, Name: app.GUID, Cred: cred, ReadOnly: append([]string{appDir}, app.ReadOnly...),
			Net: true, Limits: app.SandboxLimits}, exe, app.Command[1:]...)
		if err != nil {
			cleanup()
			return nil, fmt.Errorf("start %s: %w", app.GUID, err)
		}
	} else {
		cmd := exec.Command(exe, app.Command[1:]...)
		// Own process group, so a stop reaches the app's children too; and
		// die with podium if podium is killed.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
		cmd.Args[0] = argv0
		sp = sandbox.Unsandboxed(cmd)
	}
	cmd := sp.Cmd
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
	if err := sp.Start(); err != nil {
		// A child that could not enter the bundle as RunAs gets a bare
		// "permission denied": say which directory and what to do.
		if cred != nil && !sandboxed {
			if blocked := runas.Unsearchable(appDir, cred); blocked != "" {
				err = fmt.Errorf("[Applications] RunAs %q cannot enter %s, above the app's bundle: give it search permission (for example chmod o+x %s): %w",
					s.opts.RunAs, blocked, blocked, err)
			}
		}
		fmt.Fprintf(logf, "podium: cannot start %q: %v\n", app.Command, err)
		cleanup()
		return nil, fmt.Errorf("start %s: %w", app.GUID, err)
	}
	p := &process{pid: sp.Pid(), port: port, bundleID: app.BundleID, started: now, logPath: logf.Name(),
		sb: sp, done: make(chan struct{}), state: StateStarting, idleFrom: now}
	target := &url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(port)}
	if sp.Isolated() {
		// The transport's connections are kept per host: each process
		// gets its own, which its dialer knows.
		p.dialKey = "sandbox-" + strconv.Itoa(p.pid) + ".invalid:" + strconv.Itoa(port)
		target.Host = p.dialKey
		s.dialers.Store(p.dialKey, sp)
	}
	p.proxy = s.newReverseProxy(target, app.KeepPrefix)
	p.keepPrefix = app.KeepPrefix
	if s.opts.Proxy != ProxyStandard {
		p.up = &upstream{maxIdle: max(512, s.opts.Limits.MaxConnsPerProcess), dial: s.dialProcess(sp, port), host: target.Host}
	}
	logName := logf.Name()
	go func() {
		p.exitErr = sp.Wait()
		if why := sp.LimitKill(); why != "" {
			p.limitKill = why
			appendLog(logName, "podium: the process was "+why)
		}
		if p.dialKey != "" {
			s.dialers.Delete(p.dialKey)
		}
		if p.up != nil {
			p.up.close()
		}
		cleanup() // before done: a stopped supervisor leaves no copy behind
		close(p.done)
	}()
	return p, nil
}

// appendLog adds a line of podium's own to a process log.
func appendLog(path, line string) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = fmt.Fprintln(f, line)
}

// waitListening waits until p accepts TCP connections, exits, or timeout
// passes.
func waitListening(ctx context.Context, p *process, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		dctx, dcancel := context.WithTimeout(ctx, 500*time.Millisecond)
		c, err := p.sb.Dial(dctx, p.port)
		dcancel()
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
	p.sb.Terminate()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return
	case <-t.C:
	case <-ctx.Done():
	}
	p.sb.Kill()
	<-p.done
}
