package metrics

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestOpenNodeStore: the dashboard reads another node's metrics from the
// DataPath that node published (NodeInfo) when it is a directory this
// node can read, and gets nil, creating nothing, when it is not.
func TestOpenNodeStore(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Minute)
	clock := func() time.Time { return now }
	dir := filepath.Join(t.TempDir(), "other-node")
	st, err := OpenStore(dir, DefaultArchives(10*time.Second), clock)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Write(now.Add(-time.Minute), map[string]float64{SeriesLoad1: 0.75}); err != nil {
		t.Fatal(err)
	}
	other := OpenNodeStore(NodeInfo(dir, false, ""), clock)
	if other == nil {
		t.Fatal("the other node's store was not opened")
	}
	pts, err := other.Series(SeriesLoad1, now.Add(-time.Hour), now)
	if err != nil || len(pts) == 0 || pts[len(pts)-1].Value != 0.75 {
		t.Fatalf("the other node's series: %v %v", pts, err)
	}
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "elsewhere")
	for name, info := range map[string]map[string]any{"NoPath": {}, "NotADirectory": NodeInfo(file, false, ""), "OnAnotherMachine": NodeInfo(missing, true, ":9100")} {
		if st := OpenNodeStore(info, clock); st != nil {
			t.Errorf("%s: a store was opened", name)
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("OpenNodeStore created %s: %v", missing, err)
	}
}
