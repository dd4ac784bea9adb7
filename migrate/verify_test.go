package migrate

import (
	"context"
	"strings"
	"testing"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/dbprovider/postgres"
	"github.com/podiumhq/podium/migrate/migratetest"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// TestRunVerifiesRowsStoredOutOfKeyOrder moves rows of the target (an
// UPDATE that changes nothing writes a new version elsewhere in the table)
// before verification: the digest does not depend on the order rows are
// stored in, so verification passes at once, without the row-by-row
// comparison, with the dry run's checksums.
func TestRunVerifiesRowsStoredOutOfKeyOrder(t *testing.T) {
	t.Parallel()
	// Both digests: hash_record_extended's (PostgreSQL 14 or newer) and
	// the MD5 one older servers get.
	for _, md5 := range []bool{false, true} {
		t.Run(map[bool]string{false: "record hash", true: "md5"}[md5], func(t *testing.T) {
			t.Parallel()
			testRunVerifiesRowsStoredOutOfKeyOrder(t, md5)
		})
	}
}

func testRunVerifiesRowsStoredOutOfKeyOrder(t *testing.T, md5 bool) {
	dir := newSource(t, migratetest.Small())
	dry, err := Run(t.Context(), Options{SQLiteDir: dir, PostgresURL: podium.Secret(pgtest.NewDatabase(t)), DryRun: true, md5Digest: md5})
	if err != nil {
		t.Fatal(err)
	}
	logger, hook := logtest.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	res, err := Run(t.Context(), Options{SQLiteDir: dir, PostgresURL: podium.Secret(pgtest.NewDatabase(t)),
		Log: logrus.NewEntry(logger), md5Digest: md5,
		beforeVerify: func(ctx context.Context, table string, c *postgres.Conn) error {
			var err error
			switch table {
			case "task_output": // a text key
				err = c.Exec(ctx, `UPDATE task_output SET line = line WHERE line_no = 1`)
			case "jobs":
				err = c.Exec(ctx, `UPDATE jobs SET status = status WHERE id % 3 = 0`)
			}
			return err
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tables) != len(dry.Tables) {
		t.Fatalf("%d tables, the dry run read %d", len(res.Tables), len(dry.Tables))
	}
	for i, tr := range res.Tables {
		if !tr.Verified || tr.Checksum == "" || tr.Checksum != dry.Tables[i].Checksum {
			t.Errorf("%s: verified %v, checksum %s, want the dry run's %s", tr.Name, tr.Verified, tr.Checksum, dry.Tables[i].Checksum)
		}
	}
	for _, e := range hook.AllEntries() {
		if strings.Contains(e.Message, "row by row") {
			t.Errorf("table %v: %s: the digests of equal tables differ", e.Data["table"], e.Message)
		}
	}
}
