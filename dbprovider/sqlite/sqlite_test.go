package sqlite_test

import (
	"context"
	"testing"

	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/dbprovidertest"
	"github.com/podiumhq/podium/dbprovider/sqlite"
)

// open returns a provider on a new SQLite file in a temp dir, holding its
// lock as a node does.
func open(tb testing.TB) dbprovider.Provider {
	tb.Helper()
	p, err := sqlite.Open(context.Background(), sqlite.Options{Dir: tb.TempDir(), Exclusive: true, Purpose: "test"})
	if err != nil {
		tb.Fatalf("sqlite.Open: %v", err)
	}
	tb.Cleanup(func() { _ = p.Close() })
	return p
}

func TestConformance(t *testing.T) {
	t.Parallel()
	dbprovidertest.Run(t, open)
}
