package runtimes

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// freezeSkip are the distributions pip freeze leaves out unless asked
// (--all): the installer's own tools, which a requirements file does not
// need and pip or uv provide themselves.
var freezeSkip = []string{"pip", "setuptools", "wheel", "distribute"}

// Lockfile returns the requirements.txt.lock of a finished environment:
// the exact set of distributions installed in it, one "name==version"
// line each (sorted by name, as pip freeze prints them, leaving out what
// pip freeze leaves out), after comment lines naming the interpreter, the
// environment and, when the environment also sees the interpreter's own
// packages ([Python] SystemSitePackages), that fact. pip and uv read it as
// a requirements file.
//
// It reads the installed distributions' metadata (.dist-info/METADATA,
// .egg-info/PKG-INFO) in the environment's site-packages: nothing runs.
func (m *Manager) Lockfile(env *Env) (string, error) {
	sites, err := filepath.Glob(filepath.Join(env.Dir, "lib", "python*", "site-packages"))
	if err != nil {
		return "", fmt.Errorf("lockfile: %w", err)
	}
	type dist struct{ name, version string }
	var dists []dist
	seen := map[string]bool{}
	for _, site := range sites {
		entries, err := os.ReadDir(site)
		if err != nil {
			return "", fmt.Errorf("lockfile: %w", err)
		}
		for _, e := range entries {
			var meta string
			switch {
			case strings.HasSuffix(e.Name(), ".dist-info"):
				meta = filepath.Join(site, e.Name(), "METADATA")
			case strings.HasSuffix(e.Name(), ".egg-info"):
				meta = filepath.Join(site, e.Name(), "PKG-INFO")
				if !e.IsDir() {
					meta = filepath.Join(site, e.Name())
				}
			default:
				continue
			}
			name, version, err := readDistMetadata(meta)
			if errors.Is(err, fs.ErrNotExist) {
				continue // a broken leftover: pip ignores it too
			} else if err != nil {
				return "", fmt.Errorf("lockfile: %w", err)
			}
			key := normalizeDist(name)
			if name == "" || version == "" || seen[key] || slices.Contains(freezeSkip, key) {
				continue
			}
			seen[key] = true
			dists = append(dists, dist{name, version})
		}
	}
	slices.SortFunc(dists, func(a, b dist) int { return strings.Compare(normalizeDist(a.name), normalizeDist(b.name)) })
	var b strings.Builder
	b.WriteString("# requirements.txt.lock: the Python packages installed in this content's environment by Podium\n")
	fmt.Fprintf(&b, "# python_version: %s\n", env.Interpreter.Version)
	fmt.Fprintf(&b, "# environment: %s\n", env.Key)
	if m.cfg.SystemSitePackages {
		b.WriteString("# The environment also sees the packages of the server's Python installation ([Python] SystemSitePackages), which are not listed.\n")
	}
	for _, d := range dists {
		fmt.Fprintf(&b, "%s==%s\n", d.name, d.version)
	}
	return b.String(), nil
}

// readDistMetadata reads the Name and Version headers of a distribution's
// metadata file (email-header form, up to the first blank line).
func readDistMetadata(path string) (name, version string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Name:"); ok && name == "" {
			name = strings.TrimSpace(v)
		} else if v, ok := strings.CutPrefix(line, "Version:"); ok && version == "" {
			version = strings.TrimSpace(v)
		}
	}
	return name, version, sc.Err()
}

// normalizeDist is a distribution name as PEP 503 compares them.
func normalizeDist(name string) string {
	return strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(name))
}
