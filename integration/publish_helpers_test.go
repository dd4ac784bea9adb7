package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// pubConfig is the configuration every publishing test node gets: renders
// run as nobody (the tests run as root in CI), small bundles so a tar bomb
// is cheap to refuse.
const pubConfig = "[Applications]\nRunAs = nobody\nMaxBundleSize = 2MB\n"

// pubNode starts a node for the publishing tests; pg is a PostgreSQL URL
// or "" for SQLite.
func pubNode(t *testing.T, pg, dataDir, name string) *nodetest.Node {
	t.Helper()
	return nodetest.StartNode(t, nodetest.Options{
		Postgres: pg, DataDir: dataDir, Name: name, Config: pubConfig,
		// A secret in the server's environment that no render may see.
		Env: []string{"SECRET_CANARY=hunter2-canary"},
	})
}

// pubUser creates a user with the podium CLI against n's configuration and
// returns a new API key of theirs.
func pubUser(t *testing.T, n *nodetest.Node, username, role string) string {
	t.Helper()
	bin := nodetest.Binary(t)
	if _, stderr, code := nodetest.Run(t, bin, nil, "--config", n.ConfigPath, "users", "create",
		"--username", username, "--role", role, "--no-password"); code != 0 {
		t.Fatalf("users create %s: exit %d: %s", username, code, stderr)
	}
	stdout, stderr, code := nodetest.Run(t, bin, nil, "--config", n.ConfigPath, "keys", "create", "--username", username)
	if code != 0 {
		t.Fatalf("keys create %s: exit %d: %s", username, code, stderr)
	}
	key := strings.TrimSpace(stdout)
	if key == "" || strings.Contains(key, "\n") {
		t.Fatalf("keys create printed %q, want the key alone", stdout)
	}
	return key
}

// pubResp is an HTTP answer.
type pubResp struct {
	Status int
	Body   []byte
	Header http.Header
}

