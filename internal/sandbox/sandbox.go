// Package sandbox runs the processes Podium starts for content (apps and
// APIs, renders, Python and R environment builds) each in a sandbox of
// Linux namespaces, so that one publisher's code can neither read, reach,
// signal nor starve another's.
//
// A sandboxed process is started by bubblewrap (bwrap, Debian's
// "bubblewrap"), run by podium as root, which gives it
//
//   - its own mount namespace whose root is an empty tmpfs: the system
//     directories (/usr, /etc, /opt, …) read-only, the directories the
//     caller names (the content's bundle, its package environment, the
//     runtimes) read-only, its scratch directories writable, its own /proc
//     and /dev, and a private /tmp of bounded size; never the data
//     directory, other bundles, the database or the node's configuration;
//   - its own pid and IPC namespaces: other processes are invisible and
//     cannot be signalled;
//   - a uid and gid of its content item (setpriv, before the command runs:
//     no supplementary groups, no capabilities, no_new_privs);
//   - for apps, its own network namespace with only a loopback device: the
//     app listens on 127.0.0.1:$PORT inside it, and podium reaches it
//     through a socket it creates in that namespace ([Process.Dial]), so
//     nothing else on the host can connect to it;
//   - limits: a cgroup (v1, where the host lets podium create one) per
//     content item for memory and process count, and for CPU share when
//     one is set, and rlimits (prlimit) for open files and processes per
//     uid;
//   - no controlling terminal: where the node has one, bwrap starts the
//     content in a session of its own (--new-session).
//
// Every process dies with its node: the bwrap podium starts gets
// PR_SET_PDEATHSIG (SIGKILL), bwrap's init inside the namespace gets the
// same (--die-with-parent), and the death of a pid namespace's init kills
// every process in it. [Sandbox.Sweep] kills what is left in this node's
// cgroups at start.
//
// It imports only the standard library, internal/runas and
// golang.org/x/sys/unix.
package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/podiumhq/podium/internal/runas"
)

// Network modes ([Applications] SandboxNetwork).
const (
	// NetworkIsolated gives each app process its own network namespace
	// with only a loopback device: no other process can connect to it,
	// and it has no outbound network.
	NetworkIsolated = "isolated"
	// NetworkHost leaves apps in the host's network namespace: outbound
	// connections work as on the host, and any local process can connect
	// to an app's port.
	NetworkHost = "host"
)

// Config is the sandbox's part of [Applications].
type Config struct {
	// Off runs content processes without a sandbox, as RunAs
	// ([Applications] Sandbox = off).
	Off bool
	// RunAs is the user content runs as when Off ([Applications] RunAs).
	RunAs string
	// UIDFirst and UIDLast bound the uids (and gids) of content items
	// ([Applications] SandboxUIDRange).
	UIDFirst, UIDLast uint32
	// Network is NetworkIsolated or NetworkHost, for apps; renders and
	// builds always share the host's network (builds download packages).
	Network string
	// Limits are the defaults of every content item.
	Limits Limits
	// TmpSize bounds each sandbox's /tmp, in bytes.
	TmpSize int64
	// Node names this node's cgroups (podium/<Node>/<content>).
	Node string
	// ReadOnly are directories every sandbox sees read-only besides the
	// system ones: the runtimes' installations outside /usr and /opt.
	ReadOnly []string
	// Hide are directories every sandbox sees empty (the node's
	// configuration directory, when it lies under /etc).
	Hide []string
}

// Limits bound one content item's processes on one node. Zero fields mean
// no limit (Config.Limits) or the default (per content overrides).
type Limits struct {
	// Memory is the memory of all the content's processes, in bytes
	// (cgroup memory.limit_in_bytes; where there is no cgroup, RLIMIT_AS
	// of each process).
	Memory int64 `json:"memory,omitempty"`
	// Processes bounds the tasks (processes and threads) of the content
	// (cgroup pids.max, and RLIMIT_NPROC of its uid).
	Processes int `json:"processes,omitempty"`
	// OpenFiles bounds the open files of each process (RLIMIT_NOFILE).
	OpenFiles int `json:"open_files,omitempty"`
	// CPUShares, when set, gives the content a CPU cgroup of its own
	// with this weight (cpu.shares; 1024 weighs as much as one busy
	// process of the node). Zero: no CPU cgroup, the content's processes
	// are scheduled with their node's, as unsandboxed ones are.
	CPUShares int `json:"cpu_shares,omitempty"`
}

