package rlang

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/testutil"
)

// BenchmarkShinyFirst200 measures, for the Shiny app of TestServeShiny,
// the time from the start of a deployment's R work (restoring the
// package library) to the app's first 200: with the library already in
// the cache (another deployment or node built it), with a library built
// anew (podiumtestpkg from the test repository, shiny from the system
// library), and, as the peer, with no packages to restore at all.
//
//	go test ./runtimes/rlang -run '^$' -bench ShinyFirst200 -benchtime 3x
func BenchmarkShinyFirst200(b *testing.B) {
	dir := b.TempDir()
	app := `library(shiny)
ui <- fluidPage(h1(podiumtestpkg::greeting("Shiny")))
server <- function(input, output, session) {}
shinyApp(ui, server)
`
	if err := writeFiles(dir, map[string]string{"app.R": app}); err != nil {
		b.Fatal(err)
	}
	shiny := benchSystemVersion(b, "shiny")
	spec := &Spec{AppMode: ModeShiny, Packages: []Package{{"podiumtestpkg", "0.1.0"}, {"shiny", shiny}}}
	cachedRoot := b.TempDir()
	for _, tc := range []struct {
		name string
		spec *Spec
		root func() string
	}{
		{"SystemLibraryOnly", &Spec{AppMode: ModeShiny}, func() string { return cachedRoot }},
		{"CachedLibrary", spec, func() string { return cachedRoot }},
		{"NewLibrary", spec, func() string { return b.TempDir() }},
	} {
		if tc.name == "CachedLibrary" {
			if _, err := benchManager(b, cachedRoot).Restore(context.Background(), spec, discard{}); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(tc.name, func(b *testing.B) {
			var restore, total time.Duration
			for b.Loop() {
				m := benchManager(b, tc.root())
				start := time.Now()
				lib, err := m.Restore(context.Background(), tc.spec, discard{})
				if err != nil {
					b.Fatal(err)
				}
				restore += time.Since(start)
				appDir := dir
				if tc.spec.Packages == nil {
					appDir = b.TempDir()
					if err := writeFiles(appDir, map[string]string{"app.R": "shiny::shinyApp(shiny::fluidPage(shiny::h1('hi')), function(input, output, session) {})\n"}); err != nil {
						b.Fatal(err)
					}
					start = time.Now()
				}
				c, err := ServeCommand(tc.spec, lib, appDir)
				if err != nil {
					b.Fatal(err)
				}
				stop := firstOK(b, c, appDir)
				total += time.Since(start)
				stop()
			}
			n := float64(b.N)
			b.ReportMetric(float64(restore.Milliseconds())/n, "restore-ms/op")
			b.ReportMetric(float64(total.Milliseconds())/n, "first200-ms/op")
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func benchManager(b *testing.B, root string) *Manager {
	b.Helper()
	m, err := New(context.Background(), Config{Executables: []string{rExe}, Repository: testRepo, Root: root}, testLog())
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func benchSystemVersion(b *testing.B, pkg string) string {
	out, err := exec.Command(rExe, "--vanilla", "--slave", "-e", fmt.Sprintf(`cat(as.character(packageVersion(%q)))`, pkg)).Output()
	if err != nil {
		b.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// firstOK starts c and waits for its first 200 on GET /; it returns the
// function that stops it.
func firstOK(b *testing.B, c *Command, dir string) func() {
	b.Helper()
	port := testutil.FreePort(b)
	cmd := exec.Command(c.Argv[0], c.Argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + dir, "LANG=C.UTF-8", "PORT=" + strconv.Itoa(port)}, c.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	stop := func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() }
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	deadline := time.Now().Add(testutil.Timeout(2 * time.Minute))
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return stop
			}
		}
		if time.Now().After(deadline) {
			stop()
			b.Fatalf("no 200 from the Shiny app within the timeout")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
