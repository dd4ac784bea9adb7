package server

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/podiumhq/podium/apps"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/dbprovider"
)

// TestProcessSettingsInDatabase: overrides live in content.settings; a
// legacy processes-settings.json is read until the first update, which
// moves it into the database and removes the file; concurrent updates of
// different fields all land (compare-and-set, no lost update); and other
// keys of content.settings are kept.
func TestProcessSettingsInDatabase(t *testing.T) {
	t.Parallel()
	n := testNode(t)
	ctx := context.Background()
	u, err := n.Auth().CreateUser(ctx, auth.CreateUserParams{Username: "owner", Role: "publisher"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := n.DB().ContentCreate(ctx, &dbprovider.ContentCreateParams{GUID: "3f1c7a52-0c1e-4f7e-9d51-0d6c9e1b2a01", Name: "app", OwnerID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := n.DB().ContentSettingsSwap(ctx, c.ID, []byte("{}"), []byte(`{"other": 1}`)); err != nil || !ok {
		t.Fatalf("seed settings: %v %v", ok, err)
	}
	src := &contentApps{db: n.DB(), dataDir: n.Config.Server.DataDir}
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
	raw, err := n.DB().ContentSettingsGet(ctx, c.ID)
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
