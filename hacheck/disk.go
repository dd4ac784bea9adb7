package hacheck

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/podiumhq/podium"
)

// ItemDisk is the checklist item about the free space of each node's data
// directory.
const ItemDisk = "disk"

// DiskInfoKey is the key of Disk in a node's info document.
const DiskInfoKey = "disk"

// Disk is the free space of a node's data directory as it last measured
// it, published with every heartbeat.
type Disk struct {
	// Free is the space an unprivileged writer may still use, in bytes;
	// Total the size of the filesystem.
	Free  int64 `json:"free"`
	Total int64 `json:"total"`
	// MinFree is the node's [Server] MinFreeSpace (0: no warning).
	MinFree int64 `json:"min_free"`
	// Error says why the free space could not be measured.
	Error string `json:"error,omitempty"`
}

// Map returns d as a JSON-like map for the info document.
func (d Disk) Map() map[string]any {
	b, _ := json.Marshal(d)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// DiskFromInfo reads the Disk a node published; ok is false when it
// published none (an older binary).
func DiskFromInfo(info map[string]any) (d Disk, ok bool) {
	v, found := info[DiskInfoKey]
	if !found {
		return d, false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return d, false
	}
	return d, json.Unmarshal(b, &d) == nil
}

// disk fails the nodes whose data directory has less free space than
// their [Server] MinFreeSpace, or whose free space cannot be measured.
func (c *checker) disk() Result {
	r := Result{Item: ItemDisk, Title: "free space in [Server] DataDir above [Server] MinFreeSpace", Nodes: c.ids, Status: Pass}
	var bad, details, unknown []string
	for _, n := range c.live {
		d, ok := DiskFromInfo(n.Info)
		switch {
		case !ok:
			unknown = append(unknown, n.ID)
			continue
		case d.Error != "":
			bad = append(bad, n.ID)
			details = append(details, fmt.Sprintf("%s cannot measure its free space: %s", n.ID, d.Error))
			continue
		}
		details = append(details, fmt.Sprintf("%s %s free of %s", n.ID, podium.FormatBytes(d.Free), podium.FormatBytes(d.Total)))
		if d.MinFree > 0 && d.Free < d.MinFree {
			bad = append(bad, n.ID)
			details[len(details)-1] += fmt.Sprintf(" (under %s)", podium.FormatBytes(d.MinFree))
		}
	}
	r.Detail = strings.Join(details, ", ")
	switch {
	case len(bad) > 0:
		r.Status, r.Nodes = Fail, bad
		r.Action = "free space in the data directory (old bundles, logs) or grow its filesystem: deployments and uploads fail with 507 when it is full"
	case len(unknown) > 0:
		r.Status, r.Nodes = Warn, unknown
		r.Detail = "these nodes have not reported their free space yet (just started, or an older version)"
		r.Action = "wait one heartbeat ([HA] HeartbeatInterval) and run the check again"
	}
	return r
}
