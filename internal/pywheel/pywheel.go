// Package pywheel builds small Python packages into wheels for tests, with
// pip offline (pip wheel --no-index): the tests' own package source, since
// the test machines reach no public Python index.
package pywheel

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Python is the interpreter the tests use.
const Python = "/usr/bin/python3"

// Build writes a package named name at version, whose top-level modules are
// modules (module name → source), builds its wheel into outDir and returns
// the wheel's path. deps are its requirements.
func Build(tb testing.TB, outDir, name, version string, modules map[string]string, deps ...string) string {
	tb.Helper()
	src := tb.TempDir()
	var names []string
	for mod, code := range modules {
		names = append(names, fmt.Sprintf("%q", mod))
		if err := os.WriteFile(filepath.Join(src, mod+".py"), []byte(code), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	var reqs []string
	for _, d := range deps {
		reqs = append(reqs, fmt.Sprintf("%q", d))
	}
	setup := fmt.Sprintf("from setuptools import setup\nsetup(name=%q, version=%q, py_modules=[%s], install_requires=[%s])\n",
		name, version, strings.Join(names, ", "), strings.Join(reqs, ", "))
	if err := os.WriteFile(filepath.Join(src, "setup.py"), []byte(setup), 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(Python, "-m", "pip", "wheel", "--no-index", "--no-build-isolation", "--no-deps",
		"--disable-pip-version-check", "-q", "-w", outDir, src)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + src, "PIP_CONFIG_FILE=/dev/null", "PIP_NO_CACHE_DIR=1"}
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("pip wheel %s: %v\n%s", name, err, out)
	}
	found, _ := filepath.Glob(filepath.Join(outDir, strings.ReplaceAll(name, "-", "_")+"-"+version+"-*.whl"))
	if len(found) != 1 {
		tb.Fatalf("pip wheel %s: want one wheel in %s, found %v", name, outDir, found)
	}
	return found[0]
}
