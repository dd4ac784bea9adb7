package migrate

import (
	"bytes"
	"context"
	"crypto/md5"
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"strings"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider/postgres"
)

// Verification computes one digest per table on each side and compares
// them, instead of reading every row back:
//
//   - a row's digest bytes are, column after column, the bytes of the
//     type's binary representation (what the client sends in its COPY
//     fields and what PostgreSQL's send functions return for the stored
//     values), framed so that no two rows give the same bytes (digestExpr);
//     for jsonb, whose stored form is normalized, they are jsonb_send's
//     bytes, which the client reproduces from the text (appendJSONBText);
//   - the table's digest is the row count and the sum, as a 128-bit
//     integer, of the first 8 bytes of each row's MD5 read as a signed
//     big-endian integer: independent of the order rows are stored or read
//     in, so PostgreSQL computes it with one sequential (or parallel) scan,
//     no sort and no index, and the client from the stream it sends.
//
// On PostgreSQL 14 or newer a row's hash is instead the XOR of its
// columns' hashes (columnHashQuery): PostgreSQL hashes each stored value
// with the type's own extended hash function, each column with a seed of
// its own (its position), so that values swapped between columns change
// the row's hash; several times less backend CPU than building the row's
// bytes and their MD5, and about a quarter less than
// hash_record_extended of the whole row, which first copies the row into
// a record and takes it apart again (the benchmark's big tables: see
// docs/moving-to-postgresql.md). The client computes the same 64-bit
// hashes from its COPY fields (pghash.go, column.columnHash). The table's
// digest is the same sum of the rows' hashes.
//
// Any difference is then looked for row by row (compareRows), so that a
// failure names the first row and column that differ; a difference that
// that comparison does not find (a jsonb text the client normalized
// differently from PostgreSQL) is no failure.

// digest accumulates a table's digest.
type digest struct {
	rows   int64
	hi, lo uint64 // the 128-bit two's complement sum
}

func (d *digest) add(row []byte) {
	s := md5.Sum(row)
	d.addHash(binary.BigEndian.Uint64(s[:8]))
}

// addHash adds a row's 64-bit hash, read as a signed integer.
func (d *digest) addHash(v uint64) {
	ext := uint64(0)
	if int64(v) < 0 {
		ext = ^uint64(0)
	}
	var carry uint64
	d.lo, carry = bits.Add64(d.lo, v, 0)
	d.hi, _ = bits.Add64(d.hi, ext, carry)
	d.rows++
}

// sum is the digest's sum in decimal, as PostgreSQL prints numeric.
func (d *digest) sum() string {
	n := new(big.Int).SetUint64(d.hi)
	n.Lsh(n, 64)
	n.Or(n, new(big.Int).SetUint64(d.lo))
	if int64(d.hi) < 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), 128))
	}
	return n.String()
}

// digestExpr is the SQL expression of a column's digest bytes: the
// fewest function calls that still tell every value apart within a row:
//
//   - fixed-width types: the send function's bytes; if the column may be
//     NULL, a 1 byte before them, and NULL a lone 0 byte;
//   - bool: its byte (0 or 1), NULL 0xff;
//   - text and json: the bytes and a 0 byte (text holds no NUL), NULL
//     0xff (which UTF-8 never holds);
//   - jsonb: jsonb_send (a 1 byte and the normalized text) and a 0 byte,
//     NULL 0xff;
//   - bytea: its 32-bit length and bytes, NULL -1.
func (c *column) digestExpr() string {
	q := quoteIdent(c.Name)
	nullable := func(e, null string) string {
		if c.NotNull {
			return e
		}
		return fmt.Sprintf(`COALESCE(%s, '\x%s'::bytea)`, e, null)
	}
	fixed := func(send string) string {
		if c.NotNull {
			return fmt.Sprintf(`%s(%s)`, send, q)
		}
		return fmt.Sprintf(`COALESCE('\x01'::bytea || %s(%s), '\x00'::bytea)`, send, q)
	}
	switch c.kind {
	case kindBool:
		return nullable(fmt.Sprintf(`boolsend(%s)`, q), "ff")
	case kindInt2:
		return fixed("int2send")
	case kindInt4:
		return fixed("int4send")
	case kindInt8:
		return fixed("int8send")
	case kindFloat4:
		return fixed("float4send")
	case kindFloat8:
		return fixed("float8send")
	case kindTimestamptz:
		return fixed("timestamptz_send")
	case kindTimestamp:
		return fixed("timestamp_send")
	case kindBytea:
		return nullable(fmt.Sprintf(`int4send(length(%s)) || %s`, q, q), "ffffffff")
	case kindJSONB:
		return nullable(fmt.Sprintf(`jsonb_send(%s) || '\x00'::bytea`, q), "ff")
	}
	// text, varchar, bpchar, json
	return nullable(fmt.Sprintf(`textsend(%s::text) || '\x00'::bytea`, q), "ff")
}

