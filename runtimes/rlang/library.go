package rlang

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/internal/sandbox"
	"github.com/sirupsen/logrus"
)

//go:embed restore.R
var restoreScript string

// Config is the [R] section, plus where the cache lives.
type Config struct {
	// Executables are the R installations offered ([R] Executable).
	Executables []string
	// Repository is a CRAN-like repository: an http(s) or file URL, or an
	// absolute local directory ([R] Repository); "" means packages come
	// from the system library only.
	Repository string
	// Root is the library cache directory, in the shared data directory.
	Root string
	// NodeID names the node in the libraries' records.
	NodeID string
	// BuildTimeout bounds one library build; 0 means 30 minutes.
	BuildTimeout time.Duration
}

// Library is a restored package library.
type Library struct {
	// Key names the library in the cache; "" when the bundle lists no
	// packages (the system library alone serves it).
	Key string
	// Dir is the library directory, "" when the bundle needs only the
	// system library.
	Dir string
	// R is the installation the library was built for.
	R Installation
	// Built is true when this call built it, false when it was reused.
	Built bool
}

// LibRecord is the file (.podium-lib.json) that a finished library holds.
type LibRecord struct {
	Key      string       `json:"key"`
	R        Installation `json:"r"`
	Packages []Package    `json:"packages"`
	Built    time.Time    `json:"built"`
	Node     string       `json:"node"`
	Seconds  float64      `json:"build_seconds"`
}

const recordName = ".podium-lib.json"

// Manager offers the node's R installations and keeps the library cache.
type Manager struct {
	cfg   Config
	insts []Installation
	log   *logrus.Entry

	mu      sync.Mutex
	builds  int
	sandbox *sandbox.Sandbox
}

// SetSandbox makes library builds run in sb's sandboxes. Call before the
// first Restore.
func (m *Manager) SetSandbox(sb *sandbox.Sandbox) { m.sandbox = sb }

// New probes cfg's R executables and returns a manager. A node without R
// gets a manager that refuses R content with a message naming
// [R] Executable.
func New(ctx context.Context, cfg Config, log *logrus.Entry) (*Manager, error) {
	insts, err := Probe(ctx, cfg.Executables)
	if err != nil {
		return nil, err
	}
	if cfg.BuildTimeout <= 0 {
		cfg.BuildTimeout = 30 * time.Minute
	}
	if cfg.Repository != "" && !strings.Contains(cfg.Repository, "://") && !filepath.IsAbs(cfg.Repository) {
		return nil, podium.Errorf(podium.EINVALID, "[R] Repository %q must be a URL (https://…, file://…) or an absolute directory", cfg.Repository)
	}
	for _, in := range insts {
		log.WithFields(logrus.Fields{"path": in.Path, "version": in.Version}).Info("R installation")
	}
	return &Manager{cfg: cfg, insts: insts, log: log}, nil
}

// Installations returns the R installations this node offers, in
// configured order.
func (m *Manager) Installations() []Installation { return append([]Installation(nil), m.insts...) }

// Builds returns how many libraries this process has built.
func (m *Manager) Builds() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.builds
}

// repoURL is the repository as R's repos= option takes it.
func (m *Manager) repoURL() string {
	r := m.cfg.Repository
	if r != "" && filepath.IsAbs(r) {
		return "file://" + filepath.Clean(r)
	}
	return strings.TrimRight(r, "/")
}

// Key returns the cache key of spec's library and the R chosen for it.
func (m *Manager) Key(spec *Spec) (string, Installation, error) {
	in, err := Choose(m.insts, spec.RVersion)
	if err != nil {
		return "", in, err
	}
	h := sha256.New()
	fmt.Fprintf(h, "podium-rlib-v1\x00%s\x00%s\x00repo=%s\x00", in.Path, in.Version, m.repoURL())
	for _, p := range spec.Packages {
		if err := p.valid(); err != nil {
			return "", in, podium.Errorf(podium.EINVALID, "manifest packages: %v", err)
		}
		fmt.Fprintf(h, "%s==%s\x00", p.Name, p.Version)
	}
	return hex.EncodeToString(h.Sum(nil))[:32], in, nil
}

