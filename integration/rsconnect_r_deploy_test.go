package integration

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// rPackage writes a small R package (name, version) under work and
// returns its source tarball, built with R CMD build. Its DESCRIPTION says
// it came from CRAN, as the packages on a publisher's machine do.
func rPackage(t *testing.T, work, name, version string) string {
	t.Helper()
	src := filepath.Join(work, name)
	files := map[string]string{
		"DESCRIPTION": "Package: " + name + "\nVersion: " + version + "\nTitle: Podium Test Package\n" +
			"Description: A package the podium tests deploy with.\n" +
			"Authors@R: person(\"Podium\", \"Tests\", email = \"tests@example.com\", role = c(\"aut\", \"cre\"))\n" +
			"License: MIT\nEncoding: UTF-8\nRepository: CRAN\n",
		"NAMESPACE": "export(greeting)\n",
		"R/greet.R": "greeting <- function(who) paste0(\"Hello from " + name + ", \", who, \"!\")\n",
	}
	for f, body := range files {
		p := filepath.Join(src, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rRun(t, work, "/usr/bin/R", "CMD", "build", "--no-build-vignettes", "--no-manual", src)
	return filepath.Join(work, name+"_"+version+".tar.gz")
}

// rDeployAppScript is what a publisher runs: deployApp of a directory,
// with an optional library of their own and a repository option.
const rDeployAppScript = `
if (nzchar(Sys.getenv("PODIUM_ARG_LIB"))) .libPaths(c(Sys.getenv("PODIUM_ARG_LIB"), .libPaths()))
if (nzchar(Sys.getenv("PODIUM_ARG_REPO"))) options(repos = c(CRAN = Sys.getenv("PODIUM_ARG_REPO")))
dir <- Sys.getenv("PODIUM_ARG_DIR")
ok <- rsconnect::deployApp(dir, appName = Sys.getenv("PODIUM_ARG_NAME"), server = "podium", account = Sys.getenv("PODIUM_ARG_ACCOUNT", "alice"),
  launch.browser = FALSE, forceUpdate = TRUE, logLevel = "verbose")
cat("DEPLOYED", ok, "\n")
d <- rsconnect::deployments(dir)
cat("URL", d$url[nrow(d)], "\n")
`

// rDeployApp writes files into dir and runs deployApp on it as a
// publisher would (lib and repo may be ""), as r's account (alice
// unless set). It returns R's output, the
// content's URL and an error when R failed or deployApp returned FALSE
// (what it does when the deployment fails).
func rDeployApp(t *testing.T, r *rClient, dir, name string, files map[string]string, lib, repo string) (string, string, error) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for f, body := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := map[string]string{"DIR": dir, "NAME": name, "LIB": lib, "REPO": repo}
	if r.account != "" {
		args["ACCOUNT"] = r.account
	}
	out, err := r.try(rDeployAppScript, args)
	url := ""
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(l, "URL "); ok {
			url = strings.TrimSpace(rest)
		}
	}
	if err == nil && !strings.Contains(out, "DEPLOYED TRUE") {
		err = errors.New("deployApp returned FALSE")
	}
	return out, url, err
}

func rRun(t *testing.T, dir string, argv ...string) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "HOME=" + dir}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

