package postgres_test

import (
	"context"
	"testing"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/dbprovidertest"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/dbprovider/postgres"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// open returns a provider on a new, empty PostgreSQL database.
func open(tb testing.TB) dbprovider.Provider {
	tb.Helper()
	return openURL(tb, pgtest.NewDatabase(tb))
}

// openURL returns a provider on the database at url.
func openURL(tb testing.TB, url string) dbprovider.Provider {
	tb.Helper()
	p, err := postgres.Open(context.Background(), postgres.Options{URL: podium.Secret(url), ApplicationName: "podium test"})
	if err != nil {
		tb.Fatalf("postgres.Open: %v", err)
	}
	tb.Cleanup(func() { _ = p.Close() })
	return p
}

func TestConformance(t *testing.T) {
	t.Parallel()
	dbprovidertest.Run(t, open)
}