// columnHash is the hash columnHashExpr(seed) gives the column's value
// in PostgreSQL, from its COPY field (a 32-bit length, -1 for NULL, and
// the bytes) and, for json and jsonb, the digest bytes encodeJSON appended
// to h (json: the text and a 0 byte; jsonb: jsonb_send's version byte, the
// text and a 0 byte). NULL is 0.
func (c *column) columnHash(field, h []byte, seed uint64) uint64 {
	if int32(binary.BigEndian.Uint32(field)) < 0 {
		return 0 // NULL
	}
	v := field[4:]
	switch c.kind {
	case kindBool:
		return pgHashUint32(uint32(v[0]), seed)
	case kindInt2:
		return pgHashUint32(uint32(int32(int16(binary.BigEndian.Uint16(v)))), seed)
	case kindInt4:
		return pgHashUint32(binary.BigEndian.Uint32(v), seed)
	case kindInt8, kindTimestamptz, kindTimestamp:
		return pgHashInt8(int64(binary.BigEndian.Uint64(v)), seed)
	case kindFloat4:
		return pgHashFloat8(float64(math.Float32frombits(binary.BigEndian.Uint32(v))), seed)
	case kindFloat8:
		return pgHashFloat8(math.Float64frombits(binary.BigEndian.Uint64(v)), seed)
	case kindJSON:
		return pgHashBytes(h[:len(h)-1], seed)
	case kindJSONB:
		return pgHashBytes(h[1:len(h)-1], seed)
	}
	return pgHashBytes(v, seed) // text, bytea
}

// columnHashExpr is the SQL expression of the column's hash with the
// given seed, NULL giving 0 (a non-NULL value that hashes to 0 is as
// likely as any other collision): the type's extended hash function called
// directly, which the client reproduces (columnHash):
//
//   - bool through int4 (0 or 1: the hash bool's own function gives);
//   - text in the "C" collation (deterministic: a hash of the bytes); json
//     and jsonb as their text (json has no hash function; jsonb's own
//     walks its binary form, which the client does not build, and its
//     text is jsonb_send's without the version byte);
//   - timestamptz and timestamp as their difference from 2000-01-01
//     00:00 UTC, an interval whose hash is hashint8extended of its
//     microseconds: the stored value itself (SQL offers no hash function
//     of the time types that takes them unconverted);
//   - bytea, whose hash function takes no SQL argument, through a
//     one-column record: hash_record_extended of it is its element's hash
//     (0 for NULL).
func (c *column) columnHashExpr(seed int) string {
	q := quoteIdent(c.Name)
	var e string
	switch c.kind {
	case kindBool:
		e = fmt.Sprintf(`hashint4extended(%s::integer, %d)`, q, seed)
	case kindInt2:
		e = fmt.Sprintf(`hashint2extended(%s, %d)`, q, seed)
	case kindInt4:
		e = fmt.Sprintf(`hashint4extended(%s, %d)`, q, seed)
	case kindInt8:
		e = fmt.Sprintf(`hashint8extended(%s, %d)`, q, seed)
	case kindFloat4:
		e = fmt.Sprintf(`hashfloat4extended(%s, %d)`, q, seed)
	case kindFloat8:
		e = fmt.Sprintf(`hashfloat8extended(%s, %d)`, q, seed)
	case kindTimestamptz:
		e = fmt.Sprintf(`interval_hash_extended(%s - '2000-01-01 00:00:00+00'::timestamptz, %d)`, q, seed)
	case kindTimestamp:
		e = fmt.Sprintf(`interval_hash_extended(%s - '2000-01-01 00:00:00'::timestamp, %d)`, q, seed)
	case kindBytea:
		return fmt.Sprintf(`hash_record_extended(ROW(%s), %d)`, q, seed)
	default: // text, varchar, bpchar, json, jsonb
		e = fmt.Sprintf(`hashtextextended(%s::text COLLATE "C", %d)`, q, seed)
	}
	if c.NotNull {
		return e
	}
	return `COALESCE(` + e + `, 0)`
}

// columnHashSeed is the seed of the column at position i (from 0).
func columnHashSeed(i int) uint64 { return uint64(i + 1) }

