package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// raApp answers with its uid and its open-file limit; the environment
// variable RA_MARK finds its process on the host.
const raApp = `import http.server, os, resource


class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(("uid=%d nofile=%d" % (os.getuid(), resource.getrlimit(resource.RLIMIT_NOFILE)[0])).encode())


http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`

// raForkBomb is a render that forks up to 50 sleeping children, counts
// those the kernel allowed, and reports the count.
// The uid range of TestSandboxRunAs's node, apart from every other test's.
const (
	raUIDRange = "240000-249999"
	raUIDFirst = 240000
)

const raForkBomb = `import os, time

pids = []
try:
    for i in range(50):
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        pids.append(pid)
except OSError:
    pass
for p in pids:
    os.kill(p, 9)
    os.waitpid(p, 0)
with open(os.path.join(os.environ["PODIUM_OUTPUT_DIR"], "index.html"), "w") as f:
    f.write("forked=%d" % len(pids))
`

// TestSandboxRunAs: an administrator sets a content item's run_as and
// limits (PATCH /v1/content/{guid}); its app then runs as that user with
// those limits (seen on the host: /proc/<pid>/status, the memory cgroup),
// a render's fork bomb stops at the content's process limit where the
// node's default (64) would let all 50 forks through, GET shows the
// settings, a change reaches the app at its next process, and a publisher
// may set none of them.
func TestSandboxRunAs(t *testing.T) {
	t.Parallel()
	// A uid range of its own: the content ids of the tests' nodes (each
	// its own database) are alike, and so would be their uids, whose
	// processes the render's process limit counts (RLIMIT_NPROC).
	n := nodetest.StartNode(t, nodetest.Options{DataDir: sharedDataDir(t), Config: "[Applications]\nRunAs = nobody\nSandboxMemoryLimit = 256MiB\nSandboxProcessLimit = 64\nSandboxUIDRange = " + raUIDRange + "\n"})
	pub := pubUser(t, n, "ra-pub", "publisher")
	admin := pubUser(t, n, "ra-admin", "admin")

	app := pubCreate(t, n, pub, "ra-app")
	content := n.URL + "/__api__/v1/content/" + app
	// Sending back what it read (null: the node's default) is no change,
	// and not refused: a client may PATCH with the fields it got.
	pubWant(t, "publisher PATCH of unchanged defaults", pubJSON(t, "PATCH", content, pub, `{"run_as": null, "memory_limit": null, "title": "RA app"}`), 200)
	for _, body := range []string{`{"run_as": "nobody"}`, `{"process_limit": 1000}`, `{"memory_limit": 1073741824}`} {
		r := pubJSON(t, "PATCH", content, pub, body)
		pubWant(t, "publisher PATCH "+body, r, 403)
		if !strings.Contains(string(r.Body), "only administrators may set run_as") {
			t.Errorf("publisher PATCH %s: %s, want the reason", body, r.Body)
		}
	}
	for body, want := range map[string]string{
		`{"run_as": "root"}`:                 `run_as \"root\" is root`,
		`{"run_as": "ra-no-such-user"}`:      "is not a user of this node",
		`{"run_as_current_user": true}`:      "run_as_current_user",
		`{"memory_limit": 4096}`:             "memory_limit 4096: must be at least",
		`{"process_limit": 8, "name": "x/"}`: "name",
	} {
		r := pubJSON(t, "PATCH", content, admin, body)
		pubWant(t, "admin PATCH "+body, r, 400)
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("admin PATCH %s: %s, want %q", body, r.Body, want)
		}
	}
	pubWant(t, "admin sets run_as and limits", pubJSON(t, "PATCH", content, admin,
		`{"run_as": "nobody", "memory_limit": 67108864, "open_file_limit": 100, "run_as_current_user": false}`), 200)
	pubWant(t, "publisher PATCH clearing the admin's run_as", pubJSON(t, "PATCH", content, pub, `{"run_as": null}`), 403)
	pubWant(t, "publisher PATCH sending back the admin's run_as", pubJSON(t, "PATCH", content, pub, `{"run_as": "nobody", "memory_limit": 67108864}`), 200)
	var got struct {
		RunAs         *string `json:"run_as"`
		MemoryLimit   *int64  `json:"memory_limit"`
		OpenFileLimit *int    `json:"open_file_limit"`
		ProcessLimit  *int    `json:"process_limit"`
	}
	pubDo(t, "GET", content, pub, "", nil).JSON(t, &got)
	if got.RunAs == nil || *got.RunAs != "nobody" || got.MemoryLimit == nil || *got.MemoryLimit != 64<<20 ||
		got.OpenFileLimit == nil || *got.OpenFileLimit != 100 || got.ProcessLimit != nil {
		b, _ := json.Marshal(got)
		t.Fatalf("GET after the admin's PATCH: %s", b)
	}
	const mark = "ra-mark-7f3c"
	pubWant(t, "environment", pubJSON(t, "PATCH", content+"/environment", pub,
		[]map[string]string{{"name": "PUB2_DB_PASSWORD", "value": mark}}), 200)
	rtWantOK(t, "app", rtDeploy(t, n, pub, app, map[string]string{
		"manifest.json": `{"version":1,"metadata":{"appmode":"api"},"serve":{"command":["/usr/bin/python3","app.py"]}}`,
		"app.py":        raApp,
	}))
	rtWaitBody(t, n.URL+"/content/"+app+"/", pub, "uid=65534 nofile=100")
	pid := sbHostPid(t, mark)
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "Uid:") {
			t.Logf("the app's process %d on the host: %s", pid, line)
			if f := strings.Fields(line); len(f) != 5 || f[1] != "65534" || f[2] != "65534" {
				t.Errorf("the app's process runs as %q, want nobody (65534)", line)
			}
		}
	}
	if mem, _ := filepath.Glob("/sys/fs/cgroup/memory/podium/*/" + app + "/memory.limit_in_bytes"); len(mem) == 1 {
		b, _ := os.ReadFile(mem[0])
		t.Logf("%s: %s", mem[0], strings.TrimSpace(string(b)))
		if strings.TrimSpace(string(b)) != strconv.Itoa(64<<20) {
			t.Errorf("the app's memory cgroup allows %s bytes, want the content's memory_limit %d", b, 64<<20)
		}
	} else {
		t.Logf("no cgroup v1 memory controller for %s (%v): the limit is an rlimit", app, mem)
	}

	// A change reaches the running app at its next process: this one
	// keeps nobody until it ends; its replacement runs as the content's
	// own uid with the node's default open-file limit (4096).
	pubWant(t, "admin clears run_as", pubJSON(t, "PATCH", content, admin, `{"run_as": null, "open_file_limit": null}`), 200)
	if r := pubDo(t, "GET", n.URL+"/content/"+app+"/", pub, "", nil); string(r.Body) != "uid=65534 nofile=100" {
		t.Errorf("the running process after the change: %d %s, want it unchanged until its next start", r.Status, r.Body)
	}
	var id struct{ ID int64 }
	pubDo(t, "GET", content, pub, "", nil).JSON(t, &id)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	rtWaitBody(t, n.URL+"/content/"+app+"/", pub, fmt.Sprintf("uid=%d nofile=4096", raUIDFirst+id.ID%10000))

	report := pubCreate(t, n, pub, "ra-render")
	pubWant(t, "admin sets process_limit", pubJSON(t, "PATCH", n.URL+"/__api__/v1/content/"+report, admin, `{"process_limit": 8}`), 200)
	rtWantOK(t, "render", rtDeploy(t, n, pub, report, map[string]string{
		"manifest.json": `{"version":1,"metadata":{"appmode":"report"},"render":{"command":["/usr/bin/python3","render.py"]}}`,
		"render.py":     raForkBomb,
	}))
	page := pubDo(t, "GET", n.URL+"/content/"+report+"/", pub, "", nil)
	forked, err := strconv.Atoi(strings.TrimPrefix(string(page.Body), "forked="))
	t.Logf("the render's fork bomb: %s", page.Body)
	if err != nil || forked < 1 || forked >= 8 {
		t.Errorf("the render forked %q children, want 1 to 7 (process_limit 8; the default 64 allows all 50)", page.Body)
	}
}

