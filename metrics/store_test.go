package metrics

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestStore: values land in fixed-size files, a full archive wraps over
// its oldest slots, values within one step are averaged, and older ranges
// are read from the coarse archive.
func TestStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base := time.Unix(1_700_000_000, 0).Truncate(time.Hour)
	now := base
	s, err := OpenStore(dir, []Archive{{Step: time.Second, Slots: 10}, {Step: time.Minute, Slots: 5}}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	for i := range 25 {
		now = base.Add(time.Duration(i) * time.Second)
		if err := s.Write(now, map[string]float64{"x.y": float64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := os.Stat(filepath.Join(dir, "x.y.rrd"))
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(headerSize(2) + 15*slotSize); st.Size() != want {
		t.Errorf("file size %d, want fixed %d", st.Size(), want)
	}
	pts, err := s.Series("x.y", now.Add(-5*time.Second), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 6 || pts[0].Value != 19 || pts[5].Value != 24 {
		t.Errorf("fine points = %v, want 19..24", pts)
	}
	// 30 s back is beyond the fine archive (10 s): one minute bucket, the
	// average of 0..24.
	pts, err = s.Series("x.y", now.Add(-30*time.Second), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 1 || pts[0].Value != 12 {
		t.Errorf("coarse points = %v, want one at 12", pts)
	}
	if pts, err := s.Series("never.written", base, now); err != nil || len(pts) != 0 {
		t.Errorf("unknown series: %v %v, want nothing", pts, err)
	}
	names, err := s.Names()
	if err != nil || len(names) != 1 || names[0] != "x.y" {
		t.Errorf("Names = %v %v", names, err)
	}
}

// TestStoreCreateFailureLeavesNoSeries: when the header of a new series
// cannot be written (here its temporary file is /dev/full), the error is
// returned, nothing is renamed into place, and the next sample creates the
// series properly.
func TestStoreCreateFailureLeavesNoSeries(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Fatalf("this test needs /dev/full: %v", err)
	}
	dir := t.TempDir()
	now := time.Unix(1_700_000_000, 0)
	s, err := OpenStore(dir, []Archive{{Step: time.Second, Slots: 10}}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "x.y.rrd")
	if err := os.Symlink("/dev/full", path+".tmp"); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(now, map[string]float64{"x.y": 1}); err == nil {
		t.Fatal("Write succeeded although the header could not be written")
	}
	if fi, err := os.Lstat(path); err == nil {
		t.Fatalf("%s exists after a failed create (mode %s): a broken series was renamed into place", path, fi.Mode())
	}
	if err := s.Write(now, map[string]float64{"x.y": 1}); err != nil {
		t.Fatalf("second Write: %v", err)
	}
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(headerSize(1) + 10*slotSize); !st.Mode().IsRegular() || st.Size() != want {
		t.Errorf("series file: mode %s size %d, want a regular file of %d bytes", st.Mode(), st.Size(), want)
	}
}
