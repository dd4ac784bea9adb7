package migrate

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/podiumhq/podium/dbprovider/pgtest"
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

// TestColumnHashMatchesPostgreSQL: the hash the client computes from a
// COPY field (columnHash, pghash.go) is the one columnHashExpr gives the
// stored value, for every column kind and its edge values (empty and long
// text and bytea, every tail length of the byte hash, negative and
// extreme integers, times before 2000, jsonb that PostgreSQL normalizes,
// floats' zeros and NaN, NULL), with seeds that use either half of the
// 64 bits, one value at a time and as whole rows of every kind, as
// columnHashQuery sums them.
func TestColumnHashMatchesPostgreSQL(t *testing.T) {
	t.Parallel()
	c := pgConn(t, pgtest.NewDatabase(t))
	var texts []any
	for n := range 40 {
		texts = append(texts, strings.Repeat("é", n/2)+strings.Repeat("x", n%2))
	}
	texts = append(texts, strings.Repeat("long text ", 1000), nil)
	var blobs []any
	for n := range 30 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*37 + n*101)
		}
		blobs = append(blobs, b)
	}
	blobs = append(blobs, nil)
	kinds := []struct {
		typ  string
		oid  uint32
		k    kind
		vals []any
	}{
		{"boolean", 16, kindBool, []any{int64(0), int64(1), nil}},
		{"smallint", 21, kindInt2, []any{int64(0), int64(-1), int64(math.MaxInt16), int64(math.MinInt16), int64(300), nil}},
		{"integer", 23, kindInt4, []any{int64(0), int64(-1), int64(math.MaxInt32), int64(math.MinInt32), int64(123456), nil}},
		{"bigint", 20, kindInt8, []any{int64(0), int64(-1), int64(math.MaxInt64), int64(math.MinInt64), int64(1) << 32,
			-(int64(1) << 32) - 5, int64(9876543210), nil}},
		{"double precision", 701, kindFloat8, []any{0.0, math.Copysign(0, -1), 1.5, -2.25e300, math.NaN(), math.Inf(1), math.Inf(-1), nil}},
		{"real", 700, kindFloat4, []any{0.0, 1.5, -3.25, math.NaN(), math.Inf(-1), nil}},
		{"timestamptz", 1184, kindTimestamptz, []any{"2026-12-07 08:00:00.123456+00:00", "1999-12-31 23:59:59.999999+00:00",
			"1970-01-01 00:00:00+00:00", "0001-01-01 00:00:00+00:00", nil}},
		{"timestamp", 1114, kindTimestamp, []any{"2026-12-07 08:00:00.5+00:00", "1900-06-01 12:00:00+00:00", nil}},
		{"text", 25, kindText, texts},
		{"bytea", 17, kindBytea, blobs},
		{"json", 114, kindJSON, []any{`{"b": 1,  "a": [1, 2.50]}`, `[]`, `"s"`, nil}},
		{"jsonb", 3802, kindJSONB, []any{`{"b": 1,  "a": [1, 2.50], "a": 3}`, `{}`, `1e2`, `"\u00e9\ud83d\ude00"`, `null`, nil}},
	}
	ctx := t.Context()
	pgHash := func(names, exprs, types []string, fields [][]byte, oids []uint32) uint64 {
		t.Helper()
		sel := make([]string, len(types))
		formats := make([]int16, len(types))
		params := make([][]byte, len(types))
		for i := range types {
			sel[i] = fmt.Sprintf("$%d::%s AS %s", i+1, types[i], names[i])
			formats[i] = 1
			if int32(binary.BigEndian.Uint32(fields[i])) >= 0 {
				params[i] = fields[i][4:]
			}
		}
		q := fmt.Sprintf(`SELECT %s FROM (SELECT %s) s`, strings.Join(exprs, " # "), strings.Join(sel, ", "))
		res := c.PgConn().ExecParams(ctx, q, params, oids, formats, []int16{1}).Read()
		if res.Err != nil {
			t.Fatalf("%s: %v", q, res.Err)
		}
		return binary.BigEndian.Uint64(res.Rows[0][0])
	}
	encode := func(col *column, v any) ([]byte, []byte) {
		t.Helper()
		h, w, _, err := col.encode(v, nil, nil, col.kind == kindJSON || col.kind == kindJSONB)
		if err != nil {
			t.Fatalf("%s %v: %v", col.TypeName, v, err)
		}
		return w, h
	}
	cols := make([]column, len(kinds))
	for i, k := range kinds {
		// NOT NULL and nullable: columnHashExpr differs.
		for _, notNull := range []bool{false, true} {
			cols[i] = column{Name: fmt.Sprintf("c%d", i), TypeName: k.typ, OID: k.oid, kind: k.k, NotNull: notNull}
			for _, v := range k.vals {
				if v == nil && notNull {
					continue
				}
				w, h := encode(&cols[i], v)
				for _, seed := range []uint64{0, 1, 17, 1 << 40, 1<<63 + 12345} {
					got := cols[i].columnHash(w, h, seed)
					want := pgHash([]string{cols[i].Name}, []string{cols[i].columnHashExpr(int(int64(seed)))}, []string{k.typ}, [][]byte{w}, []uint32{k.oid})
					if got != want {
						t.Errorf("%s %#v (not null %v) seed %d: client hash %x, PostgreSQL %x", k.typ, v, notNull, seed, got, want)
					}
				}
			}
		}
	}
	// Whole rows: the XOR of the columns' hashes, each with its own seed.
	for i := range cols {
		cols[i].NotNull = false // rows hold NULLs
	}
	for r := range 12 {
		names, exprs, types, fields, oids := []string{}, []string{}, []string{}, [][]byte{}, []uint32{}
		var rh uint64
		for i, k := range kinds {
			w, h := encode(&cols[i], k.vals[(r+i)%len(k.vals)])
			rh ^= cols[i].columnHash(w, h, columnHashSeed(i))
			names = append(names, cols[i].Name)
			exprs, types, fields, oids = append(exprs, cols[i].columnHashExpr(int(columnHashSeed(i)))), append(types, k.typ), append(fields, w), append(oids, k.oid)
		}
		if want := pgHash(names, exprs, types, fields, oids); rh != want {
			t.Errorf("row %d: client hash %x, PostgreSQL %x", r, rh, want)
		}
	}
}

