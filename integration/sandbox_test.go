package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/podiumhq/podium/apps"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/pywheel"
	"github.com/podiumhq/podium/internal/testutil"
)

// sbProbeApp is the app of the sandbox tests: a WSGI app that answers a
// GET with its pid, uid and the value of PUB2_DB_PASSWORD, and runs the
// probe (testdata/sandbox/probe.py) for a POST whose JSON body gives the
// probe's targets.
const sbProbeApp = `import json, os, subprocess, sys


def app(environ, start_response):
    if environ["REQUEST_METHOD"] == "POST":
        n = int(environ.get("CONTENT_LENGTH") or 0)
        env = dict(os.environ, **json.loads(environ["wsgi.input"].read(n)))
        r = subprocess.run([sys.executable, "probe.py"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        body = r.stdout
    else:
        body = json.dumps({"pid": os.getpid(), "uid": os.getuid(), "secret": os.environ.get("PUB2_DB_PASSWORD", "")}).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
`

// sbSecret is B's secret, in B's environment only.
const sbSecret = "pub2-very-secret"

// sbConfig is the configuration of the sandbox tests' node: the
// runtimes tests' Python, with the probe's package directory as a second
// FindLinks, and small limits so that containment shows quickly.
func sbConfig(t *testing.T, probeLinks string) string {
	return "[Applications]\nRunAs = nobody\nMaxBundleSize = 2MB\nSandboxMemoryLimit = 256MiB\nSandboxProcessLimit = 64\nSandboxTmpSize = 16MiB\n" +
		"ScheduleConcurrency = 1\nJobPollInterval = 200ms\n[Scheduler]\nMinProcesses = 1\nIdleTimeout = 1h\n" +
		"[Python]\nExecutable = " + pywheel.Python + "\nFindLinks = " + rtWheels(t) + ", " + probeLinks +
		"\nNoIndex = true\nSystemSitePackages = true\n"
}

