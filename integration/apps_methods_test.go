package integration

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/internal/nodetest"
)

// TestAppsEveryMethod deploys the echo app as api content on one node and
// checks that requests of every method reach its process through Podium
// (POST with a body, PUT, DELETE, and a 308 that keeps a POST a POST),
// that static content still answers 405 to a POST, and that an access
// change made through the node's API applies to the very next request (the
// node's short cache of granted app access is dropped). The node runs the
// fast connection loop ([HTTP] FastPath): its keep-alive connections mix
// GETs it serves itself with bodies it hands to net/http.
func TestAppsEveryMethod(t *testing.T) {
	t.Parallel()
	data := sharedDataDir(t)
	n := nodetest.StartNode(t, nodetest.Options{DataDir: data, Config: "[Applications]\nRunAs = nobody\n[HTTP]\nFastPath = true\n"})
	bin := nodetest.Binary(t)
	nodetest.Run(t, bin, nil, "users", "create", "--config", n.ConfigPath, "--username", "methods", "--role", "publisher", "--no-password")
	key, _, _ := nodetest.Run(t, bin, nil, "keys", "create", "--config", n.ConfigPath, "--username", "methods")
	api := &apiClient{t: t, base: n.URL, key: strings.TrimSpace(key)}
	guid := deployApp(t, api, "methods-api", echoBundleWithMode(t, "api"))
	base := n.URL + "/content/" + guid

	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	type item struct {
		Method string `json:"method"`
		ID     string `json:"id"`
		Bytes  int64  `json:"bytes"`
	}
	call := func(method, path string, body []byte) (*http.Response, item) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var it item
		if res.StatusCode == http.StatusOK {
			if err := json.Unmarshal(b, &it); err != nil {
				t.Fatalf("%s %s: %v: %s", method, path, err, b)
			}
		}
		return res, it
	}

	t.Run("OK", func(t *testing.T) {
		body := bytes.Repeat([]byte("x"), 100_000)
		for _, tc := range []struct {
			method string
			body   []byte
		}{{http.MethodPost, body}, {http.MethodPut, body[:10]}, {http.MethodPatch, body[:3]}, {http.MethodDelete, nil}, {http.MethodGet, nil}} {
			res, got := call(tc.method, "/items/42", tc.body)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("%s /items/42 through podium: status %d, want 200", tc.method, res.StatusCode)
			}
			if want := (item{Method: tc.method, ID: "42", Bytes: int64(len(tc.body))}); got != want {
				t.Errorf("%s /items/42: the app saw %+v, want %+v", tc.method, got, want)
			}
		}
	})
	t.Run("RedirectKeepsMethod", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, base, strings.NewReader("{}"))
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusPermanentRedirect || res.Header.Get("Location") != "/content/"+guid+"/" {
			t.Errorf("POST /content/{guid}: %d Location %q, want 308 to /content/%s/", res.StatusCode, res.Header.Get("Location"), guid)
		}
	})
	t.Run("StaticRefusesPOST", func(t *testing.T) {
		site := deployApp(t, api, "methods-site", pubDir(t, map[string]string{
			"manifest.json": `{"version":1,"metadata":{"appmode":"static"}}`, "index.html": "<p>hello</p>"}))
		res, err := http.Post(n.URL+"/content/"+site+"/", "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("POST to static content: %d Allow %q, want 405 with Allow: GET, HEAD", res.StatusCode, res.Header.Get("Allow"))
		}
		res, err = http.Get(n.URL + "/content/" + site + "/")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET static content: %d, want 200", res.StatusCode)
		}
	})
	t.Run("AccessChangeAppliesAtOnce", func(t *testing.T) {
		if res, _ := call(http.MethodGet, "/items/1", nil); res.StatusCode != http.StatusOK {
			t.Fatalf("anonymous GET of public api content: %d, want 200", res.StatusCode)
		}
		if code := api.do("PATCH", "/__api__/v1/content/"+guid, strings.NewReader(`{"access_type":"acl"}`), nil); code != 200 {
			t.Fatalf("PATCH access_type: %d", code)
		}
		// Within the cache's lifetime (one second): the change made on
		// this node must already apply.
		if res, _ := call(http.MethodGet, "/items/1", nil); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("anonymous GET right after access_type=acl: %d, want 401", res.StatusCode)
		}
	})
}

// echoBundleWithMode returns a bundle directory with the echo app and a
// manifest of the given appmode ("app" or "api").
func echoBundleWithMode(t *testing.T, mode string) string {
	t.Helper()
	exe, err := os.ReadFile(filepath.Join(echoBundleDir(t), "echoapp"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "echoapp"), exe, 0o755); err != nil {
		t.Fatal(err)
	}
	m := `{"version": 1, "metadata": {"appmode": "` + mode + `"}, "serve": {"command": ["./echoapp"]}}`
	if err := os.WriteFile(filepath.Join(dir, bundle.ManifestName), []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
