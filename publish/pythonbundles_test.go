package publish_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/runtimes"
)

// TestLivePythonBundles: the active bundle of Python content is listed
// with its directory and runtime; content without an active bundle is
// not.
func TestLivePythonBundles(t *testing.T) {
	svc, u, db := setup(t, "")
	ctx := context.Background()
	c, err := svc.ContentCreate(ctx, u, publish.ContentCreateRequest{Name: "api"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ContentCreate(ctx, u, publish.ContentCreateRequest{Name: "empty"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	manifest := `{"version":1,"metadata":{"appmode":"python-fastapi","entrypoint":"app:app"},"python":{"version":"3.12.1"}}`
	for name, body := range map[string]string{"manifest.json": manifest, "app.py": "app = None\n", "requirements.txt": "fastapi\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := bundle.Pack(ctx, dir, &buf); err != nil {
		t.Fatal(err)
	}
	b, err := svc.BundleUpload(ctx, u, c.GUID, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ContentActivate(ctx, &dbprovider.ContentActivateParams{ID: c.ID, BundleID: b.ID, AppMode: string(runtimes.ModePythonFastAPI)}); err != nil {
		t.Fatal(err)
	}
	live, err := svc.LivePythonBundles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 1 || live[0].Spec == nil || live[0].Spec.AppMode != runtimes.ModePythonFastAPI {
		t.Fatalf("LivePythonBundles = %+v, want the api's bundle", live)
	}
	if _, err := os.Stat(filepath.Join(live[0].Dir, "requirements.txt")); err != nil {
		t.Fatalf("listed directory %s is not the unpacked bundle: %v", live[0].Dir, err)
	}
}
