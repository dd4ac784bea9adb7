package migrate

import (
	"crypto/md5"
	"encoding/binary"
	"math/big"
	"testing"

	"github.com/podiumhq/podium/internal/pgtest"
)

// TestJSONBTextMatchesPostgreSQL: the client's rendering of a JSON text as
// jsonb prints it is what PostgreSQL prints, for the shapes that matter
// (key order and duplicates, escapes, numbers in every notation).
func TestJSONBTextMatchesPostgreSQL(t *testing.T) {
	t.Parallel()
	c := pgConn(t, pgtest.NewDatabase(t))
	texts := []string{
		`{}`, `[]`, `null`, `true`, `"s"`, `0`, `-0`, `-0.0`, `1.50`, `1e2`, `1E+2`, `1.5e1`, `1.50e1`, `0.1e-2`,
		`-12.3400e-3`, `123456789012345678901234567890`, `1e-7`, `0.000`, `10e-1`, `2.5E+10`, `-1E-2`,
		`{"b": 1, "a": 2, "aa": 3, "a": 4}`, `{"key":"v","k":[1,2,{"z":null,"y":false}]}`,
		`["tab\tnew\nline\r\f\b", "quote\"back\\slash/", "\u00e9\u0001\u001f", "\ud83d\ude00", "é✓"]`,
		"  {\n  \"spaced\" :  [ 1 , 2 ]  }  ", `{"a": {"b": {"c": [[], {}]}}}`, `{"é": 1, "z": 2, "ab": 3}`,
		`{"pad": "` + "DEADBEEF" + `", "n": 42}`,
	}
	for _, s := range texts {
		got, err := appendJSONBText(nil, s)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		var want string
		if err := c.QueryRow(t.Context(), `SELECT $1::jsonb::text`, s).Scan(&want); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if string(got) != want {
			t.Errorf("jsonb text of %s: client %s, PostgreSQL %s", s, got, want)
		}
	}
}

// TestDigestSumMatchesPostgreSQL: the client's 128-bit sum of signed
// 64-bit hash prefixes prints as PostgreSQL's numeric sum of the same
// bigints, for sums that go negative and past 64 bits.
func TestDigestSumMatchesPostgreSQL(t *testing.T) {
	t.Parallel()
	c := pgConn(t, pgtest.NewDatabase(t))
	var d digest
	want := new(big.Int)
	var rows [][]byte
	for i := range 2000 {
		row := binary.BigEndian.AppendUint32(nil, uint32(i*7919))
		rows = append(rows, row)
		d.add(row)
		s := md5.Sum(row)
		want.Add(want, big.NewInt(int64(binary.BigEndian.Uint64(s[:8]))))
	}
	if d.sum() != want.String() || d.rows != 2000 {
		t.Fatalf("client sum %s (%d rows), want %s", d.sum(), d.rows, want)
	}
	var pg string
	if err := c.QueryRow(t.Context(), `SELECT sum(('x' || substr(md5(r), 1, 16))::bit(64)::bigint)::text FROM unnest($1::bytea[]) r`, rows).Scan(&pg); err != nil {
		t.Fatal(err)
	}
	if pg != d.sum() {
		t.Errorf("PostgreSQL sum %s, client %s", pg, d.sum())
	}
}
