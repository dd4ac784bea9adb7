package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/pywheel"
)

// rtWheels returns the tests' package source: a FindLinks directory of
// small wheels built offline once per test process, readable by the RunAs
// user. podium-hello provides the module hello (GREETING), podium-extra
// the module extra.
func rtWheels(t testing.TB) string {
	t.Helper()
	rtWheelDir.Do(func() {
		dir, err := os.MkdirTemp("", "podium-wheels-")
		if err != nil {
			t.Fatal(err)
		}
		_ = os.Chmod(dir, 0o755)
		pywheel.Build(t, dir, "podium-hello", "1.0", map[string]string{"hello": "GREETING = 'hello from a local wheel'\n"})
		pywheel.Build(t, dir, "podium-extra", "1.0", map[string]string{"extra": "VALUE = 42\n"})
		rtWheelDir.dir = dir
	})
	if rtWheelDir.dir == "" {
		t.Fatal("the test wheels were not built")
	}
	return rtWheelDir.dir
}

var rtWheelDir struct {
	sync.Once
	dir string
}

// rtConfig is the configuration of the runtimes tests' nodes: Debian's
// Python, the local wheels and no index, the system's site-packages (for
// Debian's flask, fastapi, uvicorn, waitress, nbconvert, ipykernel).
func rtConfig(t testing.TB) string {
	return pubConfig + "[Python]\nExecutable = " + pywheel.Python + "\nFindLinks = " + rtWheels(t) +
		"\nNoIndex = true\nSystemSitePackages = true\n"
}

// rtNode starts a node for the runtimes tests; pg "" means SQLite.
func rtNode(t *testing.T, pg, data, name string) *nodetest.Node {
	t.Helper()
	return nodetest.StartNode(t, nodetest.Options{Postgres: pg, DataDir: data, Name: name, Config: rtConfig(t)})
}

// rtDeploy deploys files and waits for the task.
func rtDeploy(t *testing.T, n *nodetest.Node, key, guid string, files map[string]string) pubTask {
	t.Helper()
	return pubWaitTask(t, n.URL, key, pubStartDeploy(t, n, key, guid, files))
}

// rtWantOK fails unless the deployment succeeded.
func rtWantOK(t *testing.T, what string, task pubTask) {
	t.Helper()
	if task.Code != 0 || task.Error != "" {
		t.Fatalf("%s: deployment failed: code %d, error %q\n%s", what, task.Code, task.Error, strings.Join(task.Output, "\n"))
	}
}

// rtHas reports whether a line of out contains s.
func rtHas(out []string, s string) bool {
	return strings.Contains(strings.Join(out, "\n"), s)
}

// rtEnvs lists the finished environments in a data directory's cache.
func rtEnvs(t *testing.T, data string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(data, "runtimes", "python"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			if _, err := os.Stat(filepath.Join(data, "runtimes", "python", e.Name(), ".podium-env.json")); err == nil {
				out = append(out, e.Name())
			}
		}
	}
	return out
}

// Test apps. Each imports the local wheel's module, so it only works in
// its own environment.
var (
	rtFlaskApp = map[string]string{
		"manifest.json":    `{"version":1,"metadata":{"appmode":"python-api","entrypoint":"app"},"python":{"version":"3.11.2"}}`,
		"requirements.txt": "podium-hello==1.0\n",
		"app.py": `from flask import Flask, url_for
import hello

app = Flask(__name__)


@app.route("/")
def index():
    return hello.GREETING + " via flask at " + url_for("index")
`,
	}
	rtFastAPIApp = map[string]string{
		"manifest.json":    `{"version":1,"metadata":{"appmode":"python-fastapi","entrypoint":"main:api"},"environment":{"python":{"requires":">=3.8"}}}`,
		"requirements.txt": "# same packages as the Flask app\npodium-hello==1.0\n",
		"main.py": `from fastapi import FastAPI, WebSocket
import hello

api = FastAPI()


@api.get("/")
def root():
    return {"greeting": hello.GREETING}


@api.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    while True:
        msg = await websocket.receive_text()
        await websocket.send_text("echo:" + msg)
`,
	}
)

// rtNotebook is a notebook whose cells print the local wheel's greeting
// and the interpreter's prefix; its code holds a marker that hide_all_input
// must keep out of the HTML.
func rtNotebook() string {
	nb := map[string]any{
		"nbformat": 4, "nbformat_minor": 5,
		"metadata": map[string]any{"kernelspec": map[string]any{"name": "python3", "display_name": "Python 3", "language": "python"}},
		"cells": []any{
			map[string]any{"cell_type": "markdown", "metadata": map[string]any{}, "id": "md1", "source": []string{"# A notebook report"}},
			map[string]any{"cell_type": "code", "metadata": map[string]any{}, "id": "code1", "execution_count": nil, "outputs": []any{},
				"source": []string{"import hello, sys\n", "CODE_MARKER_XYZ = 6 * 7\n", "print('greeting:', hello.GREETING)\n", "print('prefix:', sys.prefix)"}},
		},
	}
	b, _ := json.Marshal(nb)
	return string(b)
}
