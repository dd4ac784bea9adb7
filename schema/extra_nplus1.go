//go:build podium_nplus1 && !podium_nplus1_broken

package schema

import (
	"embed"
	"io/fs"

	"github.com/podiumhq/podium/dbprovider"
)

// nplus1 is one more migration (version 99, above any real one) for the
// upgrade rehearsal: a binary built with -tags podium_nplus1 knows schema
// N+1, where N is the schema of the same source built without the tag.
//
//go:embed testdata/nplus1/sqlite/*.sql testdata/nplus1/postgres/*.sql
var nplus1 embed.FS

func init() {
	for _, dir := range []string{dbprovider.SQLite, dbprovider.Postgres} {
		sub, err := fs.Sub(nplus1, "testdata/nplus1/"+dir)
		if err != nil {
			panic("schema: nplus1: " + err.Error())
		}
		extra[dir] = sub
	}
}
