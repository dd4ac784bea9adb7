package config_test

import "testing"

// TestSetKeys: Set says which keys the administrator set, in the file or
// the environment, as opposed to defaults (an upgraded installation keeps
// its history until HistoryRetention is set).
func TestSetKeys(t *testing.T) {
	t.Parallel()
	const id = "Applications.HistoryRetention"
	dir, opts := setup(t)
	if c := mustLoad(t, opts); c.Set[id] {
		t.Errorf("defaults: %s counted as set", id)
	}
	opts.Path = writeFile(t, dir, "podium.gcfg", "[Applications]\nHistoryRetention = 720h\n")
	if c := mustLoad(t, opts); !c.Set[id] || c.Set["Applications.RenderTimeout"] {
		t.Errorf("file: set keys %v, want %s only", c.Set, id)
	}
	opts.Path = ""
	opts.LookupEnv = env(map[string]string{"PODIUM_APPLICATIONS_HISTORYRETENTION": "0s"})
	if c := mustLoad(t, opts); !c.Set[id] {
		t.Errorf("environment: set keys %v, want %s", c.Set, id)
	}
}