// columnHashQuery computes the table's row count and the sum of its rows'
// hashes, each the XOR of its columns' (PostgreSQL 14 or newer), in one
// scan.
func (t *table) columnHashQuery() string {
	parts := make([]string, len(t.Columns))
	for i := range t.Columns {
		parts[i] = t.Columns[i].columnHashExpr(int(columnHashSeed(i)))
	}
	return fmt.Sprintf(`SELECT count(*), COALESCE(sum(%s), 0)::text FROM %s`,
		strings.Join(parts, " # "), quoteIdent(t.Name))
}

// digestQuery computes the table's row count and digest sum in one scan.
func (t *table) digestQuery() string {
	parts := make([]string, len(t.Columns))
	for i := range t.Columns {
		parts[i] = t.Columns[i].digestExpr()
	}
	return fmt.Sprintf(`SELECT count(*), COALESCE(sum(('x' || substr(md5(%s), 1, 16))::bit(64)::bigint), 0)::text FROM %s`,
		strings.Join(parts, " || "), quoteIdent(t.Name))
}

// targetDigest runs digestQuery, or with recordHash columnHashQuery, on
// c, in the table's transaction.
func targetDigest(ctx context.Context, c *postgres.Conn, t *table, recordHash bool) (int64, string, error) {
	var n int64
	var sum string
	q := t.digestQuery()
	if recordHash {
		q = t.columnHashQuery()
	}
	if err := c.QueryRow(ctx, q).Scan(&n, &sum); err != nil {
		return 0, "", fmt.Errorf("migrate db: verify %s: %w", t.Name, err)
	}
	return n, sum, nil
}

// compareRows is the row-by-row comparison behind a digest mismatch: it
// reads the table from the source snapshot (rd) and from the target (c, in
// the table's transaction), both in key order, and returns an error naming
// the first row and column that differ, or nil when none does.
func compareRows(ctx context.Context, rd *reader, c *postgres.Conn, t *table) error {
	srcRows := make(chan []driver.Value, 256)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var srcErr error
	go func() {
		defer close(srcRows)
		q := fmt.Sprintf(`SELECT %s FROM %s ORDER BY %s`, t.sourceSelectList(), quoteIdent(t.Name), t.orderBy(false))
		srcErr = rd.stream(ctx, q, func(vals []driver.Value) error {
			select {
			case srcRows <- append([]driver.Value(nil), vals...):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	defer func() {
		cancel()
		for range srcRows {
		}
	}()
	var n int64
	fail := func(row []driver.Value, format string, args ...any) error {
		return podium.Errorf(podium.EINTERNAL,
			"migrate db: verification failed for table %s: %s: the target was left as it was (nothing was switched in)",
			t.Name, fmt.Sprintf(format, args...)+" (row "+t.keyString(row)+")")
	}
	// differ is the comparison's own verdict, told apart from an error of
	// the query.
	var differ error
	err := c.QueryBinary(ctx, fmt.Sprintf(`SELECT %s FROM %s ORDER BY %s`, t.selectList(), quoteIdent(t.Name), t.orderBy(true)),
		func(raw [][]byte) error {
			src, ok := <-srcRows
			if !ok {
				if srcErr != nil {
					differ = srcErr
					return differ
				}
				differ = podium.Errorf(podium.EINTERNAL,
					"migrate db: verification failed for table %s: the target has more rows than the source's %d: the target was left as it was (nothing was switched in)", t.Name, n)
				return differ
			}
			n++
			for j := range t.Columns {
				col := &t.Columns[j]
				if !col.sameValue(src[j], raw[j]) {
					differ = fail(src, "column %s differs", col.Name)
					return differ
				}
			}
			return nil
		})
	if differ != nil {
		return differ
	}
	if err != nil {
		return fmt.Errorf("migrate db: verify %s row by row: %w", t.Name, err)
	}
	if src, ok := <-srcRows; ok {
		return fail(src, "the row is missing from the target, which has %d rows", n)
	}
	return srcErr
}

// sameValue compares a source value with the target's binary value as the
// verification defines equality: the same COPY field, or for JSON the same
// canonical form.
func (c *column) sameValue(v driver.Value, raw []byte) bool {
	if v == nil || raw == nil {
		return v == nil && raw == nil
	}
	if c.kind == kindJSON || c.kind == kindJSONB {
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case []byte:
			s = string(x)
		default:
			s = fmt.Sprint(x)
		}
		a, err1 := appendCanonicalJSON(nil, s)
		if c.kind == kindJSONB {
			if len(raw) == 0 || raw[0] != 1 {
				return false
			}
			raw = raw[1:]
		}
		b, err2 := appendCanonicalJSON(nil, string(raw))
		return err1 == nil && err2 == nil && bytes.Equal(a, b)
	}
	w, _, err := c.encodeField(v, nil)
	return err == nil && len(w) >= 4 && bytes.Equal(w[4:], raw)
}