// TestRSConnectRDeployApp publishes with the R rsconnect package
// (0.8.29), unchanged: addServer, connectApiUser with an API key, then
// deployApp of a Shiny app, an R Markdown report and a Plumber API to a
// node on SQLite with [R] Executable and a local CRAN-like [R] Repository
// that holds podiumtestpkg (the Shiny app uses it: its library is built at
// the first deployment and reused by the second). Each is then served.
// A package the repository lacks fails the deployment in R, naming the
// package, and the live version keeps serving.
func TestRSConnectRDeployApp(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	// The repository the node restores from, and the publisher's own
	// library: podiumtestpkg is in both, podiumgone only on the publisher's
	// machine.
	repo := testutil.OpenTempDir(t, 0o755)
	contrib := filepath.Join(repo, "src", "contrib")
	if err := os.MkdirAll(contrib, 0o755); err != nil {
		t.Fatal(err)
	}
	pkg := rPackage(t, work, "podiumtestpkg", "0.1.0")
	gone := rPackage(t, work, "podiumgone", "0.2.0")
	rRun(t, work, "cp", pkg, contrib)
	rRun(t, contrib, "/usr/bin/R", "--vanilla", "--slave", "-e", `tools::write_PACKAGES(".", type = "source")`)
	clientLib := filepath.Join(work, "lib")
	if err := os.Mkdir(clientLib, 0o755); err != nil {
		t.Fatal(err)
	}
	rRun(t, work, "/usr/bin/R", "CMD", "INSTALL", "-l", clientLib, pkg, gone)

	cfg := pubConfig + "[R]\nExecutable = /usr/bin/R\nRepository = " + repo + "\n[Scheduler]\nInitTimeout = 3m\n"
	data := sharedDataDir(t)
	n := nodetest.StartNode(t, nodetest.Options{DataDir: data, Name: "A", Config: cfg})
	key := pubUser(t, n, "alice", "publisher")
	r := newRClient(t)
	out := r.run(`
rsconnect::addServer(Sys.getenv("PODIUM_ARG_URL"), name = "podium")
rsconnect::connectApiUser(account = "alice", server = "podium", apiKey = Sys.getenv("PODIUM_ARG_KEY"))
`, map[string]string{"URL": n.URL + "/__api__", "KEY": key})
	if !strings.Contains(out, "Account registered successfully: alice") {
		t.Fatalf("connectApiUser:\n%s", out)
	}

	deploy := func(name string, files map[string]string) (string, string, error) {
		t.Helper()
		return rDeployApp(t, r, filepath.Join(work, "apps", name), name, files, clientLib, "file://"+repo)
	}
	// first200 deploys and waits for the first 200 of path under the
	// content's URL; it returns the URL, the page and the time from the
	// start of deployApp.
	first200 := func(name, path string, files map[string]string) (string, string, time.Duration) {
		t.Helper()
		start := time.Now()
		out, url, err := deploy(name, files)
		if err != nil || !strings.HasPrefix(url, n.URL+"/content/") {
			t.Fatalf("deployApp %s: %v (url %q)\n%s", name, err, url, out)
		}
		var body string
		testutil.WaitFor(t, 3*time.Minute, name+" answers 200", func() bool {
			res := pubDo(t, "GET", url+path, key, "", nil)
			body = string(res.Body)
			return res.Status == http.StatusOK
		})
		return url, body, time.Since(start)
	}

	shinyApp := `library(shiny)
library(podiumtestpkg)
ui <- fluidPage(h1(greeting("Shiny")), textOutput("out"))
server <- function(input, output, session) { output$out <- renderText("ok") }
shinyApp(ui, server)
`
	shinyURL, page, newLib := first200("shiny_app", "", map[string]string{"app.R": shinyApp})
	if !strings.Contains(page, "Hello from podiumtestpkg, Shiny!") || !strings.Contains(page, "shiny.min.js") {
		t.Fatalf("the Shiny page:\n%s", page)
	}
	// The content reports the R its library was restored for (Connect's
	// r_version, what `rsconnect content search --r-version` filters on).
	var items []map[string]any
	res := pubDo(t, "GET", n.URL+"/__api__/v1/content?name=shiny_app", key, "", nil)
	if err := json.Unmarshal(res.Body, &items); err != nil || len(items) != 1 {
		t.Fatalf("content shiny_app: %d %s", res.Status, res.Body)
	}
	if v, _ := items[0]["r_version"].(string); !regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`).MatchString(v) ||
		items[0]["py_version"] != nil || items[0]["r_environment_management"] != true {
		t.Fatalf("the Shiny app's versions: r_version %v, py_version %v, r_environment_management %v",
			items[0]["r_version"], items[0]["py_version"], items[0]["r_environment_management"])
	}
	// Its library was restored (R CMD INSTALL, a package's configure) in
	// the content's sandbox, as the content's uid: never as root.
	if os.Geteuid() == 0 {
		id, _ := items[0]["id"].(float64)
		uid := uint32(200000 + int64(id)%100000)
		var found int
		err := filepath.WalkDir(filepath.Join(data, "runtimes", "r"), func(p string, d fs.DirEntry, err error) error {
			if err != nil || filepath.Base(p) != "DESCRIPTION" || filepath.Base(filepath.Dir(p)) != "podiumtestpkg" {
				return err
			}
			found++
			var st syscall.Stat_t
			if err := syscall.Stat(p, &st); err != nil {
				return err
			}
			if st.Uid != uid {
				t.Errorf("%s is owned by uid %d, want the content's uid %d: the restore did not run as the content", p, st.Uid, uid)
			}
			return nil
		})
		if err != nil || found == 0 {
			t.Errorf("podiumtestpkg in the node's R libraries: found %d (%v)", found, err)
		}
	}
	// The same package set again: the library is reused.
	_, _, cached := first200("shiny_again", "", map[string]string{"app.R": shinyApp})
	t.Logf("deployApp to the Shiny app's first 200: new library %s, cached library %s", newLib.Round(time.Millisecond), cached.Round(time.Millisecond))
	// Its WebSocket goes through the proxy: Shiny's session starts and
	// sends its first message.
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(time.Minute))
	defer cancel()
	c, _, err := websocket.Dial(ctx, wsURL(shinyURL)+"websocket/", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Key " + key}}})
	if err != nil {
		t.Fatalf("Shiny WebSocket: %v", err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"method":"init","data":{}}`)); err != nil {
		t.Fatalf("Shiny WebSocket: %v", err)
	}
	if _, msg, err := c.Read(ctx); err != nil || !strings.Contains(string(msg), "config") {
		t.Fatalf("Shiny's first message: %q %v", msg, err)
	}
	c.Close(websocket.StatusNormalClosure, "")

	_, page, _ = first200("rmd_report", "", map[string]string{"report.Rmd": "---\ntitle: Podium report\noutput: html_document\n---\n\n```{r}\ncat(\"sum is\", 40 + 2)\n```\n"})
	if !strings.Contains(page, "<html") || !strings.Contains(page, "Podium report") || !strings.Contains(page, "sum is 42") {
		t.Fatalf("the rendered report:\n%.2000s", page)
	}

	plumberURL, _, _ := first200("plumber_api", "sum", map[string]string{"plumber.R": "#* @get /sum\n#* @serializer unboxedJSON\nfunction(a = 1, b = 2) list(sum = as.numeric(a) + as.numeric(b))\n"})
	res = pubDo(t, "GET", plumberURL+"sum?a=40&b=2", key, "", nil)
	if res.Status != 200 || !strings.Contains(res.Header.Get("Content-Type"), "application/json") || strings.TrimSpace(string(res.Body)) != `{"sum":42}` {
		t.Fatalf("GET sum: %d %s %q", res.Status, res.Header.Get("Content-Type"), res.Body)
	}

	// A package the repository lacks: the redeployment of the Shiny app
	// fails in R naming it, and the live version keeps serving.
	out, _, err = deploy("shiny_app", map[string]string{"app.R": strings.Replace(shinyApp, "library(podiumtestpkg)", "library(podiumtestpkg)\nlibrary(podiumgone)", 1)})
	if err == nil || !strings.Contains(out, "DEPLOYED FALSE") || !strings.Contains(out, "[Connect] Error: R package podiumgone 0.2.0") {
		t.Fatalf("a missing package deployed: %v\n%s", err, out)
	}
	if res := pubDo(t, "GET", shinyURL, key, "", nil); res.Status != 200 || !strings.Contains(string(res.Body), "Hello from podiumtestpkg, Shiny!") {
		t.Fatalf("after the failed deployment: %d %.500s", res.Status, res.Body)
	}
}

