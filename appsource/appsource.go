// Package appsource resolves hosted apps from the content store: which
// content items are apps (IsApp), the manifest of an app's active bundle,
// and the command that serves it (its own serve command, a Python
// environment from the shared cache, or R with its package library); and
// the per-content process settings, kept in content.settings. Its Source
// is the apps.AppSource and apps.SettingsStore that the app supervisor
// (package apps) runs processes from; the node (package server) builds it.
//
// It imports neither web nor server.
package appsource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/apps"
	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/sandbox"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/runtimes"
	"github.com/podiumhq/podium/runtimes/rlang"
)

// Options are the dependencies of a Source.
type Options struct {
	// DB is the content store.
	DB dbprovider.Provider
	// DataDir is [Server] DataDir, which holds the unpacked bundles
	// (bundle.Layout).
	DataDir string
	// Env returns the content's environment variables (decrypted).
	Env func(ctx context.Context, contentID int64) ([]string, error)
	// SandboxSettings returns the content's run_as and limits (an
	// administrator's); nil: none.
	SandboxSettings func(ctx context.Context, contentID int64) (publish.SandboxSettings, error)
	// Runtimes are the node's Python runtimes; nil: none.
	Runtimes *runtimes.Manager
	// RLang are the node's R installations; nil: none.
	RLang *rlang.Manager
	// Sandbox runs content processes (R library restores here).
	Sandbox *sandbox.Sandbox
}

// New returns the app source of o.
func New(o Options) *Source {
	return &Source{db: o.DB, dataDir: o.DataDir, env: o.Env, sandboxSettings: o.SandboxSettings,
		runtimes: o.Runtimes, rlang: o.RLang, sandbox: o.Sandbox, manifests: map[string]*bundle.Manifest{}}
}

// Source finds apps in the content store and their unpacked bundles
// in the shared data directory (content/<guid>/bundles/<id>/, the layout
// of package publish). Per-content process settings live in the database
// (content.settings), so every node reads the same at once.
type Source struct {
	db      dbprovider.Provider
	dataDir string
	// env returns the content's environment variables (decrypted).
	env func(ctx context.Context, contentID int64) ([]string, error)
	// sandboxSettings returns the content's run_as and limits (an
	// administrator's; nil in tests that need none).
	sandboxSettings func(ctx context.Context, contentID int64) (publish.SandboxSettings, error)

	runtimes *runtimes.Manager
	rlang    *rlang.Manager // see rApp
	sandbox  *sandbox.Sandbox

	mu        sync.Mutex
	manifests map[string]*bundle.Manifest // by bundle dir; bundles never change once unpacked
}

var _ apps.AppSource = (*Source)(nil)
var _ apps.SettingsStore = (*Source)(nil)

// IsApp reports whether content c is served by app processes: an app or
// an API with an active bundle.
func IsApp(c *podium.Content) bool {
	return (c.AppMode == string(bundle.AppModeApp) || c.AppMode == string(bundle.AppModeAPI) || c.AppMode == string(bundle.AppModeShiny) || runtimes.IsServed(c.AppMode)) &&
		c.ActiveBundleID != nil
}

// ActiveApp implements apps.AppSource.
func (s *Source) ActiveApp(ctx context.Context, guid string) (*apps.App, error) {
	c, err := s.db.ContentGetByGUID(ctx, guid)
	if err != nil {
		return nil, fmt.Errorf("active app: %w", err)
	}
	if !IsApp(c) {
		return nil, podium.Errorf(podium.ENOTFOUND, "content %s is not a deployed app or api", guid)
	}
	dir := bundle.Layout{DataDir: s.dataDir}.Dir(guid, *c.ActiveBundleID)
	s.mu.Lock()
	m := s.manifests[dir]
	s.mu.Unlock()
	if m == nil {
		if m, err = bundle.LoadManifest(dir); err != nil {
			return nil, fmt.Errorf("active app %s: %w", guid, err)
		}
		if m.Serve == nil && m.RuntimeSpec() == nil && !m.IsR() {
			return nil, podium.Errorf(podium.ENOTFOUND, "content %s: the manifest has no serve command", guid)
		}
		s.mu.Lock()
		s.manifests[dir] = m
		s.mu.Unlock()
	}
	o, err := s.ProcessSettings(ctx, guid)
	if err != nil {
		return nil, err
	}
	env, err := s.env(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("active app %s: %w", guid, err)
	}
	app := &apps.App{GUID: guid, ContentID: c.ID, OwnerID: c.OwnerID, BundleID: *c.ActiveBundleID, Dir: dir, Overrides: o, Env: env}
	if s.sandboxSettings != nil {
		st, err := s.sandboxSettings(ctx, c.ID)
		if err != nil {
			return nil, fmt.Errorf("active app %s: %w", guid, err)
		}
		app.RunAs, app.SandboxLimits = st.RunAs, st.Limits()
	}
	if m.IsR() {
		return s.rApp(ctx, app, m)
	}
	if spec := m.RuntimeSpec(); spec != nil {
		// A Python app runs in its environment, built at deployment in
		// the shared cache.
		if s.runtimes == nil || len(s.runtimes.Interpreters()) == 0 {
			return nil, podium.Errorf(podium.EPRECONDITION, "content %s: appmode %s needs a Python interpreter: set [Python] Executable", guid, spec.AppMode)
		}
		renv, err := s.runtimes.Lookup(spec, dir)
		if err != nil {
			return nil, fmt.Errorf("active app %s: %w", guid, err)
		}
		cmd, err := runtimes.ServeCommand(spec, renv)
		if err != nil {
			return nil, fmt.Errorf("active app %s: %w", guid, err)
		}
		app.Command, app.RuntimeEnv, app.KeepPrefix, app.BasePathEnv = cmd.Argv, cmd.Env, cmd.KeepPrefix, runtimes.BasePathEnv
		app.ReadOnly = []string{renv.Dir}
		return app, nil
	}
	app.Command, app.BasePathEnv = m.Serve.Command, m.Serve.BasePathVar()
	return app, nil
}

