package integration

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/pywheel"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/web"
)

// TestConnectPythonFlow replays rsconnect-python's `deploy flask` and
// `deploy fastapi` against a SQLite node that offers Debian's Python
// ([Python] Executable, with SystemSitePackages for Debian's Flask,
// FastAPI and uvicorn), request by request as connectFlow replays
// `deploy html`: server_settings, the Python installations, a unique
// name, content create, title, environment (-E), bundle upload with the
// manifest rsconnect writes (python-api / python-fastapi, entrypoint
// "app:app", python.version and package_manager pip with
// requirements.txt), deploy as a draft, the task loop, the draft check,
// activation, then the content URL, where the app answers from its
// environment with the content's variable.
func TestConnectPythonFlow(t *testing.T) {
	t.Parallel()
	n := rtNode(t, "", sharedDataDir(t), "A")
	key := pubUser(t, n, "alice", "publisher")
	rs := newRSConnect(t, n.URL, key)

	settings := newRSConnect(t, n.URL, "").serverSettings()
	if settings["version"] != web.ConnectVersion {
		t.Fatalf("server_settings version %v, want %s", settings["version"], web.ConnectVersion)
	}
	if rts, _ := settings["runtimes"].([]any); !slices.Contains(rts, any("Python")) {
		t.Fatalf("server_settings runtimes %v, want Python on a node with [Python] Executable", settings["runtimes"])
	}
	if me := rs.me(); me["username"] != "alice" {
		t.Fatalf("v1/user: %v", me)
	}
	var py struct {
		Installations []struct {
			Version string `json:"version"`
		} `json:"installations"`
		APIEnabled bool `json:"api_enabled"`
	}
	rs.ok("python settings", rs.do("GET", "/__api__/v1/server_settings/python", nil, nil, ""), &py)
	local := pythonVersion(t)
	if len(py.Installations) != 1 || py.Installations[0].Version != local || !py.APIEnabled {
		t.Fatalf("server_settings/python = %+v, want the configured %s (%s)", py, pywheel.Python, local)
	}

	for _, tt := range []struct {
		command, mode, name, pkg, dist, app string // pkg: what requirements.txt pins
	}{
		{"deploy flask", "python-api", "flask_app", "Flask", "flask", `import os
from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return "flask says " + os.environ["GREETING"] + " on port " + os.environ["PORT"]
`},
		// Debian's fastapi declares starlette<0.26 beside Debian's starlette
		// 0.26.1, so pip refuses a requirements.txt pinning fastapi: the
		// app's directory pins uvicorn instead (rsconnect uploads a
		// requirements.txt it finds as is) and FastAPI comes from the
		// system's site-packages.
		{"deploy fastapi", "python-fastapi", "fastapi_app", "uvicorn", "fastapi", `import os
from fastapi import FastAPI

app = FastAPI()


@app.get("/")
def index():
    return {"says": "fastapi says " + os.environ["GREETING"] + " on port " + os.environ["PORT"]}
`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rs := newRSConnect(t, n.URL, key)
			// The bundle rsconnect writes: app.py, requirements.txt as pip
			// freeze pins the framework, and the manifest for the mode.
			files := map[string]string{
				"app.py":           tt.app,
				"requirements.txt": tt.pkg + "==" + distVersion(t, tt.pkg) + "\n",
			}
			files["manifest.json"] = fmt.Sprintf(`{
  "version": 1,
  "locale": "en_US.UTF-8",
  "metadata": {"appmode": %q, "entrypoint": "app:app"},
  "python": {"version": %q, "package_manager": {"name": "pip", "version": "23.0.1", "package_file": "requirements.txt"}},
  "files": {"requirements.txt": {"checksum": %q}, "app.py": {"checksum": %q}}
}`, tt.mode, local, md5hex(files["requirements.txt"]), md5hex(files["app.py"]))

			name := rs.findUniqueName(tt.name)
			if name != tt.name {
				t.Fatalf("unique name on an empty server: %q", name)
			}
			// -E GREETING: the content's variable reaches the app.
			d := rs.deploy("", name, tt.name, pubBundle(t, files), map[string]string{"GREETING": "hi-" + tt.dist}, false, nil)
			lines, task := rs.waitForTask(d.TaskID, 1)
			if task.Code != 0 || !containsLine(lines, "built as a draft") || !containsLine(lines, "Manifest OK: appmode "+tt.mode) {
				t.Fatalf("%s: draft deployment: code %d error %q\n%s", tt.command, task.Code, task.Error, strings.Join(lines, "\n"))
			}
			// Podium acts on python and metadata.entrypoint: only locale is
			// reported as not used.
			i := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, "not used by this server:") })
			if i < 0 || !strings.HasSuffix(lines[i], "Manifest fields accepted but not used by this server: locale") {
				t.Errorf("%s: the deployment log reports the fields Podium acts on as not used:\n%s", tt.command, strings.Join(lines, "\n"))
			}
			// rsconnect's draft check: only a 5xx fails it.
			rs.accessContent(d.AppGUID, d.BundleID)

			lines, task = rs.waitForTask(rs.contentDeploy(d.AppGUID, d.BundleID, true), 1)
			if task.Code != 0 || !containsLine(lines, "is now active") {
				t.Fatalf("%s: activation: code %d error %q\n%s", tt.command, task.Code, task.Error, strings.Join(lines, "\n"))
			}
			var item rscContent
			rs.ok("content get", rs.do("GET", "/__api__/v1/content/"+d.AppGUID, nil, nil, ""), &item)
			if item.AppMode == nil || *item.AppMode != tt.mode || item.ContentURL != n.URL+"/content/"+d.AppGUID+"/" {
				t.Fatalf("content item: %+v", item)
			}

			// The app answers at the content URL (its first process may
			// still be starting), with the content's variable and the
			// server's own PORT.
			want := tt.dist + " says hi-" + tt.dist + " on port "
			testutil.WaitFor(t, testutil.Timeout(90*time.Second), "the "+tt.mode+" app to answer", func() bool {
				last := rs.accessContent(d.AppGUID, "")
				return last.Status == 200 && strings.Contains(string(last.Body), want)
			})
			// The server's own variables are not the content's to set.
			if r := rs.json("PATCH", "/__api__/v1/content/"+d.AppGUID+"/environment", []map[string]string{{"name": "PORT", "value": "1"}}); r.Status != 400 {
				t.Errorf("PATCH environment PORT: %d %s, want 400", r.Status, r.Body)
			}
		})
	}
}

// pythonVersion is the version of the tests' interpreter, as the client's
// own Python would report it.
func pythonVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(pywheel.Python, "-c", "import platform; print(platform.python_version())").Output()
	if err != nil {
		t.Fatalf("%s: %v", pywheel.Python, err)
	}
	return strings.TrimSpace(string(out))
}

// distVersion is the version of an installed distribution (Debian's), as
// pip freeze would pin it in requirements.txt.
func distVersion(t *testing.T, dist string) string {
	t.Helper()
	out, err := exec.Command(pywheel.Python, "-c", "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))", dist).Output()
	if err != nil {
		t.Fatalf("version of %s: %v", dist, err)
	}
	return strings.TrimSpace(string(out))
}