// sbProbe is testdata/sandbox/probe.py.
func sbProbe(t *testing.T) string {
	b, err := os.ReadFile(filepath.Join("testdata", "sandbox", "probe.py"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sbResult finds the probe's answer in out and checks it: every attempt
// refused or contained, none through; uid is the uid the probe must run
// as.
func sbResult(t *testing.T, what, out string, uid int) map[string]any {
	t.Helper()
	_, js, ok := strings.Cut(out, "PROBE-RESULT ")
	if !ok {
		t.Fatalf("%s: no probe result in:\n%s", what, out)
	}
	js, _, _ = strings.Cut(js, "\n")
	var res map[string]any
	if err := json.Unmarshal([]byte(js), &res); err != nil {
		t.Fatalf("%s: probe result %q: %v", what, js, err)
	}
	for _, k := range []string{"environ", "files", "connect", "kill", "fork", "memory", "tmp"} {
		v, _ := res[k].(string)
		t.Logf("%s: %s: %s", what, k, v)
		if !strings.HasPrefix(v, "refused: ") && !strings.HasPrefix(v, "contained: ") {
			t.Errorf("%s: the attempt %s got through: %q", what, k, v)
		}
	}
	if got := int(res["uid"].(float64)); got != uid {
		t.Errorf("%s: the probe ran as uid %d, want %d (the content's own)", what, got, uid)
	}
	return res
}

// sbHostPid finds, on the host, the pid of the process (not root's) whose
// environment holds secret: B's app itself.
func sbHostPid(t *testing.T, secret string) int {
	t.Helper()
	var pid int
	testutil.WaitFor(t, testutil.Timeout(30*time.Second), "B's process on the host", func() bool {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			n, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
			if err != nil || !bytes.Contains(b, []byte("PUB2_DB_PASSWORD="+secret)) {
				continue
			}
			if fi, err := os.Stat(filepath.Join("/proc", e.Name())); err == nil {
				if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 {
					t.Logf("B's process on the host: pid %d, uid %d", n, st.Uid)
					pid = n
					return true
				}
			}
		}
		return false
	})
	return pid
}

// sbWatch asks B for its page every 100ms until the returned function is
// called (or the test ends), which reports how many answers were not B's
// (another status, no secret) out of how many.
func sbWatch(t *testing.T, url, key string) (stop func() (bad int64, seen int64)) {
	done := make(chan struct{})
	var bad, seen atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		hc := &http.Client{Timeout: 10 * time.Second}
		for {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Authorization", "Key "+key)
			seen.Add(1)
			res, err := hc.Do(req)
			if err != nil {
				bad.Add(1)
				continue
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || !bytes.Contains(b, []byte(sbSecret)) {
				bad.Add(1)
			}
		}
	}()
	var once sync.Once
	stop = func() (int64, int64) {
		once.Do(func() { close(done); wg.Wait() })
		return bad.Load(), seen.Load()
	}
	t.Cleanup(func() { stop() })
	return stop
}

// TestSandboxProbe replays, from inside content A, what a publisher tried
// against another publisher's app B before content ran in sandboxes:
// read B's environment (its secret), B's bundle and B's package
// environment, connect to B's port directly (around Podium's access
// control), signal B's processes, fork without bound, allocate 2 GiB and
// fill /tmp. Each attempt is refused or contained, from an app, from a
// scheduled render and from a Python environment build, and B keeps
// serving throughout. A and B run as different uids of the sandbox range.
func TestSandboxProbe(t *testing.T) {
	t.Parallel()
	data := sharedDataDir(t)
	links := testutil.OpenTempDir(t, 0o755)
	n := nodetest.StartNode(t, nodetest.Options{DataDir: data, Config: sbConfig(t, links)})
	key := pubUser(t, n, "alice", "publisher")
	probe := sbProbe(t)

	// B: an app with a secret, its own package environment.
	b := pubCreate(t, n, key, "pub2-app")
	pubWant(t, "B's secret", pubJSON(t, "PATCH", n.URL+"/__api__/v1/content/"+b+"/environment", key,
		[]map[string]string{{"name": "PUB2_DB_PASSWORD", "value": sbSecret}}), 200)
	rtWantOK(t, "B", rtDeploy(t, n, key, b, map[string]string{
		"manifest.json":    `{"version":1,"metadata":{"appmode":"python-api","entrypoint":"app:app"}}`,
		"requirements.txt": "podium-hello==1.0\n",
		"app.py":           sbProbeApp,
	}))
	rtWaitBody(t, n.URL+"/content/"+b+"/", key, sbSecret)
	var bInfo struct {
		Pid int
		UID int
	}
	pubDo(t, "GET", n.URL+"/content/"+b+"/", key, "", nil).JSON(t, &bInfo)
	var procs struct {
		Processes []struct {
			Port int `json:"port"`
		} `json:"processes"`
	}
	pubDo(t, "GET", n.URL+"/__api__/v1/content/"+b+"/processes", key, "", nil).JSON(t, &procs)
	if len(procs.Processes) != 1 {
		t.Fatalf("B's processes: %+v", procs)
	}
	bHostPid := sbHostPid(t, sbSecret)
	var bEnv string
	for _, e := range rtEnvs(t, data) {
		rec, _ := os.ReadFile(filepath.Join(data, "runtimes", "python", e, ".podium-env.json"))
		if strings.Contains(string(rec), "podium-hello") && !strings.Contains(string(rec), "podium-extra") {
			bEnv = filepath.Join(data, "runtimes", "python", e)
		}
	}
	if bEnv == "" {
		t.Fatalf("B's environment is not in the cache: %v", rtEnvs(t, data))
	}
	bundles, _ := filepath.Glob(filepath.Join(data, "content", b, "bundles", "*", "app.py"))
	if len(bundles) != 1 {
		t.Fatalf("B's bundle: %v", bundles)
	}
	targets := map[string]string{
		"PROBE_SECRET": sbSecret,
		"PROBE_PID":    strconv.Itoa(bHostPid),
		"PROBE_PORT":   strconv.Itoa(procs.Processes[0].Port),
		"PROBE_PATHS":  strings.Join([]string{bundles[0], filepath.Join(bEnv, "bin"), filepath.Join(data, "content", b), filepath.Join(data, "db")}, ":"),
	}
	// The uid of a content item: the first of the sandbox range plus its
	// id (modulo the range's size).
	uidOf := func(guid string) int {
		var c struct{ ID int64 }
		pubDo(t, "GET", n.URL+"/__api__/v1/content/"+guid, key, "", nil).JSON(t, &c)
		if c.ID == 0 {
			t.Fatalf("content %s has no id", guid)
		}
		return 200000 + int(c.ID%100000)
	}
	if bInfo.UID != uidOf(b) {
		t.Errorf("B runs as uid %d, want %d: the sandbox range's uid of its content id", bInfo.UID, uidOf(b))
	}
	check := func(what string, watch func() (int64, int64)) {
		t.Helper()
		bad, seen := watch()
		if bad > 0 || seen == 0 {
			t.Errorf("%s: B answered %d of %d requests wrongly while the probe ran", what, bad, seen)
		}
		var now struct{ Pid int }
		pubDo(t, "GET", n.URL+"/content/"+b+"/", key, "", nil).JSON(t, &now)
		if now.Pid != bInfo.Pid {
			t.Errorf("%s: B's process changed from %d to %d", what, bInfo.Pid, now.Pid)
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", bHostPid)); err != nil {
			t.Errorf("%s: B's process %d is gone: %v", what, bHostPid, err)
		}
	}

	t.Run("App", func(t *testing.T) {
		a := pubCreate(t, n, key, "probe-app")
		rtWantOK(t, "A", rtDeploy(t, n, key, a, map[string]string{
			"manifest.json":    `{"version":1,"metadata":{"appmode":"python-api","entrypoint":"app:app"}}`,
			"requirements.txt": "podium-extra==1.0\n",
			"app.py":           sbProbeApp,
			"probe.py":         probe,
		}))
		rtWaitBody(t, n.URL+"/content/"+a+"/", key, `"pid"`)
		watch := sbWatch(t, n.URL+"/content/"+b+"/", key)
		body, _ := json.Marshal(targets)
		req, _ := http.NewRequest("POST", n.URL+"/content/"+a+"/", bytes.NewReader(body))
		req.Header.Set("Authorization", "Key "+key)
		res, err := (&http.Client{Timeout: testutil.Timeout(300 * time.Second)}).Do(req)
		check("app", watch)
		if err != nil {
			t.Fatalf("probe app: %v", err)
		}
		out, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("probe app: %d %s", res.StatusCode, out)
		}
		sbResult(t, "app", string(out), uidOf(a))
	})

	t.Run("ScheduledRender", func(t *testing.T) {
		rep := pubCreate(t, n, key, "probe-report")
		var vars []map[string]string
		for k, v := range targets {
			vars = append(vars, map[string]string{"name": k, "value": v})
		}
		pubWant(t, "report's variables", pubJSON(t, "PATCH", n.URL+"/__api__/v1/content/"+rep+"/environment", key, vars), 200)
		watch := sbWatch(t, n.URL+"/content/"+b+"/", key)
		rtWantOK(t, "report", rtDeploy(t, n, key, rep, map[string]string{
			"manifest.json": `{"version":1,"metadata":{"appmode":"report"},"render":{"command":["/bin/sh","-c","/usr/bin/python3 probe.py > \"$PODIUM_OUTPUT_DIR/index.html\""],"timeout":"300s"}}`,
			"probe.py":      probe,
		}))
		first := pubDo(t, "GET", n.URL+"/content/"+rep+"/", key, "", nil)
		res := sbResult(t, "first render", string(first.Body), uidOf(rep))
		// A scheduled render: the schedule's first run replaces the output.
		pubWant(t, "schedule", pubDo(t, "PUT", n.URL+"/__api__/v1/content/"+rep+"/schedule", key, "application/json", []byte(`{"spec": "* * * * * *"}`)), 200)
		var out pubResp
		testutil.WaitFor(t, testutil.Timeout(120*time.Second), "a scheduled render", func() bool {
			out = pubDo(t, "GET", n.URL+"/content/"+rep+"/", key, "", nil)
			return out.Status == 200 && strings.Contains(string(out.Body), "PROBE-RESULT") && !strings.Contains(string(out.Body), res["nonce"].(string))
		})
		pubWant(t, "unschedule", pubDo(t, "DELETE", n.URL+"/__api__/v1/content/"+rep+"/schedule", key, "", nil), 204)
		check("scheduled render", watch)
		sbResult(t, "scheduled render", string(out.Body), uidOf(rep))
	})

	t.Run("PythonBuild", func(t *testing.T) {
		// A package whose build (an in-tree PEP 517 backend) runs the
		// probe, prints its result and fails: the deployment log shows it.
		env, _ := json.Marshal(targets)
		backend := `import json, os, subprocess, sys
here = os.path.dirname(os.path.abspath(__file__))


def _probe(*args, **kwargs):
    env = dict(os.environ, **json.load(open(os.path.join(here, "probe_env.json"))))
    r = subprocess.run([sys.executable, os.path.join(here, "probe.py")], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    sys.stdout.write(r.stdout.decode())
    sys.stdout.flush()
    raise RuntimeError("the sandbox probe ran: this package never builds")


get_requires_for_build_wheel = build_wheel = build_sdist = _probe
`
		sbSdist(t, filepath.Join(links, "podium_probe-1.0.tar.gz"), map[string]string{
			"pyproject.toml":   "[build-system]\nrequires = []\nbuild-backend = \"probe_backend\"\nbackend-path = [\".\"]\n\n[project]\nname = \"podium-probe\"\nversion = \"1.0\"\n",
			"probe_backend.py": backend,
			"probe.py":         probe,
			"probe_env.json":   string(env),
		})
		c := pubCreate(t, n, key, "probe-build")
		watch := sbWatch(t, n.URL+"/content/"+b+"/", key)
		task := rtDeploy(t, n, key, c, map[string]string{
			"manifest.json":    `{"version":1,"metadata":{"appmode":"python-api","entrypoint":"app:app"}}`,
			"requirements.txt": "podium-probe==1.0\n",
			"app.py":           sbProbeApp,
		})
		check("python build", watch)
		if task.Code == 0 && task.Error == "" {
			t.Fatalf("the probe package built:\n%s", strings.Join(task.Output, "\n"))
		}
		sbResult(t, "python build", strings.Join(task.Output, "\n"), uidOf(c))
	})
}

// sbSdist writes a source distribution (podium_probe-1.0/…) of files to
// path.
func sbSdist(t *testing.T, path string, files map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: "podium_probe-1.0/" + name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSandboxLimitKill: an app that allocates beyond its content item's
// memory limit is killed by the kernel, and Podium says so in the
// process's log, in the processes API (shown by the dashboard) and in the
// metrics (event="limit_killed"); it is then replaced.
func TestSandboxLimitKill(t *testing.T) {
	t.Parallel()
	prom := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	n := nodetest.StartNode(t, nodetest.Options{DataDir: sharedDataDir(t), Config: "[Metrics]\nInterval = 200ms\nPrometheusListen = " + prom +
		"\n[Applications]\nRunAs = nobody\nSandboxMemoryLimit = 128MiB\n"})
	key := pubUser(t, n, "hog", "publisher")
	guid := pubCreate(t, n, key, "hog")
	task := rtDeploy(t, n, key, guid, map[string]string{
		"manifest.json": `{"version":1,"metadata":{"appmode":"api"},"serve":{"command":["/usr/bin/python3","app.py"]}}`,
		"app.py": `import http.server, os


class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/hog":
            self.hog = bytearray(1 << 30)  # 1 GiB, touched
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")


http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`,
	})
	rtWantOK(t, "hog", task)
	rtWaitBody(t, n.URL+"/content/"+guid+"/", key, "ok")
	if r := pubDo(t, "GET", n.URL+"/content/"+guid+"/hog", key, "", nil); r.Status != http.StatusBadGateway {
		t.Errorf("GET /hog: %d %s, want 502 (the process was killed mid-request)", r.Status, r.Body)
	}
	const why = "killed by the kernel for exceeding the memory limit of its content item (128 MiB)"
	var killed apps.ProcessInfo
	testutil.WaitFor(t, testutil.Timeout(30*time.Second), "the killed process listed with its reason", func() bool {
		var body apps.ProcessesBody
		pubDo(t, "GET", n.URL+"/__api__/v1/content/"+guid+"/processes", key, "", nil).JSON(t, &body)
		for _, p := range body.Processes {
			if p.State == apps.StateCrashed && p.Exit == why {
				killed = p
				return true
			}
		}
		return false
	})
	logBody := pubDo(t, "GET", fmt.Sprintf("%s/__api__/v1/content/%s/processes/%d/log", n.URL, guid, killed.PID), key, "", nil)
	if !strings.Contains(string(logBody.Body), "podium: the process was "+why) {
		t.Errorf("the process log does not say why it was killed:\n%s", logBody.Body)
	}
	series := `podium_app_process_events_total{content_guid="` + guid + `",event="limit_killed"}`
	testutil.WaitFor(t, 20*time.Second, "the limit kill counted", func() bool {
		return scrape(t, "http://"+prom+"/metrics")[series] == 1
	})
	rtWaitBody(t, n.URL+"/content/"+guid+"/", key, "ok") // replaced
}

// TestSandboxEndsWithNode: a render (here one that would sleep for two
// minutes) does not outlive its node: SIGKILL of the node kills it at
// once, so no render escapes its time limit by a restart.
func TestSandboxEndsWithNode(t *testing.T) {
	t.Parallel()
	n := nodetest.StartNode(t, nodetest.Options{DataDir: sharedDataDir(t), Config: "[Applications]\nRunAs = nobody\n"})
	key := pubUser(t, n, "sleepy", "publisher")
	guid := pubCreate(t, n, key, "sleepy")
	marker := strconv.Itoa(100000 + int(time.Now().UnixNano()%800000))
	pubStartDeploy(t, n, key, guid, map[string]string{
		"manifest.json": `{"version":1,"metadata":{"appmode":"report"},"render":{"command":["/bin/sleep","` + marker + `"],"timeout":"1h"}}`,
	})
	find := func() []int {
		var pids []int
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil && string(b) == "/bin/sleep\x00"+marker+"\x00" {
				pids = append(pids, pid)
			}
		}
		return pids
	}
	testutil.WaitFor(t, testutil.Timeout(30*time.Second), "the render running", func() bool { return len(find()) == 1 })
	if err := n.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Wait(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "the render gone with its node", func() bool { return len(find()) == 0 })
}

// TestSandboxNetwork: [Applications] SandboxNetwork. Isolated (the
// default): an app has no outbound network (it cannot reach its own
// node's port on the host) and no other process reaches its port. Host:
// the app reaches the node like any local process, and its port is open
// to the host (the documented trade-off).
func TestSandboxNetwork(t *testing.T) {
	t.Parallel()
	// The app answers with the result of fetching $PROBE_URL.
	app := map[string]string{
		"manifest.json": `{"version":1,"metadata":{"appmode":"api"},"serve":{"command":["/usr/bin/python3","app.py"]}}`,
		"app.py": `import http.server, os, urllib.request


class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            with urllib.request.urlopen(os.environ["PROBE_URL"], timeout=5) as r:
                out = "reached %d" % r.status
        except Exception as e:
            out = "unreachable %s" % type(e).__name__
        self.send_response(200)
        self.end_headers()
        self.wfile.write(out.encode())


http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`,
	}
	for _, tc := range []struct {
		name, config string
		outbound     string // the app's answer starts with it
		portOpen     bool   // the app's port accepts a connection from the host
	}{
		{"Isolated", "", "unreachable", false},
		{"Host", "SandboxNetwork = host\n", "reached 200", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := nodetest.StartNode(t, nodetest.Options{DataDir: sharedDataDir(t), Config: "[Applications]\nRunAs = nobody\n" + tc.config})
			key := pubUser(t, n, "net", "publisher")
			guid := pubCreate(t, n, key, "net")
			pubWant(t, "environment", pubJSON(t, "PATCH", n.URL+"/__api__/v1/content/"+guid+"/environment", key,
				[]map[string]string{{"name": "PROBE_URL", "value": n.URL + "/__ping__"}}), 200)
			rtWantOK(t, "net app", rtDeploy(t, n, key, guid, app))
			rtWaitBody(t, n.URL+"/content/"+guid+"/", key, tc.outbound)
			var procs apps.ProcessesBody
			pubDo(t, "GET", n.URL+"/__api__/v1/content/"+guid+"/processes", key, "", nil).JSON(t, &procs)
			if len(procs.Processes) == 0 {
				t.Fatal("no process listed")
			}
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", procs.Processes[0].Port), 3*time.Second)
			if err == nil {
				c.Close()
			}
			if open := err == nil; open != tc.portOpen {
				t.Errorf("the app's port from the host: open %t (%v), want %t", open, err, tc.portOpen)
			}
		})
	}
}
