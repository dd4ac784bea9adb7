package schema_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/podiumhq/podium/schema"
)

// TestRollingHardMigrationCoversEveryTable: the hard rolling benchmark's
// N+1 migration (schema/testdata/rolling_hard, make bench-rolling-hard)
// must add a column to every table of the schema, as issue 28 asks ("every
// table that requests use"): a table added by a later migration and
// forgotten there would leave its requests out of the benchmark.
func TestRollingHardMigrationCoversEveryTable(t *testing.T) {
	t.Parallel()
	p := openSQLite(t)
	if _, err := schema.Up(ctxT(t), p, nil, schema.Options{}); err != nil {
		t.Fatal(err)
	}
	var tables []string
	for _, c := range columns(t, p) {
		table, _, _ := strings.Cut(c, ".")
		if table != "goose_db_version" && !slices.Contains(tables, table) {
			tables = append(tables, table)
		}
	}
	alter := regexp.MustCompile(`(?im)^ALTER TABLE (\w+) ADD COLUMN `)
	for _, dialect := range []string{"postgres", "sqlite"} {
		b, err := os.ReadFile("testdata/rolling_hard/" + dialect + "/00099_rolling_hard.sql")
		if err != nil {
			t.Fatal(err)
		}
		up, _, _ := strings.Cut(string(b), "-- +goose Down")
		var altered []string
		for _, m := range alter.FindAllStringSubmatch(up, -1) {
			altered = append(altered, strings.ToLower(m[1]))
		}
		for _, table := range tables {
			if !slices.Contains(altered, table) {
				t.Errorf("%s: the hard benchmark's migration adds no column to table %s: add one (Up and Down)", dialect, table)
			}
		}
	}
}
