//go:build podium_rolling_hard && !podium_rolling && !podium_rolling_n && !podium_nplus1 && !podium_nplus1_broken

package schema

import (
	"embed"
	"io/fs"

	"github.com/podiumhq/podium/dbprovider"
)

// rollingHard holds the test migration of the hard rolling-upgrade
// benchmark (integration/upgrade_rolling_hard_bench_test.go): -tags
// podium_rolling_hard builds binary N+1, the release binary plus 00099, an
// expand migration that adds a column to every table requests use.
//
//go:embed testdata/rolling_hard/sqlite/*.sql testdata/rolling_hard/postgres/*.sql
var rollingHard embed.FS

func init() {
	for _, dir := range []string{dbprovider.SQLite, dbprovider.Postgres} {
		f, err := fs.Sub(rollingHard, "testdata/rolling_hard/"+dir)
		if err != nil {
			panic("schema: rolling hard: " + err.Error())
		}
		extra[dir] = f
	}
}
