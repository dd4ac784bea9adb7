package runtimes

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/startstop"
	"github.com/sirupsen/logrus"
)

// The evictor is built on startstop.Base.
var _ startstop.Service = (*Evictor)(nil)

// TestEvictorInUse: the keys in use are those of the live bundles' package
// sets (two bundles with the same packages share one); a failed listing
// is an error, so nothing is evicted on a guess.
func TestEvictorInUse(t *testing.T) {
	t.Parallel()
	m := &Manager{interp: []Interpreter{{Path: "/usr/bin/python3", Version: "3.12.1"}}, log: logrus.NewEntry(logrus.New())}
	spec := &Spec{AppMode: ModePythonFastAPI}
	live := []BundleSpec{{Dir: bundleDir(t, "fastapi==0.110\n"), Spec: spec}, {Dir: bundleDir(t, "fastapi==0.110\n"), Spec: spec},
		{Dir: bundleDir(t, "flask==3.0\n"), Spec: spec}}
	e := NewEvictor(m, func(context.Context) ([]BundleSpec, error) { return live, nil }, time.Now, logrus.New())
	keys, err := e.InUse(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("InUse = %v, want two keys (one per package set)", keys)
	}
	for _, b := range live {
		if k, _, _, err := m.Key(b.Spec, b.Dir); err != nil || !keys[k] {
			t.Fatalf("key of %s (%q, %v) not in use", b.Dir, k, err)
		}
	}
	boom := errors.New("database away")
	e = NewEvictor(m, func(context.Context) ([]BundleSpec, error) { return nil, boom }, time.Now, logrus.New())
	if _, err := e.InUse(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("InUse with a failed listing: %v, want %v", err, boom)
	}
}
