package rlang

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/podiumhq/podium"
)

// rEval runs expr with the library lib in R_LIBS, as a runner would.
func rEval(t *testing.T, lib *Library, expr string) string {
	t.Helper()
	cmd := exec.Command(rExe, "--vanilla", "--slave", "-e", expr)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}, env(lib, "")...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("R -e %s: %v\n%s", expr, err, out)
	}
	return string(out)
}

func TestRestore(t *testing.T) {
	shinyVersion := systemVersion(t, "shiny")
	spec := &Spec{AppMode: ModeShiny, Packages: []Package{{"podiumtestpkg", "0.1.0"}, {"shiny", shinyVersion}}}
	root := t.TempDir()

	t.Run("BuildsFromRepositoryAndSystemLibrary", func(t *testing.T) {
		m := newManager(t, root, "node1", testRepo)
		out := &syncBuffer{}
		lib, err := m.Restore(context.Background(), spec, out)
		if err != nil {
			t.Fatalf("Restore: %v\n%s", err, out)
		}
		if !lib.Built || m.Builds() != 1 || lib.Dir != filepath.Join(root, lib.Key) {
			t.Fatalf("Restore = %+v (builds %d); want a library built into the cache", lib, m.Builds())
		}
		if _, err := os.Stat(filepath.Join(lib.Dir, "podiumtestpkg", "DESCRIPTION")); err != nil {
			t.Fatalf("podiumtestpkg not installed in the library: %v\n%s", err, out)
		}
		// shiny is in the system library at that version: used, not rebuilt.
		if _, err := os.Stat(filepath.Join(lib.Dir, "shiny")); !os.IsNotExist(err) {
			t.Fatalf("shiny was installed into the library (%v); the system library has it", err)
		}
		if !strings.Contains(out.String(), "R package shiny "+shinyVersion+": from the system library") {
			t.Fatalf("the log does not say shiny came from the system library:\n%s", out)
		}
		if got := rEval(t, lib, `cat(podiumtestpkg::greeting("R"))`); got != "Hello from podiumtestpkg, R!" {
			t.Fatalf("podiumtestpkg from the library says %q", got)
		}
		if left, _ := filepath.Glob(filepath.Join(root, ".build-*")); len(left) > 0 {
			t.Fatalf("scratch directories left: %v", left)
		}
	})

	t.Run("ReusedByAnotherNode", func(t *testing.T) {
		m := newManager(t, root, "node2", testRepo)
		out := &syncBuffer{}
		lib, err := m.Restore(context.Background(), spec, out)
		if err != nil {
			t.Fatalf("Restore: %v\n%s", err, out)
		}
		if lib.Built || m.Builds() != 0 || !strings.Contains(out.String(), "reused") {
			t.Fatalf("Restore on a second node = %+v (builds %d), log:\n%s\nwant the cached library", lib, m.Builds(), out)
		}
	})

	t.Run("NoPackagesNeedsNoLibrary", func(t *testing.T) {
		m := newManager(t, root, "node1", testRepo)
		lib, err := m.Restore(context.Background(), &Spec{AppMode: ModeShiny}, &syncBuffer{})
		if err != nil || lib.Dir != "" || lib.R.Path != rExe {
			t.Fatalf("Restore without packages = %+v, %v; want the system library only", lib, err)
		}
	})
}

func TestRestoreConcurrentBuildsOnce(t *testing.T) {
	root := t.TempDir()
	spec := &Spec{AppMode: ModeShiny, Packages: []Package{{"podiumtestpkg", "0.1"}, {"jsonlite", systemVersion(t, "jsonlite")}}}
	nodes := []*Manager{newManager(t, root, "node1", testRepo), newManager(t, root, "node2", testRepo)}
	libs := make([]*Library, len(nodes))
	errs := make([]error, len(nodes))
	outs := []*syncBuffer{{}, {}}
	var wg sync.WaitGroup
	for i, m := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			libs[i], errs[i] = m.Restore(context.Background(), spec, outs[i])
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node%d: %v\n%s", i+1, err, outs[i])
		}
	}
	if b := nodes[0].Builds() + nodes[1].Builds(); b != 1 || libs[0].Dir != libs[1].Dir {
		t.Fatalf("two nodes deploying one new package set built %d libraries (%s, %s); want 1, shared", b, libs[0].Dir, libs[1].Dir)
	}
	if got := rEval(t, libs[1], `cat(podiumtestpkg::greeting("both"))`); got != "Hello from podiumtestpkg, both!" {
		t.Fatalf("podiumtestpkg says %q", got)
	}
}

