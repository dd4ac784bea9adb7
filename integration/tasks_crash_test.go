package integration

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// Crash tests (issue 12, defects 1 and 5): a node dies (SIGKILL) in the
// middle of a deployment's render and of an upload. Its task must end as
// failed with a reason that names the node, within the node timeout, and
// what it left in scratch space must be swept, by the node itself when it
// restarts, or by another node when it does not come back.

// crashNodeTimeout is [HA] NodeTimeout of the crash tests.
const crashNodeTimeout = 3 * time.Second

const crashConfig = pubConfig + "[HA]\nHeartbeatInterval = 300ms\nNodeTimeout = 3s\n"

// crashReport writes a report whose render says "started", leaves the file
// marker in its home directory (inside the render's scratch directory),
// and runs for two minutes.
func crashReport(t *testing.T, marker string) string {
	t.Helper()
	dir := testutil.OpenTempDir(t, 0o755)
	script := "echo started\ntouch \"$HOME/" + marker + "\"\nsleep 120\necho ok > \"$PODIUM_OUTPUT_DIR/index.html\"\n"
	m := `{"version": 1, "metadata": {"appmode": "report"}, "render": {"command": ["/bin/sh", "render.sh"], "timeout": "5m"}}`
	for name, body := range map[string]string{"render.sh": script, bundle.ManifestName: m} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// bgDeploy is a `podium deploy` running in the background.
type bgDeploy struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{}
	code   int
}

func (d *bgDeploy) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stderr.Write(p)
}

func (d *bgDeploy) Stderr() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stderr.String()
}

func startDeploy(t *testing.T, url, key, dir, name string) *bgDeploy {
	t.Helper()
	d := &bgDeploy{done: make(chan struct{})}
	d.cmd = exec.Command(nodetest.Binary(t), "deploy", dir, "--name", name)
	d.cmd.Env = append(os.Environ(), "PODIUM_SERVER="+url, "PODIUM_API_KEY="+key)
	d.cmd.Stderr = d
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := d.cmd.Wait()
		d.code = 0
		if ee, ok := err.(*exec.ExitError); ok {
			d.code = ee.ExitCode()
		} else if err != nil {
			d.code = -1
		}
		close(d.done)
	}()
	t.Cleanup(func() {
		_ = d.cmd.Process.Kill()
		<-d.done
	})
	return d
}

// wait waits for the client to exit and returns its exit code.
func (d *bgDeploy) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-d.done:
		return d.code
	case <-time.After(testutil.Timeout(timeout)):
		t.Fatalf("podium deploy still waiting after %s:\n%s", timeout, d.Stderr())
		return 0
	}
}

// slowUpload starts an upload of a bundle to content guid through url
// that sends 64 KiB and then waits; the returned function ends it.
func slowUpload(t *testing.T, url, key, guid string) (stop func()) {
	t.Helper()
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", url+"/__api__/v1/content/"+guid+"/bundles", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Key "+key)
	req.Header.Set("Content-Type", "application/gzip")
	done := make(chan struct{})
	go func() {
		defer close(done)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	go func() { _, _ = pw.Write(make([]byte, 64<<10)) }()
	return func() {
		_ = pw.CloseWithError(io.ErrUnexpectedEOF)
		<-done
	}
}

