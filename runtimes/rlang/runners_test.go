package rlang

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/internal/testutil"
)

// writeBundle writes files into a new bundle directory.
func writeBundle(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// restoreTestPkg returns a library with podiumtestpkg, from the test
// repository.
func restoreTestPkg(t *testing.T) *Library {
	t.Helper()
	m := newManager(t, t.TempDir(), "node1", testRepo)
	out := &syncBuffer{}
	lib, err := m.Restore(context.Background(), &Spec{Packages: []Package{{"podiumtestpkg", "0.1.0"}}}, out)
	if err != nil {
		t.Fatalf("Restore: %v\n%s", err, out)
	}
	return lib
}

// serve starts c in dir on a free port, as the supervisor would (a clean
// environment plus the command's), and returns its base URL.
func serve(t *testing.T, c *Command, dir string) string {
	t.Helper()
	port := testutil.FreePort(t)
	cmd := exec.Command(c.Argv[0], c.Argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + dir, "LANG=C.UTF-8", "PORT=" + strconv.Itoa(port)}, c.Env...)
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	testutil.WaitFor(t, 2*time.Minute, "the R app listens on $PORT", func() bool {
		select {
		case <-exited:
			t.Fatalf("the R app exited:\n%s", log)
		default:
		}
		resp, err := http.Get(url + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	return url
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeShiny(t *testing.T) {
	lib := restoreTestPkg(t)
	for name, files := range map[string]map[string]string{
		"AppR": {"app.R": `library(shiny)
ui <- fluidPage(h1(podiumtestpkg::greeting("Shiny")), textOutput("n"))
server <- function(input, output, session) { output$n <- renderText(6 * 7) }
shinyApp(ui, server)
`},
		"UIAndServer": {
			"ui.R":     `shiny::fluidPage(shiny::h1(podiumtestpkg::greeting("Shiny")))` + "\n",
			"server.R": `function(input, output, session) {}` + "\n",
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeBundle(t, files)
			c, err := ServeCommand(&Spec{AppMode: ModeShiny}, lib, dir)
			if err != nil {
				t.Fatal(err)
			}
			url := serve(t, c, dir)
			code, body := get(t, url+"/")
			if code != 200 || !strings.Contains(body, "Hello from podiumtestpkg, Shiny!") || !strings.Contains(body, "shiny") {
				t.Fatalf("GET / = %d:\n%s", code, body)
			}
			// The page's socket is reconnectable (see reconnectScript).
			if !strings.Contains(body, "ws.allowReconnect=true") || !strings.Contains(body, reconnectScript+"</body>") {
				t.Fatalf("GET / lacks the reconnectable socket:\n%s", body)
			}
			// The WebSocket endpoint the page connects to answers an upgrade.
			req, _ := http.NewRequest("GET", url+"/websocket/", nil)
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", "websocket")
			req.Header.Set("Sec-WebSocket-Version", "13")
			req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("WebSocket upgrade = %d; want 101", resp.StatusCode)
			}
		})
	}
}

func TestServePlumber(t *testing.T) {
	lib := restoreTestPkg(t)
	for _, file := range []string{"plumber.R", "entrypoint.R"} {
		t.Run(file, func(t *testing.T) {
			body := `#* @get /hello
#* @serializer unboxedJSON
function(who = "world") list(msg = podiumtestpkg::greeting(who))
`
			if file == "entrypoint.R" {
				body = `pr <- plumber::pr()
pr <- plumber::pr_get(pr, "/hello", function(who = "world") list(msg = podiumtestpkg::greeting(who)), serializer = plumber::serializer_unboxed_json())
pr
`
			}
			dir := writeBundle(t, map[string]string{file: body})
			c, err := ServeCommand(&Spec{AppMode: ModePlumber}, lib, dir)
			if err != nil {
				t.Fatal(err)
			}
			url := serve(t, c, dir)
			code, got := get(t, url+"/hello?who=plumber")
			if code != 200 || strings.TrimSpace(got) != `{"msg":"Hello from podiumtestpkg, plumber!"}` {
				t.Fatalf("GET /hello = %d %s", code, got)
			}
		})
	}
}

func TestRenderRmd(t *testing.T) {
	lib := restoreTestPkg(t)
	dir := writeBundle(t, map[string]string{"report.Rmd": "---\ntitle: \"Podium report\"\noutput: html_document\n---\n\n" +
		"The answer is `r 6 * 7`.\n\n```{r}\npodiumtestpkg::greeting(\"Rmd\")\n```\n"})
	c, err := RenderCommand(&Spec{AppMode: ModeRmdStatic}, lib, dir)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cmd := exec.Command(c.Argv[0], c.Argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + dir, "LANG=C.UTF-8", "PODIUM_OUTPUT_DIR=" + out}, c.Env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("render: %v\n%s", err, b)
	}
	html, err := os.ReadFile(filepath.Join(out, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Podium report", "The answer is 42.", "Hello from podiumtestpkg, Rmd!"} {
		if !strings.Contains(string(html), want) {
			t.Fatalf("index.html lacks %q", want)
		}
	}
	// Served over HTTP, as the content's readers get it.
	srv := httptest.NewServer(http.FileServer(http.Dir(out)))
	t.Cleanup(srv.Close)
	code, body := get(t, srv.URL+"/")
	if code != 200 || !strings.Contains(body, "The answer is 42.") {
		t.Fatalf("GET / = %d", code)
	}
}

func TestEntrypointErrors(t *testing.T) {
	lib := &Library{R: Installation{Path: rExe, Version: "4.2.2"}}
	empty := writeBundle(t, map[string]string{"README.md": "x"})
	two := writeBundle(t, map[string]string{"a.Rmd": "x", "b.Rmd": "y"})
	for name, tc := range map[string]struct {
		spec   Spec
		dir    string
		render bool
		msg    string
	}{
		"ShinyWithoutApp":     {Spec{AppMode: ModeShiny}, empty, false, "the bundle needs app.R, or ui.R and server.R"},
		"PlumberWithoutFile":  {Spec{AppMode: ModePlumber}, empty, false, "the bundle needs plumber.R or entrypoint.R"},
		"ShinyEntryEscapes":   {Spec{AppMode: ModeShiny, Entrypoint: "../x.R"}, empty, false, `metadata.entrypoint "../x.R" for appmode shiny must be a .R file`},
		"RmdTwoDocuments":     {Spec{AppMode: ModeRmdStatic}, two, true, "the bundle root holds 2 .Rmd files"},
		"RmdEntryMissing":     {Spec{AppMode: ModeRmdStatic, Entrypoint: "c.Rmd"}, two, true, `"c.Rmd" for appmode rmd-static is not in the bundle`},
		"RenderOfServedMode":  {Spec{AppMode: ModeShiny}, empty, true, `appmode "shiny" is not a rendered R document`},
		"ServeOfRenderedMode": {Spec{AppMode: ModeRmdStatic}, two, false, `appmode "rmd-static" is not an R app served`},
	} {
		t.Run(name, func(t *testing.T) {
			var err error
			if tc.render {
				_, err = RenderCommand(&tc.spec, lib, tc.dir)
			} else {
				_, err = ServeCommand(&tc.spec, lib, tc.dir)
			}
			if podium.ErrorCode(err) != podium.EINVALID || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v; want EINVALID containing %q", err, tc.msg)
			}
		})
	}
}
