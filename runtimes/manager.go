package runtimes

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/internal/runas"
	"github.com/podiumhq/podium/internal/sandbox"
	"github.com/sirupsen/logrus"
)

// Config is the [Python] section, plus where the cache lives.
type Config struct {
	// Executables are the interpreters offered ([Python] Executable).
	Executables []string
	// PackageIndex replaces pip's default index ([Python] PackageIndex).
	PackageIndex string
	// ExtraIndex are more indexes ([Python] ExtraIndex).
	ExtraIndex []string
	// FindLinks are directories (or URLs) of wheels ([Python] FindLinks).
	FindLinks []string
	// NoIndex forbids every index: only FindLinks ([Python] NoIndex).
	NoIndex bool
	// SystemSitePackages lets environments see the interpreter's own
	// site-packages ([Python] SystemSitePackages).
	SystemSitePackages bool
	// Retention is how long an environment no live bundle uses is kept
	// ([Python] EnvironmentRetention); 0 keeps them.
	Retention time.Duration
	// MaxSize bounds the cache in bytes ([Python] EnvironmentMaxSize):
	// beyond it, the least recently used environments that no live bundle
	// uses are removed; 0 means no bound.
	MaxSize int64
	// Root is the cache directory, in the shared data directory.
	Root string
	// NodeID names the node in the environments' records.
	NodeID string
	// BuildTimeout bounds one environment build; 0 means 30 minutes.
	BuildTimeout time.Duration
}

// EnvRecord is the file (.podium-env.json) that a finished environment
// holds.
type EnvRecord struct {
	Key         string      `json:"key"`
	Interpreter Interpreter `json:"interpreter"`
	Packages    []string    `json:"packages"`
	Built       time.Time   `json:"built"`
	Node        string      `json:"node"`
	Seconds     float64     `json:"build_seconds"`
}

const recordName = ".podium-env.json"

// Env is a finished environment.
type Env struct {
	// Key names the environment in the cache.
	Key string
	// Dir is the environment's directory (a virtual environment).
	Dir string
	// Interpreter is the one it was built from.
	Interpreter Interpreter
	// Built is true when this call built it, false when it was reused.
	Built bool
}

// Python returns the environment's interpreter.
func (e *Env) Python() string { return filepath.Join(e.Dir, "bin", "python") }

// Manager offers the node's interpreters and keeps the environment cache.
type Manager struct {
	cfg    Config
	interp []Interpreter
	log    *logrus.Entry

	mu      sync.Mutex
	builds  int // environments this process built (for tests and logs)
	sandbox *sandbox.Sandbox
}

// SetSandbox makes environment builds (and the checks of their modules)
// run in sb's sandboxes. Call before the first Prepare.
func (m *Manager) SetSandbox(sb *sandbox.Sandbox) { m.sandbox = sb }

// New probes cfg's interpreters and returns a manager. A node without
// interpreters gets a manager that refuses Python content with a message
// naming [Python] Executable.
func New(ctx context.Context, cfg Config, log *logrus.Entry) (*Manager, error) {
	interp, err := Probe(ctx, cfg.Executables)
	if err != nil {
		return nil, err
	}
	if cfg.BuildTimeout <= 0 {
		cfg.BuildTimeout = 30 * time.Minute
	}
	for _, i := range interp {
		log.WithFields(logrus.Fields{"path": i.Path, "version": i.Version}).Info("python interpreter")
	}
	return &Manager{cfg: cfg, interp: interp, log: log}, nil
}

// Interpreters returns the interpreters this node offers, in configured
// order.
func (m *Manager) Interpreters() []Interpreter { return slices.Clone(m.interp) }

// Builds returns how many environments this process has built.
func (m *Manager) Builds() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.builds
}