// BenchmarkRowDigest is the client's share of the verification for one
// row shaped like the benchmark's jobs rows (17 columns: integers, times,
// short texts, NULLs): the MD5 digest's bytes and hash against the
// per-column hashes.
func BenchmarkRowDigest(b *testing.B) {
	type val struct {
		k kind
		v any
	}
	row := []val{{kindInt8, int64(123456)}, {kindInt8, int64(42)}, {kindText, "render"},
		{kindTimestamptz, "2026-12-07 08:00:00.123456+00:00"}, {kindText, "finished"}, {kindInt4, int64(1)},
		{kindInt4, int64(3)}, {kindText, nil}, {kindText, "node-7f3a"}, {kindTimestamptz, nil},
		{kindTimestamptz, "2026-12-07 08:00:01+00:00"}, {kindTimestamptz, "2026-12-07 08:00:02+00:00"},
		{kindTimestamptz, "2026-12-07 08:00:09+00:00"}, {kindInt4, int64(0)}, {kindText, ""}, {kindInt4, int64(0)}, {kindText, ""}}
	cols := make([]column, len(row))
	fields := make([][]byte, len(row))
	for i, r := range row {
		cols[i] = column{Name: fmt.Sprint("c", i), kind: r.k, NotNull: r.v != nil}
		_, w, _, err := cols[i].encode(r.v, nil, nil, false)
		if err != nil {
			b.Fatal(err)
		}
		fields[i] = w
	}
	b.Run("md5", func(b *testing.B) {
		var d digest
		var h []byte
		for b.Loop() {
			h = h[:0]
			for i := range cols {
				h = cols[i].appendDigest(h, fields[i], row[i].v == nil)
			}
			d.add(h)
		}
	})
	b.Run("column hash", func(b *testing.B) {
		var d digest
		for b.Loop() {
			var rh uint64
			for i := range cols {
				rh ^= cols[i].columnHash(fields[i], nil, columnHashSeed(i))
			}
			d.addHash(rh)
		}
	})
}
