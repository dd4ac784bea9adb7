package runtimes

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/pywheel"
	"github.com/podiumhq/podium/internal/testutil"
)

// Stand-ins for the frameworks Debian does not package: each exposes the
// entry point Podium's runner uses (the documented one of the real
// framework) and answers with what it was given, so the test sees the
// base path each framework would serve under.
var standIns = map[string]string{
	// dash.Dash: a WSGI server at .server; prefixes from the environment.
	"dash": `import os
class Dash:
    def __init__(self, name=None, **kw):
        self.requests = os.environ.get("DASH_REQUESTS_PATHNAME_PREFIX")
        self.routes = os.environ.get("DASH_ROUTES_PATHNAME_PREFIX")
        self.layout = None
    def server(self, environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [("dash requests=%s routes=%s script=%s path=%s layout=%s" % (self.requests, self.routes,
            environ.get("SCRIPT_NAME"), environ.get("PATH_INFO"), self.layout)).encode()]
    def run(self, host, port, debug=False):
        from wsgiref.simple_server import make_server
        make_server(host, port, self.server).serve_forever()
`,
	// shiny.App: an ASGI application.
	"shiny": `class App:
    def __init__(self, ui, server):
        self.ui = ui
    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                await send({"type": msg["type"] + ".complete"})
                if msg["type"] == "lifespan.shutdown":
                    return
        body = ("shiny root_path=%s path=%s ui=%s" % (scope.get("root_path"), scope["path"], self.ui)).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": body})
`,
	// python -m streamlit run FILE --server.port P --server.baseUrlPath B ...
	"streamlit": serverStandIn("streamlit", "run", "--server.port", "--server.address", "--server.baseUrlPath"),
	// python -m bokeh serve FILE --port P --address A --prefix B ...
	"bokeh": serverStandIn("bokeh", "serve", "--port", "--address", "--prefix"),
}

// serverStandIn is a command-line framework: "python -m name verb FILE
// flags", serving under the prefix flag's path.
func serverStandIn(name, verb, portFlag, addrFlag, prefixFlag string) string {
	return `import sys, http.server
if __name__ == "__main__":
    args = sys.argv[1:]
    assert args[0] == "` + verb + `", args
    script = args[1]
    opts = dict(zip(args[2::2], args[3::2]))
    prefix = "/" + opts["` + prefixFlag + `"].strip("/")
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            ok = self.path == prefix + "/" or self.path.startswith(prefix + "/")
            self.send_response(200 if ok else 404)
            self.end_headers()
            self.wfile.write(("` + name + ` ran %s under %s path=%s" % (script, prefix, self.path)).encode())
    http.server.HTTPServer((opts["` + addrFlag + `"], int(opts["` + portFlag + `"])), H).serve_forever()
`
}

// TestServeStandIns builds each stand-in into a wheel, deploys an app of
// each mode into its environment, starts the runner's command as the
// supervisor would and requests it as Podium's proxy would.
func TestServeStandIns(t *testing.T) {
	t.Parallel()
	links := filepath.Join(t.TempDir(), "wheels")
	for name, code := range standIns {
		pywheel.Build(t, links, name, "0.0.1", map[string]string{name: code})
	}
	m, _ := setupLinks(t, filepath.Join(t.TempDir(), "envs"), true, links)
	const base = "/content/0e2a1c3d-aaaa-4bbb-8ccc-123456789abc/"
	for _, tc := range []struct {
		mode, entry, file, code, want string
	}{
		{ModePythonDash, "app:app", "app.py", "import dash\napp = dash.Dash(__name__)\napp.layout = 'hi'\n",
			"dash requests=" + base + " routes=/ script=" + strings.TrimSuffix(base, "/") + " path=/page layout=hi"},
		{ModePythonShiny, "app:app", "app.py", "import shiny\napp = shiny.App('my-ui', None)\n",
			"shiny root_path=" + strings.TrimSuffix(base, "/") + " path=/page ui=my-ui"},
		{ModePythonStreamlit, "dashboard.py", "dashboard.py", "import streamlit\n",
			"streamlit ran dashboard.py under " + strings.TrimSuffix(base, "/") + " path=" + base + "page"},
		{ModePythonBokeh, "plot.py", "plot.py", "import bokeh\n",
			"bokeh ran plot.py under " + strings.TrimSuffix(base, "/") + " path=" + base + "page"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			dir := bundleDir(t, strings.TrimPrefix(tc.mode, "python-")+"==0.0.1\n")
			if err := os.WriteFile(filepath.Join(dir, tc.file), []byte(tc.code), 0o644); err != nil {
				t.Fatal(err)
			}
			spec := &Spec{AppMode: tc.mode, Entrypoint: tc.entry}
			env, err := m.Prepare(context.Background(), spec, dir, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			cmd, err := ServeCommand(spec, env)
			if err != nil {
				t.Fatal(err)
			}
			if !filepath.IsAbs(cmd.Argv[0]) || !strings.HasPrefix(cmd.Argv[0], env.Dir) {
				t.Fatalf("argv[0] = %s, want the environment's interpreter", cmd.Argv[0])
			}
			port := testutil.FreePort(t)
			p := exec.Command(cmd.Argv[0], cmd.Argv[1:]...)
			p.Dir = dir
			p.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=" + dir, "LANG=C.UTF-8", "PORT=" + strconv.Itoa(port), BasePathEnv + "=" + base}, cmd.Env...)
			out := &strings.Builder{}
			p.Stdout, p.Stderr = out, out
			p.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = syscall.Kill(-p.Process.Pid, syscall.SIGKILL); _ = p.Wait() })

			// As Podium's proxy sends it: without the prefix (and with
			// X-Forwarded-Prefix), or whole for the modes that keep it.
			path := "/page"
			if cmd.KeepPrefix {
				path = base + "page"
			}
			req, _ := http.NewRequest("GET", "http://127.0.0.1:"+strconv.Itoa(port)+path, nil)
			req.Header.Set("X-Forwarded-Prefix", strings.TrimSuffix(base, "/"))
			var body string
			testutil.WaitFor(t, testutil.Timeout(60*time.Second), tc.mode+" answers", func() bool {
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return false
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				body = string(b)
				return resp.StatusCode == 200
			})
			if body != tc.want {
				t.Fatalf("%s answered %q, want %q\noutput:\n%s", tc.mode, body, tc.want, out)
			}
		})
	}
}