// Key returns the cache key of the environment for spec's bundle in dir,
// with the interpreter chosen for it.
func (m *Manager) Key(spec *Spec, dir string) (string, Interpreter, []string, error) {
	in, err := Choose(m.interp, spec.PythonVersion, spec.PythonRequires)
	if err != nil {
		return "", in, nil, err
	}
	pkgs, err := readPackages(dir, spec.packageFile())
	if err != nil {
		return "", in, nil, err
	}
	h := sha256.New()
	fmt.Fprintf(h, "podium-env-v1\x00%s\x00%s\x00", in.Path, in.Version)
	fmt.Fprintf(h, "index=%s\x00extra=%q\x00links=%q\x00noindex=%t\x00system=%t\x00",
		m.cfg.PackageIndex, m.cfg.ExtraIndex, m.cfg.FindLinks, m.cfg.NoIndex, m.cfg.SystemSitePackages)
	for _, p := range pkgs {
		fmt.Fprintf(h, "%s\x00", p)
	}
	return hex.EncodeToString(h.Sum(nil))[:32], in, pkgs, nil
}

// readPackages returns the normalised lines of the requirements file
// (comments and blank lines dropped, sorted): the exact package set. A
// missing file is an empty set, unless the manifest named it.
func readPackages(dir, name string) ([]string, error) {
	if !fs.ValidPath(name) || name == "." {
		return nil, podium.Errorf(podium.EINVALID, "package file %q must be a relative path inside the bundle", name)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("package file: %w", err)
	}
	defer root.Close()
	b, err := root.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) && name == DefaultPackageFile {
		return nil, nil
	} else if errors.Is(err, fs.ErrNotExist) {
		return nil, podium.Errorf(podium.EINVALID, "the package file %s named by the manifest is not in the bundle", name)
	} else if err != nil {
		return nil, fmt.Errorf("package file %s: %w", name, err)
	}
	var out []string
	for line := range strings.SplitSeq(string(b), "\n") {
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Lookup returns the finished environment of spec's bundle in dir without
// building anything (an app process starting on any node).
//
// Returns ENOTFOUND when it has not been built (or was evicted).
func (m *Manager) Lookup(spec *Spec, dir string) (*Env, error) {
	key, in, _, err := m.Key(spec, dir)
	if err != nil {
		return nil, err
	}
	env := &Env{Key: key, Dir: filepath.Join(m.cfg.Root, key), Interpreter: in}
	if _, err := os.Stat(filepath.Join(env.Dir, recordName)); err != nil {
		return nil, podium.Errorf(podium.ENOTFOUND, "the Python environment %s of this bundle is not built: deploy the bundle again", key)
	}
	return env, nil
}

// Prepare returns the environment of spec's bundle in dir, building it if
// no node has: under a lock every node shares, in a temporary directory
// renamed into place when whole. pip's output goes to out line by line.
// The environment is built by the user cred (nil: this process's user).
// It then checks that the environment has what the app mode's runner
// needs.
//
// Returns EPRECONDITION when the node has no suitable interpreter or the
// environment lacks what the mode needs (naming it, and the setting that
// provides it), EINVALID when pip fails (with pip's last error lines).
func (m *Manager) Prepare(ctx context.Context, spec *Spec, dir string, cred *syscall.Credential, out func(string)) (*Env, error) {
	if out == nil {
		out = func(string) {}
	}
	if !IsPython(spec.AppMode) {
		return nil, podium.Errorf(podium.EINVALID, "appmode %q is not a Python mode", spec.AppMode)
	}
	key, in, pkgs, err := m.Key(spec, dir)
	if err != nil {
		return nil, err
	}
	out(fmt.Sprintf("Python %s (%s); environment %s with %d requirement(s) from %s", in.Version, in.Path, key, len(pkgs), spec.packageFile()))
	env := &Env{Key: key, Dir: filepath.Join(m.cfg.Root, key), Interpreter: in}
	if !m.ready(env) {
		if err := m.build(ctx, env, spec.packageFile(), pkgs, cred, out); err != nil {
			return nil, err
		}
		m.touch(env)
	} else if !m.reuse(env) {
		// Evicted between the look and the lock: build it again.
		if err := m.build(ctx, env, spec.packageFile(), pkgs, cred, out); err != nil {
			return nil, err
		}
		m.touch(env)
	} else {
		out("Reusing the cached Python environment " + key)
	}
	if err := m.checkNeeds(ctx, spec.AppMode, env, cred); err != nil {
		return nil, err
	}
	return env, nil
}

func (m *Manager) ready(env *Env) bool {
	_, err := os.Stat(filepath.Join(env.Dir, recordName))
	return err == nil
}

// reuse marks a finished environment used now, holding its lock shared
// so that an eviction (which takes it exclusively, without waiting) cannot
// remove it meanwhile. It reports false when the environment is gone.
func (m *Manager) reuse(env *Env) bool {
	f, err := os.OpenFile(filepath.Join(m.cfg.Root, env.Key+".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return m.ready(env)
	}
	defer f.Close()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_SH) == nil {
		defer func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }()
	}
	if !m.ready(env) {
		return false
	}
	m.touch(env)
	return true
}

