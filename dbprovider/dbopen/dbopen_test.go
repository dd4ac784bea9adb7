package dbopen_test

import (
	"context"
	"testing"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/dbopen"
)

// TestOpenSQLite: the default configuration opens SQLite in [Database]
// Dir; a second exclusive open is refused (EREFUSED) with a nil provider,
// not a nil *sqlite.Provider inside the interface, which a caller would
// Close and panic on.
func TestOpenSQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := config.Defaults()
	cfg.Database.Dir = t.TempDir()
	p, err := dbopen.Open(ctx, cfg, "", "test", true)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Name() != dbprovider.SQLite {
		t.Errorf("Name() = %q; want %q", p.Name(), dbprovider.SQLite)
	}
	if err := p.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	second, err := dbopen.Open(ctx, cfg, "", "second", true)
	if !podium.IsCode(err, podium.EREFUSED) {
		t.Fatalf("second exclusive open: %v; want EREFUSED", err)
	}
	if second != nil {
		t.Errorf("second exclusive open returned %#v with its error; want a nil Provider", second)
	}
}

// TestOpenPostgresWithoutURL: PostgreSQL without [Postgres] URL is
// refused (EINVALID) before any connection, with no provider.
func TestOpenPostgresWithoutURL(t *testing.T) {
	t.Parallel()
	cfg := config.Defaults()
	cfg.Database.Provider = config.ProviderPostgres
	cfg.Postgres.URL = ""
	p, err := dbopen.Open(context.Background(), cfg, "node-1", "serve", true)
	if !podium.IsCode(err, podium.EINVALID) || p != nil {
		t.Fatalf("Open = %v, %v; want EINVALID and no provider", p, err)
	}
}
