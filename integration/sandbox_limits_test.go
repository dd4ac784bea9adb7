package integration

import (
	"fmt"
	"html"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// TestSandboxLimitKillRenderBuild: a render and an environment build that
// a limit of their content item's sandbox stops say so (issue 24: "a
// process killed for a limit says so in its log, in the dashboard and in
// the metrics"): a render that allocates beyond the memory limit, a render
// that forks beyond the process limit, and a Python build whose package's
// build backend allocates beyond the memory limit. Each fails its
// deployment with the reason in the task's log and error, the dashboard's
// page of the content shows it, and podium_sandbox_limit_kills_total
// counts it by kind and limit. (TestSandboxLimitKill covers apps.)
func TestSandboxLimitKillRenderBuild(t *testing.T) {
	t.Parallel()
	prom := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	links := testutil.OpenTempDir(t, 0o755)
	// sbConfig: SandboxMemoryLimit = 256MiB, SandboxProcessLimit = 64.
	// A uid range of its own (see TestSandboxRunAs): another test's content
	// with the same id would share the uid, and its processes would count
	// against the process limit before the content's cgroup does.
	cfg := strings.Replace(sbConfig(t, links), "[Applications]\n", "[Applications]\nSandboxUIDRange = 250000-259999\n", 1)
	n := nodetest.StartNode(t, nodetest.Options{DataDir: sharedDataDir(t), Config: cfg +
		"[Metrics]\nInterval = 200ms\nPrometheusListen = " + prom + "\n"})
	key := pubUser(t, n, "limits", "publisher")
	const (
		memory    = "killed by the kernel for exceeding the memory limit of its content item (256 MiB)"
		processes = "refused a new process or thread by the process limit of its content item (64 processes and threads), and failed"
		buildMem  = "cut short by the kernel, which killed one of its processes for exceeding the memory limit of its content item (256 MiB)"
	)
	// check deploys files as a new content item, wants the deployment to
	// fail with why in its error, logLine in its log, and why on the
	// dashboard's page of the content.
	check := func(t *testing.T, name string, files map[string]string, why, logLine string) {
		t.Helper()
		guid := pubCreate(t, n, key, name)
		task := rtDeploy(t, n, key, guid, files)
		if task.Error == "" || !strings.Contains(task.Error, why) {
			t.Errorf("%s: task error %q, want it to say %q\n%s", name, task.Error, why, strings.Join(task.Output, "\n"))
		}
		if !rtHas(task.Output, logLine) {
			t.Errorf("%s: the task's log lacks %q:\n%s", name, logLine, strings.Join(task.Output, "\n"))
		}
		page := pubDo(t, "GET", n.URL+"/__dashboard__/content/"+guid, key, "", nil)
		if page.Status != 200 || !strings.Contains(html.UnescapeString(string(page.Body)), why) {
			t.Errorf("%s: the dashboard's page of the content (%d) does not say %q", name, page.Status, why)
		}
	}

	t.Run("RenderMemory", func(t *testing.T) {
		check(t, "render-memory", map[string]string{
			"manifest.json": `{"version":1,"metadata":{"appmode":"report"},"render":{"command":["/usr/bin/python3","-c","b = bytearray(1 << 30)"],"timeout":"120s"}}`,
		}, "the render command was "+memory, "podium: the render command was "+memory)
	})
	t.Run("RenderProcesses", func(t *testing.T) {
		// sh forks sleepers until a fork is refused; dash then exits 2.
		check(t, "render-processes", map[string]string{
			"manifest.json": `{"version":1,"metadata":{"appmode":"report"},"render":{"command":["/bin/sh","-c","for i in $(seq 200); do sleep 60 & done; wait"],"timeout":"120s"}}`,
		}, "the render command was "+processes, "podium: the render command was "+processes)
	})
	t.Run("BuildMemory", func(t *testing.T) {
		// A package whose build backend (run by pip, in the build's
		// sandbox) allocates 1 GiB: the kernel kills the backend, pip
		// fails.
		sbSdist(t, filepath.Join(links, "podium_probe-1.0.tar.gz"), map[string]string{
			"pyproject.toml":   "[build-system]\nrequires = []\nbuild-backend = \"hog_backend\"\nbackend-path = [\".\"]\n\n[project]\nname = \"podium-probe\"\nversion = \"1.0\"\n",
			"hog_backend.py":   "def _hog(*args, **kwargs):\n    b = bytearray(1 << 30)\n    raise RuntimeError(\"not killed\")\n\n\nget_requires_for_build_wheel = build_wheel = build_sdist = _hog\n",
			"podium_probe.txt": "",
		})
		check(t, "build-memory", map[string]string{
			"manifest.json":    `{"version":1,"metadata":{"appmode":"python-api","entrypoint":"app:app"}}`,
			"requirements.txt": "podium-probe==1.0\n",
			"app.py":           sbProbeApp,
		}, "the build was "+buildMem, "podium: the build was "+buildMem)
	})

	for _, s := range []string{
		`podium_sandbox_limit_kills_total{kind="render",limit="memory"}`,
		`podium_sandbox_limit_kills_total{kind="render",limit="processes"}`,
		`podium_sandbox_limit_kills_total{kind="build",limit="memory"}`,
	} {
		testutil.WaitFor(t, 20*time.Second, s+" = 1", func() bool { return scrape(t, "http://"+prom+"/metrics")[s] == 1 })
	}
}