// touch marks the environment used now (its record's mtime), for
// EnvironmentRetention.
func (m *Manager) touch(env *Env) {
	now := time.Now()
	_ = os.Chtimes(filepath.Join(env.Dir, recordName), now, now)
}

func (m *Manager) build(ctx context.Context, env *Env, pkgFile string, pkgs []string, cred *syscall.Credential, out func(string)) error {
	if err := os.MkdirAll(m.cfg.Root, 0o755); err != nil {
		return fmt.Errorf("python environment: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(m.cfg.Root, env.Key+".lock"), func() {
		out("Waiting for another deployment (on this node or another) that is building the same environment")
	})
	if err != nil {
		return fmt.Errorf("python environment %s: lock: %w", env.Key, err)
	}
	defer unlock()
	if m.ready(env) {
		out("The environment was built meanwhile by another deployment: reusing it")
		return nil
	}
	if cred != nil && (m.sandbox == nil || m.sandbox.Off()) {
		// (A sandbox shows the build directory at its path whatever the
		// directories above it allow.)
		if blocked := runas.Unsearchable(m.cfg.Root, cred); blocked != "" {
			return podium.Errorf(podium.EPRECONDITION, "the Python environments live in %s, which the [Applications] RunAs user (uid %d) cannot enter: "+
				"give it search permission on %s (for example chmod o+x %s)", m.cfg.Root, cred.Uid, blocked, blocked)
		}
	}
	start := time.Now()
	tmp := filepath.Join(m.cfg.Root, ".build-"+env.Key+"-"+randomHex(4))
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return fmt.Errorf("python environment: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = os.RemoveAll(tmp)
		}
	}()
	home := filepath.Join(tmp, ".home")
	if err := os.Mkdir(home, 0o755); err != nil {
		return fmt.Errorf("python environment: %w", err)
	}
	if cred != nil {
		for _, d := range []string{tmp, home} {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				return fmt.Errorf("python environment: %w", err)
			}
		}
	}
	bctx, cancel := context.WithTimeout(ctx, m.cfg.BuildTimeout)
	defer cancel()
	penv := []string{"PATH=" + filepath.Join(tmp, "bin") + ":/usr/bin:/bin", "HOME=" + home, "LANG=C.UTF-8",
		"PIP_CONFIG_FILE=/dev/null", "PIP_NO_CACHE_DIR=1", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PYTHONNOUSERSITE=1"}
	// The interpreter's own pip, when it has one, installs into the new
	// environment (pip --python): creating a pip inside every environment
	// (ensurepip) costs far more than the packages of a small app.
	basePip := exec.CommandContext(bctx, env.Interpreter.Path, "-c", "import pip").Run() == nil
	venv := []string{env.Interpreter.Path, "-m", "venv"}
	if basePip {
		venv = append(venv, "--without-pip")
	}
	if m.cfg.SystemSitePackages {
		venv = append(venv, "--system-site-packages")
	}
	venv = append(venv, tmp)
	out(fmt.Sprintf("Building the Python environment %s: %s", env.Key, strings.Join(venv, " ")))
	box := m.buildBox(ctx, cred, tmp)
	if _, err := m.run(bctx, box, venv, home, penv, out); err != nil {
		return podium.Errorf(podium.EINVALID, "creating the Python environment failed: %v", err)
	}
	if len(pkgs) > 0 {
		pip := []string{filepath.Join(tmp, "bin", "python"), "-m", "pip"}
		if basePip {
			pip = []string{env.Interpreter.Path, "-m", "pip", "--python", filepath.Join(tmp, "bin", "python")}
		}
		pip = append(pip, "install", "--no-input", "--progress-bar", "off")
		if m.cfg.NoIndex {
			pip = append(pip, "--no-index")
		} else if m.cfg.PackageIndex != "" {
			pip = append(pip, "--index-url", m.cfg.PackageIndex)
		}
		if !m.cfg.NoIndex {
			for _, x := range m.cfg.ExtraIndex {
				pip = append(pip, "--extra-index-url", x)
			}
		}
		for _, l := range m.cfg.FindLinks {
			pip = append(pip, "--find-links", l)
		}
		req := filepath.Join(home, "requirements.txt")
		if err := os.WriteFile(req, []byte(strings.Join(pkgs, "\n")+"\n"), 0o644); err != nil {
			return fmt.Errorf("python environment: %w", err)
		}
		pip = append(pip, "-r", req)
		out("Installing the packages of " + pkgFile + ": " + strings.Join(redactArgs(pip[1:]), " "))
		tail, err := m.run(bctx, box, pip, home, penv, out)
		if err != nil {
			msg := pipErrors(tail)
			if msg == "" {
				msg = "see the deployment log for pip's output"
			}
			return podium.Errorf(podium.EINVALID, "installing the packages of %s failed (%v): %s", pkgFile, err, msg)
		}
	}
	rec := EnvRecord{Key: env.Key, Interpreter: env.Interpreter, Packages: pkgs, Built: time.Now().UTC(), Node: m.cfg.NodeID,
		Seconds: time.Since(start).Seconds()}
	b, _ := json.MarshalIndent(rec, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, recordName), b, 0o644); err != nil {
		return fmt.Errorf("python environment: %w", err)
	}
	_ = os.RemoveAll(home)
	if err := os.Rename(tmp, env.Dir); err != nil {
		return fmt.Errorf("python environment: put in place: %w", err)
	}
	done = true
	env.Built = true
	m.mu.Lock()
	m.builds++
	m.mu.Unlock()
	out(fmt.Sprintf("Python environment %s built in %.1fs", env.Key, time.Since(start).Seconds()))
	m.log.WithFields(logrus.Fields{"key": env.Key, "seconds": rec.Seconds, "packages": len(pkgs)}).Info("python environment built")
	return nil
}

