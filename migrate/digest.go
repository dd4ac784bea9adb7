package migrate

import (
	"bytes"
	"context"
	"crypto/md5"
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"math/big"
	"math/bits"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/podiumhq/podium"
)

// Verification computes one digest per table on each side and compares
// them, instead of reading every row back:
//
//   - a row's digest bytes are its binary COPY fields (32-bit length and
//     the type's binary representation, or -1 for NULL), exactly what the
//     client sends and what PostgreSQL's send functions return for the
//     stored values; for jsonb, whose stored form is normalized, they are
//     jsonb_send's bytes and a 0 byte, which the client reproduces from the
//     text (appendJSONBText);
//   - the table's digest is the row count and the sum, as a 128-bit
//     integer, of the first 8 bytes of each row's MD5 read as a signed
//     big-endian integer: independent of the order rows are stored or read
//     in, so PostgreSQL computes it with one sequential (or parallel) scan,
//     no sort and no index, and the client from the stream it sends.
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
	v := binary.BigEndian.Uint64(s[:8])
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

// hasJSONB reports whether the table's digest bytes differ from its COPY
// fields.
func (t *table) hasJSONB() bool {
	for _, c := range t.Columns {
		if c.kind == kindJSONB {
			return true
		}
	}
	return false
}

// digestExpr is the SQL expression of a column's digest bytes.
func (c *column) digestExpr() string {
	q := quoteIdent(c.Name)
	field := func(fixed int, send string) string {
		return fmt.Sprintf(`'\x%08x'::bytea || %s(%s)`, fixed, send, q)
	}
	var e string
	switch c.kind {
	case kindBool:
		e = field(1, "boolsend")
	case kindInt2:
		e = field(2, "int2send")
	case kindInt4:
		e = field(4, "int4send")
	case kindInt8:
		e = field(8, "int8send")
	case kindFloat4:
		e = field(4, "float4send")
	case kindFloat8:
		e = field(8, "float8send")
	case kindTimestamptz:
		e = field(8, "timestamptz_send")
	case kindTimestamp:
		e = field(8, "timestamp_send")
	case kindBytea:
		e = fmt.Sprintf(`int4send(octet_length(%s)) || %s`, q, q)
	case kindJSON:
		e = fmt.Sprintf(`int4send(octet_length(%s::text)) || json_send(%s)`, q, q)
	case kindJSONB:
		e = fmt.Sprintf(`jsonb_send(%s) || '\x00'::bytea`, q)
	default: // text, varchar, bpchar
		e = fmt.Sprintf(`int4send(octet_length(%s::text)) || textsend(%s::text)`, q, q)
	}
	return `COALESCE(` + e + `, '\xffffffff'::bytea)`
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

// targetDigest runs digestQuery on c, in the table's transaction.
func targetDigest(ctx context.Context, c *pgx.Conn, t *table) (int64, string, error) {
	var n int64
	var sum string
	if err := c.QueryRow(ctx, t.digestQuery()).Scan(&n, &sum); err != nil {
		return 0, "", fmt.Errorf("migrate db: verify %s: %w", t.Name, err)
	}
	return n, sum, nil
}

// compareRows is the row-by-row comparison behind a digest mismatch: it
// reads the table from the source snapshot (rd) and from the target (c, in
// the table's transaction), both in key order, and returns an error naming
// the first row and column that differ, or nil when none does.
func compareRows(ctx context.Context, rd *reader, c *pgx.Conn, t *table) error {
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
	rows, err := c.Query(ctx, fmt.Sprintf(`SELECT %s FROM %s ORDER BY %s`, t.selectList(), quoteIdent(t.Name), t.orderBy(true)),
		pgx.QueryResultFormats{pgx.BinaryFormatCode})
	if err != nil {
		return fmt.Errorf("migrate db: verify %s row by row: %w", t.Name, err)
	}
	defer rows.Close()
	var n int64
	fail := func(row []driver.Value, format string, args ...any) error {
		return podium.Errorf(podium.EINTERNAL,
			"migrate db: verification failed for table %s: %s: the target was left as it was (nothing was switched in)",
			t.Name, fmt.Sprintf(format, args...)+" (row "+t.keyString(row)+")")
	}
	for rows.Next() {
		raw := rows.RawValues()
		src, ok := <-srcRows
		if !ok {
			if srcErr != nil {
				return srcErr
			}
			return podium.Errorf(podium.EINTERNAL,
				"migrate db: verification failed for table %s: the target has more rows than the source's %d: the target was left as it was (nothing was switched in)", t.Name, n)
		}
		n++
		for j := range t.Columns {
			col := &t.Columns[j]
			if !col.sameValue(src[j], raw[j]) {
				return fail(src, "column %s differs", col.Name)
			}
		}
	}
	if err := rows.Err(); err != nil {
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
