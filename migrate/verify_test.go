package migrate

import (
	"context"
	"database/sql"
	"testing"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/internal/pgtest"
	"github.com/podiumhq/podium/migrate/migratetest"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// TestRunVerifiesRowsStoredOutOfKeyOrder moves rows of the target (an
// UPDATE that changes nothing writes a new version elsewhere in the table)
// before verification: the read as stored sees keys out of order, reads the
// table again sorted, and verification passes with the dry run's
// checksums.
func TestRunVerifiesRowsStoredOutOfKeyOrder(t *testing.T) {
	t.Parallel()
	dir := newSource(t, migratetest.Small())
	dry, err := Run(t.Context(), Options{SQLiteDir: dir, PostgresURL: podium.Secret(pgtest.NewDatabase(t)), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	logger, hook := logtest.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	res, err := Run(t.Context(), Options{SQLiteDir: dir, PostgresURL: podium.Secret(pgtest.NewDatabase(t)),
		Log: logrus.NewEntry(logger),
		beforeVerify: func(ctx context.Context, tx *sql.Tx) error {
			// A text key (task_output) and an integer one (jobs).
			_, err := tx.ExecContext(ctx, `UPDATE task_output SET line = line WHERE line_no = 1;
				UPDATE jobs SET status = status WHERE id % 3 = 0`)
			return err
		}})
	if err != nil {
		t.Fatal(err)
	}
	for i, tr := range res.Tables {
		if !tr.Verified || tr.Checksum != dry.Tables[i].Checksum {
			t.Errorf("%s: verified %v, checksum %s, want the dry run's %s", tr.Name, tr.Verified, tr.Checksum, dry.Tables[i].Checksum)
		}
	}
	sortedAgain := map[string]bool{}
	for _, e := range hook.AllEntries() {
		if e.Message == "target rows are not stored in key order: reading them back sorted" {
			sortedAgain[e.Data["table"].(string)] = true
		}
	}
	if !sortedAgain["task_output"] || !sortedAgain["jobs"] || len(sortedAgain) != 2 {
		t.Errorf("tables read again sorted: %v, want task_output and jobs only", sortedAgain)
	}
}
