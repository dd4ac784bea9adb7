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
	// Class is the compatibility the file declares ("" when it declares
	// none: treated as contract).
	Class Class `json:"class"`
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
		c, err := readClass(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("schema: %w", err)
		}
		out = append(out, Migration{Version: v, Name: e.Name(), Class: c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// PendingMigrations returns the migrations this binary knows and the
// database lacks, without taking any lock: the deferred contract
// migrations of a rolling upgrade too, which may lie below versions
// already applied.
func PendingMigrations(ctx context.Context, p dbprovider.Provider) ([]Migration, error) {
	applied, err := appliedVersions(ctx, p)
	if err != nil {
		return nil, err
	}
	all, err := List(p.GooseDialect())
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, m := range all {
		if !applied[m.Version] {
			out = append(out, m)
		}
	}
	return out, nil
}

// appliedVersions returns the versions recorded in goose's table (none
// when it does not exist yet).
func appliedVersions(ctx context.Context, p dbprovider.Provider) (map[int64]bool, error) {
	vs, err := p.SchemaVersionList(ctx)
	if err != nil {
		return nil, fmt.Errorf("schema: applied versions: %w", err)
	}
	out := map[int64]bool{}
	for _, v := range vs {
		out[v] = true
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
	// Floor is the database's compatibility floor (the cluster version):
	// the oldest binary schema that may serve on it.
	Floor int64 `json:"floor"`
	// DatabaseNewer is true when this binary is too old for the database
	// (below its floor).
	DatabaseNewer bool `json:"database_newer"`
	// Pending are the migrations this binary would apply, each with its
	// class.
	Pending []Migration `json:"pending"`
	// Deferred are the pending contract migrations while other nodes are
	// live: "podium migrate schema finalize" applies them.
	Deferred []Migration `json:"deferred"`
	// HeldBy are the live nodes whose binary is older than the newest
	// binary (this one, or the newest live node's when this binary is
	// older): they hold the upgrade up (finalize refuses while there are
	// any).
	HeldBy []string `json:"held_by"`
	// BinaryOlder is true when this binary knows an older schema than the
	// database or a live node: it cannot name the migrations it does not
	// know. Deferred then lists the versions the newer nodes recorded as
	// deferred, without names; run the status with the newest binary.
	BinaryOlder bool `json:"binary_older"`
	// NewestLive is the highest schema version a live node knows.
	NewestLive int64 `json:"newest_live_schema"`
	// UpgradeInProgress is true while live nodes run different binaries,
	// or the floor is below the schema of the newest live node or below
	// the database's schema: a rolling upgrade not finalized yet.
	UpgradeInProgress bool `json:"upgrade_in_progress"`
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
	// Outdated is true when the node's binary is below the database's
	// floor: a live outdated node is about to exit (or was forgotten and
	// cannot serve).
	Outdated bool `json:"outdated"`
	// Older is true when the node's binary knows an older schema than this
	// binary: a live older node holds a rolling upgrade up.
	Older bool `json:"older"`
}

// StatusOf reads the schema status of p. nodeTimeout decides which nodes
// count as live. It takes no lock.
func StatusOf(ctx context.Context, p dbprovider.Provider, nodeTimeout time.Duration) (*Status, error) {
	floor, v, err := Floor(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("schema status: %w", err)
	}
	st := &Status{Database: v, Floor: floor, Binary: Latest(), Pending: []Migration{}, Deferred: []Migration{},
		HeldBy: []string{}, Nodes: []NodeStatus{}}
	st.DatabaseNewer = st.Floor > st.Binary
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
		schemas := map[int64]bool{}
		newest := int64(0)
		for _, n := range nodes {
			ns := NodeStatus{
				ID: n.ID, Hostname: n.Hostname, PID: n.PID, Version: n.Version, SchemaVersion: n.SchemaVersion,
				Status: n.Status, HeartbeatAt: n.HeartbeatAt,
				HeartbeatAge: st.Now.Sub(n.HeartbeatAt).Round(time.Millisecond).Seconds(),
				Live:         n.Live(st.Now, nodeTimeout),
				Outdated:     n.SchemaVersion < st.Floor,
			}
			st.Nodes = append(st.Nodes, ns)
			if ns.Live {
				schemas[n.SchemaVersion] = true
				newest = max(newest, n.SchemaVersion)
			}
		}
		st.NewestLive = newest
		st.BinaryOlder = st.Binary < max(newest, st.Database)
		target := max(st.Binary, newest)
		for i, n := range st.Nodes {
			st.Nodes[i].Older = n.SchemaVersion < target
			if n.Live && n.SchemaVersion < target {
				st.HeldBy = append(st.HeldBy, n.ID)
			}
		}
		st.UpgradeInProgress = len(schemas) > 1 || (newest > 0 && st.Floor < newest) || st.Database > st.Floor
		if len(schemas) > 0 {
			for _, m := range st.Pending {
				if m.Deferrable() {
					st.Deferred = append(st.Deferred, m)
				}
			}
		}
		if st.BinaryOlder && st.UpgradeInProgress {
			// This binary does not know the newer migrations: list the
			// versions the newer nodes recorded when they deferred them.
			if err := deferredByNewer(ctx, p, st); err != nil {
				return nil, fmt.Errorf("schema status: %w", err)
			}
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

// deferredByNewer adds to st.Deferred the versions that newer nodes
// recorded as deferred ([DeferralKey]) and that are still not applied,
// for a binary that does not know them (no name, class contract).
func deferredByNewer(ctx context.Context, p dbprovider.Provider, st *Status) error {
	rec, err := p.SettingGet(ctx, DeferralKey)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return nil
	}
	if err != nil {
		return err
	}
	applied, err := appliedVersions(ctx, p)
	if err != nil {
		return err
	}
	known := map[int64]bool{}
	for _, m := range st.Deferred {
		known[m.Version] = true
	}
	for _, f := range strings.Split(rec, ",") {
		v, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil || applied[v] || known[v] {
			continue
		}
		st.Deferred = append(st.Deferred, Migration{Version: v, Class: ClassContract})
	}
	return nil
}