// Restore returns the library of spec's packages: the cached one if any
// node built it already, else it builds it (once across the cluster: the
// builders share a lock file in the cache) into a scratch directory and
// renames it into place, so a half-built library is never used. The
// restore's output goes to out line by line.
//
// Returns EINVALID naming the package and version for a package that is in
// neither [R] Repository nor the system library, or that fails to install.
func (m *Manager) Restore(ctx context.Context, spec *Spec, out io.Writer) (*Library, error) {
	return m.RestoreAs(ctx, spec, nil, out)
}

// RestoreAs is Restore, building as cred's user (the content's): never
// as root. With a nil cred, a node running as root builds as the sandbox's
// build identity (the first uid of [Applications] SandboxUIDRange, or
// RunAs without a sandbox).
func (m *Manager) RestoreAs(ctx context.Context, spec *Spec, cred *syscall.Credential, out io.Writer) (*Library, error) {
	key, in, err := m.Key(spec)
	if err != nil {
		return nil, err
	}
	if len(spec.Packages) == 0 {
		return &Library{R: in}, nil
	}
	lib := &Library{Key: key, Dir: filepath.Join(m.cfg.Root, key), R: in}
	if ok, err := finished(lib.Dir); err != nil || ok {
		if ok {
			fmt.Fprintf(out, "podium: R library %s reused (R %s, %d packages)\n", key, in.Version, len(spec.Packages))
		}
		return lib, err
	}
	if err := os.MkdirAll(m.cfg.Root, 0o755); err != nil {
		return nil, fmt.Errorf("r library cache: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(m.cfg.Root, key+".lock"), out)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if ok, err := finished(lib.Dir); err != nil || ok {
		if ok {
			fmt.Fprintf(out, "podium: R library %s reused (another deployment built it meanwhile)\n", key)
		}
		return lib, err
	}
	if err := m.build(ctx, spec, lib, cred, out); err != nil {
		return nil, err
	}
	lib.Built = true
	m.mu.Lock()
	m.builds++
	m.mu.Unlock()
	return lib, nil
}

// finished reports whether dir holds a finished library.
func finished(dir string) (bool, error) {
	_, err := os.Stat(filepath.Join(dir, recordName))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("r library cache: %w", err)
	}
	return true, nil
}