// checkNeeds imports, in the environment, the modules the mode's runner
// needs. A finished environment does not change, so a success is recorded
// in it (.podium-ok-<mode>) and not checked again: a deployment that
// reuses an environment starts nothing.
func (m *Manager) checkNeeds(ctx context.Context, mode string, env *Env, cred *syscall.Credential) error {
	ok := filepath.Join(env.Dir, ".podium-ok-"+mode)
	if _, err := os.Stat(ok); err == nil {
		return nil
	}
	for _, n := range needs(mode) {
		cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		box := m.buildBox(ctx, cred, "")
		box.ReadOnly = append(box.ReadOnly, env.Dir)
		_, err := m.run(cctx, box, []string{env.Python(), "-c", "import " + n.module}, "/",
			[]string{"PATH=" + filepath.Join(env.Dir, "bin") + ":/usr/bin:/bin", "LANG=C.UTF-8", "HOME=/tmp", "PYTHONNOUSERSITE=1"}, func(string) {})
		cancel()
		if err == nil {
			continue
		}
		how := "add " + n.module + " to the bundle's requirements file (the package must be reachable from [Python] PackageIndex, ExtraIndex or FindLinks)"
		if n.debian != "" {
			how += ", or install Debian's " + n.debian + " on every node and set [Python] SystemSitePackages = true"
		}
		return podium.Errorf(podium.EPRECONDITION, "appmode %s needs %s (Python module %q), which the app's environment lacks: %s",
			mode, n.what, n.module, how)
	}
	_ = os.WriteFile(ok, nil, 0o644)
	return nil
}

