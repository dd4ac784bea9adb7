package schema

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/sirupsen/logrus"
)

// FloorKey is the settings row that holds the database's compatibility
// floor: the oldest binary schema version (the highest migration a binary
// knows, [Latest]) that may still serve on this database. It doubles as the
// cluster version: every node at or above it runs code that handles
// everything written so far, so a feature that older nodes cannot handle
// stays off while [ClusterVersion] is below the release that adds it.
//
// It lives in the settings table (created by the first migration) rather
// than in a table of its own: a migration cannot create it (the floor must
// move without one, at finalize) and a table created from Go would be a
// schema outside the migrations. A database without the row (written by a
// binary older than rolling upgrades) has the floor at its schema version:
// exact matching, as before.
const FloorKey = "schema.floor"

// floorPayload is the notification payload sent on [NotifyChannel] when
// the floor rises (goose's trigger sends the version for migrations).
const floorPayload = "floor"

// Floor returns the database's compatibility floor and its schema version
// (the highest applied migration). It takes no lock.
func Floor(ctx context.Context, p dbprovider.Provider) (floor, dbVersion int64, err error) {
	v, err := p.SchemaVersion(ctx)
	if err != nil || v == 0 {
		return 0, v, err
	}
	f, ok, err := storedFloor(ctx, p)
	if err != nil {
		return 0, v, err
	}
	if !ok {
		return v, v, nil
	}
	return f, v, nil
}

// ClusterVersion returns the schema version every node serving on p
// supports (the floor): code gates a feature that the previous release
// cannot handle on ClusterVersion(ctx, p) >= the version that added it, so
// the feature stays off until "podium migrate schema finalize".
func ClusterVersion(ctx context.Context, p dbprovider.Provider) (int64, error) {
	f, _, err := Floor(ctx, p)
	return f, err
}

func storedFloor(ctx context.Context, p dbprovider.Provider) (int64, bool, error) {
	s, err := p.SettingGet(ctx, FloorKey)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("schema floor: %w", err)
	}
	f, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("schema floor: setting %s = %q is not a version: %w", FloorKey, s, err)
	}
	return f, true, nil
}

// raiseFloor sets the floor to `to` if it is below (the floor never goes
// down), and wakes the watchers of every node (PostgreSQL) so that the
// nodes it leaves behind retire at once rather than at their next poll.
//
// Without a stored row the floor is the schema version: the row is written
// only when the floor must differ from it, so a database that never saw a
// rolling upgrade holds no row (and "podium migrate db" copies no extra
// data).
func raiseFloor(ctx context.Context, p dbprovider.Provider, to int64) (bool, error) {
	cur, ok, err := storedFloor(ctx, p)
	if err != nil {
		return false, err
	}
	if !ok {
		if cur, err = p.SchemaVersion(ctx); err != nil {
			return false, fmt.Errorf("schema floor: %w", err)
		}
	}
	if cur >= to {
		return false, nil
	}
	if err := p.SettingPut(ctx, FloorKey, strconv.FormatInt(to, 10)); err != nil {
		return false, fmt.Errorf("schema floor: %w", err)
	}
	if err := p.Notify(ctx, NotifyChannel, floorPayload); err != nil {
		return true, fmt.Errorf("schema floor: %w", err)
	}
	return true, nil
}

// initFloor records the floor of a database that has none before expand
// migrations move its schema version past it: its schema version before
// this binary migrates it (what the live nodes compare against).
func initFloor(ctx context.Context, p dbprovider.Provider, to int64) error {
	if to <= 0 {
		return nil
	}
	_, ok, err := storedFloor(ctx, p)
	if err != nil || ok {
		return err
	}
	if err := p.SettingPut(ctx, FloorKey, strconv.FormatInt(to, 10)); err != nil {
		return fmt.Errorf("schema floor: %w", err)
	}
	return nil
}

