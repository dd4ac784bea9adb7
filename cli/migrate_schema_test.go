package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/schema"
)

// TestPrintSchemaStatusRollingUpgrade: the status of a rolling upgrade in
// progress shows the floor, the deferred migrations and the nodes that
// hold the upgrade up.
func TestPrintSchemaStatusRollingUpgrade(t *testing.T) {
	t.Parallel()
	now := time.Now()
	st := &schema.Status{Database: 97, Binary: 98, Floor: 96, UpgradeInProgress: true,
		Pending:  []schema.Migration{{Version: 98, Name: "00098_drop.sql", Class: schema.ClassContract}},
		Deferred: []schema.Migration{{Version: 98, Name: "00098_drop.sql", Class: schema.ClassContract}},
		HeldBy:   []string{"old-1"},
		Nodes: []schema.NodeStatus{
			{ID: "old-1", Hostname: "h1", Version: "1.0", SchemaVersion: 96, Status: "serving", HeartbeatAt: now, Live: true, Older: true},
			{ID: "new-1", Hostname: "h2", Version: "1.1", SchemaVersion: 98, Status: "serving", HeartbeatAt: now, Live: true},
		},
		Now: now}
	var b bytes.Buffer
	if err := printSchemaStatus(&b, "postgres db", st); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"floor:           96", "00098_drop.sql                           contract",
		"deferred:        1 contract migration(s)", "held up by 1 node(s) on an older binary: old-1", "older binary: holds the upgrade up"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}
