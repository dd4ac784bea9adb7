package integration

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// TestRuntimesSQLite deploys, on one SQLite node, a Flask app, a FastAPI
// app with a WebSocket and a notebook, each running in an environment
// built from its requirements by pip from a local wheel directory; then a
// bad requirement, which fails the deployment with pip's message and
// keeps the old version live, and a mode whose framework is missing.
func TestRuntimesSQLite(t *testing.T) {
	t.Parallel()
	data := sharedDataDir(t)
	n := rtNode(t, "", data, "solo")
	key := pubUser(t, n, "alice", "publisher")
	rtRun(t, []*nodetest.Node{n}, key, data)
}

// TestRuntimesTwoNodes does the same on two PostgreSQL nodes sharing a
// data directory: an environment built by one node is reused by the
// other, and two simultaneous deployments of one new package set, one on
// each node, build it once.
func TestRuntimesTwoNodes(t *testing.T) {
	t.Parallel()
	pg := pgtest.NewDatabase(t)
	data := sharedDataDir(t)
	a := rtNode(t, pg, data, "A")
	b := rtNode(t, pg, data, "B")
	key := pubUser(t, a, "alice", "publisher")
	rtRun(t, []*nodetest.Node{a, b}, key, data)

	// Two deployments of a new package set at the same moment, one per
	// node: one builds, the other waits and reuses.
	before := len(rtEnvs(t, data))
	files := func(greeting string) map[string]string {
		return map[string]string{
			"manifest.json":    `{"version":1,"metadata":{"appmode":"python-api","entrypoint":"app:application"}}`,
			"requirements.txt": "podium-hello==1.0\npodium-extra==1.0\n",
			"app.py": "import extra\n\ndef application(environ, start_response):\n" +
				"    start_response('200 OK', [('Content-Type', 'text/plain')])\n" +
				"    return [('" + greeting + " %d' % extra.VALUE).encode()]\n",
		}
	}
	x, y := pubCreate(t, a, key, "twin-x"), pubCreate(t, b, key, "twin-y")
	var wg sync.WaitGroup
	tasks := make([]pubTask, 2)
	for i, d := range []struct {
		n    *nodetest.Node
		guid string
	}{{a, x}, {b, y}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tasks[i] = rtDeploy(t, d.n, key, d.guid, files(d.n.Name))
		}()
	}
	wg.Wait()
	built := 0
	for i, task := range tasks {
		rtWantOK(t, "simultaneous deployment", task)
		if rtHas(task.Output, "Installing the packages") {
			built++
		} else if !rtHas(task.Output, "reusing") && !rtHas(task.Output, "Reusing") {
			t.Errorf("deployment %d neither built nor reused the environment:\n%s", i, strings.Join(task.Output, "\n"))
		}
	}
	if got := len(rtEnvs(t, data)); built != 1 || got != before+1 {
		t.Fatalf("two simultaneous deployments of one new package set: %d ran pip, cache grew from %d to %d; want 1 and +1", built, before, got)
	}
	for guid, want := range map[string]string{x: "A 42", y: "B 42"} {
		rtWaitBody(t, b.URL+"/content/"+guid+"/", key, want)
	}
}

