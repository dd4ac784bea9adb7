package appsource

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/apps"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/schema"
	"github.com/sirupsen/logrus"
)

// setup returns a Source on a fresh SQLite database with a data directory
// of its own, the database, and a publisher who owns content.
func setup(t *testing.T) (*Source, dbprovider.Provider, *podium.User) {
	t.Helper()
	ctx := context.Background()
	log := logrus.New()
	log.SetOutput(io.Discard)
	entry := logrus.NewEntry(log)
	db, err := sqlite.Open(ctx, sqlite.Options{Dir: t.TempDir(), Exclusive: true, Purpose: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := schema.Up(ctx, db, entry, schema.Options{}); err != nil {
		t.Fatal(err)
	}
	u, err := auth.New(db, entry, auth.Options{}).CreateUser(ctx, auth.CreateUserParams{Username: "owner", Role: podium.RolePublisher})
	if err != nil {
		t.Fatal(err)
	}
	env := func(context.Context, int64) ([]string, error) { return []string{"GREETING=hello"}, nil }
	return New(Options{DB: db, DataDir: t.TempDir(), Env: env}), db, u
}

// deploy creates content with appmode and activates a bundle whose
// manifest is manifest, unpacked where the Source looks for it.
func deploy(t *testing.T, s *Source, db dbprovider.Provider, u *podium.User, guid, appmode, manifest string) *podium.Content {
	t.Helper()
	ctx := context.Background()
	c, err := db.ContentCreate(ctx, &dbprovider.ContentCreateParams{GUID: guid, Name: appmode, OwnerID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.BundleCreate(ctx, &dbprovider.BundleCreateParams{ContentID: c.ID, SHA256: make([]byte, 32), Manifest: manifest})
	if err != nil {
		t.Fatal(err)
	}
	dir := bundle.Layout{DataDir: s.dataDir}.Dir(guid, b.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, err = db.ContentActivate(ctx, &dbprovider.ContentActivateParams{ID: c.ID, BundleID: b.ID, AppMode: appmode}); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestActiveApp: an app's command, environment and bundle come from its
// active bundle's manifest; a report is not an app (ENOTFOUND) and is not
// listed among the apps.
func TestActiveApp(t *testing.T) {
	t.Parallel()
	s, db, u := setup(t)
	ctx := context.Background()
	app := deploy(t, s, db, u, "6a0e2a4e-51c3-4c55-9b7c-0a3d1f1e0001", "app",
		`{"version": 1, "metadata": {"appmode": "app"}, "serve": {"command": ["./serve", "--port", "$PORT"]}}`)
	report := deploy(t, s, db, u, "6a0e2a4e-51c3-4c55-9b7c-0a3d1f1e0002", "report",
		`{"version": 1, "metadata": {"appmode": "report"}, "render": {"command": ["sh", "render.sh"]}}`)
	if !IsApp(app) || IsApp(report) {
		t.Errorf("IsApp(app) = %t, IsApp(report) = %t; want true, false", IsApp(app), IsApp(report))
	}

	t.Run("OK", func(t *testing.T) {
		a, err := s.ActiveApp(ctx, app.GUID)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(a.Command, " ") != "./serve --port $PORT" || a.BundleID != *app.ActiveBundleID || a.ContentID != app.ID ||
			a.OwnerID != u.ID || a.Dir != (bundle.Layout{DataDir: s.dataDir}).Dir(app.GUID, *app.ActiveBundleID) {
			t.Errorf("ActiveApp = %+v; want the manifest's command in the active bundle's directory", a)
		}
		if len(a.Env) != 1 || a.Env[0] != "GREETING=hello" {
			t.Errorf("Env = %q; want the content's variables", a.Env)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		if _, err := s.ActiveApp(ctx, report.GUID); !podium.IsCode(err, podium.ENOTFOUND) {
			t.Errorf("ActiveApp(report) = %v; want ENOTFOUND", err)
		}
	})
	t.Run("AppGUIDs", func(t *testing.T) {
		guids, err := s.AppGUIDs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(guids) != 1 || guids[0] != app.GUID {
			t.Errorf("AppGUIDs = %q; want only %s", guids, app.GUID)
		}
	})
}

// TestProcessSettingsInDatabase: overrides live in content.settings; a
// legacy processes-settings.json is read until the first update, which
// moves it into the database and removes the file; concurrent updates of
// different fields all land (compare-and-set, no lost update); and other
// keys of content.settings are kept.
func TestProcessSettingsInDatabase(t *testing.T) {
	t.Parallel()
	src, db, u := setup(t)
	ctx := context.Background()
	c, err := db.ContentCreate(ctx, &dbprovider.ContentCreateParams{GUID: "3f1c7a52-0c1e-4f7e-9d51-0d6c9e1b2a01", Name: "app", OwnerID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := db.ContentSettingsSwap(ctx, c.ID, []byte("{}"), []byte(`{"other": 1}`)); err != nil || !ok {
		t.Fatalf("seed settings: %v %v", ok, err)
	}
	legacy := src.legacySettingsPath(c.GUID)
	if err := os.MkdirAll(filepath.Dir(legacy), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(legacy, []byte(`{"max_processes": 4}`), 0o640); err != nil {
		t.Fatal(err)
	}
	o, err := src.ProcessSettings(ctx, c.GUID)
	if err != nil || o.MaxProcesses == nil || *o.MaxProcesses != 4 {
		t.Fatalf("legacy settings: %+v, %v; want max_processes 4", o, err)
	}

	const writers = 8
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := src.UpdateProcessSettings(ctx, c.GUID, func(o *apps.Overrides) error {
				switch i % 2 {
				case 0:
					v := 2 + i
					o.MinProcesses = &v
				default:
					o.IdleTimeout = "1m"
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	o, err = src.ProcessSettings(ctx, c.GUID)
	if err != nil {
		t.Fatal(err)
	}
	if o.MaxProcesses == nil || *o.MaxProcesses != 4 || o.MinProcesses == nil || o.IdleTimeout != "1m" {
		t.Errorf("after concurrent updates: %+v; want max_processes 4 (legacy), min_processes and idle_timeout set", o)
	}
	if _, err := os.Stat(legacy); err == nil {
		t.Error("the legacy settings file is still there after an update")
	}
	raw, err := db.ContentSettingsGet(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !containsAll(string(raw), `"other"`, `"processes"`, `"max_processes"`) {
		t.Errorf("content.settings = %s; want the other key kept and the processes stored", raw)
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
