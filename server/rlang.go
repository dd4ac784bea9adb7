package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/apps"
	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/internal/sandbox"
	"github.com/podiumhq/podium/runtimes/rlang"
	"github.com/podiumhq/podium/web"
	"github.com/podiumhq/podium/web/route"
)

// rRuntimes returns the node's R runtimes, probing the [R] Executable
// installations on first use. A path that does not answer like R stops
// the node: it is a configuration error.
func (n *Node) rRuntimes() (*rlang.Manager, error) {
	if n.rlang != nil {
		return n.rlang, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), rlang.ProbeTimeout)
	defer cancel()
	m, err := rlang.New(ctx, rlang.Config{
		Executables: n.Config.R.Executable, Repository: n.Config.R.Repository,
		Root:   filepath.Join(n.Config.Server.DataDir, "runtimes", "r"),
		NodeID: n.id,
	}, n.log("rlang"))
	if err != nil {
		return nil, err
	}
	n.rlang = m
	return m, nil
}

// RRuntimes returns the node's R runtimes (after Open).
func (n *Node) RRuntimes() *rlang.Manager { return n.rlang }

// RInstallation is one entry of GET /__api__/v1/server_settings/r, with
// Connect's field names.
type RInstallation struct {
	Version     string `json:"version"`
	ClusterName string `json:"cluster_name"`
	ImageName   string `json:"image_name"`
}

// mountR probes [R] Executable (a path that does not answer like R stops
// the node) and mounts GET /__api__/v1/server_settings/r: the R
// installations this node offers, as Connect lists them.
func mountR(n *Node) error {
	rt, err := n.rRuntimes()
	if err != nil {
		return err
	}
	n.web.Mount([]route.Route{{Method: http.MethodGet, Path: "/__api__/v1/server_settings/r", Handler: func(c echo.Context) error {
		if _, err := web.RequireUser(c); err != nil {
			return err
		}
		list := []RInstallation{}
		for _, in := range rt.Installations() {
			list = append(list, RInstallation{Version: in.Version, ClusterName: "Local", ImageName: "Local"})
		}
		return c.JSON(http.StatusOK, map[string]any{"installations": list})
	}}})
	return nil
}

// rApp completes app, the active bundle of R content (a Shiny app or a
// Plumber API), with the runner's command and environment: R chosen by the
// manifest's platform, its package library from the shared cache (restored
// at deployment; restored again here if it is missing, which reuses the
// cache on every other node).
func (s *contentApps) rApp(ctx context.Context, app *apps.App, m *bundle.Manifest) (*apps.App, error) {
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