// TestSandboxRunAsBuild: the Python environment build made for a content
// item runs as its run_as (the environment is that user's) and under its
// limits: a process_limit of 3 stops the build that the node's default
// lets through.
func TestSandboxRunAsBuild(t *testing.T) {
	t.Parallel()
	data := sharedDataDir(t)
	n := nodetest.StartNode(t, nodetest.Options{DataDir: data, Config: sbConfig(t, testutil.OpenTempDir(t, 0o755))})
	pub := pubUser(t, n, "rab-pub", "publisher")
	admin := pubUser(t, n, "rab-admin", "admin")
	app := func(req string) map[string]string {
		return map[string]string{
			"manifest.json":    `{"version":1,"metadata":{"appmode":"python-api","entrypoint":"app:app"}}`,
			"requirements.txt": req + "\n",
			"app.py":           "def app(environ, start_response):\n    start_response('200 OK', [])\n    return [b'ok']\n",
		}
	}

	a := pubCreate(t, n, pub, "rab-a")
	pubWant(t, "run_as", pubJSON(t, "PATCH", n.URL+"/__api__/v1/content/"+a, admin, `{"run_as": "nobody"}`), 200)
	rtWantOK(t, "a", rtDeploy(t, n, pub, a, app("podium-hello==1.0")))
	envs := rtEnvs(t, data)
	if len(envs) != 1 {
		t.Fatalf("environments after a's build: %v", envs)
	}
	fi, err := os.Stat(filepath.Join(data, "runtimes", "python", envs[0], "bin"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("a's environment %s: owner uid %d", envs[0], fi.Sys().(*syscall.Stat_t).Uid)
	if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != 65534 {
		t.Errorf("a's environment is owned by uid %d, want run_as nobody (65534): the build ran as someone else", uid)
	}

	b := pubCreate(t, n, pub, "rab-b")
	pubWant(t, "process_limit", pubJSON(t, "PATCH", n.URL+"/__api__/v1/content/"+b, admin, `{"process_limit": 3}`), 200)
	task := rtDeploy(t, n, pub, b, app("podium-extra==1.0"))
	t.Logf("b's build under process_limit 3: code %d, error %q", task.Code, task.Error)
	if out := strings.Join(task.Output, "\n"); task.Code == 0 || !strings.Contains(out, "Resource temporarily unavailable") {
		t.Errorf("b's build under process_limit 3: code %d, want a failed fork (EAGAIN) in:\n%s", task.Code, out)
	}
	pubWant(t, "process_limit back to the default", pubJSON(t, "PATCH", n.URL+"/__api__/v1/content/"+b, admin, `{"process_limit": null}`), 200)
	rtWantOK(t, "b with the default limit", rtDeploy(t, n, pub, b, app("podium-extra==1.0")))
}
