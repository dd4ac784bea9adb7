package migrate

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// kind is how a column is converted and encoded, decided by the
// PostgreSQL column's type (the target defines what a value must become).
type kind int

const (
	kindBool kind = iota
	kindInt2
	kindInt4
	kindInt8
	kindFloat4
	kindFloat8
	kindText
	kindBytea
	kindTimestamptz
	kindTimestamp
	kindJSON
	kindJSONB
)

// PostgreSQL type OIDs of the kinds above (pg_type.oid, fixed since 8.x).
var kindByOID = map[uint32]kind{
	16:   kindBool,
	17:   kindBytea,
	20:   kindInt8,
	21:   kindInt2,
	23:   kindInt4,
	25:   kindText,
	114:  kindJSON,
	700:  kindFloat4,
	701:  kindFloat8,
	1042: kindText, // bpchar
	1043: kindText, // varchar
	1114: kindTimestamp,
	1184: kindTimestamptz,
	3802: kindJSONB,
}

// column is one column of a copied table, as the target declares it.
type column struct {
	Name     string
	TypeName string // PostgreSQL type, for messages
	OID      uint32
	kind     kind
	// NotNull: the column is NOT NULL (its digest bytes need no NULL
	// marker).
	NotNull bool
}

// valueError is a source value that cannot go into its target column
// unchanged. The caller adds the table and the row's key.
type valueError struct {
	Column string
	Reason string
	Fix    string
}

func (e *valueError) Error() string { return fmt.Sprintf("column %s: %s", e.Column, e.Reason) }

// pgEpochMicros is 2000-01-01 00:00:00 UTC in microseconds since the Unix
// epoch: PostgreSQL's binary timestamps count from there.
const pgEpochMicros = 946684800 * 1000000

// encode converts a SQLite value for this column: it appends the field
// PostgreSQL's binary COPY format expects (a 32-bit length, -1 for NULL,
// then the bytes of the type's binary representation) to w, and, with
// dig, the value's digest bytes to h (see digestExpr). JSON columns always
// append to h (their check parses the text), so a caller without dig
// resets h. It returns the number of
// payload bytes for the summary. Writing the COPY field here, from the
// value just checked, costs no boxing and no per-value encoder lookup; the
// bytes are what pgx would send for the Go value of the column's type.
func (c *column) encode(v any, h, w []byte, dig bool) ([]byte, []byte, int, error) {
	ws := len(w)
	if v != nil && (c.kind == kindJSON || c.kind == kindJSONB) {
		return c.encodeJSON(v, h, w, dig)
	}
	w, size, err := c.encodeField(v, w)
	if err != nil {
		return h, w[:ws], 0, err
	}
	if dig {
		h = c.appendDigest(h, w[ws:], v == nil)
	}
	return h, w, size, nil
}

// appendDigest appends the digest bytes of a value that is not JSON, from
// its COPY field, as digestExpr computes them in PostgreSQL.
func (c *column) appendDigest(h, field []byte, null bool) []byte {
	switch c.kind {
	case kindBool:
		if null {
			return append(h, 0xff)
		}
		return append(h, field[4:]...)
	case kindJSON, kindJSONB: // NULL only: encodeJSON does the others
		return append(h, 0xff)
	case kindText:
		if null {
			return append(h, 0xff)
		}
		return append(append(h, field[4:]...), 0)
	case kindBytea:
		return append(h, field...)
	}
	// Fixed width.
	switch {
	case null:
		return append(h, 0)
	case c.NotNull:
		return append(h, field[4:]...)
	}
	return append(append(h, 1), field[4:]...)
}

