package server

import (
	"context"
	"net/http"
	"path/filepath"

	"github.com/labstack/echo/v4"
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