// buildBox is the sandbox of a build as cred, with the limits of the
// content it is made for (sandbox.WithLimits): writable, its scratch
// directory tmp ("" for none); readable, the local package directories.
func (m *Manager) buildBox(ctx context.Context, cred *syscall.Credential, tmp string) *sandbox.Spec {
	name := "build"
	if cred != nil {
		name = "build-" + strconv.FormatUint(uint64(cred.Uid), 10)
	}
	box := &sandbox.Spec{Kind: sandbox.KindBuild, Name: name, Cred: cred, Limits: sandbox.LimitsFrom(ctx)}
	if tmp != "" {
		box.Writable = []string{tmp}
	}
	var local []string
	for _, l := range append(append([]string{m.cfg.PackageIndex}, m.cfg.ExtraIndex...), m.cfg.FindLinks...) {
		if d, ok := strings.CutPrefix(l, "file://"); ok {
			l = d
		}
		if filepath.IsAbs(l) {
			local = append(local, l)
		}
	}
	box.ReadOnly = sandbox.ReadOnlyDirs(local...)
	return box
}

// run runs argv in the sandbox box (as box.Cred; without a sandbox, as
// box.Cred alone) with output lines to out and returns the last lines.
func (m *Manager) run(ctx context.Context, box *sandbox.Spec, argv []string, dir string, env []string, out func(string)) ([]string, error) {
	var p *sandbox.Process
	if m.sandbox != nil {
		var err error
		if p, err = m.sandbox.Command(box, argv[0], argv[1:]...); err != nil {
			return nil, err
		}
	} else {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: box.Cred}
		p = sandbox.Unsandboxed(cmd)
	}
	cmd := p.Cmd
	cmd.Dir = dir
	cmd.Env = env
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer pr.Close()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := p.StartContext(ctx); err != nil {
		_ = pw.Close()
		return nil, err
	}
	_ = pw.Close()
	var tail []string
	lines := make(chan struct{})
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			out(line)
			tail = append(tail, line)
			if len(tail) > 40 {
				tail = tail[1:]
			}
		}
	}()
	err = p.Wait()
	p.Kill() // what it left behind, which would hold the pipe
	<-lines
	if ctx.Err() != nil {
		return tail, fmt.Errorf("stopped: %w", ctx.Err())
	}
	if why := p.LimitKill(); why != "" {
		out("podium: the build was " + why)
		return tail, fmt.Errorf("the build was %s", why)
	}
	return tail, err
}

// pipErrors returns pip's "ERROR:" lines, joined.
func pipErrors(tail []string) string {
	var errs []string
	for _, l := range tail {
		if strings.HasPrefix(strings.TrimSpace(l), "ERROR:") {
			errs = append(errs, strings.TrimSpace(l))
		}
	}
	return strings.Join(errs, " ")
}

// redactArgs masks passwords in index URLs (https://user:pw@host/...).
func redactArgs(args []string) []string {
	out := slices.Clone(args)
	for i, a := range out {
		if at := strings.Index(a, "@"); at > 0 {
			if s := strings.Index(a, "://"); s >= 0 && s < at {
				if c := strings.Index(a[s+3:at], ":"); c >= 0 {
					out[i] = a[:s+3+c+1] + podium.Mask + a[at:]
				}
			}
		}
	}
	return out
}

// lockFile takes an exclusive flock on path, waiting (and calling waiting
// once) while another holder has it, until ctx ends. On Linux, flock on
// NFS is carried out as a byte-range lock that the server arbitrates, so
// nodes sharing the data directory exclude each other.
func lockFile(ctx context.Context, path string, waiting func()) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	told := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); _ = f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, err
		}
		if !told && waiting != nil {
			waiting()
			told = true
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
