package publish_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/publish"
)

// TestDeployDraft checks "activate": false on a report: the draft renders
// but readers keep the active bundle; its editors preview it; activating
// it reuses the draft's render; a plain redeploy of the active bundle
// renders again.
func TestDeployDraft(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, u, db := setup(t, "nobody")
	c, id := deployReport(t, svc, u, `echo "<p>v1</p>" > "$PODIUM_OUTPUT_DIR/index.html"`, "1m")
	if task := waitTask(t, db, id, finished); task.Code != 0 {
		t.Fatalf("first deploy: %+v", task)
	}
	dir := t.TempDir()
	for name, body := range map[string]string{
		"manifest.json": `{"version":1,"metadata":{"appmode":"report"},"render":{"command":["sh","render.sh"]}}`,
		"render.sh":     `echo "<p>v2</p>" > "$PODIUM_OUTPUT_DIR/index.html"`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := bundle.Pack(ctx, dir, &buf); err != nil {
		t.Fatal(err)
	}
	b2, err := svc.BundleUpload(ctx, u, c.GUID, &buf)
	if err != nil {
		t.Fatal(err)
	}
	task, err := svc.DeployBundle(ctx, u, c.GUID, b2.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := waitTask(t, db, task.ID, finished); got.Code != 0 || !strings.Contains(got.Result, `"activated":false`) || !strings.Contains(got.Result, publish.DraftPath(c.GUID, b2.ID)) {
		t.Fatalf("draft: %+v", got)
	}
	read := func(target *publish.Target, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(target.Dir, target.Index))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	if got := read(svc.ServeTarget(ctx, u, c.GUID)); got != "<p>v1</p>" {
		t.Fatalf("readers see %q while the draft is not active", got)
	}
	if got := read(svc.ServeDraftTarget(ctx, u, c.GUID, b2.ID)); got != "<p>v2</p>" {
		t.Fatalf("draft preview: %q", got)
	}
	if _, err := svc.ServeDraftTarget(ctx, nil, c.GUID, b2.ID); !podium.IsCode(err, podium.EUNAUTHORIZED) {
		t.Fatalf("anonymous draft preview: %v", err)
	}

	renders := func() int {
		t.Helper()
		list, err := db.RenderList(ctx, &dbprovider.RenderListParams{ContentID: c.ID})
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	before := renders()
	task, err = svc.DeployBundle(ctx, u, c.GUID, b2.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := waitTask(t, db, task.ID, finished); got.Code != 0 || !strings.Contains(strings.Join(got.Output, "\n"), "Reusing render") {
		t.Fatalf("activation: %+v", got)
	}
	if renders() != before {
		t.Fatalf("activating a built draft rendered again")
	}
	if got := read(svc.ServeTarget(ctx, u, c.GUID)); got != "<p>v2</p>" {
		t.Fatalf("after activation readers see %q", got)
	}
	task, err = svc.DeployBundle(ctx, u, c.GUID, b2.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := waitTask(t, db, task.ID, finished); got.Code != 0 || renders() != before+1 {
		t.Fatalf("a plain redeploy did not render again: %+v", got)
	}
}
