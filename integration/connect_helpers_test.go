package integration

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/textproto"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/testutil"
)

// rsconnect replays the requests of rsconnect-python (rsconnect/api.py and
// http_support.py of its current release) byte for byte where it matters:
// the paths under /__api__, the query parameters, JSON bodies sent as
// "application/json; charset=utf-8", bundles sent as the raw archive with
// no Content-Type (or multipart with "archive" and "metadata" when the
// client found git metadata), "Authorization: Key <key>", redirects
// followed with the same method, and cookies kept and sent back (its
// CookieJar). rsconnect-python cannot be installed here (no PyPI), so
// this is the client of the black-box tests; each method names the
// rsconnect function it stands for.
type rsconnect struct {
	t    *testing.T
	base string // the server URL the user gave, without /__api__
	key  string
	hc   *http.Client

	mu       sync.Mutex
	requests map[string]int // by method and path pattern
	polls    []rscPoll      // every task poll, in order
}

// rscPoll is one task poll: what it asked, what it got, how long it took.
type rscPoll struct {
	Query    string
	Lines    int
	Finished bool
	Took     time.Duration
}

// newRSConnect returns a client with a cookie jar (net/http/cookiejar, so
// load-balancer and session cookies are kept as a real client keeps them).
func newRSConnect(t *testing.T, base, key string) *rsconnect {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &rsconnect{t: t, base: strings.TrimSuffix(base, "/"), key: key, requests: map[string]int{},
		hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends one request as HTTPServer._do_request does, following up to 3
// redirects with the same method and body.
func (c *rsconnect) do(method, path string, query url.Values, body []byte, ctype string) pubResp {
	c.t.Helper()
	full := c.base + path
	if len(query) > 0 {
		full += "?" + query.Encode()
	}
	pattern := method + " " + patternOf(path)
	c.mu.Lock()
	c.requests[pattern]++
	c.mu.Unlock()
	for range 4 {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(60*time.Second))
		req, err := http.NewRequestWithContext(ctx, method, full, bytes.NewReader(body))
		if err != nil {
			cancel()
			c.t.Fatal(err)
		}
		if body == nil {
			req.Body, req.ContentLength = nil, 0
		}
		req.Header.Set("User-Agent", "rsconnect-python/1.28.0")
		if c.key != "" {
			req.Header.Set("Authorization", "Key "+c.key)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		res, err := c.hc.Do(req)
		if err != nil {
			cancel()
			c.t.Fatalf("%s %s: %v", method, full, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		cancel()
		if res.StatusCode >= 300 && res.StatusCode < 400 {
			loc, err := res.Location()
			if err != nil {
				c.t.Fatalf("%s %s: redirect without Location", method, full)
			}
			full = loc.String()
			continue
		}
		return pubResp{Status: res.StatusCode, Body: b, Header: res.Header}
	}
	c.t.Fatalf("%s %s: too many redirects", method, path)
	return pubResp{}
}

// patternOf replaces GUIDs, task ids and numbers in a path by placeholders,
// to count requests by endpoint.
func patternOf(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		switch {
		case len(p) == 36 && strings.Count(p, "-") == 4:
			parts[i] = "{guid}"
		case len(p) == 32:
			parts[i] = "{task}"
		case p != "" && strings.Trim(p, "0123456789") == "":
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, "/")
}

// jsonBody is what rsconnect sends for a dict body.
func (c *rsconnect) json(method, path string, v any) pubResp {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(method, path, nil, b, "application/json; charset=utf-8")
}

// ok is AbstractRemoteServer.handle_bad_response: a 2xx JSON answer
// without an "error", decoded into out.
func (c *rsconnect) ok(what string, r pubResp, out any) {
	c.t.Helper()
	// A 2xx JSON answer is returned as data (RSConnectClient._tweak_response);
	// anything else raises.
	if r.Status < 200 || r.Status > 299 {
		c.t.Fatalf("%s: the client would stop here: %d %s", what, r.Status, r.Body)
	}
	if out != nil {
		if err := json.Unmarshal(r.Body, out); err != nil {
			c.t.Fatalf("%s: the client cannot read %s: %v", what, r.Body, err)
		}
	}
}

// rscContent is the part of a v1 content item rsconnect-python reads.
type rscContent struct {
	ID               json.Number `json:"id"`
	GUID             string      `json:"guid"`
	Name             string      `json:"name"`
	Title            *string     `json:"title"`
	AppMode          *string     `json:"app_mode"`
	ContentURL       string      `json:"content_url"`
	DashboardURL     string      `json:"dashboard_url"`
	OwnerGUID        string      `json:"owner_guid"`
	BundleID         json.Number `json:"bundle_id"`
	CreatedTime      string      `json:"created_time"`
	LastDeployedTime *string     `json:"last_deployed_time"`
	AccessType       string      `json:"access_type"`
	RVersion         *string     `json:"r_version"`
	PyVersion        *string     `json:"py_version"`
}

// serverSettings is RSConnectClient.server_settings (rsconnect add, and
// server_version before every deploy).
func (c *rsconnect) serverSettings() map[string]any {
	c.t.Helper()
	var out map[string]any
	c.ok("server_settings", c.do("GET", "/__api__/server_settings", nil, nil, ""), &out)
	return out
}

// me is verify_api_key_response: GET v1/user.
func (c *rsconnect) me() map[string]any {
	c.t.Helper()
	var out map[string]any
	c.ok("v1/user", c.do("GET", "/__api__/v1/user", nil, nil, ""), &out)
	return out
}

// contentList is RSConnectClient.content_list (find_unique_name with
// {"name": ...}, and `rsconnect content search` with none).
func (c *rsconnect) contentList(filters url.Values) []rscContent {
	c.t.Helper()
	var out []rscContent
	c.ok("content list", c.do("GET", "/__api__/v1/content", filters, nil, ""), &out)
	return out
}

// findUniqueName is api.find_unique_name.
func (c *rsconnect) findUniqueName(name string) string {
	c.t.Helper()
	if len(c.contentList(url.Values{"name": {name}})) == 0 {
		return name
	}
	for i := 1; ; i++ {
		test := fmt.Sprintf("%s%d", name, i)
		if len(c.contentList(url.Values{"name": {test}})) == 0 {
			return test
		}
	}
}

// rscDeployed is RSConnectClientDeployResult.
type rscDeployed struct {
	TaskID, AppID, AppGUID, AppURL, DashboardURL, DraftURL, BundleID, Title string
}

// deploy is RSConnectClient.deploy: create the content (or get it), set
// the environment and title, upload the bundle (multipart when metadata
// is given), and deploy it, as a draft unless activate.
func (c *rsconnect) deploy(appGUID, name, title string, tarball []byte, env map[string]string, activate bool, metadata map[string]string) rscDeployed {
	c.t.Helper()
	var app rscContent
	if appGUID == "" {
		c.ok("content create", c.json("POST", "/__api__/v1/content", map[string]string{"name": name}), &app)
	} else {
		c.ok("content get", c.do("GET", "/__api__/v1/content/"+appGUID, nil, nil, ""), &app)
	}
	if len(env) > 0 {
		var body []map[string]string
		for k, v := range env {
			body = append(body, map[string]string{"name": k, "value": v})
		}
		c.ok("environment", c.json("PATCH", "/__api__/v1/content/"+app.GUID+"/environment", body), nil)
	}
	if app.Title == nil || *app.Title != title {
		c.ok("content update", c.json("PATCH", "/__api__/v1/content/"+app.GUID, map[string]string{"title": title}), &app)
	}
	var bundle struct {
		ID json.Number `json:"id"`
	}
	if metadata != nil {
		body, ctype := multipartBundleBody(c.t, tarball, metadata)
		c.ok("upload", c.do("POST", "/__api__/v1/content/"+app.GUID+"/bundles", nil, body, ctype), &bundle)
	} else {
		c.ok("upload", c.do("POST", "/__api__/v1/content/"+app.GUID+"/bundles", nil, tarball, ""), &bundle)
	}
	task := c.contentDeploy(app.GUID, bundle.ID.String(), activate)
	d := rscDeployed{TaskID: task, AppID: app.ID.String(), AppGUID: app.GUID, AppURL: app.ContentURL,
		DashboardURL: app.DashboardURL, BundleID: bundle.ID.String(), Title: title}
	if !activate {
		d.DraftURL = app.DashboardURL + "/draft/" + bundle.ID.String()
	}
	return d
}

// contentDeploy is RSConnectClient.content_deploy: "activate" is sent only
// when false.
func (c *rsconnect) contentDeploy(guid, bundleID string, activate bool) string {
	c.t.Helper()
	body := map[string]any{"bundle_id": bundleID}
	if !activate {
		body["activate"] = false
	}
	var task struct {
		TaskID string `json:"task_id"`
	}
	c.ok("deploy", c.json("POST", "/__api__/v1/content/"+guid+"/deploy", body), &task)
	if task.TaskID == "" {
		c.t.Fatalf("deploy answered no task_id")
	}
	return task.TaskID
}

// rscTask is TaskStatusV1.
type rscTask struct {
	ID       string          `json:"id"`
	Output   []string        `json:"output"`
	Finished bool            `json:"finished"`
	Code     int             `json:"code"`
	Error    string          `json:"error"`
	Last     int             `json:"last"`
	Result   json.RawMessage `json:"result"`
}

// waitForTask is RSConnectClient.wait_for_task with poll_wait: GET
// v1/tasks/{id} with first (after the first poll) and wait, in a loop
// with no sleep of its own. It returns the output and the last answer.
func (c *rsconnect) waitForTask(id string, pollWait int) ([]string, rscTask) {
	c.t.Helper()
	var lines []string
	var first *int
	deadline := time.Now().Add(testutil.Timeout(120 * time.Second))
	for {
		if time.Now().After(deadline) {
			c.t.Fatalf("task %s did not finish", id)
		}
		q := url.Values{}
		if first != nil {
			q.Set("first", fmt.Sprint(*first))
		}
		q.Set("wait", fmt.Sprint(pollWait))
		start := time.Now()
		r := c.do("GET", "/__api__/v1/tasks/"+id, q, nil, "")
		var task rscTask
		c.ok("task", r, &task)
		c.mu.Lock()
		c.polls = append(c.polls, rscPoll{Query: q.Encode(), Lines: len(task.Output), Finished: task.Finished, Took: time.Since(start)})
		c.mu.Unlock()
		lines = append(lines, task.Output...)
		last := task.Last
		first = &last
		if task.Finished {
			return lines, task
		}
	}
}

// accessContent is RSConnectClient.access_content: GET the content (or
// the draft of bundle) with the client's headers; only a 5xx fails.
func (c *rsconnect) accessContent(guid, bundleID string) pubResp {
	c.t.Helper()
	suffix := ""
	if bundleID != "" {
		suffix = "_bundle" + bundleID + "/"
	}
	r := c.do("GET", "/content/"+guid+"/"+suffix, nil, nil, "")
	if r.Status >= 500 {
		c.t.Fatalf("Could not access the deployed content: %d %s", r.Status, r.Body)
	}
	return r
}

// count returns the requests sent for a pattern such as
// "GET /__api__/v1/tasks/{task}".
func (c *rsconnect) count(pattern string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests[pattern]
}

// summary lists the requests by endpoint, for the test log.
func (c *rsconnect) summary() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for k, v := range c.requests {
		out = append(out, fmt.Sprintf("%3d %s", v, k))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// multipartBundleBody is create_multipart_form_data of the "archive"
// (bundle.tar.gz, application/x-tar) and "metadata" (JSON) fields.
func multipartBundleBody(t *testing.T, tarball []byte, metadata map[string]string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	md, _ := json.Marshal(metadata)
	if err := w.WriteField("metadata", string(md)); err != nil {
		t.Fatal(err)
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="archive"; filename="bundle.tar.gz"`)
	h.Set("Content-Type", "application/x-tar")
	pw, err := w.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pw.Write(tarball); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), w.FormDataContentType()
}

// htmlManifest is the manifest `rsconnect deploy html` writes for a
// directory with the given files (primary first).
func htmlManifest(files map[string]string, primary string) string {
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var entries []string
	for _, n := range names {
		sum := md5.Sum([]byte(files[n]))
		entries = append(entries, fmt.Sprintf("%q: {\"checksum\": %q}", n, hex.EncodeToString(sum[:])))
	}
	return fmt.Sprintf(`{
  "version": 1,
  "locale": "en_US.UTF-8",
  "metadata": {"appmode": "static", "primary_html": %q, "entrypoint": %q},
  "files": {%s}
}`, primary, primary, strings.Join(entries, ", "))
}

// htmlBundle is the bundle `rsconnect deploy html` uploads.
func htmlBundle(t *testing.T, files map[string]string, primary string) []byte {
	t.Helper()
	all := map[string]string{"manifest.json": htmlManifest(files, primary)}
	for k, v := range files {
		all[k] = v
	}
	return pubBundle(t, all)
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
