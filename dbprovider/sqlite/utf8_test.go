package sqlite_test

import (
	"context"
	"strings"
	"testing"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/schema"
)

// TestInvalidUTF8IsRefusedOnEveryWrite: the writer refuses text that is
// not valid UTF-8 (PostgreSQL refuses it) whether it comes as a parameter,
// as an SQL literal or inside a transaction, writes nothing, and keeps
// accepting valid writes afterwards; blobs may hold any bytes.
func TestInvalidUTF8IsRefusedOnEveryWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := open(t).(*sqlite.Provider)
	if _, err := schema.Up(ctx, p, nil, schema.Options{}); err != nil {
		t.Fatal(err)
	}
	db := p.DB()
	const ins = `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, '2026-01-02 03:04:05+00:00')`
	refused := func(t *testing.T, err error) {
		t.Helper()
		if podium.ErrorCode(p.Store.D.TranslateError(err)) != podium.EINVALID ||
			!strings.Contains(podium.ErrorMessage(p.Store.D.TranslateError(err)), "table settings, column 2") {
			t.Errorf("err = %v, want EINVALID naming table settings, column 2", err)
		}
	}
	t.Run("Parameter", func(t *testing.T) {
		_, err := db.ExecContext(ctx, ins, "a", "bad \xff byte")
		refused(t, err)
	})
	t.Run("Literal", func(t *testing.T) {
		_, err := db.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES ('b', CAST(x'c328' AS TEXT), '2026-01-02 03:04:05+00:00')`)
		refused(t, err)
	})
	t.Run("Update", func(t *testing.T) {
		if _, err := db.ExecContext(ctx, ins, "c", "fine"); err != nil {
			t.Fatal(err)
		}
		_, err := db.ExecContext(ctx, `UPDATE settings SET value = ? WHERE key = 'c'`, "\xe2\x82")
		refused(t, err)
	})
	t.Run("Transaction", func(t *testing.T) {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, ins, "d", "ok"); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, ins, "e", "\xff"); err != nil {
			t.Fatal(err) // refused at commit, not per statement
		}
		refused(t, tx.Commit())
	})
	var keys []string
	rows, err := db.QueryContext(ctx, `SELECT key || '=' || value FROM settings ORDER BY key`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		rows.Scan(&k)
		keys = append(keys, k)
	}
	rows.Close()
	if got := strings.Join(keys, ","); got != "c=fine" {
		t.Errorf("settings hold %q after the refusals, want only c=fine", got)
	}
	// Valid text and any blob are still written.
	if _, err := db.ExecContext(ctx, ins, "f", "héllo ✓"); err != nil {
		t.Errorf("valid UTF-8: %v", err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO users (id, username, role, created_at, updated_at) VALUES (1, 'u', 'admin', '2026-01-02 03:04:05+00:00', '2026-01-02 03:04:05+00:00')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) VALUES (?, 1, 't', '2026-01-02 03:04:05+00:00', '2026-01-02 03:04:05+00:00')`, []byte{0xff, 0x00, 0xfe}); err != nil {
		t.Errorf("blob with any bytes: %v", err)
	}
}