// lockFile takes an exclusive flock on path, waiting until ctx ends.
func lockFile(ctx context.Context, path string, out io.Writer) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("r library lock: %w", err)
	}
	said := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("r library lock %s: %w", path, err)
		}
		if !said {
			fmt.Fprintf(out, "podium: waiting for another deployment that builds this R library\n")
			said = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("r library lock: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// build restores spec's packages into a scratch directory beside lib.Dir
// and renames it to lib.Dir. The caller holds the lock.
func (m *Manager) build(ctx context.Context, spec *Spec, lib *Library, cred *syscall.Credential, out io.Writer) (err error) {
	if cred == nil && os.Geteuid() == 0 && m.sandbox != nil {
		if cred, err = m.sandbox.Identity(0, ""); err != nil {
			return podium.Errorf(podium.EPRECONDITION, "r library build: %v", err)
		}
	}
	start := time.Now()
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	// The scratch of a build (the library being built, and beside it
	// the restore's work directory) is named after its key: a node's
	// start sweeps the ones whose key no builder holds (SweepScratch).
	tmp := filepath.Join(m.cfg.Root, ".build-"+lib.Key+"-"+hex.EncodeToString(rnd[:]))
	work := tmp + ".work"
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return fmt.Errorf("r library build: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(tmp)
		}
	}()
	var dcf strings.Builder
	for _, p := range spec.Packages {
		fmt.Fprintf(&dcf, "Package: %s\nVersion: %s\n\n", p.Name, p.Version)
	}
	if err := os.Mkdir(work, 0o755); err != nil {
		return fmt.Errorf("r library build: %w", err)
	}
	defer os.RemoveAll(work)
	pkgFile := filepath.Join(work, "packages.dcf")
	script := filepath.Join(work, "restore.R")
	if err := os.WriteFile(pkgFile, []byte(dcf.String()), 0o644); err != nil {
		return fmt.Errorf("r library build: %w", err)
	}
	if err := os.WriteFile(script, []byte(restoreScript), 0o644); err != nil {
		return fmt.Errorf("r library build: %w", err)
	}
	if cred != nil {
		// The build (R CMD INSTALL, a package's configure) runs as cred:
		// it owns what it writes, nothing else.
		for _, d := range []string{tmp, work} {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				return fmt.Errorf("r library build: %w", err)
			}
		}
	}
	fmt.Fprintf(out, "podium: restoring %d R packages for R %s (%s)\n", len(spec.Packages), lib.R.Version, lib.R.Path)
	bctx, cancel := context.WithTimeout(ctx, m.cfg.BuildTimeout)
	defer cancel()
	argv := []string{lib.R.Path, "--vanilla", "--slave", "-f", script}
	var p *sandbox.Process
	if m.sandbox != nil {
		var ro []string
		if r := m.cfg.Repository; filepath.IsAbs(r) {
			ro = append(ro, r)
		} else if d, ok := strings.CutPrefix(r, "file://"); ok && filepath.IsAbs(d) {
			ro = append(ro, d)
		}
		name := "build"
		if cred != nil {
			name = "build-" + strconv.FormatUint(uint64(cred.Uid), 10)
		}
		p, err = m.sandbox.Command(&sandbox.Spec{Kind: sandbox.KindBuild, Name: name, Cred: cred, ReadOnly: sandbox.ReadOnlyDirs(ro...), Writable: []string{tmp, work},
			Limits: sandbox.LimitsFrom(ctx)},
			argv[0], argv[1:]...)
		if err != nil {
			return podium.Errorf(podium.EPRECONDITION, "r library build: %v", err)
		}
	} else {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
		p = sandbox.Unsandboxed(cmd)
	}
	cmd := p.Cmd
	cmd.Dir = work
	cmd.Env = []string{
		"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "HOME=" + work, "TMPDIR=" + work,
		"R_LIBS_USER=" + filepath.Join(work, "no-user-library"),
		"PODIUM_R_LIB=" + tmp, "PODIUM_R_PACKAGES=" + pkgFile, "PODIUM_R_REPO=" + m.repoURL(),
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var missing, failed []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "podium-missing: "):
				missing = append(missing, strings.TrimPrefix(line, "podium-missing: "))
			case strings.HasPrefix(line, "podium-failed: "):
				failed = append(failed, strings.TrimPrefix(line, "podium-failed: "))
			}
			fmt.Fprintln(out, line)
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	runErr := p.StartContext(bctx)
	if runErr == nil {
		runErr = p.Wait()
		p.Kill() // what it left behind
	}
	pw.Close()
	<-done
	if runErr == nil && bctx.Err() != nil {
		runErr = bctx.Err()
	}
	repo := m.cfg.Repository
	if repo == "" {
		repo = "(none set)"
	}
	switch {
	case len(missing) > 0:
		return podium.Errorf(podium.EINVALID, "R package %s not found in [R] Repository %s nor in the system library of R %s",
			strings.Join(missing, "; "), repo, lib.R.Version)
	case len(failed) > 0:
		return podium.Errorf(podium.EINVALID, "R package %s did not install from [R] Repository %s (see the deployment log)", strings.Join(failed, "; "), repo)
	case runErr != nil && p.LimitKill() != "":
		fmt.Fprintln(out, "podium: the build was "+p.LimitKill())
		return podium.Errorf(podium.EINVALID, "restoring the R packages failed: the build was %s", p.LimitKill())
	case runErr != nil:
		return podium.Errorf(podium.EINVALID, "restoring the R packages failed (%v): see the deployment log", runErr)
	}
	rec := LibRecord{Key: lib.Key, R: lib.R, Packages: spec.Packages, Built: time.Now().UTC(), Node: m.cfg.NodeID,
		Seconds: time.Since(start).Seconds()}
	b, _ := json.MarshalIndent(rec, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, recordName), b, 0o644); err != nil {
		return fmt.Errorf("r library build: %w", err)
	}
	if err := os.Rename(tmp, lib.Dir); err != nil {
		return fmt.Errorf("r library build: %w", err)
	}
	m.log.WithFields(logrus.Fields{"key": lib.Key, "r": lib.R.Version, "packages": len(spec.Packages),
		"seconds": rec.Seconds}).Info("R library built")
	fmt.Fprintf(out, "podium: R library %s built in %.1fs\n", lib.Key, rec.Seconds)
	return nil
}