// Apply returns l with the non-zero fields of o in place of its own.
func (l Limits) Apply(o Limits) Limits {
	if o.Memory != 0 {
		l.Memory = o.Memory
	}
	if o.Processes != 0 {
		l.Processes = o.Processes
	}
	if o.OpenFiles != 0 {
		l.OpenFiles = o.OpenFiles
	}
	if o.CPUShares != 0 {
		l.CPUShares = o.CPUShares
	}
	return l
}

// Sandbox starts sandboxed processes on this node.
type Sandbox struct {
	cfg     Config
	bwrap   string
	setpriv string
	prlimit string
	root    bool
	cg      *cgroups // nil: the host delegates no cgroup to podium
	// hostNet is this process's network namespace, which a thread
	// returns to after creating a socket in an app's.
	hostNet *os.File
	// system are the bwrap arguments that show the system directories.
	system []string
	// refused, when set, is returned by Command: see Refusing.
	refused error

	killsMu sync.Mutex
	kills   map[LimitKillKey]int64 // LimitKills
}

// binPath is where the sandbox's helper programs are looked up (a
// variable for the tests of a host without them).
var binPath = "/usr/bin:/bin:/usr/sbin:/sbin:/usr/local/bin"

// ErrUnavailable is wrapped by New's error when the host cannot make
// sandboxes.
var ErrUnavailable = errors.New("content sandbox unavailable")

// New checks that this host can make sandboxes (bwrap is installed, and
// the namespaces it needs may be created) by starting one, and returns a
// Sandbox. With cfg.Off it returns a Sandbox that runs processes without
// one.
//
// Returns an error wrapping ErrUnavailable that says what is missing and
// the way out (install bubblewrap, allow namespaces, or set
// [Applications] Sandbox = off).
func New(cfg Config) (*Sandbox, error) {
	s := &Sandbox{cfg: cfg, root: os.Geteuid() == 0}
	if cfg.Off {
		return s, nil
	}
	if cfg.UIDLast < cfg.UIDFirst || cfg.UIDFirst == 0 {
		return nil, fmt.Errorf("[Applications] SandboxUIDRange %d-%d: must be a range of uids above 0", cfg.UIDFirst, cfg.UIDLast)
	}
	if s.cfg.Network == "" {
		s.cfg.Network = NetworkIsolated
	}
	var err error
	for _, p := range []struct {
		dst  *string
		name string
		pkg  string
	}{{&s.bwrap, "bwrap", "bubblewrap"}, {&s.setpriv, "setpriv", "util-linux"}, {&s.prlimit, "prlimit", "util-linux"}} {
		if *p.dst, err = runas.LookPath(p.name, binPath, nil); err != nil {
			return nil, fmt.Errorf("%w: %s is not installed (Debian package %s): install it on every node (apt-get install %s), "+
				"or set [Applications] Sandbox = off to run content without a sandbox", ErrUnavailable, p.name, p.pkg, p.pkg)
		}
	}
	if s.hostNet, err = os.Open("/proc/self/ns/net"); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	s.system = systemArgs()
	if s.root && cfg.Node != "" {
		s.cg = openCgroups(cfg.Node)
	}
	if err := s.probe(); err != nil {
		_ = s.hostNet.Close()
		return nil, err
	}
	return s, nil
}

