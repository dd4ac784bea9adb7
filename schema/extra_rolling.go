//go:build (podium_rolling || podium_rolling_n) && !podium_nplus1 && !podium_nplus1_broken

package schema

import (
	"context"
	"database/sql"
	"embed"
	"io/fs"

	"github.com/podiumhq/podium/dbprovider"
)

// rolling holds the test migrations of the rolling-upgrade test (see
// integration/upgrade_rolling_test.go), versions 96 to 98, above any real
// one: -tags podium_rolling_n builds binary N (00096: a table N's test code
// uses), -tags podium_rolling builds N+1 (also 00097, expand: a column N+1
// writes and reads; 00098, contract: drops the column N writes).
//
//go:embed testdata/rolling/n/sqlite/*.sql testdata/rolling/n/postgres/*.sql testdata/rolling/n1/sqlite/*.sql testdata/rolling/n1/postgres/*.sql
var rolling embed.FS

// RollingTestNPlus1 is true in the N+1 binary of the rolling-upgrade test.
const RollingTestNPlus1 = rollingNPlus1

func init() {
	for _, dir := range []string{dbprovider.SQLite, dbprovider.Postgres} {
		n, err := fs.Sub(rolling, "testdata/rolling/n/"+dir)
		if err != nil {
			panic("schema: rolling: " + err.Error())
		}
		if !rollingNPlus1 {
			extra[dir] = n
			continue
		}
		n1, err := fs.Sub(rolling, "testdata/rolling/n1/"+dir)
		if err != nil {
			panic("schema: rolling: " + err.Error())
		}
		extra[dir] = overlay{n, n1}
	}
}

// RollingNoteCreate writes a note of the rolling-upgrade test and returns
// its id: binary N+1 records author, binary N sets legacy_flag (which N+1
// never names; its contract migration drops it).
func RollingNoteCreate(ctx context.Context, p dbprovider.Provider, body, author string) (int64, error) {
	db, done, err := rollingDB(p)
	if err != nil {
		return 0, err
	}
	defer done()
	var id int64
	if RollingTestNPlus1 {
		err = db.QueryRowContext(ctx,
			`INSERT INTO rolling_notes (body, author) VALUES ($1, $2) RETURNING id`, body, author).Scan(&id)
	} else {
		err = db.QueryRowContext(ctx,
			`INSERT INTO rolling_notes (body, legacy_flag) VALUES ($1, true) RETURNING id`, body).Scan(&id)
	}
	return id, err
}

// RollingNoteGet returns the note id as each binary of the rolling-upgrade
// test sees it: id, body, and author (N+1) or legacy_flag (N).
func RollingNoteGet(ctx context.Context, p dbprovider.Provider, id int64) (map[string]any, error) {
	db, done, err := rollingDB(p)
	if err != nil {
		return nil, err
	}
	defer done()
	out := map[string]any{"id": id}
	var body string
	if RollingTestNPlus1 {
		var author *string
		err = db.QueryRowContext(ctx, `SELECT body, author FROM rolling_notes WHERE id = $1`, id).Scan(&body, &author)
		out["author"] = author
	} else {
		var legacy bool
		err = db.QueryRowContext(ctx, `SELECT body, legacy_flag FROM rolling_notes WHERE id = $1`, id).Scan(&body, &legacy)
		out["legacy_flag"] = legacy
	}
	if err != nil {
		return nil, err
	}
	out["body"] = body
	return out, nil
}

// rollingDB is the handle the test's notes are written and read on: the
// migration handle, on which the test migrations created rolling_notes
// (the store knows nothing of the test's table). done closes it when it
// is a dedicated one.
func rollingDB(p dbprovider.Provider) (*sql.DB, func(), error) {
	db, owned, err := p.MigrationDB()
	if err != nil {
		return nil, nil, err
	}
	if owned {
		return db, func() { _ = db.Close() }, nil
	}
	return db, func() {}, nil
}