// AppGUIDs implements apps.AppSource.
func (s *Source) AppGUIDs(ctx context.Context) ([]string, error) {
	list, err := s.db.ContentList(ctx, &dbprovider.ContentListParams{All: true})
	if err != nil {
		return nil, fmt.Errorf("app guids: %w", err)
	}
	var out []string
	for _, c := range list {
		if IsApp(c) {
			out = append(out, c.GUID)
		}
	}
	return out, nil
}

// processesKey is the key of the process overrides in content.settings.
const processesKey = "processes"

// legacySettingsPath is where earlier versions kept the overrides of
// content guid (content/<guid>/processes-settings.json): read while the
// database holds none, removed once they are stored there.
func (s *Source) legacySettingsPath(guid string) string {
	return filepath.Join(bundle.Layout{DataDir: s.dataDir}.ContentDir(guid), "processes-settings.json")
}

// processSetting is the overrides in content guid's settings document;
// while it holds none, those an earlier version kept in
// legacySettingsPath.
func (s *Source) processSetting(guid string) publish.ContentSetting[apps.Overrides] {
	return publish.ContentSetting[apps.Overrides]{Key: processesKey, Absent: func(context.Context, int64) (apps.Overrides, error) {
		var o apps.Overrides
		b, err := os.ReadFile(s.legacySettingsPath(guid))
		if errors.Is(err, fs.ErrNotExist) {
			return o, nil
		} else if err != nil {
			return o, fmt.Errorf("process settings: %w", err)
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return o, fmt.Errorf("process settings %s: %w", s.legacySettingsPath(guid), err)
		}
		return o, nil
	}}
}

// contentID returns the id of content guid.
func (s *Source) contentID(ctx context.Context, guid string) (int64, error) {
	c, err := s.db.ContentGetByGUID(ctx, guid)
	if err != nil {
		return 0, fmt.Errorf("process settings: %w", err)
	}
	return c.ID, nil
}

// ProcessSettings implements apps.SettingsStore: the overrides in the
// content's settings (content.settings, key "processes"), so every node
// sees a change at once.
func (s *Source) ProcessSettings(ctx context.Context, guid string) (apps.Overrides, error) {
	id, err := s.contentID(ctx, guid)
	if err != nil {
		return apps.Overrides{}, err
	}
	return s.processSetting(guid).Get(ctx, s.db, id)
}

// UpdateProcessSettings implements apps.SettingsStore: read, change,
// compare-and-set in the database (publish.ContentSetting), again from
// the start when another node's update came first. The overrides of an
// earlier version's file go once they are stored in the database.
func (s *Source) UpdateProcessSettings(ctx context.Context, guid string, fn func(o *apps.Overrides) error) (apps.Overrides, error) {
	id, err := s.contentID(ctx, guid)
	if err != nil {
		return apps.Overrides{}, err
	}
	o, err := s.processSetting(guid).Update(ctx, s.db, id, fn)
	if err == nil {
		_ = os.Remove(s.legacySettingsPath(guid)) // stored in the database now
	}
	return o, err
}

// rApp completes app, the active bundle of R content (a Shiny app or a
// Plumber API), with the runner's command and environment: R chosen by the
// manifest's platform, its package library from the shared cache (restored
// at deployment; restored again here if it is missing, which reuses the
// cache on every other node).
func (s *Source) rApp(ctx context.Context, app *apps.App, m *bundle.Manifest) (*apps.App, error) {
	spec, err := m.RSpec()
	if err != nil {
		return nil, fmt.Errorf("active app %s: %w", app.GUID, err)
	}
	if s.rlang == nil || len(s.rlang.Installations()) == 0 {
		return nil, podium.Errorf(podium.EPRECONDITION, "content %s: appmode %s needs R: set [R] Executable", app.GUID, spec.AppMode)
	}
	// A library evicted since the deployment is restored again, as the
	// content's own user.
	cred, err := s.sandbox.Identity(app.ContentID, app.RunAs)
	if err != nil {
		return nil, fmt.Errorf("active app %s: %w", app.GUID, err)
	}
	lib, err := s.rlang.RestoreAs(sandbox.WithLimits(ctx, app.SandboxLimits), spec, cred, io.Discard)
	if err != nil {
		return nil, fmt.Errorf("active app %s: %w", app.GUID, err)
	}
	cmd, err := rlang.ServeCommand(spec, lib, app.Dir)
	if err != nil {
		return nil, fmt.Errorf("active app %s: %w", app.GUID, err)
	}
	app.Command, app.RuntimeEnv, app.BasePathEnv = cmd.Argv, cmd.Env, bundle.DefaultBasePathEnv
	if lib.Dir != "" {
		app.ReadOnly = []string{lib.Dir}
	}
	return app, nil
}
