// Package hacheck checks a running cluster against Podium's HA checklist
// (docs/ha-checklist.md): same version and schema everywhere, PostgreSQL
// with HA enabled, a really shared DataDir, consistent LandingDir and
// Database.Dir, a unique metrics DataPath per node, synchronized clocks,
// the same uid/gid for the app user and group on every node, somebody to
// run scheduled work, and (optionally) sticky sessions at the load
// balancer.
//
// Each node publishes what it resolved (Facts) in its registry info
// document with every heartbeat; Run reads the registry and judges. The
// podium ha check command and the dashboard's cluster page both call Run.
// It imports neither server nor web.
package hacheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// InfoKey is the key of Facts in a node's info document.
const InfoKey = "ha"

// MarkerDir is the folder, in each directory that must be shared, where
// every node writes a file named by its id.
const MarkerDir = ".podium-nodes"

// Marker kinds: the directories whose markers nodes report.
const (
	MarkersDataDir     = "data_dir"
	MarkersLandingDir  = "landing_dir"
	MarkersMetricsPath = "metrics_path"
)

// Identity is a Unix user or group as one node resolved it.
type Identity struct {
	Name  string `json:"name"`
	UID   string `json:"uid,omitempty"`
	GID   string `json:"gid,omitempty"`
	Error string `json:"error,omitempty"`
}

// Facts are what one node resolved, published with every heartbeat.
type Facts struct {
	BinarySchema        int64  `json:"binary_schema"`
	DataDir             string `json:"data_dir"`
	DatabaseDir         string `json:"database_dir"`
	LandingDir          string `json:"landing_dir,omitempty"`
	MetricsPath         string `json:"metrics_path"`
	GraphiteEnabled     bool   `json:"graphite_enabled"`
	ScheduleConcurrency int    `json:"schedule_concurrency"`
	// DBPoolMax is [Postgres] MaxConns (0 on SQLite).
	DBPoolMax int `json:"db_pool_max,omitempty"`
	// Address and ContentURL are [Server] Address and ContentURL: where
	// the dashboard and content are served ("" ContentURL: content on the
	// dashboard's origin).
	Address     string   `json:"address,omitempty"`
	ContentURL  string   `json:"content_url,omitempty"`
	RunAs       Identity `json:"run_as"`
	SharedGroup Identity `json:"shared_group"`
	// SSO is the node's single sign-on provider (absent: none, or an
	// older binary).
	SSO *SSOFacts `json:"sso,omitempty"`
	// Sandbox is the node's content sandbox (absent: an older binary).
	Sandbox *SandboxFacts `json:"sandbox,omitempty"`
	// Markers lists, per kind, the node ids whose marker files this node
	// sees; MarkerErrors says why a kind could not be read or written.
	Markers      map[string][]string `json:"markers"`
	MarkerErrors map[string]string   `json:"marker_errors,omitempty"`
	// MarkersReadAfter is a database time before this node last listed
	// the markers (the start of that heartbeat; zero when unknown): a
	// node that started after it may not be in Markers yet.
	MarkersReadAfter time.Time `json:"markers_read_after,omitzero"`
}

// SandboxFacts describe a node's content sandbox ([Applications] Sandbox).
type SandboxFacts struct {
	// State is "on", "off" ([Applications] Sandbox = false) or
	// "unavailable" (on, but the host cannot make sandboxes: content
	// processes are refused).
	State string `json:"state"`
	// Error says why it is unavailable.
	Error string `json:"error,omitempty"`
	// UIDRange is [Applications] SandboxUIDRange.
	UIDRange string `json:"uid_range"`
	// Network is [Applications] SandboxNetwork.
	Network string `json:"network"`
	// Cgroups tells whether limits are enforced by cgroups (else rlimits).
	Cgroups bool `json:"cgroups"`
}

// Sandbox is what SandboxFactsOf reads of the node's content sandbox
// (*sandbox.Sandbox).
type Sandbox interface {
	// Refused says why the host cannot make sandboxes (nil: it can).
	Refused() error
	// Off reports [Applications] Sandbox = false.
	Off() bool
	// Network is [Applications] SandboxNetwork; Cgroups whether limits
	// are enforced by cgroups.
	Network() string
	Cgroups() bool
}

// SandboxFactsOf describes sb with [Applications] SandboxUIDRange
// uidRange: "unavailable" (with the reason) when the host cannot make
// sandboxes, else "off" when it is turned off, else "on".
func SandboxFactsOf(sb Sandbox, uidRange string) *SandboxFacts {
	f := &SandboxFacts{State: "on", UIDRange: uidRange, Network: sb.Network(), Cgroups: sb.Cgroups()}
	switch {
	case sb.Refused() != nil:
		f.State, f.Error = "unavailable", sb.Refused().Error()
	case sb.Off():
		f.State = "off"
	}
	return f
}

// ResolveUser looks up the app user (RunAs) and the shared group (""
// means RunAs's primary group).
func ResolveUser(runAs, group string) (u, g Identity) {
	u = Identity{Name: runAs}
	pu, err := user.Lookup(runAs)
	if err != nil {
		u.Error = err.Error()
	} else {
		u.UID, u.GID = pu.Uid, pu.Gid
	}
	g = Identity{Name: group}
	switch {
	case group != "":
		pg, err := user.LookupGroup(group)
		if err != nil {
			g.Error = err.Error()
		} else {
			g.GID = pg.Gid
		}
	case pu != nil:
		g.GID = pu.Gid
		if pg, err := user.LookupGroupId(pu.Gid); err == nil {
			g.Name = pg.Name
		}
	default:
		g.Name, g.Error = "(primary group of "+runAs+")", u.Error
	}
	return u, g
}

// WriteMarker writes dir/.podium-nodes/<id>, holding id and host.
func WriteMarker(dir, id, host string) error {
	d := filepath.Join(dir, MarkerDir)
	if err := os.MkdirAll(d, 0o750); err != nil {
		return fmt.Errorf("ha marker: %w", err)
	}
	p := filepath.Join(d, id)
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	if err := os.WriteFile(p, []byte(id+" "+host+"\n"), 0o640); err != nil {
		return fmt.Errorf("ha marker: %w", err)
	}
	return nil
}

// SeenMarkers returns the node ids whose markers are in dir, sorted.
func SeenMarkers(dir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(dir, MarkerDir))
	if errors.Is(err, fs.ErrNotExist) {
		return []string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ha marker: %w", err)
	}
	out := []string{}
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// Refresh writes this node's markers (again, if someone removed them) in
// dirs (kind → directory; "" skipped) and records which markers it sees.
func (f *Facts) Refresh(id, host string, dirs map[string]string) {
	f.Markers = map[string][]string{}
	f.MarkerErrors = nil
	for kind, dir := range dirs {
		if dir == "" {
			continue
		}
		err := WriteMarker(dir, id, host)
		seen, rerr := SeenMarkers(dir)
		if err == nil {
			err = rerr
		}
		if err != nil {
			if f.MarkerErrors == nil {
				f.MarkerErrors = map[string]string{}
			}
			f.MarkerErrors[kind] = err.Error()
		}
		if seen != nil {
			f.Markers[kind] = seen
		}
	}
}

// Map returns f as a JSON-like map for the info document.
func (f *Facts) Map() map[string]any {
	b, _ := json.Marshal(f)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// FactsFromInfo reads the Facts a node published; ok is false when it
// published none (an older binary, or not heartbeated yet).
func FactsFromInfo(info map[string]any) (f Facts, ok bool) {
	v, found := info[InfoKey]
	if !found {
		return f, false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return f, false
	}
	return f, json.Unmarshal(b, &f) == nil
}