// JSON decodes the body into v.
func (r pubResp) JSON(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// ErrorCode returns the "code" of a JSON error body, failing the test if
// the body is not one.
func (r pubResp) ErrorCode(t *testing.T) string {
	t.Helper()
	var e struct {
		Code  string `json:"code"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Code == "" || e.Error == "" {
		t.Fatalf("want a JSON error body, got %d %q", r.Status, r.Body)
	}
	return e.Code
}

// pubDo sends a request; key "" sends none, ctype "" sends none.
func pubDo(t *testing.T, method, url, key, ctype string, body []byte) pubResp {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(30*time.Second))
	defer cancel()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Key "+key)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return pubResp{Status: res.StatusCode, Body: b, Header: res.Header}
}

// pubJSON sends a JSON body.
func pubJSON(t *testing.T, method, url, key string, v any) pubResp {
	t.Helper()
	var b []byte
	switch v := v.(type) {
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	return pubDo(t, method, url, key, "application/json", b)
}

// pubWant fails the test unless r has the status (and, for errors, a JSON
// error body).
func pubWant(t *testing.T, what string, r pubResp, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.Status, status, r.Body)
	}
	if status >= 400 {
		r.ErrorCode(t)
	}
}

// pubTask is a task poll answer.
type pubTask struct {
	ID       string          `json:"id"`
	Output   []string        `json:"output"`
	Finished bool            `json:"finished"`
	Code     int             `json:"code"`
	Error    string          `json:"error"`
	Last     int             `json:"last"`
	Result   json.RawMessage `json:"result"`
}

// pubWaitTask polls a task through base until it finishes, following the
// cursor, and returns the last answer with all the output lines.
func pubWaitTask(t *testing.T, base, key, id string) pubTask {
	t.Helper()
	var (
		all   []string
		first int
		last  pubTask
	)
	testutil.WaitFor(t, testutil.Timeout(60*time.Second), "task "+id, func() bool {
		r := pubDo(t, "GET", base+"/__api__/v1/tasks/"+id+"?first="+itoa(first), key, "", nil)
		pubWant(t, "task poll", r, 200)
		last = pubTask{}
		r.JSON(t, &last)
		all = append(all, last.Output...)
		first = last.Last
		return last.Finished
	})
	last.Output = all
	return last
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// pubCreate creates content and returns its GUID.
func pubCreate(t *testing.T, n *nodetest.Node, key, name string) string {
	t.Helper()
	r := pubJSON(t, "POST", n.URL+"/__api__/v1/content", key, map[string]string{"name": name})
	pubWant(t, "create "+name, r, 201)
	var c struct{ GUID string }
	r.JSON(t, &c)
	return c.GUID
}

// pubStartDeploy uploads files as a bundle of guid through n and starts
// its deployment; it returns the task id.
func pubStartDeploy(t *testing.T, n *nodetest.Node, key, guid string, files map[string]string) string {
	t.Helper()
	r := pubDo(t, "POST", n.URL+"/__api__/v1/content/"+guid+"/bundles", key, "application/gzip", pubBundle(t, files))
	pubWant(t, "upload", r, 201)
	var bd struct{ ID int64 }
	r.JSON(t, &bd)
	r = pubJSON(t, "POST", n.URL+"/__api__/v1/content/"+guid+"/deploy", key, map[string]any{"bundle_id": bd.ID})
	pubWant(t, "deploy", r, 202)
	var started struct {
		TaskID string `json:"task_id"`
	}
	r.JSON(t, &started)
	return started.TaskID
}

// pubDir writes files (path → content; a path ending in "*" is made
// executable, without the star) into a new directory.
func pubDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, "*") {
			name, mode = strings.TrimSuffix(name, "*"), 0o755
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// pubBundle packs files into a bundle, as podium deploy does.
func pubBundle(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := bundle.Pack(context.Background(), pubDir(t, files), &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawEntry is one entry of a hand-made (possibly hostile) tar.
type rawEntry struct {
	Name     string
	Type     byte
	Body     string
	Linkname string
	Size     int64 // for a huge zero-filled file when Body is ""
}

// pubRawBundle writes a gzip tar of entries without any of Pack's checks.
func pubRawBundle(t *testing.T, entries ...rawEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(gw)
	for _, e := range entries {
		typ := e.Type
		if typ == 0 {
			typ = tar.TypeReg
		}
		size := int64(len(e.Body))
		if e.Size > 0 {
			size = e.Size
		}
		if typ != tar.TypeReg {
			size = 0
		}
		hdr := &tar.Header{Name: e.Name, Typeflag: typ, Mode: 0o644, Size: size, Linkname: e.Linkname, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			var r io.Reader = strings.NewReader(e.Body)
			if e.Size > 0 {
				r = io.LimitReader(zeros{}, e.Size)
			}
			if _, err := io.Copy(tw, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// pubDeploy runs `podium deploy` and returns its stdout, stderr and code.
func pubDeploy(t *testing.T, url, key, dir string, args ...string) (string, string, int) {
	t.Helper()
	full := append([]string{"deploy", dir}, args...)
	return nodetest.Run(t, nodetest.Binary(t), []string{"PODIUM_SERVER=" + url, "PODIUM_API_KEY=" + key}, full...)
}

// pubGUID returns the GUID in a content URL printed by podium deploy.
func pubGUID(t *testing.T, contentURL string) string {
	t.Helper()
	s := strings.TrimSpace(contentURL)
	i := strings.Index(s, "/content/")
	if i < 0 || !strings.HasSuffix(s, "/") {
		t.Fatalf("podium deploy printed %q, want a content URL", contentURL)
	}
	return strings.TrimSuffix(s[i+len("/content/"):], "/")
}

// pubListFiles lists every path under dir, relative, for "nothing was
// written outside" checks.
func pubListFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// gzipOf compresses data.
func gzipOf(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gw := gzip.NewWriter(&buf)
	if _, err := gw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := gw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