func (c *column) encodeField(v any, w []byte) ([]byte, int, error) {
	if v == nil {
		return append(w, 0xff, 0xff, 0xff, 0xff), 0, nil
	}
	switch c.kind {
	case kindBool:
		var b byte
		switch x := v.(type) {
		case int64:
			if x != 0 && x != 1 {
				return w, 0, c.bad(v, "a boolean must be 0 or 1", "")
			}
			b = byte(x)
		case bool:
			if x {
				b = 1
			}
		default:
			return w, 0, c.bad(v, "a boolean must be 0 or 1", "")
		}
		return append(w, 0, 0, 0, 1, b), 1, nil
	case kindInt2, kindInt4, kindInt8:
		x, ok := v.(int64)
		if !ok {
			if f, isF := v.(float64); isF && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				x, ok = int64(f), true
			}
		}
		if !ok {
			return w, 0, c.bad(v, "not an integer", "")
		}
		switch c.kind {
		case kindInt2:
			if x < math.MinInt16 || x > math.MaxInt16 {
				return w, 0, c.bad(v, fmt.Sprintf("%d is out of range for %s", x, c.TypeName), "")
			}
			return binary.BigEndian.AppendUint16(append(w, 0, 0, 0, 2), uint16(x)), 8, nil
		case kindInt4:
			if x < math.MinInt32 || x > math.MaxInt32 {
				return w, 0, c.bad(v, fmt.Sprintf("%d is out of range for %s", x, c.TypeName), "")
			}
			return binary.BigEndian.AppendUint32(append(w, 0, 0, 0, 4), uint32(x)), 8, nil
		}
		return binary.BigEndian.AppendUint64(append(w, 0, 0, 0, 8), uint64(x)), 8, nil
	case kindFloat4, kindFloat8:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case int64:
			f = float64(x)
		default:
			return w, 0, c.bad(v, "not a number", "")
		}
		if c.kind == kindFloat4 {
			return binary.BigEndian.AppendUint32(append(w, 0, 0, 0, 4), math.Float32bits(float32(f))), 4, nil
		}
		return binary.BigEndian.AppendUint64(append(w, 0, 0, 0, 8), math.Float64bits(f)), 8, nil
	case kindText:
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case []byte:
			s = string(x)
		case int64:
			s = strconv.FormatInt(x, 10)
		case float64:
			s = strconv.FormatFloat(x, 'g', -1, 64)
		case time.Time:
			// A TIMESTAMP-declared SQLite column whose target is text:
			// keep SQLite's own text form.
			s = x.Format("2006-01-02 15:04:05.999999999-07:00")
		default:
			return w, 0, c.bad(v, "unexpected value", "")
		}
		if err := c.checkText(s); err != nil {
			return w, 0, err
		}
		return appendField(w, s), len(s), nil
	case kindBytea:
		switch x := v.(type) {
		case []byte:
			return appendField(w, x), len(x), nil
		case string:
			return appendField(w, x), len(x), nil
		}
		return w, 0, c.bad(v, "not a blob", "")
	case kindTimestamptz, kindTimestamp:
		var t time.Time
		switch x := v.(type) {
		case time.Time:
			t = x
		case string:
			var err error
			if t, err = parseTime(x); err != nil {
				return w, 0, c.bad(v, "not a time SQLite or PostgreSQL can read", "store it as 'YYYY-MM-DD HH:MM:SS.ffffff+00:00'")
			}
		default:
			return w, 0, c.bad(v, "not a time", "")
		}
		// PostgreSQL keeps microseconds: round here, as it would. Binary
		// timestamps count microseconds from 2000-01-01 (for timestamp
		// without time zone, the UTC wall clock, which is how Podium
		// stores times).
		us := t.Round(time.Microsecond).UnixMicro()
		return binary.BigEndian.AppendUint64(append(w, 0, 0, 0, 8), uint64(us-pgEpochMicros)), 8, nil
	}
	return w, 0, c.bad(v, "unsupported target type "+c.TypeName, "")
}

