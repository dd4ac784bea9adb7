package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/podiumhq/podium/dbprovider/dbprovidertest"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// schedulerConfig is the [Applications] section of scheduler tests: short
// heartbeat timeout and poll interval so that reclaims take seconds.
func schedulerConfig(concurrency int) string {
	return fmt.Sprintf("[Applications]\nRunAs = nobody\nScheduleConcurrency = %d\nJobHeartbeatTimeout = 2s\nJobPollInterval = 200ms\n", concurrency)
}

// Scheduler test timings, matching schedulerConfig.
const (
	testHeartbeatTimeout = 2 * time.Second
	testPollInterval     = 200 * time.Millisecond
)

// reportBundleDir writes a report bundle whose render sleeps for the given
// time, then writes index.html.
func reportBundleDir(t testing.TB, sleep string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "sleep " + sleep + "\necho ok > \"$PODIUM_OUTPUT_DIR/index.html\"\necho rendered\n"
	if err := os.WriteFile(filepath.Join(dir, "render.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	m := `{"version": 1, "metadata": {"appmode": "report"}, "render": {"command": ["/bin/sh", "render.sh"], "timeout": "60s"}}`
	if err := os.WriteFile(filepath.Join(dir, bundle.ManifestName), []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// publisherKey creates a user named "u-"+role with that role, and an API
// key for it, on the node's database.
func publisherKey(t testing.TB, n *nodetest.Node, role string) string {
	t.Helper()
	return userKey(t, n, "u-"+role, role)
}

// userKey creates the user name with role, and an API key for it, on the
// node's database.
func userKey(t testing.TB, n *nodetest.Node, name, role string) string {
	t.Helper()
	bin := nodetest.Binary(t)
	if _, stderr, code := nodetest.Run(t, bin, nil, "users", "create", "--config", n.ConfigPath,
		"--username", name, "--role", role, "--no-password"); code != 0 {
		t.Fatalf("users create: %d %s", code, stderr)
	}
	key, stderr, code := nodetest.Run(t, bin, nil, "keys", "create", "--config", n.ConfigPath, "--username", name)
	if code != 0 {
		t.Fatalf("keys create: %d %s", code, stderr)
	}
	return strings.TrimSpace(key)
}

// contentID returns the id of a content guid.
func contentID(t *testing.T, db dbprovider.Provider, guid string) int64 {
	t.Helper()
	var id int64
	if err := dbprovidertest.RawDB(t, db).QueryRowContext(testCtx(t), `SELECT id FROM content WHERE guid = $1`, guid).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// queueJobs inserts n jobs of the content, due in the past, and returns
// their ids.
func queueJobs(t *testing.T, db dbprovider.Provider, cid int64, n int) []int64 {
	t.Helper()
	base := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	var ids []int64
	for i := range n {
		j, ok, err := db.JobInsertDue(testCtx(t), &dbprovider.JobInsertParams{ContentID: cid, DueAt: base.Add(time.Duration(i) * time.Second)})
		if err != nil || !ok {
			t.Fatalf("insert job: %v %v", ok, err)
		}
		ids = append(ids, j.ID)
	}
	return ids
}

// jobState returns a job and its attempts.
func jobState(t *testing.T, db dbprovider.Provider, id int64) (*podium.Job, []*podium.JobAttempt) {
	t.Helper()
	// Attempts first, then the job: a claim writes both in one
	// transaction, so the job read second is never older than the
	// attempts it returns with (read the other way round, a release and
	// reclaim between the two reads paired the old job with the new
	// attempts).
	atts, err := db.JobAttemptList(testCtx(t), []int64{id})
	if err != nil {
		t.Fatal(err)
	}
	j, err := db.JobGet(testCtx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	return j, atts
}

// attemptsByNode groups finished attempts by node, sorted by start.
func attemptsByNode(atts []*podium.JobAttempt) map[string][]*podium.JobAttempt {
	out := map[string][]*podium.JobAttempt{}
	for _, a := range atts {
		out[a.NodeID] = append(out[a.NodeID], a)
	}
	for _, l := range out {
		sort.Slice(l, func(i, j int) bool { return l[i].StartedAt.Before(l[j].StartedAt) })
	}
	return out
}

// apiError sends a request expected to fail and returns its status and
// the error message of its body.
func apiError(t *testing.T, api *apiClient, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, api.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Key "+api.key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var e struct {
		Error string `json:"error"`
	}
	_ = json.NewDecoder(res.Body).Decode(&e)
	return res.StatusCode, e.Error
}

// benchAPI is a minimal API client for benchmarks (apiClient needs a
// *testing.T).
type benchAPI struct {
	tb        testing.TB
	base, key string
}

func (c *benchAPI) do(method, path string, body io.Reader, out any) int {
	c.tb.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Key "+c.key)
	if _, gz := body.(*bytes.Buffer); gz {
		req.Header.Set("Content-Type", "application/gzip")
	} else if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			c.tb.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return res.StatusCode
}

// deployReport creates a report, uploads and deploys dir, waits for the
// deployment and returns the guid.
func (c *benchAPI) deployReport(name, dir string) string {
	c.tb.Helper()
	var ct struct {
		GUID string `json:"guid"`
	}
	if code := c.do("POST", "/__api__/v1/content", strings.NewReader(`{"name":"`+name+`"}`), &ct); code != 201 {
		c.tb.Fatalf("create content: %d", code)
	}
	var buf bytes.Buffer
	if _, err := bundle.Pack(context.Background(), dir, &buf); err != nil {
		c.tb.Fatal(err)
	}
	var bd struct {
		ID int64 `json:"id"`
	}
	if code := c.do("POST", "/__api__/v1/content/"+ct.GUID+"/bundles", &buf, &bd); code >= 300 {
		c.tb.Fatalf("upload: %d", code)
	}
	var task struct {
		TaskID string `json:"task_id"`
	}
	if code := c.do("POST", "/__api__/v1/content/"+ct.GUID+"/deploy", strings.NewReader(fmt.Sprintf(`{"bundle_id":%d}`, bd.ID)), &task); code != 202 {
		c.tb.Fatalf("deploy: %d", code)
	}
	testutil.WaitFor(c.tb, 30*time.Second, "deployment finished", func() bool {
		var st struct {
			Finished bool `json:"finished"`
		}
		c.do("GET", "/__api__/v1/tasks/"+task.TaskID, nil, &st)
		return st.Finished
	})
	return ct.GUID
}

// armedSleep returns a sleep argument for reportBundleDir that is 0 (a
// quick render at deployment) until arm sets the content variable
// ARMED_SLEEP of guid, then secs. A content variable, not a host file: a
// sandboxed render sees no host file a test could use as the switch.
func armedSleep(tb testing.TB, secs int) (sleep string, arm func(c apiDoer, guid string)) {
	tb.Helper()
	return "${ARMED_SLEEP:-0}", func(c apiDoer, guid string) {
		body := fmt.Sprintf(`[{"name": "ARMED_SLEEP", "value": "%d"}]`, secs)
		if code := c.do("PATCH", "/__api__/v1/content/"+guid+"/environment", strings.NewReader(body), nil); code != 200 {
			tb.Fatalf("arm the sleep of %s: PATCH environment: %d", guid, code)
		}
	}
}

// apiDoer is the one method the test API clients share.
type apiDoer interface {
	do(method, path string, body io.Reader, out any) int
}

// renderRunning reports whether a process named comm runs (is alive, not
// a zombie) below the node's process: its render command, which the test
// report's render.sh runs as "sleep". While the node is SIGSTOPped its
// ended children stay zombies, which count as ended.
func renderRunning(t *testing.T, n *nodetest.Node, comm string) bool {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	type proc struct {
		ppid        int
		comm, state string
	}
	procs := map[int]proc{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // ended meanwhile
		}
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(s[end+1:])
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		procs[pid] = proc{ppid: ppid, comm: s[open+1 : end], state: f[0]}
	}
	root := n.Cmd.Process.Pid
	below := func(pid int) bool {
		for i := 0; i < 64 && pid > 1; i++ {
			pid = procs[pid].ppid
			if pid == root {
				return true
			}
		}
		return false
	}
	for pid, p := range procs {
		if p.comm == comm && p.state != "Z" && below(pid) {
			return true
		}
	}
	return false
}