// probe starts one sandbox running /bin/true, with every namespace apps get.
func (s *Sandbox) probe() error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var cred *syscall.Credential
	if s.root {
		cred = &syscall.Credential{Uid: s.cfg.UIDFirst, Gid: s.cfg.UIDFirst, Groups: []uint32{}}
	}
	p, err := s.Command(&Spec{Cred: cred, Net: true}, "/bin/true")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	var out strings.Builder
	p.Cmd.Stdout, p.Cmd.Stderr = &out, &out
	p.Cmd.Dir = "/"
	err = p.Start()
	if err == nil {
		done := make(chan error, 1)
		go func() { done <- p.Wait() }()
		select {
		case err = <-done:
		case <-ctx.Done():
			p.Kill()
			err = <-done
		}
	}
	if err != nil {
		return fmt.Errorf("%w: bubblewrap cannot create the namespaces it needs here (%v: %s): "+
			"run podium as root on a host that allows namespaces (a container needs them delegated, for example docker run --privileged or a seccomp/AppArmor profile that allows unshare and mount), "+
			"or set [Applications] Sandbox = off to run content without a sandbox",
			ErrUnavailable, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// Off reports whether processes run without a sandbox.
func (s *Sandbox) Off() bool { return s.cfg.Off }

// Network is the network mode of apps.
func (s *Sandbox) Network() string {
	if s.cfg.Off {
		return NetworkHost
	}
	return s.cfg.Network
}

// Limits are the node's default limits of a content item.
func (s *Sandbox) Limits() Limits { return s.cfg.Limits }

// Cgroups reports whether limits are enforced by cgroups (else rlimits).
func (s *Sandbox) Cgroups() bool { return s.cg != nil }

// Close releases what New opened.
func (s *Sandbox) Close() error {
	if s.hostNet != nil {
		return s.hostNet.Close()
	}
	return nil
}

// Identity returns the credential of content item contentID's processes:
// with the sandbox, the uid (and gid) UIDFirst + contentID modulo the size
// of the range, the same on every node of a cluster (content ids come from
// the shared database); without it, RunAs's. runAs, when set, is the
// content's own RunAs (an administrator's choice), which wins. nil when
// podium does not run as root (processes then run as podium's own user).
//
// Returns an error naming the setting when a RunAs user does not exist or
// is root.
func (s *Sandbox) Identity(contentID int64, runAs string) (*syscall.Credential, error) {
	if !s.root {
		return nil, nil
	}
	name, setting := runAs, "the content's run_as"
	if name == "" && s.cfg.Off {
		name, setting = s.cfg.RunAs, "[Applications] RunAs"
	}
	if name == "" {
		if s.cfg.Off {
			return nil, fmt.Errorf("[Applications] RunAs is empty: podium runs as root and will not run content as root")
		}
		n := uint64(s.cfg.UIDLast-s.cfg.UIDFirst) + 1
		id := uint32(uint64(s.cfg.UIDFirst) + uint64(contentID)%n)
		return &syscall.Credential{Uid: id, Gid: id, Groups: []uint32{}}, nil
	}
	return s.lookup(name, setting)
}

// CheckRunAs returns an error saying what to do when name cannot be a
// content item's own run_as on this node: it must be an existing local
// user, not root, and its uid outside [Applications] SandboxUIDRange
// (those uids are the sandbox's, one per content item: running as one
// would share another item's files and limits).
func (s *Sandbox) CheckRunAs(name string) error {
	_, err := s.lookup(name, "run_as")
	return err
}

// lookup returns the credential of user name, the value of setting.
func (s *Sandbox) lookup(name, setting string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("%s %q is not a user of this node: create it or name an existing user", setting, name)
	}
	cred, err := runas.Credential(u)
	if errors.Is(err, runas.ErrRoot) {
		return nil, fmt.Errorf("%s %q is root: content must not run as root", setting, name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", setting, name, err)
	}
	if !s.cfg.Off && cred.Uid >= s.cfg.UIDFirst && cred.Uid <= s.cfg.UIDLast {
		return nil, fmt.Errorf("%s %q has uid %d, inside [Applications] SandboxUIDRange %d-%d, whose uids belong to content items: name a user outside the range",
			setting, name, cred.Uid, s.cfg.UIDFirst, s.cfg.UIDLast)
	}
	return cred, nil
}

// Kinds of content process (Spec.Kind): the kind of LimitKills.
const (
	KindApp    = "app"
	KindRender = "render"
	KindBuild  = "build"
)

// Spec describes one sandboxed process.
type Spec struct {
	// Kind is KindApp, KindRender or KindBuild: what the process is
	// counted as when a limit kills it (LimitKills).
	Kind string
	// Name is the content item's guid: its cgroup on this node. Builds
	// use "<guid>-build", so a build never starves the content's apps.
	Name string
	// Cred is the identity the command runs as (Identity); nil keeps
	// podium's own.
	Cred *syscall.Credential
	// ReadOnly are directories (or files) shown read-only at the same
	// path: the bundle, the package environment.
	ReadOnly []string
	// Writable are directories shown writable at the same path: the
	// process's scratch and output directories.
	Writable []string
	// Net gives the process its own network namespace, when the node's
	// SandboxNetwork is isolated (apps).
	Net bool
	// Limits override the node's defaults for this content item.
	Limits Limits
}

// Process is a command prepared to run in a sandbox. Set Cmd's Dir, Env,
// Stdout and Stderr, then call Start, and Wait (not Cmd.Wait).
type Process struct {
	// Cmd is the command: bwrap, or the content's command itself without
	// a sandbox. Its SysProcAttr and ExtraFiles belong to the sandbox.
	Cmd *exec.Cmd

	s       *Sandbox
	spec    Spec
	argv    []string
	limits  Limits
	sandbox bool
	net     bool
	cgroup  string // this content's cgroup name, "" for none
	oomBase int64  // the cgroup's OOM kills before the start
	pidBase int64  // the cgroup's forks refused at pids.max before the start

	limitOnce sync.Once
	limitWhy  string // LimitKill's answer

	info  *os.File // read end of bwrap's --info-fd
	inner int      // host pid of the namespace's init (bwrap)
	netNS *os.File // the process's network namespace

	waitOnce sync.Once
	waitErr  error
	exited   chan struct{} // closed by Wait
}

// Command prepares exe (an absolute path, or a path relative to the
// working directory) with args to run in a sandbox described by spec.
func (s *Sandbox) Command(spec *Spec, exe string, args ...string) (*Process, error) {
	if s.refused != nil {
		return nil, s.refused
	}
	p := &Process{s: s, spec: *spec, argv: append([]string{exe}, args...), limits: s.cfg.Limits.Apply(spec.Limits), exited: make(chan struct{})}
	if s.cfg.Off {
		cmd := exec.Command(exe, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: spec.Cred}
		p.Cmd = cmd
		return p, nil
	}
	p.sandbox = true
	p.net = spec.Net && s.cfg.Network == NetworkIsolated
	p.Cmd = exec.Command(s.bwrap)
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return p, nil
}

// bwrapArgs returns the arguments of bwrap after its name.
func (p *Process) bwrapArgs() []string {
	s, spec := p.s, &p.spec
	a := []string{"--unshare-pid", "--unshare-ipc", "--die-with-parent"}
	if hasTerminal() {
		// A node with a controlling terminal (started from a shell): the
		// content gets a session of its own, so that it has no
		// controlling terminal through which to inject input into the
		// operator's (TIOCSTI) or make itself the terminal's foreground
		// (tcsetpgrp) and read what is typed. Only then: a session is
		// also a scheduling group of its own (the kernel's autogroup),
		// which costs a cheap app's throughput on a busy host (see
		// docs/security.md). Without a terminal there is nothing to
		// keep out, and the content shares its node's session.
		a = append(a, "--new-session")
	}
	if p.net {
		a = append(a, "--unshare-net")
	}
	if !s.root {
		a = append(a, "--unshare-user")
	}
	a = append(a, s.system...)
	a = append(a, "--proc", "/proc", "--dev", "/dev",
		"--perms", "1777", "--size", strconv.FormatInt(max(s.cfg.TmpSize, 1<<20), 10), "--tmpfs", "/tmp")
	for _, h := range s.cfg.Hide {
		if fi, err := os.Stat(h); err == nil && fi.IsDir() {
			a = append(a, "--tmpfs", h)
		}
	}
	// bwrap would create the directories above a bound path 0700, closed
	// to the content's uid: make them 0755 first (a directory that exists,
	// such as /tmp, is left as it is).
	made := map[string]bool{"/": true}
	parents := func(d string) {
		var up []string
		for p := filepath.Dir(d); !made[p]; p = filepath.Dir(p) {
			up = append(up, p)
			made[p] = true
		}
		for i := len(up) - 1; i >= 0; i-- {
			a = append(a, "--perms", "0755", "--dir", up[i])
		}
	}
	for _, d := range append(append([]string(nil), s.cfg.ReadOnly...), spec.ReadOnly...) {
		if d != "" {
			parents(d)
			a = append(a, "--ro-bind", d, d)
		}
	}
	for _, d := range spec.Writable {
		parents(d)
		a = append(a, "--bind", d, d)
	}
	if dir := p.Cmd.Dir; dir != "" {
		a = append(a, "--chdir", dir)
	}
	a = append(a, "--info-fd", "3", "--")
	if spec.Cred != nil {
		a = append(a, s.setpriv, "--reuid", strconv.FormatUint(uint64(spec.Cred.Uid), 10),
			"--regid", strconv.FormatUint(uint64(spec.Cred.Gid), 10), "--clear-groups", "--")
	}
	var rl []string
	if n := p.limits.OpenFiles; n > 0 {
		rl = append(rl, fmt.Sprintf("--nofile=%d:%d", n, n))
	}
	if n := p.limits.Processes; n > 0 && spec.Cred != nil {
		// RLIMIT_NPROC counts the processes of the real uid, host-wide:
		// per content item only with per-content uids.
		rl = append(rl, fmt.Sprintf("--nproc=%d:%d", n, n))
	}
	if n := p.limits.Memory; n > 0 && s.cg == nil {
		rl = append(rl, fmt.Sprintf("--as=%d:%d", n, n))
	}
	if len(rl) > 0 {
		a = append(append(append(a, s.prlimit), rl...), "--")
	}
	return append(a, p.argv...)
}

// hasTerminal reports whether this process has a controlling terminal,
// which its children would share. Any answer but "none" (ENXIO: opening
// /dev/tty without one) counts as one.
func hasTerminal() bool {
	f, err := os.OpenFile("/dev/tty", os.O_RDONLY|syscall.O_NOCTTY, 0)
	if err == nil {
		_ = f.Close()
		return true
	}
	return !errors.Is(err, syscall.ENXIO)
}

// systemArgs shows the host's system directories read-only: symbolic
// links (a merged /usr's /bin -> usr/bin) as links.
func systemArgs() []string {
	var a, made []string
	// /run/systemd/resolve: where a systemd host's /etc/resolv.conf
	// points. /var/lib/dpkg: Debian's R packages ask dpkg-query for the
	// versions of the system JavaScript libraries they use (rmarkdown's
	// jQuery). /var/cache/fontconfig: the fonts' cache (plots).
	for _, d := range slices.Concat(systemDirs, []string{"/run/systemd/resolve", "/var/lib/dpkg", "/var/cache/fontconfig"}) {
		fi, err := os.Lstat(d)
		switch {
		case err != nil:
		case fi.Mode()&os.ModeSymlink != 0:
			if t, err := os.Readlink(d); err == nil {
				a = append(a, "--symlink", t, d)
			}
		case fi.IsDir():
			// The directories above (/var, /var/lib): 0755, not the
			// 0700 bwrap would make.
			for _, p := range parentDirs(d) {
				if !slices.Contains(made, p) {
					a = append(a, "--perms", "0755", "--dir", p)
					made = append(made, p)
				}
			}
			a = append(a, "--ro-bind", d, d)
		}
	}
	return a
}

// parentDirs returns the directories above d, from the top, without "/".
func parentDirs(d string) []string {
	var up []string
	for p := filepath.Dir(d); p != "/" && p != "."; p = filepath.Dir(p) {
		up = append([]string{p}, up...)
	}
	return up
}

// Start starts the process. In a sandbox it returns once bwrap has made
// the namespaces (and, for an app, opened its network namespace).
func (p *Process) Start() error {
	if !p.sandbox {
		return p.Cmd.Start()
	}
	p.Cmd.Args = append([]string{"bwrap"}, p.bwrapArgs()...)
	if p.s.cg != nil && p.spec.Name != "" {
		files, err := p.s.cg.prepare(p.spec.Name, p.limits)
		if err != nil {
			return fmt.Errorf("sandbox: cgroup of %s: %w", p.spec.Name, err)
		}
		p.cgroup = p.spec.Name
		p.oomBase, _ = p.s.cg.oomKills(p.cgroup)
		p.pidBase, _ = p.s.cg.pidsRefused(p.cgroup)
		// A shell joins the cgroups, then becomes bwrap: so every
		// process of the sandbox is in them from its first instruction.
		script := `n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 126; shift; n=$((n-1)); done; exec "$@"`
		args := append([]string{"sh", "-c", script, "sh", strconv.Itoa(len(files))}, files...)
		p.Cmd.Args = append(append(args, p.s.bwrap), p.Cmd.Args[1:]...)
		p.Cmd.Path = "/bin/sh"
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	p.info = r
	p.Cmd.ExtraFiles = []*os.File{w}
	err = p.Cmd.Start()
	_ = w.Close()
	if err != nil {
		_ = r.Close()
		return err
	}
	if err := p.readInfo(); err != nil {
		p.Kill()
		_ = p.Wait()
		return fmt.Errorf("sandbox: %w", err)
	}
	return nil
}

// StartContext is Start, and kills the process (Kill) when ctx ends
// before it exits.
func (p *Process) StartContext(ctx context.Context) error {
	if err := p.Start(); err != nil {
		return err
	}
	go func() {
		select {
		case <-ctx.Done():
			p.Kill()
		case <-p.exited:
		}
	}()
	return nil
}

// readInfo reads bwrap's --info-fd document: the host pid of the
// namespace's init, and opens its network namespace.
func (p *Process) readInfo() error {
	type info struct {
		Child int `json:"child-pid"`
	}
	got := make(chan info, 1)
	errc := make(chan error, 1)
	go func() {
		var i info
		if err := json.NewDecoder(bufio.NewReader(p.info)).Decode(&i); err != nil {
			errc <- err
			return
		}
		got <- i
	}()
	select {
	case i := <-got:
		p.inner = i.Child
	case err := <-errc:
		if errors.Is(err, io.EOF) {
			return errors.New("bwrap exited before it made the sandbox: see the process's log")
		}
		return fmt.Errorf("bwrap's information: %w", err)
	case <-time.After(30 * time.Second):
		return errors.New("bwrap did not make the sandbox within 30s")
	}
	_ = p.info.Close()
	p.info = nil
	if p.inner <= 0 {
		return errors.New("bwrap gave no child pid")
	}
	if p.net {
		f, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", p.inner))
		if err != nil {
			return fmt.Errorf("network namespace: %w", err)
		}
		p.netNS = f
	}
	return nil
}

// Pid is the pid of the process podium started (bwrap in a sandbox): its
// process group is the whole sandbox.
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// Wait waits for the process to exit and releases what Start opened. It
// may be called more than once (later calls return the same error).
func (p *Process) Wait() error {
	p.waitOnce.Do(func() {
		p.waitErr = p.Cmd.Wait()
		if p.info != nil {
			_ = p.info.Close()
		}
		if p.netNS != nil {
			_ = p.netNS.Close()
		}
		close(p.exited)
	})
	return p.waitErr
}

// Terminate asks the content's processes to stop (SIGTERM): in a sandbox,
// every process of the namespace but its init, which ends when they have.
func (p *Process) Terminate() {
	if p.sandbox && p.inner > 0 {
		// The namespace's init ignores a SIGTERM sent from outside (it
		// has no handler for it), so its process group may be signalled
		// whole: the command and the children it did not move.
		_ = syscall.Kill(-p.inner, syscall.SIGTERM)
		return
	}
	_ = syscall.Kill(-p.Pid(), syscall.SIGTERM)
}

// Kill kills the process and everything it started (SIGKILL): in a
// sandbox, bwrap and the namespace's init, whose death ends every process
// in the namespace.
func (p *Process) Kill() {
	if p.inner > 0 {
		_ = syscall.Kill(p.inner, syscall.SIGKILL)
	}
	if p.Cmd.Process != nil {
		_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	}
}

// LimitKill says which limit of its content item killed the process or
// made it fail, "" if none did, as far as the host tells: the memory
// cgroup counts its OOM kills, the pids cgroup the forks it refused at
// pids.max (without cgroups it tells nothing). Its answer follows "was":
// "killed by the kernel for exceeding the memory limit of its content
// item (128 MiB)". Call after Wait. The first call counts the answer in
// the sandbox's LimitKills.
func (p *Process) LimitKill() string {
	p.limitOnce.Do(func() {
		why, limit := p.limitKill()
		p.limitWhy = why
		if why != "" && p.spec.Kind != "" {
			p.s.countKill(LimitKillKey{Kind: p.spec.Kind, Limit: limit})
		}
	})
	return p.limitWhy
}

// limitKill is LimitKill's answer and the limit it names ("memory",
// "processes").
func (p *Process) limitKill() (why, limit string) {
	if p.cgroup == "" || p.s.cg == nil {
		return "", ""
	}
	var ee *exec.ExitError
	if !errors.As(p.waitErr, &ee) {
		return "", "" // it did not fail
	}
	st, _ := ee.Sys().(syscall.WaitStatus)
	// bwrap exits 128+signal when its command is killed by a signal.
	killed := (st.Signaled() && st.Signal() == syscall.SIGKILL) || st.ExitStatus() == 128+int(syscall.SIGKILL)
	if n, ok := p.s.cg.oomKills(p.cgroup); ok && n > p.oomBase {
		if killed {
			return fmt.Sprintf("killed by the kernel for exceeding the memory limit of its content item (%s)", formatBytes(p.limits.Memory)), "memory"
		}
		// A child was killed (a build backend under pip), and the
		// command failed for it.
		return fmt.Sprintf("cut short by the kernel, which killed one of its processes for exceeding the memory limit of its content item (%s)", formatBytes(p.limits.Memory)), "memory"
	}
	if n, ok := p.s.cg.pidsRefused(p.cgroup); ok && n > p.pidBase {
		return fmt.Sprintf("refused a new process or thread by the process limit of its content item (%d processes and threads), and failed", p.limits.Processes), "processes"
	}
	return "", ""
}

// LimitKillKey is one count of LimitKills: a kind of process (KindApp,
// KindRender, KindBuild) and the limit ("memory", "processes").
type LimitKillKey struct {
	Kind, Limit string
}

// LimitKills returns how many processes a limit of their content item
// killed or made fail (LimitKill) on this node since the sandbox was
// made, by kind of process and limit.
func (s *Sandbox) LimitKills() map[LimitKillKey]int64 {
	s.killsMu.Lock()
	defer s.killsMu.Unlock()
	out := make(map[LimitKillKey]int64, len(s.kills))
	for k, v := range s.kills {
		out[k] = v
	}
	return out
}

func (s *Sandbox) countKill(k LimitKillKey) {
	s.killsMu.Lock()
	defer s.killsMu.Unlock()
	if s.kills == nil {
		s.kills = map[LimitKillKey]int64{}
	}
	s.kills[k]++
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Sandboxed reports whether the process runs in a sandbox.
func (p *Process) Sandboxed() bool { return p.sandbox }

// Isolated reports whether the process has its own network namespace,
// reachable only through Dial.
func (p *Process) Isolated() bool { return p.netNS != nil }

// ReadOnlyDirs returns dir and the existing directories among more, for
// Spec.ReadOnly.
func ReadOnlyDirs(dirs ...string) []string {
	var out []string
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if _, err := os.Stat(d); err == nil {
			out = append(out, filepath.Clean(d))
		}
	}
	return out
}

// Unsandboxed wraps a command prepared by the caller (its SysProcAttr
// with Setpgid) as a Process that runs without a sandbox.
func Unsandboxed(cmd *exec.Cmd) *Process {
	return &Process{Cmd: cmd, s: &Sandbox{cfg: Config{Off: true}}, exited: make(chan struct{})}
}

// Refusing returns a Sandbox that refuses to start any process with err:
// the node starts (its static content is served) but runs no content
// code until the sandbox can be made or is turned off.
func Refusing(cfg Config, err error) *Sandbox {
	return &Sandbox{cfg: cfg, root: os.Geteuid() == 0, refused: err}
}

// Refused is the reason this node runs no content processes, nil when it
// runs them.
func (s *Sandbox) Refused() error { return s.refused }

// limitsKey is the context key of WithLimits.
type limitsKey struct{}

// WithLimits returns ctx carrying a content item's own limits, for the
// environment builds made on its behalf deep inside the runtimes, whose
// signatures know only its credential: they read them with LimitsFrom.
func WithLimits(ctx context.Context, l Limits) context.Context {
	return context.WithValue(ctx, limitsKey{}, l)
}

// LimitsFrom returns the limits WithLimits put in ctx (zero: the node's
// defaults).
func LimitsFrom(ctx context.Context) Limits {
	l, _ := ctx.Value(limitsKey{}).(Limits)
	return l
}