// uploadScratch lists the files and directories under dataDir that hold an
// upload in progress (whatever the layout: beside the bundles, or in a
// node's scratch directory).
func uploadScratch(t *testing.T, dataDir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if strings.Contains(d.Name(), "upload-") {
			out = append(out, p)
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	return out
}

// renderScratch finds the marker a crashReport render left in its scratch
// directory under the system's temporary directory.
func renderScratch(t *testing.T, marker string) []string {
	t.Helper()
	var out []string
	for _, pattern := range []string{"podium-render-*/home/" + marker, "podium-render-*/*/home/" + marker} {
		m, _ := filepath.Glob(filepath.Join(os.TempDir(), pattern))
		out = append(out, m...)
	}
	return out
}

// crashMarker returns a marker name unique to this run of the test.
func crashMarker(t *testing.T) string {
	return fmt.Sprintf("marker-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
}

func createContent(t *testing.T, url, key, name string) string {
	t.Helper()
	r := pubJSON(t, "POST", url+"/__api__/v1/content", key, map[string]string{"name": name})
	pubWant(t, "create", r, 201)
	var c struct{ GUID string }
	r.JSON(t, &c)
	return c.GUID
}

// TestKilledNodeRestartsSQLite: on SQLite, SIGKILL the node while
// `podium deploy` waits on a render and an upload is half sent, then
// restart it: the client exits 1 with "node X restarted", the task and the
// render are recorded failed, and the render's and the upload's scratch
// are gone.
func TestKilledNodeRestartsSQLite(t *testing.T) {
	t.Parallel()
	n := nodetest.StartNode(t, nodetest.Options{Name: "solo", Config: crashConfig})
	id := nodeID(t, n)
	key := pubUser(t, n, "alice", "publisher")
	marker := crashMarker(t)
	deploy := startDeploy(t, n.URL, key, crashReport(t, marker), "crash-report")
	testutil.WaitFor(t, 60*time.Second, "the render to start", func() bool {
		return strings.Contains(deploy.Stderr(), "started") && len(renderScratch(t, marker)) > 0
	})
	stop := slowUpload(t, n.URL, key, createContent(t, n.URL, key, "half-upload"))
	testutil.WaitFor(t, 30*time.Second, "the upload to be in progress", func() bool { return len(uploadScratch(t, n.DataDir)) > 0 })

	n.Kill(t)
	stop()
	n2 := nodetest.StartNode(t, n.Opts)
	if got := nodeID(t, n2); got != id {
		t.Fatalf("restarted node has id %s, want %s", got, id)
	}
	testutil.WaitFor(t, 30*time.Second, "the crashed run's scratch to be swept", func() bool {
		return len(uploadScratch(t, n.DataDir)) == 0 && len(renderScratch(t, marker)) == 0
	})
	if code := deploy.wait(t, 60*time.Second); code != podium.ExitFailure ||
		!strings.Contains(deploy.Stderr(), "node "+id+" restarted") {
		t.Fatalf("podium deploy: exit %d, want 1 with \"node %s restarted\":\n%s", code, id, deploy.Stderr())
	}
	n2.Stop(t)
	db := openSQLite(t, n.DataDir)
	list, err := db.ContentList(testCtx(t), &dbprovider.ContentListParams{All: true, Name: "crash-report"})
	if err != nil || len(list) != 1 {
		t.Fatalf("content: %v, %v", list, err)
	}
	renders, err := db.RenderList(testCtx(t), &dbprovider.RenderListParams{ContentID: list[0].ID})
	if err != nil || len(renders) != 1 || renders[0].Status != podium.RenderFailed {
		t.Fatalf("renders of the crashed deployment: %+v, %v; want one, failed", renders, err)
	}
}

// TestKilledNodeWorkFailedByOtherNode: in a cluster, SIGKILL node A while
// it renders a deployment and receives an upload; node B, live, fails A's
// task (polled through B) and render within the node timeout with "node A
// stopped heartbeating at", and removes A's scratch from the shared data
// directory, while B's own upload in progress is left alone and completes.
// A restarted with the same id then fails the work of its earlier run at
// once ("restarted").
func TestKilledNodeWorkFailedByOtherNode(t *testing.T) {
	t.Parallel()
	pg := pgtest.NewDatabase(t)
	data := sharedDataDir(t)
	nodes := startNodes(t, 2, pg, data, crashConfig)
	a, b := nodes[0], nodes[1]
	idA := nodeID(t, a)
	key := pubUser(t, a, "alice", "publisher")
	db := openPostgres(t, pg)

	deployOn := func(n *nodetest.Node, guid, marker string) string {
		t.Helper()
		return pubStartDeploy(t, n, key, guid, map[string]string{
			"manifest.json": `{"version": 1, "metadata": {"appmode": "report"}, "render": {"command": ["/bin/sh", "render.sh"], "timeout": "5m"}}`,
			"render.sh":     "echo started\ntouch \"$HOME/" + marker + "\"\nsleep 120\n",
		})
	}
	report := createContent(t, a.URL, key, "report")
	marker := crashMarker(t)
	task := deployOn(a, report, marker)
	testutil.WaitFor(t, 60*time.Second, "A's render to start", func() bool { return len(renderScratch(t, marker)) > 0 })
	stopA := slowUpload(t, a.URL, key, createContent(t, a.URL, key, "upload-a"))
	testutil.WaitFor(t, 30*time.Second, "A's upload in progress", func() bool { return len(uploadScratch(t, data)) == 1 })
	onA := uploadScratch(t, data)

	killed := time.Now()
	a.Kill(t)
	stopA()
	// B's own upload, in progress during B's sweeps, must survive them.
	guidB := createContent(t, b.URL, key, "upload-b")
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", b.URL+"/__api__/v1/content/"+guidB+"/bundles", pr)
	req.Header.Set("Authorization", "Key "+key)
	req.Header.Set("Content-Type", "application/gzip")
	resB := make(chan int, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			resB <- 0
			return
		}
		res.Body.Close()
		resB <- res.StatusCode
	}()
	body := pubBundle(t, map[string]string{"manifest.json": `{"version":1,"metadata":{"appmode":"static"}}`, "index.html": "b"})
	if _, err := pw.Write(body[:len(body)/2]); err != nil {
		t.Fatal(err)
	}

	polled := pubWaitTask(t, b.URL, key, task)
	took := time.Since(killed)
	t.Logf("kill to task failed: %s", took.Round(time.Millisecond))
	if polled.Code != 1 || !strings.Contains(polled.Error, "node "+idA+" stopped heartbeating at") {
		t.Fatalf("A's task polled through B: %+v; want code 1 and \"node %s stopped heartbeating at\"", polled, idA)
	}
	if bound := crashNodeTimeout + testutil.Timeout(5*time.Second); took > bound {
		t.Errorf("A's task failed %s after the kill, want within the node timeout (+ slack) %s", took, bound)
	}
	c, err := db.ContentGetByGUID(testCtx(t), report)
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, "A's render failed and A's scratch swept", func() bool {
		renders, err := db.RenderList(testCtx(t), &dbprovider.RenderListParams{ContentID: c.ID})
		if err != nil || len(renders) != 1 {
			t.Fatalf("renders: %+v, %v", renders, err)
		}
		for _, p := range onA {
			if _, err := os.Stat(p); err == nil {
				return false
			}
		}
		return renders[0].Status == podium.RenderFailed
	})
	// B's upload was in progress through several of B's sweeps: it
	// completes.
	if _, err := pw.Write(body[len(body)/2:]); err != nil {
		t.Fatalf("B's upload was cut: %v", err)
	}
	pw.Close()
	if code := <-resB; code != 201 {
		t.Fatalf("B's upload, in progress during the sweeps: %d, want 201", code)
	}

	// The render's scratch is in A's temporary directory (this host's),
	// which only A sweeps: when it restarts.
	a2 := nodetest.StartNode(t, a.Opts)
	testutil.WaitFor(t, 30*time.Second, "A's old render scratch swept by A", func() bool { return len(renderScratch(t, marker)) == 0 })

	// Restart with the same id while a task runs: the restarted node fails
	// it at once as "restarted", not after the node timeout. B is stopped
	// meanwhile, so that only A's own start can have done it.
	marker2 := marker + "-2"
	task2 := deployOn(a2, report, marker2)
	testutil.WaitFor(t, 60*time.Second, "A's second render to start", func() bool { return len(renderScratch(t, marker2)) > 0 })
	if err := b.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Signal(syscall.SIGCONT) })
	a2.Kill(t)
	a3 := nodetest.StartNode(t, a2.Opts)
	polled = pubWaitTask(t, a3.URL, key, task2)
	if err := b.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if polled.Code != 1 || !strings.Contains(polled.Error, "node "+idA+" restarted") {
		t.Fatalf("task of A's earlier run: %+v; want code 1 and \"node %s restarted\"", polled, idA)
	}
}
