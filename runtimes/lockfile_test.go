package runtimes

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLockfile: the lockfile lists every distribution installed in the
// environment's site-packages (.dist-info and .egg-info), sorted by
// normalized name, without pip's own tools, after the interpreter's
// version; an entry without metadata is skipped.
func TestLockfile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	site := filepath.Join(dir, "lib", "python3.11", "site-packages")
	write := func(rel, body string) {
		t.Helper()
		p := filepath.Join(site, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Zeta_Pkg-2.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: Zeta_Pkg\nVersion: 2.0\n\nVersion: 9.9 (in the body, not a header)\n")
	write("alpha-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: alpha\nVersion: 1.0\nSummary: x\n")
	write("old.egg-info/PKG-INFO", "Metadata-Version: 1.0\nName: old\nVersion: 0.1\n")
	write("pip-23.0.dist-info/METADATA", "Name: pip\nVersion: 23.0\n")
	write("setuptools-66.dist-info/METADATA", "Name: setuptools\nVersion: 66\n")
	if err := os.MkdirAll(filepath.Join(site, "broken-1.0.dist-info"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, system := range []bool{false, true} {
		m := &Manager{cfg: Config{SystemSitePackages: system}}
		got, err := m.Lockfile(&Env{Key: "k1", Dir: dir, Interpreter: Interpreter{Path: "/usr/bin/python3", Version: "3.11.2"}})
		if err != nil {
			t.Fatal(err)
		}
		want := "# requirements.txt.lock: the Python packages installed in this content's environment by Podium\n" +
			"# python_version: 3.11.2\n# environment: k1\n"
		if system {
			want += "# The environment also sees the packages of the server's Python installation ([Python] SystemSitePackages), which are not listed.\n"
		}
		want += "alpha==1.0\nold==0.1\nZeta_Pkg==2.0\n"
		if got != want {
			t.Errorf("SystemSitePackages %t: lockfile\n%s\nwant\n%s", system, got, want)
		}
	}
}
