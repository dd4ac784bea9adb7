package schema

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// Migration is one embedded migration file.
type Migration struct {
	Version int64  `json:"version"`
	Name    string `json:"name"`
}

// List returns the embedded migrations of a goose dialect, by version.
func List(gooseDialect string) ([]Migration, error) {
	fsys, err := Migrations(gooseDialect)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		if !ok || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("schema: migration %s: bad version: %w", e.Name(), err)
		}
		out = append(out, Migration{Version: v, Name: e.Name()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// PendingMigrations returns the migrations this binary would apply to p,
// without taking any lock.
func PendingMigrations(ctx context.Context, p dbprovider.Provider) ([]Migration, error) {
	v, err := p.SchemaVersion(ctx)
	if err != nil {
		return nil, err
	}
	all, err := List(p.GooseDialect())
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, m := range all {
		if m.Version > v {
			out = append(out, m)
		}
	}
	return out, nil
}

// Status is the schema state of a database and of the nodes registered on
// it, as "podium migrate schema status" reports it.
type Status struct {
	// Database is the database's schema version.
	Database int64 `json:"database_schema"`
	// Binary is the highest schema version this binary knows.
	Binary int64 `json:"binary_schema"`
	// DatabaseNewer is true when this binary is too old for the database.
	DatabaseNewer bool `json:"database_newer"`
	// Pending are the migrations this binary would apply.
	Pending []Migration `json:"pending"`
	// Nodes are the registered nodes, newest heartbeat first.
	Nodes []NodeStatus `json:"nodes"`
	// Now is the database's clock when the status was read.
	Now time.Time `json:"database_time"`
}

// NodeStatus is one registered node as the status reports it.
type NodeStatus struct {
	ID            string    `json:"id"`
	Hostname      string    `json:"hostname"`
	PID           int       `json:"pid"`
	Version       string    `json:"version"`
	SchemaVersion int64     `json:"schema_version"`
	Status        string    `json:"status"`
	HeartbeatAt   time.Time `json:"heartbeat_at"`
	// HeartbeatAge is the time since the last heartbeat, by the database's
	// clock, in seconds.
	HeartbeatAge float64 `json:"heartbeat_age_seconds"`
	// Live is true when the node is not stopped and its heartbeat is younger
	// than the node timeout.
	Live bool `json:"live"`
	// Outdated is true when the node's binary knows an older schema than
	// the database's: a live outdated node is about to exit (or was
	// forgotten and cannot serve).
	Outdated bool `json:"outdated"`
}

// StatusOf reads the schema status of p. nodeTimeout decides which nodes
// count as live. It takes no lock.
func StatusOf(ctx context.Context, p dbprovider.Provider, nodeTimeout time.Duration) (*Status, error) {
	v, err := p.SchemaVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("schema status: %w", err)
	}
	st := &Status{Database: v, Binary: Latest(), Pending: []Migration{}, Nodes: []NodeStatus{}}
	st.DatabaseNewer = st.Database > st.Binary
	if v > 0 {
		// The registry exists from the first migration on.
		pending, err := PendingMigrations(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("schema status: %w", err)
		}
		st.Pending = append(st.Pending, pending...)
		if st.Now, err = p.Now(ctx); err != nil {
			return nil, fmt.Errorf("schema status: %w", err)
		}
		nodes, err := p.NodeList(ctx)
		if err != nil && !podium.IsCode(err, podium.ENOTFOUND) {
			return nil, fmt.Errorf("schema status: %w", err)
		}
		for _, n := range nodes {
			st.Nodes = append(st.Nodes, NodeStatus{
				ID: n.ID, Hostname: n.Hostname, PID: n.PID, Version: n.Version, SchemaVersion: n.SchemaVersion,
				Status: n.Status, HeartbeatAt: n.HeartbeatAt,
				HeartbeatAge: st.Now.Sub(n.HeartbeatAt).Round(time.Millisecond).Seconds(),
				Live:         n.Live(st.Now, nodeTimeout),
				Outdated:     n.SchemaVersion < st.Database,
			})
		}
	} else {
		all, err := List(p.GooseDialect())
		if err != nil {
			return nil, err
		}
		st.Pending = append(st.Pending, all...)
		st.Now = time.Now().UTC()
	}
	return st, nil
}
