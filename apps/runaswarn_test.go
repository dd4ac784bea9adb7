package apps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// TestWarnRunAs: nothing when podium is not root; as root, one warning
// each for a RunAs that is not a user, that is root, and that cannot
// enter the data directory (naming the directory and the copies' place);
// nothing when it can.
func TestWarnRunAs(t *testing.T) {
	t.Parallel()
	closed := filepath.Join(t.TempDir(), "closed")
	if err := os.MkdirAll(filepath.Join(closed, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		euid    int
		runAs   string
		dataDir string
		want    string // "" for no warning
	}{
		{"NotRoot", 1000, "podium-no-such-user", closed, ""},
		{"NoSuchUser", 0, "podium-no-such-user", "/", "is not a user of this host"},
		{"Root", 0, "root", "/", "set it to an unprivileged user"},
		{"CannotEnter", 0, "nobody", filepath.Join(closed, "data"), "cannot enter [Server] DataDir"},
		{"Enters", 0, "nobody", "/", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log, hook := logtest.NewNullLogger()
			warnRunAs(logrus.NewEntry(log), tc.euid, tc.runAs, tc.dataDir, "/tmp/copies")
			entries := hook.AllEntries()
			if tc.want == "" {
				if len(entries) != 0 {
					t.Fatalf("want no warning, got %q", entries[0].Message)
				}
				return
			}
			if len(entries) != 1 || entries[0].Level != logrus.WarnLevel || !strings.Contains(entries[0].Message, tc.want) {
				t.Fatalf("want one warning with %q, got %d: %v", tc.want, len(entries), entries)
			}
			if entries[0].Data["run_as"] != tc.runAs {
				t.Fatalf("run_as = %v, want %s", entries[0].Data["run_as"], tc.runAs)
			}
			if tc.name == "CannotEnter" && (entries[0].Data["directory"] == "" || entries[0].Data["copies"] != "/tmp/copies") {
				t.Fatalf("fields %v: want the blocked directory and the copies' place", entries[0].Data)
			}
		})
	}
}