// otherLiveNodes returns the live registered nodes other than self (none
// on a database without the registry yet).
func otherLiveNodes(ctx context.Context, p dbprovider.Provider, self string, timeout time.Duration) ([]*podium.Node, error) {
	v, err := p.SchemaVersion(ctx)
	if err != nil || v == 0 {
		return nil, err
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	live, err := p.NodeListLive(ctx, timeout)
	if err != nil {
		return nil, fmt.Errorf("schema: live nodes: %w", err)
	}
	var out []*podium.Node
	for _, n := range live {
		if n.ID != self {
			out = append(out, n)
		}
	}
	return out, nil
}

// FinalizeOptions configure Finalize.
type FinalizeOptions struct {
	Options
	// RetireOld raises the floor even while nodes of an older binary are
	// live, so that they drain and exit (code 3), and waits for them to
	// leave before applying the deferred migrations.
	RetireOld bool
	// Wait bounds that wait (default 60s).
	Wait time.Duration
}

// Finalized is what Finalize did.
type Finalized struct {
	// Applied are the deferred migrations it applied.
	Applied []Result
	// Retired are the older nodes that --retire-old made leave.
	Retired []string
	// Version and Floor are the database's afterwards.
	Version int64
	Floor   int64
}

// OlderLiveNodes returns the live nodes whose binary knows an older schema
// than this binary's: the nodes that hold a rolling upgrade up.
func OlderLiveNodes(ctx context.Context, p dbprovider.Provider, timeout time.Duration) ([]*podium.Node, error) {
	others, err := otherLiveNodes(ctx, p, "", timeout)
	if err != nil {
		return nil, err
	}
	var out []*podium.Node
	for _, n := range others {
		if n.SchemaVersion < Latest() {
			out = append(out, n)
		}
	}
	return out, nil
}

func describeNodes(ns []*podium.Node) string {
	var b []byte
	for i, n := range ns {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = fmt.Appendf(b, "%s (host %s, pid %d, version %s, schema %d)", n.ID, n.Hostname, n.PID, n.Version, n.SchemaVersion)
	}
	return string(b)
}

// Finalize ends a rolling upgrade: once every live node runs this binary,
// it applies the deferred (contract) migrations and raises the floor (the
// cluster version) to this binary's schema, after which an older binary
// can no longer serve on the database. It refuses (EREFUSED, exit 2),
// naming them, while nodes of an older binary are live, unless RetireOld.
func Finalize(ctx context.Context, p dbprovider.Provider, log *logrus.Entry, opts FinalizeOptions) (Finalized, error) {
	var out Finalized
	if _, err := Check(ctx, p); err != nil {
		return out, err
	}
	old, err := OlderLiveNodes(ctx, p, opts.NodeTimeout)
	if err != nil {
		return out, err
	}
	if len(old) > 0 {
		if !opts.RetireOld {
			return out, podium.Errorf(podium.EREFUSED,
				"finalize: %d live node(s) still run an older binary: %s. Upgrade them (one by one: stop, install, start) "+
					"and run finalize again, or pass --retire-old to raise the floor so that they drain and exit (code 3)",
				len(old), describeNodes(old))
		}
		if _, err := raiseFloor(ctx, p, Latest()); err != nil {
			return out, err
		}
		if log != nil {
			log.WithField("nodes", describeNodes(old)).Warn("floor raised: the older nodes retire")
		}
		wait := opts.Wait
		if wait <= 0 {
			wait = 60 * time.Second
		}
		deadline := time.Now().Add(wait)
		for {
			left, err := OlderLiveNodes(ctx, p, opts.NodeTimeout)
			if err != nil {
				return out, err
			}
			if len(left) == 0 {
				break
			}
			if time.Now().After(deadline) {
				return out, podium.Errorf(podium.EUNAVAILABLE,
					"finalize: the floor is raised, but these nodes are still live after %s: %s. They cannot serve any more; "+
						"stop them, then run finalize again to apply the deferred migrations", wait, describeNodes(left))
			}
			select {
			case <-ctx.Done():
				return out, ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
		for _, n := range old {
			out.Retired = append(out.Retired, n.ID)
		}
	}
	m, err := apply(ctx, p, log, opts.Options, true, nil)
	out.Applied = m.Applied
	if err != nil {
		return out, err
	}
	if _, err := raiseFloor(ctx, p, Latest()); err != nil {
		return out, err
	}
	out.Floor, out.Version, err = Floor(ctx, p)
	return out, err
}

// CanRoll returns nil when the migrations can be applied as a rolling
// upgrade (expand now, contract at finalize), or an error naming the
// migrations that have no expand path (class breaking).
func CanRoll(pending []Migration) error {
	var bad []string
	for _, m := range pending {
		if m.Class == ClassBreaking {
			bad = append(bad, m.Name)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("this upgrade cannot roll: migration(s) %s have no expand path (class breaking): "+
			"the new binary cannot serve before they are applied, and the old one cannot serve after", strings.Join(bad, ", "))
	}
	return nil
}

// DeferralKey is the setting that records which deferred contract
// migrations a node has already warned about, so that an upgrade logs its
// deferral warning once (on the first new node), not on every new node.
const DeferralKey = "schema.deferral_announced"

// announceDeferral reports whether this node is the first to defer exactly
// these migrations, and records that it is, in one statement (two nodes
// starting together: one of them). On an error it says true: a repeated
// warning is better than none. Deferring needs other live nodes, so
// PostgreSQL only.
func announceDeferral(ctx context.Context, p dbprovider.Provider, deferred []Migration) bool {
	if !p.SupportsHA() {
		return true
	}
	var vs []string
	for _, m := range deferred {
		vs = append(vs, strconv.FormatInt(m.Version, 10))
	}
	changed, err := p.SettingPutChanged(ctx, DeferralKey, strings.Join(vs, ","))
	return err != nil || changed
}