// encodeJSON is encode for a json or jsonb value that is not NULL.
func (c *column) encodeJSON(v any, h, w []byte, dig bool) ([]byte, []byte, int, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case []byte:
		s = string(x)
	case int64, float64:
		s = fmt.Sprint(x)
	default:
		return h, w, 0, c.bad(v, "not JSON text", "")
	}
	if !utf8.ValidString(s) {
		return h, w, 0, c.bad(v, "JSON text is not valid UTF-8", "")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return h, w, 0, c.nul()
	}
	mark := len(h)
	if c.kind == kindJSONB {
		// The check and the digest bytes in one parse: jsonb_send is a
		// version byte (1) and the output text.
		out, err := appendJSONBText(append(h, 1), s)
		if err != nil {
			return h[:mark], w, 0, c.badJSON(v, err)
		}
		if !dig {
			out = out[:mark]
		} else {
			out = append(out, 0)
		}
		w = binary.BigEndian.AppendUint32(w, uint32(len(s)+1))
		return out, append(append(w, 1), s...), len(s), nil
	}
	// json keeps the text as given: only check it.
	if _, err := appendCanonicalJSON(h, s); err != nil {
		return h[:mark], w, 0, c.badJSON(v, err)
	}
	h = h[:mark]
	if dig {
		h = append(append(h, s...), 0)
	}
	return h, appendField(w, s), len(s), nil
}

func (c *column) badJSON(v any, err error) error {
	return c.bad(v, "invalid JSON for "+c.TypeName+": "+err.Error(),
		"fix the JSON text in SQLite (for example with sqlite3 and json_valid()), then run this command again")
}

func (c *column) checkText(s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return c.nul()
	}
	if !utf8.ValidString(s) {
		return &valueError{Column: c.Name, Reason: "text is not valid UTF-8, which PostgreSQL rejects",
			Fix: "correct the value in SQLite with the node stopped, then run this command again"}
	}
	return nil
}

func (c *column) nul() error {
	return &valueError{Column: c.Name,
		Reason: "text contains a NUL byte (\\0), which PostgreSQL cannot store; podium never alters data silently",
		Fix: fmt.Sprintf("with the node stopped, remove or replace the NUL bytes in SQLite, for example "+
			"sqlite3 podium.db \"UPDATE ... SET %s = replace(%s, char(0), '') WHERE ...\", then run this command again", c.Name, c.Name)}
}

func (c *column) bad(v any, reason, fix string) error {
	if fix == "" {
		fix = "correct the value in SQLite with the node stopped, then run this command again"
	}
	return &valueError{Column: c.Name, Reason: fmt.Sprintf("%s (SQLite value of type %T cannot go into %s)", reason, v, c.TypeName), Fix: fix}
}

// appendField appends a binary COPY field: its 32-bit length, then b.
func appendField[T string | []byte](w []byte, b T) []byte {
	w = binary.BigEndian.AppendUint32(w, uint32(len(b)))
	return append(w, b...)
}

var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02",
}

// parseTime reads the time texts SQLite's date functions and Go's drivers
// write; times without a zone are UTC (that is how Podium stores them).
func parseTime(s string) (time.Time, error) {
	if t, ok := parseTimeFast(s); ok {
		return t, nil
	}
	s = strings.TrimSpace(s)
	if i := strings.Index(s, " m="); i >= 0 { // Go's String() monotonic suffix
		s = s[:i]
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unparsable time")
}

// parseTimeFast parses "YYYY-MM-DD HH:MM:SS[.f{1,9}][Z|±HH:MM]" (a "T"
// may stand for the space), the form Podium writes, without time.Parse's
// generic layout machinery; anything else reports false.
func parseTimeFast(s string) (time.Time, bool) {
	num := func(a, b int) (int, bool) {
		n := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 7)
	d, ok3 := num(8, 10)
	h, ok4 := num(11, 13)
	mi, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return time.Time{}, false
	}
	i, nsec := 19, 0
	if i < len(s) && s[i] == '.' {
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		digits := j - i - 1
		if digits == 0 || digits > 9 {
			return time.Time{}, false
		}
		nsec, _ = num(i+1, j)
		for k := digits; k < 9; k++ {
			nsec *= 10
		}
		i = j
	}
	offset := 0
	switch {
	case i == len(s):
	case s[i] == 'Z' && i+1 == len(s):
	case (s[i] == '+' || s[i] == '-') && i+6 == len(s) && s[i+3] == ':':
		oh, ok1 := num(i+1, i+3)
		om, ok2 := num(i+4, i+6)
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = oh*3600 + om*60
		if s[i] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	if mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, nsec, time.UTC)
	if t.Day() != d { // February 30th and the like
		return time.Time{}, false
	}
	return t.Add(-time.Duration(offset) * time.Second), true
}
