package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/pywheel"
)

// TestConnectLockfileAndVersions replays rsconnect-python's `content
// search --py-version`, `content get-lockfile` and `content venv` against a
// node on each dialect: a Flask app deployed with a requirements file that
// pins a local wheel (podium-hello) reports the interpreter its environment
// was built with as py_version (on the content and its bundle), the
// lockfile lists exactly what the environment installed, and a fresh
// environment made from the lockfile, as `content venv` makes one, imports
// the app's package. Static content has no versions and no lockfile (404
// with the reason); a viewer who may not change the content is refused.
func TestConnectLockfileAndVersions(t *testing.T) {
	t.Parallel()
	for _, db := range []string{"SQLite", "PostgreSQL"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			pg := ""
			if db == "PostgreSQL" {
				pg = pgtest.NewDatabase(t)
			}
			n := rtNode(t, pg, sharedDataDir(t), "A")
			key := pubUser(t, n, "alice", "publisher")
			bobKey := pubUser(t, n, "bob", "publisher")
			rs := newRSConnect(t, n.URL, key)
			local := pythonVersion(t)

			files := map[string]string{
				"app.py": "from flask import Flask\nimport hello\n\napp = Flask(__name__)\n\n\n@app.route(\"/\")\ndef index():\n    return hello.GREETING\n",
				// Flask comes from the system's site-packages; the wheel
				// is installed in the content's environment.
				"requirements.txt": "podium-hello==1.0\nFlask==" + distVersion(t, "flask") + "\n",
			}
			files["manifest.json"] = fmt.Sprintf(`{"version": 1, "metadata": {"appmode": "python-api", "entrypoint": "app:app"},
  "python": {"version": %q, "package_manager": {"name": "pip", "package_file": "requirements.txt"}},
  "files": {"app.py": {"checksum": %q}, "requirements.txt": {"checksum": %q}}}`, local, md5hex(files["app.py"]), md5hex(files["requirements.txt"]))
			app := rs.deploy("", "flask_lock", "Flask with a lockfile", pubBundle(t, files), nil, true, nil)
			if lines, task := rs.waitForTask(app.TaskID, 1); task.Code != 0 || !containsLine(lines, "Built with Python "+local) {
				t.Fatalf("deploy: code %d error %q\n%s", task.Code, task.Error, strings.Join(lines, "\n"))
			}
			static := rs.deploy("", "static_lock", "Static", htmlBundle(t, map[string]string{"index.html": "<p>hi</p>"}, "index.html"), nil, true, nil)
			if lines, task := rs.waitForTask(static.TaskID, 1); task.Code != 0 {
				t.Fatalf("deploy html: code %d error %q\n%s", task.Code, task.Error, strings.Join(lines, "\n"))
			}

			// content search --py-version: GET v1/content, then the
			// client's semver filter on py_version.
			var items []map[string]any
			rs.ok("content search", rs.do("GET", "/__api__/v1/content", nil, nil, ""), &items)
			found := map[string]bool{}
			for _, it := range items {
				v, _ := it["py_version"].(string)
				if semverCompare(t, v, "3.0.0") >= 0 && semverCompare(t, v, local) == 0 {
					found[it["guid"].(string)] = true
				}
				if it["guid"] == static.AppGUID && (it["py_version"] != nil || it["r_version"] != nil || it["quarto_version"] != nil) {
					t.Errorf("static content has runtime versions: %v", it)
				}
				if it["guid"] == app.AppGUID && (it["py_environment_management"] != true || it["default_py_environment_management"] != true || it["r_environment_management"] != nil) {
					t.Errorf("environment management fields of the Flask app: %v", it)
				}
			}
			if len(found) != 1 || !found[app.AppGUID] {
				t.Fatalf("content search --py-version '>=3.0.0' and '==%s' found %v, want only the Flask app %s", local, found, app.AppGUID)
			}
			var bundles []map[string]any
			rs.ok("bundles", rs.do("GET", "/__api__/v1/content/"+app.AppGUID+"/bundles", nil, nil, ""), &bundles)
			if len(bundles) != 1 || bundles[0]["py_version"] != local || bundles[0]["r_version"] != nil {
				t.Fatalf("bundles: %v, want one with py_version %s", bundles, local)
			}

			// content get-lockfile: the body as is, saved to a file.
			r := rs.do("GET", "/__api__/v1/content/"+app.AppGUID+"/lockfile", nil, nil, "")
			if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
				t.Fatalf("lockfile: %d %s %s", r.Status, r.Header.Get("Content-Type"), r.Body)
			}
			lock := string(r.Body)
			if !strings.Contains(lock, "\npodium-hello==1.0\n") || !strings.Contains(lock, "# python_version: "+local+"\n") ||
				strings.Contains(strings.ToLower(lock), "\nflask==") {
				t.Fatalf("lockfile lists other than the environment's own packages:\n%s", lock)
			}
			lockPath := filepath.Join(t.TempDir(), "requirements.txt.lock")
			if err := os.WriteFile(lockPath, r.Body, 0o644); err != nil {
				t.Fatal(err)
			}

			// content venv: the content's py_version picks the
			// interpreter, the lockfile is installed into a new
			// environment (rsconnect runs uv; the same requirements go
			// through pip here, offline from the tests' wheels).
			var item map[string]any
			rs.ok("content get", rs.do("GET", "/__api__/v1/content/"+app.AppGUID, nil, nil, ""), &item)
			if item["py_version"] != local {
				t.Fatalf("py_version %v, want %s", item["py_version"], local)
			}
			venv := filepath.Join(t.TempDir(), "venv")
			run := func(args ...string) {
				t.Helper()
				if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
					t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}
			run(pywheel.Python, "-m", "venv", "--without-pip", venv)
			run(pywheel.Python, "-m", "pip", "--python", filepath.Join(venv, "bin", "python"), "install", "--no-input",
				"--no-index", "--find-links", rtWheels(t), "-r", lockPath)
			out, err := exec.Command(filepath.Join(venv, "bin", "python"), "-c", "import hello, platform; print(hello.GREETING, platform.python_version())").Output()
			if err != nil || strings.TrimSpace(string(out)) != "hello from a local wheel "+local {
				t.Fatalf("the environment made from the lockfile: %q, %v", out, err)
			}

			// No lockfile for static content: 404 saying why, which the
			// client reports as the server's error.
			r = rs.do("GET", "/__api__/v1/content/"+static.AppGUID+"/lockfile", nil, nil, "")
			if r.Status != 404 || !strings.Contains(string(r.Body), "no Python environment") || !strings.Contains(string(r.Body), `"error"`) {
				t.Fatalf("lockfile of static content: %d %s, want 404 naming the reason", r.Status, r.Body)
			}
			// A viewer may not read it; someone who cannot see the
			// content does not learn it exists.
			bob := newRSConnect(t, n.URL, bobKey)
			if r := bob.do("GET", "/__api__/v1/content/"+app.AppGUID+"/lockfile", nil, nil, ""); r.Status != 404 {
				t.Fatalf("lockfile for a user without access: %d %s, want 404", r.Status, r.Body)
			}
			rs.ok("access logged_in", rs.json("PATCH", "/__api__/v1/content/"+app.AppGUID, map[string]string{"access_type": "logged_in"}), nil)
			if r := bob.do("GET", "/__api__/v1/content/"+app.AppGUID+"/lockfile", nil, nil, ""); r.Status != 403 {
				t.Fatalf("lockfile for a viewer: %d %s, want 403", r.Status, r.Body)
			}
		})
	}
}

// semverCompare is semver.compare as rsconnect's --py-version filter calls
// it on MAJOR.MINOR.PATCH versions; a version that is not one (null)
// fails the filter, as the client's ValueError does.
func semverCompare(t *testing.T, a, b string) int {
	t.Helper()
	pa, oka := semverParts(a)
	pb, okb := semverParts(b)
	if !oka || !okb {
		return -2
	}
	for i := range 3 {
		if pa[i] != pb[i] {
			if pa[i] < pb[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func semverParts(v string) ([3]int, bool) {
	var out [3]int
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return out, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return out, false
		}
		out[i] = n
	}
	return out, true
}
