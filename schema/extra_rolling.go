//go:build (podium_rolling || podium_rolling_n) && !podium_nplus1 && !podium_nplus1_broken

package schema

import (
	"embed"
	"io/fs"
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
	for _, dir := range []string{"sqlite", "postgres"} {
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
