package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podiumhq/podium/internal/nodetest"
)

// rClient runs R scripts as the R rsconnect package's user would: Debian's
// R and rsconnect 0.8.29, a home of its own (rsconnect keeps its servers
// and accounts there).
type rClient struct {
	t    *testing.T
	home string
	// account is the rsconnect account deployApp uses: the server's
	// username of the key's user; "" is alice.
	account string
}

func newRClient(t *testing.T) *rClient {
	t.Helper()
	return &rClient{t: t, home: t.TempDir()}
}

// run evaluates script with Rscript; args are passed as PODIUM_ARG_<name>.
// It returns the output, failing the test when R fails.
func (r *rClient) run(script string, args map[string]string) string {
	r.t.Helper()
	out, err := r.try(script, args)
	if err != nil {
		r.t.Fatalf("R: %v\n%s", err, out)
	}
	return out
}

func (r *rClient) try(script string, args map[string]string) (string, error) {
	f := filepath.Join(r.home, "script.R")
	if err := os.WriteFile(f, []byte("options(warn = 1)\n"+script), 0o644); err != nil {
		r.t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/Rscript", "--vanilla", f)
	cmd.Dir = r.home
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + r.home, "LANG=C.UTF-8"}
	for k, v := range args {
		cmd.Env = append(cmd.Env, "PODIUM_ARG_"+k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestRSConnectRClient drives a node with the R rsconnect package's own
// code (rsconnect 0.8.29, the older Connect API): addServer and
// connectApiUser with an API key (the server's URL ends in /__api__, as
// rsconnect 0.8 wants it for a Connect server), then the calls deployApp makes, in its
// order, through its client (find the application by name, create it,
// upload the bundle, deploy it, follow the task with first_status, read
// the config URL); then a redeployment through the v1 API of the item R
// created, and another from R, which finds it again by name.
func TestRSConnectRClient(t *testing.T) {
	t.Parallel()
	n := nodetest.StartNode(t, nodetest.Options{DataDir: t.TempDir(), Name: "A", Config: pubConfig + "[R]\nExecutable = /usr/bin/R\n"})
	key := pubUser(t, n, "alice", "publisher")
	r := newRClient(t)

	// The node probed its R at start and lists it.
	var settings struct {
		Installations []struct{ Version string } `json:"installations"`
	}
	sr := pubDo(t, "GET", n.URL+"/__api__/v1/server_settings/r", key, "", nil)
	pubWant(t, "server_settings/r", sr, 200)
	sr.JSON(t, &settings)
	if v := strings.TrimSpace(r.run(`cat(as.character(getRversion()))`, nil)); len(settings.Installations) != 1 || settings.Installations[0].Version != v {
		t.Fatalf("server_settings/r = %+v; want R %s", settings, v)
	}

	out := r.run(`
rsconnect::addServer(Sys.getenv("PODIUM_ARG_URL"), name = "podium")
rsconnect::connectApiUser(account = "alice", server = "podium", apiKey = Sys.getenv("PODIUM_ARG_KEY"))
acct <- rsconnect::accounts(server = "podium")
cat("ACCOUNT", acct[1, "name"], "\n")
`, map[string]string{"URL": n.URL + "/__api__", "KEY": key})
	if !strings.Contains(out, "Account registered successfully: alice") || !strings.Contains(out, "ACCOUNT alice") {
		t.Fatalf("connectApiUser:\n%s", out)
	}

	// deployApp's sequence, with its client; the bundle is the one file
	// written by the test (a Podium manifest: Connect's manifests are
	// issue 15's).
	deploy := `
info <- rsconnect:::accountInfo("alice", "podium")
client <- rsconnect:::clientForAccount(info)
app <- rsconnect:::getAppByName(client, info, Sys.getenv("PODIUM_ARG_NAME"))
if (is.null(app)) {
  cat("CREATED\n")
  app <- client$createApplication(Sys.getenv("PODIUM_ARG_NAME"), "From R", "shiny", info$accountId)
} else {
  app <- client$getApplication(app$id)
}
bundle <- client$uploadApplication(app$id, Sys.getenv("PODIUM_ARG_BUNDLE"))
task <- client$deployApplication(app$id, bundle$id)
id <- if (is.null(task$task_id)) task$id else task$task_id
res <- client$waitForTask(id, FALSE)
cfg <- client$configureApplication(app$id)
cat("APP", app$id, app$guid, "\n")
cat("URL", app$url, "\n")
cat("CODE", if (is.null(res$code)) 0 else res$code, "\n")
cat("CONFIG", cfg$config_url, "\n")
`
	writeBundle := func(page string) string {
		f := filepath.Join(t.TempDir(), "bundle.tar.gz")
		b := pubBundle(t, map[string]string{"manifest.json": `{"version":1,"metadata":{"appmode":"static"}}`, "index.html": page})
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	field := func(out, name string) string {
		for _, l := range strings.Split(out, "\n") {
			if rest, ok := strings.CutPrefix(l, name+" "); ok {
				return strings.TrimSpace(rest)
			}
		}
		t.Fatalf("no %s line in:\n%s", name, out)
		return ""
	}

	out = r.run(deploy, map[string]string{"NAME": "r_site", "BUNDLE": writeBundle("<h1>from R v1</h1>")})
	appID, guid, _ := strings.Cut(field(out, "APP"), " ")
	if !strings.Contains(out, "CREATED") || field(out, "CODE") != "0" || !strings.Contains(out, "[Connect]") {
		t.Fatalf("first deployment from R:\n%s", out)
	}
	url := n.URL + "/content/" + guid + "/"
	if field(out, "URL") != url || field(out, "CONFIG") != url {
		t.Fatalf("application url %q, config %q; want %s", field(out, "URL"), field(out, "CONFIG"), url)
	}
	if r := pubDo(t, "GET", url, key, "", nil); r.Status != 200 || string(r.Body) != "<h1>from R v1</h1>" {
		t.Fatalf("GET %s = %d %q", url, r.Status, r.Body)
	}

	// The v1 API redeploys what R created.
	var b struct{ ID int64 }
	up := pubDo(t, "POST", n.URL+"/__api__/v1/content/"+guid+"/bundles", key, "application/gzip",
		pubBundle(t, map[string]string{"manifest.json": `{"version":1,"metadata":{"appmode":"static"}}`, "index.html": "<h1>v1 API</h1>"}))
	pubWant(t, "v1 upload", up, 201)
	up.JSON(t, &b)
	var started struct {
		TaskID string `json:"task_id"`
	}
	d := pubJSON(t, "POST", n.URL+"/__api__/v1/content/"+guid+"/deploy", key, map[string]any{"bundle_id": b.ID})
	pubWant(t, "v1 deploy", d, 202)
	d.JSON(t, &started)
	if task := pubWaitTask(t, n.URL, key, started.TaskID); task.Code != 0 {
		t.Fatalf("v1 redeploy: %+v", task)
	}
	if r := pubDo(t, "GET", url, key, "", nil); string(r.Body) != "<h1>v1 API</h1>" {
		t.Fatalf("after the v1 redeploy: %d %q", r.Status, r.Body)
	}

	// R finds it again by name and redeploys it: same application.
	out = r.run(deploy, map[string]string{"NAME": "r_site", "BUNDLE": writeBundle("<h1>from R v2</h1>")})
	if strings.Contains(out, "CREATED") || field(out, "APP") != appID+" "+guid || field(out, "CODE") != "0" {
		t.Fatalf("redeployment from R:\n%s", out)
	}
	if r := pubDo(t, "GET", url, key, "", nil); string(r.Body) != "<h1>from R v2</h1>" {
		t.Fatalf("after the R redeploy: %d %q", r.Status, r.Body)
	}

	// A failed deployment reaches R as the task's error, and the live
	// version keeps serving.
	bad := filepath.Join(t.TempDir(), "bad.tar.gz")
	if err := os.WriteFile(bad, pubBundle(t, map[string]string{"manifest.json": `{"version":1,"metadata":{"appmode":"report"},"render":{"command":["/bin/false"]}}`}), 0o644); err != nil {
		t.Fatal(err)
	}
	out = r.run(deploy, map[string]string{"NAME": "r_site", "BUNDLE": bad})
	if field(out, "CODE") == "0" {
		t.Fatalf("a failing render deployed:\n%s", out)
	}
	if r := pubDo(t, "GET", url, key, "", nil); string(r.Body) != "<h1>from R v2</h1>" {
		t.Fatalf("after the failed deployment: %d %q", r.Status, r.Body)
	}

	// A wrong key: R stops with the server's message.
	out, err := newRClient(t).try(`
rsconnect::addServer(Sys.getenv("PODIUM_ARG_URL"), name = "podium")
rsconnect::connectApiUser(account = "alice", server = "podium", apiKey = "not-a-key")
`, map[string]string{"URL": n.URL + "/__api__"})
	if err == nil || !strings.Contains(out, "HTTP 401") {
		t.Fatalf("a wrong key: %v\n%s", err, out)
	}
}
