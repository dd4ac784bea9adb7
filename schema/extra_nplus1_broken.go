//go:build podium_nplus1_broken

package schema

import (
	"embed"
	"io/fs"

	"github.com/podiumhq/podium/dbprovider"
)

// nplus1Broken is an N+1 migration that fails half-way, for the tests of a
// failed rehearsal: a binary built with -tags podium_nplus1_broken. It
// takes precedence over podium_nplus1 (both are version 99).
//
//go:embed testdata/nplus1_broken/sqlite/*.sql testdata/nplus1_broken/postgres/*.sql
var nplus1Broken embed.FS

func init() {
	for _, dir := range []string{dbprovider.SQLite, dbprovider.Postgres} {
		sub, err := fs.Sub(nplus1Broken, "testdata/nplus1_broken/"+dir)
		if err != nil {
			panic("schema: nplus1_broken: " + err.Error())
		}
		extra[dir] = sub
	}
}