func TestRestoreMissingPackage(t *testing.T) {
	for name, tc := range map[string]struct {
		pkgs []Package
		repo string
		msg  string
	}{
		"ErrNotInRepository": {[]Package{{"podiumtestpkg", "0.1.0"}, {"nosuchpkg", "1.2.3"}}, testRepo, "R package nosuchpkg 1.2.3 (repository has none) not found in [R] Repository"},
		"ErrVersionTooNew":   {[]Package{{"podiumtestpkg", "9.9.9"}}, testRepo, "R package podiumtestpkg 9.9.9 (repository has 0.1.0) not found"},
		"ErrNoRepository":    {[]Package{{"podiumtestpkg", "0.1.0"}}, "", "R package podiumtestpkg 0.1.0 (repository has none) not found in [R] Repository (none set)"},
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			m := newManager(t, root, "node1", tc.repo)
			out := &syncBuffer{}
			_, err := m.Restore(context.Background(), &Spec{AppMode: ModeShiny, Packages: tc.pkgs}, out)
			if podium.ErrorCode(err) != podium.EINVALID || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Restore = %v; want EINVALID containing %q\n%s", err, tc.msg, out)
			}
			// Nothing half-built is left to be used.
			ents, _ := os.ReadDir(root)
			for _, e := range ents {
				if e.IsDir() {
					t.Fatalf("a failed restore left %s in the cache", e.Name())
				}
			}
		})
	}
}

// TestRestoreRSConnectManifest restores what the R rsconnect client
// (Debian's 0.8.29) writes for a Shiny app: its manifest, made by
// rsconnect::writeManifest, lists shiny and every dependency (with their
// DESCRIPTION), all from the system library, so nothing is installed.
func TestRestoreRSConnectManifest(t *testing.T) {
	dir := t.TempDir()
	if err := writeFiles(dir, map[string]string{"app.R": "library(shiny)\nshinyApp(fluidPage(h1('hi')), function(input, output, session) {})\n"}); err != nil {
		t.Fatal(err)
	}
	if err := run(dir, rExe, "--vanilla", "--slave", "-e", `rsconnect::writeManifest(".")`); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Platform json.RawMessage `json:"platform"`
		Packages json.RawMessage `json:"packages"`
		Metadata struct {
			AppMode    string `json:"appmode"`
			PrimaryRmd string `json:"primary_rmd"`
			Entrypoint string `json:"entrypoint"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	spec, err := SpecFromConnect(m.Metadata.AppMode, m.Metadata.Entrypoint, m.Metadata.PrimaryRmd, m.Platform, m.Packages)
	if err != nil {
		t.Fatal(err)
	}
	if spec.AppMode != ModeShiny || !slices.ContainsFunc(spec.Packages, func(p Package) bool { return p.Name == "shiny" }) || len(spec.Packages) < 10 {
		t.Fatalf("spec from rsconnect's manifest: %+v", spec)
	}
	m1 := newManager(t, t.TempDir(), "node1", "")
	out := &syncBuffer{}
	lib, err := m1.Restore(context.Background(), spec, out)
	if err != nil {
		t.Fatalf("Restore: %v\n%s", err, out)
	}
	if lib.R.Version != spec.RVersion {
		t.Fatalf("R %s chosen for platform %s", lib.R.Version, spec.RVersion)
	}
	if n := strings.Count(out.String(), "from the system library"); n != len(spec.Packages) {
		t.Fatalf("%d of %d packages from the system library:\n%s", n, len(spec.Packages), out)
	}
	ents, _ := os.ReadDir(lib.Dir)
	for _, e := range ents {
		if e.IsDir() {
			t.Fatalf("package %s installed into the library; the system library has it", e.Name())
		}
	}
}
