package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/apps"
	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/runas"
	"github.com/podiumhq/podium/internal/sandbox"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/runtimes"
	"github.com/podiumhq/podium/runtimes/rlang"
	"github.com/podiumhq/podium/usage"
	"github.com/podiumhq/podium/web"
	"github.com/sirupsen/logrus"
)

// mountApps creates the supervisor of app and api processes, mounts the
// processes API (access checked by pub) and returns the supervisor, which
// serves app and api content (mountContentServe) and is a service: a
// stopping node stops every app process it started.
func mountApps(n *Node, pub *publish.Service, rt *runtimes.Manager, rl *rlang.Manager, sb *sandbox.Sandbox, rec *usage.Recorder) (*apps.Supervisor, apps.SettingsStore) {
	cfg := n.Config
	src := &contentApps{db: n.db, dataDir: cfg.Server.DataDir, manifests: map[string]*bundle.Manifest{}, runtimes: rt, rlang: rl,
		env: pub.ContentEnv, sandboxSettings: pub.ContentSandbox, sandbox: sb}
	sc := cfg.Scheduler
	sup := apps.New(apps.Options{
		Source: src,
		Limits: apps.Limits{MinProcesses: sc.MinProcesses, MaxProcesses: sc.MaxProcesses, MaxConnsPerProcess: sc.MaxConnsPerProcess,
			LoadFactor: sc.LoadFactor, IdleTimeout: sc.IdleTimeout, InitTimeout: sc.InitTimeout},
		RunAs:          cfg.Applications.RunAs,
		LogDir:         filepath.Join(cfg.Server.StateDir, "app-logs"),
		Log:            n.log("apps"),
		Now:            n.Now,
		TrustedProxies: trustedProxies(cfg.HTTP.TrustedProxies),
		TrackHijacked:  n.web.TrackHijacked,
		Session:        appSessions(rec),
		RuntimeDir:     runtimeDir(n.id),
		ContentHeaders: web.ContentHeaders(cfg.Server.FrameOptionsContent),
		Sandbox:        sb,
	})
	if sb.Off() {
		// A sandbox shows each bundle at its path: RunAs matters without one.
		warnRunAs(n.log("apps"), cfg.Applications.RunAs, cfg.Server.DataDir, runtimeDir(n.id))
	}
	n.web.Mount(sup.Routes(apps.APIOptions{
		NodeID:   n.id,
		Settings: src,
		MayManage: func(c echo.Context, guid string) error {
			return pub.MayEdit(c.Request().Context(), web.CurrentUser(c), guid)
		},
	}))
	return sup, src
}

// runtimeDir is where this node's app processes get a copy of their
// bundle when RunAs cannot enter the data directory: node-local, named by
// node id (several nodes may share a host), emptied at start.
func runtimeDir(nodeID string) string { return filepath.Join(os.TempDir(), "podium-apps-"+nodeID) }

// warnRunAs says at start-up, rather than at the first request, when
// podium runs as root and [Applications] RunAs cannot run apps as it
// should: the user does not exist or is root (apps and reports fail until
// fixed), or it cannot enter the data directory that holds the bundles
// (apps then run from copies of their bundles under runtime).
func warnRunAs(log *logrus.Entry, runAs, dataDir, runtime string) {
	if os.Geteuid() != 0 {
		return
	}
	log = log.WithField("run_as", runAs)
	u, err := user.Lookup(runAs)
	if err != nil {
		log.WithError(err).Warn("[Applications] RunAs is not a user of this host: apps and reports cannot run until you create it " +
			"(useradd --system --no-create-home " + runAs + ") or set RunAs to an existing unprivileged user")
		return
	}
	cred, err := runas.Credential(u)
	if err != nil {
		log.WithError(err).Warn("[Applications] RunAs cannot run apps and reports: set it to an unprivileged user")
		return
	}
	if blocked := runas.Unsearchable(dataDir, cred); blocked != "" {
		log.WithFields(logrus.Fields{"directory": blocked, "copies": runtime}).Warn("[Applications] RunAs cannot enter [Server] DataDir or a directory above it: " +
			"each app process will run from a copy of its bundle (slower starts, more disk); to run apps in place, give RunAs search permission (for example chmod o+x " + blocked + ")")
	}
}

// contentApps finds apps in the content store and their unpacked bundles
// in the shared data directory (content/<guid>/bundles/<id>/, the layout
// of package publish). Per-content process settings live in the database
// (content.settings), so every node reads the same at once.
type contentApps struct {
	db      dbprovider.Provider
	dataDir string
	// env returns the content's environment variables (decrypted).
	env func(ctx context.Context, contentID int64) ([]string, error)
	// sandboxSettings returns the content's run_as and limits (an
	// administrator's; nil in tests that need none).
	sandboxSettings func(ctx context.Context, contentID int64) (publish.SandboxSettings, error)

	runtimes *runtimes.Manager
	rlang    *rlang.Manager // see rApp in rlang.go
	sandbox  *sandbox.Sandbox

	mu        sync.Mutex
	manifests map[string]*bundle.Manifest // by bundle dir; bundles never change once unpacked
}

var _ apps.AppSource = (*contentApps)(nil)
var _ apps.SettingsStore = (*contentApps)(nil)

// isApp reports whether content is served by app processes.
func isApp(c *podium.Content) bool {
	return (c.AppMode == string(bundle.AppModeApp) || c.AppMode == string(bundle.AppModeAPI) || c.AppMode == string(bundle.AppModeShiny) || runtimes.IsServed(c.AppMode)) &&
		c.ActiveBundleID != nil
}

// ActiveApp implements apps.AppSource.
func (s *contentApps) ActiveApp(ctx context.Context, guid string) (*apps.App, error) {
	c, err := s.db.ContentGetByGUID(ctx, guid)
	if err != nil {
		return nil, fmt.Errorf("active app: %w", err)
	}
	if !isApp(c) {
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
func (s *contentApps) AppGUIDs(ctx context.Context) ([]string, error) {
	list, err := s.db.ContentList(ctx, &dbprovider.ContentListParams{All: true})
	if err != nil {
		return nil, fmt.Errorf("app guids: %w", err)
	}
	var out []string
	for _, c := range list {
		if isApp(c) {
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
func (s *contentApps) legacySettingsPath(guid string) string {
	return filepath.Join(bundle.Layout{DataDir: s.dataDir}.ContentDir(guid), "processes-settings.json")
}

// processSetting is the overrides in content guid's settings document;
// while it holds none, those an earlier version kept in
// legacySettingsPath.
func (s *contentApps) processSetting(guid string) publish.ContentSetting[apps.Overrides] {
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
func (s *contentApps) contentID(ctx context.Context, guid string) (int64, error) {
	c, err := s.db.ContentGetByGUID(ctx, guid)
	if err != nil {
		return 0, fmt.Errorf("process settings: %w", err)
	}
	return c.ID, nil
}

// ProcessSettings implements apps.SettingsStore: the overrides in the
// content's settings (content.settings, key "processes"), so every node
// sees a change at once.
func (s *contentApps) ProcessSettings(ctx context.Context, guid string) (apps.Overrides, error) {
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
func (s *contentApps) UpdateProcessSettings(ctx context.Context, guid string, fn func(o *apps.Overrides) error) (apps.Overrides, error) {
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
