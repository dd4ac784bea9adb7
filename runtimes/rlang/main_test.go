package rlang

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sirupsen/logrus"
)

// rExe is Debian's R (scripts/ensure-deps.sh installs it).
const rExe = "/usr/bin/R"

// testRepo is a local CRAN-like repository that TestMain builds from a
// package it writes (podiumtestpkg 0.1.0), with R CMD build and
// tools::write_PACKAGES.
var testRepo string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "podium-rrepo-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testRepo = filepath.Join(dir, "repo")
	if err := buildRepo(dir, testRepo); err != nil {
		fmt.Fprintln(os.Stderr, "build the test R repository:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildRepo writes podiumtestpkg, builds its source tarball and indexes it
// in repo/src/contrib.
func buildRepo(work, repo string) error {
	src := filepath.Join(work, "podiumtestpkg")
	files := map[string]string{
		"DESCRIPTION": "Package: podiumtestpkg\nVersion: 0.1.0\nTitle: Podium Test Package\n" +
			"Description: A package the podium tests restore from a local repository.\n" +
			"Authors@R: person(\"Podium\", \"Tests\", email = \"tests@example.com\", role = c(\"aut\", \"cre\"))\n" +
			"License: MIT\nEncoding: UTF-8\n",
		"NAMESPACE": "export(greeting)\n",
		"R/greet.R": "greeting <- function(who) paste0(\"Hello from podiumtestpkg, \", who, \"!\")\n",
	}
	for name, body := range files {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	contrib := filepath.Join(repo, "src", "contrib")
	if err := os.MkdirAll(contrib, 0o755); err != nil {
		return err
	}
	if err := run(contrib, rExe, "CMD", "build", "--no-build-vignettes", "--no-manual", src); err != nil {
		return err
	}
	return run(contrib, rExe, "--vanilla", "--slave", "-e", `tools::write_PACKAGES(".", type = "source")`)
}

func run(dir string, argv ...string) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "HOME=" + dir}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, out)
	}
	return nil
}

// writeFiles writes files into dir.
func writeFiles(dir string, files map[string]string) error {
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// testLog is the logger of the managers under test.
func testLog() *logrus.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return logrus.NewEntry(l)
}

// newManager returns a manager of R libraries cached under root, as node
// node would have.
func newManager(t *testing.T, root, node, repo string) *Manager {
	t.Helper()
	m, err := New(context.Background(), Config{Executables: []string{rExe}, Repository: repo, Root: root, NodeID: node},
		testLog().WithField("node", node))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// systemVersion returns the version of a package in the system library.
func systemVersion(t *testing.T, pkg string) string {
	t.Helper()
	out, err := exec.Command(rExe, "--vanilla", "--slave", "-e", fmt.Sprintf(`cat(as.character(packageVersion(%q)))`, pkg)).Output()
	if err != nil {
		t.Fatalf("version of %s: %v", pkg, err)
	}
	return strings.TrimSpace(string(out))
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
