package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/server"
)

// TestRefuseSecondNodeWithSameID: two nodes that would share a node id are
// refused (exit 2) while the first lives, naming its host, pid and state
// directory, and the first keeps serving.
//
//   - SharedStateDir: two nodes on one host with one state directory (what
//     the default StateDir gives two nodes sharing DataDir) are refused by
//     the state directory's lock, with the way out for the default.
//   - CopiedNodeID: a node whose own state directory holds a copy of a live
//     node's id (a state directory copied, or shared across hosts) is
//     refused by the registry: that id's heartbeat still advances.
func TestRefuseSecondNodeWithSameID(t *testing.T) {
	t.Parallel()
	host, _ := os.Hostname()
	t.Run("SharedStateDir", func(t *testing.T) {
		t.Parallel()
		url := pgtest.NewDatabase(t)
		data := sharedDataDir(t)
		state := filepath.Join(data, "state", host) // the default StateDir
		first := nodetest.StartNode(t, nodetest.Options{Name: "first", Postgres: url, DataDir: data, StateDir: state})
		id := nodeID(t, first)
		second := nodetest.Start(t, nodetest.Options{Name: "second", Postgres: url, DataDir: data, StateDir: state})
		assertRefused(t, second, 2,
			"[Server] StateDir "+state+" is held by a live node",
			"host "+host, "pid "+strconv.Itoa(first.Cmd.Process.Pid), "state directory "+state,
			"must each set their own [Server] StateDir", "PODIUM_SERVER_STATEDIR")
		if pingStatus(first) != 200 || nodeID(t, first) != id {
			t.Fatal("the first node stopped serving after the refusal")
		}
	})
	t.Run("CopiedNodeID", func(t *testing.T) {
		t.Parallel()
		url := pgtest.NewDatabase(t)
		data := sharedDataDir(t)
		cfg := "[HA]\nHeartbeatInterval = 1s\nNodeTimeout = 10s\n"
		first := nodetest.StartNode(t, nodetest.Options{Name: "first", Postgres: url, DataDir: data, Config: cfg})
		id := nodeID(t, first)
		copied := t.TempDir()
		if err := os.WriteFile(server.StateFile(copied), []byte(id+"\n"), 0o640); err != nil {
			t.Fatal(err)
		}
		second := nodetest.Start(t, nodetest.Options{Name: "second", Postgres: url, DataDir: data, StateDir: copied, Config: cfg})
		assertRefused(t, second, 2,
			"node id "+id+" is held by a live node", "host "+host, "pid "+strconv.Itoa(first.Cmd.Process.Pid),
			"state directory "+first.StateDir, "its own state directory")
		if pingStatus(first) != 200 {
			t.Fatal("the first node stopped serving after the refusal")
		}
		// Once the first node stops, the copy may take the id over.
		if code := first.Stop(t); code != 0 {
			t.Fatalf("stop first: exit %d", code)
		}
		third := nodetest.StartNode(t, nodetest.Options{Name: "third", Postgres: url, DataDir: data, StateDir: copied, Config: cfg})
		if got := nodeID(t, third); got != id {
			t.Fatalf("third node id %q, want the copied %q", got, id)
		}
	})
}