// rtRun is the scenario both providers run; with several nodes, each
// deployment goes to the next node and each read to every node.
func rtRun(t *testing.T, nodes []*nodetest.Node, key, data string) {
	t.Helper()
	first := nodes[0]
	other := nodes[len(nodes)-1]

	// A Flask app (python-api, object "app" by default).
	flask := pubCreate(t, first, key, "flask-app")
	task := rtDeploy(t, first, key, flask, rtFlaskApp)
	rtWantOK(t, "flask", task)
	if !rtHas(task.Output, "Successfully installed podium-hello-1.0") {
		t.Errorf("pip's output is not in the deployment log:\n%s", strings.Join(task.Output, "\n"))
	}
	for _, n := range nodes {
		rtWaitBody(t, n.URL+"/content/"+flask+"/", key, "hello from a local wheel via flask at /content/"+flask+"/")
	}
	if envs := rtEnvs(t, data); len(envs) != 1 {
		t.Fatalf("cache holds %v after the first deployment, want one environment", envs)
	}

	// A FastAPI app with the same packages, deployed through the other
	// node: the environment is reused, nothing is built.
	fast := pubCreate(t, other, key, "fastapi-app")
	task = rtDeploy(t, other, key, fast, rtFastAPIApp)
	rtWantOK(t, "fastapi", task)
	if !rtHas(task.Output, "Reusing the cached Python environment") || rtHas(task.Output, "Installing the packages") {
		t.Errorf("the second deployment of one package set did not reuse the environment:\n%s", strings.Join(task.Output, "\n"))
	}
	if envs := rtEnvs(t, data); len(envs) != 1 {
		t.Fatalf("cache holds %v, want still one environment", envs)
	}
	for _, n := range nodes {
		rtWaitBody(t, n.URL+"/content/"+fast+"/", key, `{"greeting":"hello from a local wheel"}`)
	}
	// Its WebSocket, through Podium's proxy.
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(60*time.Second))
	defer cancel()
	c, _, err := websocket.Dial(ctx, wsURL(first.URL)+"/content/"+fast+"/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Key " + key}}})
	if err != nil {
		t.Fatalf("websocket to the FastAPI app: %v", err)
	}
	for _, msg := range []string{"one", "two"} {
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, got, err := c.Read(ctx)
		if err != nil || string(got) != "echo:"+msg {
			t.Fatalf("websocket echo of %q = %q, %v", msg, got, err)
		}
	}
	c.Close(websocket.StatusNormalClosure, "")

	// A notebook, executed and converted at deployment, input hidden.
	nb := pubCreate(t, first, key, "notebook")
	task = rtDeploy(t, first, key, nb, map[string]string{
		"manifest.json":    `{"version":1,"metadata":{"appmode":"jupyter-static","entrypoint":"report.ipynb"},"jupyter":{"hide_all_input":true}}`,
		"requirements.txt": "podium-hello==1.0\n",
		"report.ipynb":     rtNotebook(),
	})
	rtWantOK(t, "notebook", task)
	for _, n := range nodes {
		r := pubDo(t, "GET", n.URL+"/content/"+nb+"/", key, "", nil)
		body := string(r.Body)
		if r.Status != 200 || !strings.Contains(body, "greeting: hello from a local wheel") ||
			!strings.Contains(body, "prefix: "+data+"/runtimes/python/") {
			t.Fatalf("notebook through %s: %d, want its output run in its environment; body:\n%.3000s", n.Name, r.Status, body)
		}
		if strings.Contains(body, "CODE_MARKER_XYZ") {
			t.Errorf("hide_all_input: the notebook's code is in the HTML")
		}
	}
	// An ad-hoc render, on the other node.
	r := pubDo(t, "POST", other.URL+"/__api__/v1/content/"+nb+"/render", key, "", nil)
	pubWant(t, "render notebook", r, 202)
	var started struct {
		TaskID string `json:"task_id"`
	}
	r.JSON(t, &started)
	if task := pubWaitTask(t, other.URL, key, started.TaskID); task.Code != 0 || task.Error != "" {
		t.Fatalf("ad-hoc render of the notebook: %+v", task)
	}

	// A bad requirement: the deployment fails with pip's message and the
	// Flask app's live version keeps serving.
	bad := map[string]string{}
	for k, v := range rtFlaskApp {
		bad[k] = v
	}
	bad["requirements.txt"] = "podium-hello==1.0\npodium-no-such-package==9.9\n"
	task = rtDeploy(t, other, key, flask, bad)
	if task.Code == 0 || !strings.Contains(task.Error, "podium-no-such-package") || !rtHas(task.Output, "No matching distribution found for podium-no-such-package") {
		t.Fatalf("bad requirement: code %d error %q, want a failure with pip's message\n%s", task.Code, task.Error, strings.Join(task.Output, "\n"))
	}
	for _, n := range nodes {
		rtWaitBody(t, n.URL+"/content/"+flask+"/", key, "hello from a local wheel via flask")
	}

	// A mode whose framework this machine lacks fails at once, naming it.
	st := pubCreate(t, first, key, "streamlit-app")
	task = rtDeploy(t, first, key, st, map[string]string{
		"manifest.json":    `{"version":1,"metadata":{"appmode":"python-streamlit","entrypoint":"app.py"}}`,
		"requirements.txt": "podium-hello==1.0\n",
		"app.py":           "import streamlit\n",
	})
	if task.Code == 0 || !strings.Contains(task.Error, "Streamlit") || !strings.Contains(task.Error, "requirements file") {
		t.Fatalf("streamlit without streamlit: code %d error %q, want a refusal naming Streamlit", task.Code, task.Error)
	}

	// The interpreters this node offers.
	r = pubDo(t, "GET", first.URL+"/__api__/v1/server_settings/python", key, "", nil)
	pubWant(t, "server_settings/python", r, 200)
	if !strings.Contains(string(r.Body), `"version":"3.`) {
		t.Errorf("server_settings/python = %s", r.Body)
	}
}

// rtWaitBody waits until url answers 200 with a body containing want (a
// new app's first process may still be starting).
func rtWaitBody(t *testing.T, url, key, want string) {
	t.Helper()
	var last pubResp
	testutil.WaitFor(t, testutil.Timeout(90*time.Second), "GET "+url+" to contain "+want, func() bool {
		last = pubDo(t, "GET", url, key, "", nil)
		return last.Status == 200 && strings.Contains(string(last.Body), want)
	})
}

// TestRuntimesRefuseBadInterpreter: a [Python] Executable that does not
// answer like a Python 3 is a configuration error: the node does not
// start (exit 2) and says which path and key.
func TestRuntimesRefuseBadInterpreter(t *testing.T) {
	t.Parallel()
	n := nodetest.Start(t, nodetest.Options{Config: "[Python]\nExecutable = /bin/true\n"})
	assertRefused(t, n, 2, "[Python] Executable /bin/true")
}