// TestRSConnectRDeployHA publishes with deployApp through the shipped
// HAProxy configuration's test twin to a 2-node PostgreSQL cluster sharing
// its data directory: a Shiny app, an R Markdown report and a Plumber API,
// each then served through the load balancer; then the report runs on a
// schedule on the cluster (a new render replaces the first).
func TestRSConnectRDeployHA(t *testing.T) {
	t.Parallel()
	pg := pgtest.NewDatabase(t)
	cfg := pubConfig + "[R]\nExecutable = /usr/bin/R\n[Scheduler]\nInitTimeout = 3m\n"
	nodes := startNodes(t, 2, pg, sharedDataDir(t), cfg)
	lb := startHAProxy(t, nodes)
	key := pubUser(t, nodes[0], "alice", "publisher")
	r := newRClient(t)
	r.run(`
rsconnect::addServer(Sys.getenv("PODIUM_ARG_URL"), name = "podium")
rsconnect::connectApiUser(account = "alice", server = "podium", apiKey = Sys.getenv("PODIUM_ARG_KEY"))
`, map[string]string{"URL": lb.URL + "/__api__", "KEY": key})
	work := t.TempDir()
	// deploy publishes through the load balancer and returns the content's
	// URL there and its first answer to path.
	deploy := func(name, path string, files map[string]string) (string, pubResp) {
		t.Helper()
		out, url, err := rDeployApp(t, r, filepath.Join(work, name), name, files, "", "")
		_, guid, ok := strings.Cut(url, "/content/")
		if err != nil || !ok {
			t.Fatalf("deployApp %s: %v (url %q)\n%s", name, err, url, out)
		}
		url = lb.URL + "/content/" + guid
		var res pubResp
		testutil.WaitFor(t, 3*time.Minute, name+" answers 200 through the load balancer", func() bool {
			res = pubDo(t, "GET", url+path, key, "", nil)
			return res.Status == http.StatusOK
		})
		return url, res
	}

	if _, res := deploy("shiny_ha", "", map[string]string{"app.R": "library(shiny)\nshinyApp(fluidPage(h1(\"Shiny on the cluster\")), function(input, output) {})\n"}); !strings.Contains(string(res.Body), "Shiny on the cluster") {
		t.Fatalf("the Shiny page: %.1000s", res.Body)
	}
	if _, res := deploy("plumber_ha", "hello", map[string]string{"plumber.R": "#* @get /hello\n#* @serializer unboxedJSON\nfunction() list(msg = \"hello\")\n"}); strings.TrimSpace(string(res.Body)) != `{"msg":"hello"}` {
		t.Fatalf("the Plumber API: %q", res.Body)
	}
	report, res := deploy("report_ha", "", map[string]string{"report.Rmd": "---\ntitle: Cluster report\noutput: html_document\n---\n\n```{r}\ncat(\"rendered at\", format(Sys.time(), \"%H:%M:%OS6\"))\n```\n"})
	first := string(res.Body)
	if !strings.Contains(first, "Cluster report") || !strings.Contains(first, "rendered at") {
		t.Fatalf("the report: %.2000s", first)
	}
	guid := strings.TrimSuffix(strings.TrimPrefix(report, lb.URL+"/content/"), "/")
	pubWant(t, "put schedule", pubDo(t, "PUT", lb.URL+"/__api__/v1/content/"+guid+"/schedule", key, "application/json", []byte(`{"spec": "* * * * * *"}`)), 200)
	testutil.WaitFor(t, 3*time.Minute, "a scheduled render of the report", func() bool {
		res := pubDo(t, "GET", report, key, "", nil)
		return res.Status == 200 && strings.Contains(string(res.Body), "rendered at") && string(res.Body) != first
	})
	pubWant(t, "delete schedule", pubDo(t, "DELETE", lb.URL+"/__api__/v1/content/"+guid+"/schedule", key, "", nil), 204)
}
