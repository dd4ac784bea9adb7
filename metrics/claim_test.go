package metrics

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/podiumhq/podium"
)

// TestTakeClaimRefusesWhenClaimFileCannotBeWritten: claim.json is the
// safeguard on NFS, where flock is unreliable; a claim that cannot write
// it (here its temporary name is a directory) is refused with EINVALID
// rather than taken silently.
func TestTakeClaimRefusesWhenClaimFileCannotBeWritten(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, ClaimFile+".tmp"), 0o750); err != nil {
		t.Fatal(err)
	}
	c, err := TakeClaim(context.Background(), dir, "n1", "host", time.Now(), nil)
	if err == nil {
		_ = c.Release()
		t.Fatal("TakeClaim succeeded although claim.json could not be written")
	}
	if !podium.IsCode(err, podium.EINVALID) {
		t.Errorf("error %v: code %s, want EINVALID", err, podium.ErrorCode(err))
	}
	if _, err := os.Stat(filepath.Join(dir, ClaimFile)); err == nil {
		t.Error("claim.json exists after the failed claim")
	}
}

// TestTakeClaimWritesClaimFile: a claim names its node in claim.json.
func TestTakeClaimWritesClaimFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c, err := TakeClaim(context.Background(), dir, "n1", "host", time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	r, err := ReadClaim(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.NodeID != "n1" || r.Host != "host" {
		t.Errorf("claim.json = %+v, want node n1 on host", r)
	}
}
