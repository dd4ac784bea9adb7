package migrate

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/podiumhq/podium/dbprovider/sqlite"
)

// appendCanonicalJSON appends a canonical form of the JSON text s to buf:
// the same bytes for any two texts that jsonb stores as the same value.
// jsonb drops whitespace, keeps the last of duplicate keys, reorders keys
// and normalizes numbers, so the canonical form does the same: no
// whitespace, keys sorted bytewise, last duplicate wins, strings decoded
// and re-escaped minimally, numbers as sign, significant digits and
// exponent. It refuses what jsonb refuses: invalid JSON and \u0000.
//
// It is hand-written because it runs on every JSON value on both sides of
// the verification, where encoding/json's decode and re-encode is several
// times slower.
func appendCanonicalJSON(buf []byte, s string) ([]byte, error) {
	p := jsonParser{s: s}
	p.skipSpace()
	out, err := p.value(buf, 0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i != len(p.s) {
		return nil, p.errorf("unexpected data after the value")
	}
	return out, nil
}

type jsonParser struct {
	s string
	i int
	// pg writes PostgreSQL's jsonb output text instead of the canonical
	// form (see appendJSONBText).
	pg bool
}

// appendJSONBText appends the text PostgreSQL's jsonb output function
// gives for the JSON text s (what jsonb_send returns after its version
// byte): keys ordered by length then bytes, the last duplicate kept,
// ", " and ": " between items, strings re-escaped as escape_json does,
// numbers as numeric_out prints them. The verification digest hashes it on
// the client for what PostgreSQL hashes from the stored jsonb; a case it
// gets wrong only makes the digests differ, and the row-by-row comparison
// that follows compares canonical forms. It refuses what jsonb refuses.
func appendJSONBText(buf []byte, s string) ([]byte, error) {
	p := jsonParser{s: s, pg: true}
	p.skipSpace()
	out, err := p.value(buf, 0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i != len(p.s) {
		return nil, p.errorf("unexpected data after the value")
	}
	return out, nil
}

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("at offset %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *jsonParser) skipSpace() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

const maxJSONDepth = 6400 // PostgreSQL's stack allows far less; this only bounds recursion

func (p *jsonParser) value(buf []byte, depth int) ([]byte, error) {
	if depth > maxJSONDepth {
		return nil, p.errorf("nested too deeply")
	}
	if p.i >= len(p.s) {
		return nil, p.errorf("unexpected end of JSON")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object(buf, depth)
	case c == '[':
		p.i++
		buf = append(buf, '[')
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			return append(buf, ']'), nil
		}
		for {
			var err error
			p.skipSpace()
			if buf, err = p.value(buf, depth+1); err != nil {
				return nil, err
			}
			p.skipSpace()
			if p.i >= len(p.s) {
				return nil, p.errorf("unterminated array")
			}
			if p.s[p.i] == ',' {
				p.i++
				buf = append(buf, ',')
				if p.pg {
					buf = append(buf, ' ')
				}
				continue
			}
			if p.s[p.i] == ']' {
				p.i++
				return append(buf, ']'), nil
			}
			return nil, p.errorf("expected , or ]")
		}
	case c == '"':
		return p.str(buf)
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number(buf)
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if len(p.s)-p.i >= len(lit) && p.s[p.i:p.i+len(lit)] == lit {
				p.i += len(lit)
				return append(buf, lit...), nil
			}
		}
		return nil, p.errorf("invalid character %q", c)
	}
}

// member is one key/value pair of an object in the output buffer.
type member struct{ start, keyEnd, end int }

func (p *jsonParser) object(buf []byte, depth int) ([]byte, error) {
	p.i++ // {
	buf = append(buf, '{')
	base := len(buf)
	// Small objects, the common case, sort on the stack.
	var memberSpace [16]member
	members := memberSpace[:0]
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return append(buf, '}'), nil
	}
	for {
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return nil, p.errorf("expected a string key")
		}
		m := member{start: len(buf)}
		var err error
		if buf, err = p.str(buf); err != nil {
			return nil, err
		}
		m.keyEnd = len(buf)
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, p.errorf("expected :")
		}
		p.i++
		buf = append(buf, ':')
		if p.pg {
			buf = append(buf, ' ')
		}
		p.skipSpace()
		if buf, err = p.value(buf, depth+1); err != nil {
			return nil, err
		}
		m.end = len(buf)
		members = append(members, m)
		p.skipSpace()
		if p.i >= len(p.s) {
			return nil, p.errorf("unterminated object")
		}
		if p.s[p.i] == ',' {
			p.i++
			continue
		}
		if p.s[p.i] == '}' {
			p.i++
			break
		}
		return nil, p.errorf("expected , or }")
	}
	if len(members) > 1 {
		var regionSpace [256]byte
		region := append(regionSpace[:0], buf[base:]...)
		for i := range members {
			members[i].start -= base
			members[i].keyEnd -= base
			members[i].end -= base
		}
		key := func(m member) []byte { return region[m.start:m.keyEnd] }
		// Stable sort keeps duplicates in input order; the last one wins.
		// jsonb orders keys by length first (of the escaped text here,
		// which differs only for keys with escapes).
		slices.SortStableFunc(members, func(a, b member) int {
			if p.pg && len(key(a)) != len(key(b)) {
				return len(key(a)) - len(key(b))
			}
			return bytes.Compare(key(a), key(b))
		})
		buf = buf[:base]
		for i, m := range members {
			if i+1 < len(members) && bytes.Equal(key(m), key(members[i+1])) {
				continue
			}
			if len(buf) > base {
				buf = append(buf, ',')
				if p.pg {
					buf = append(buf, ' ')
				}
			}
			buf = append(buf, region[m.start:m.end]...)
		}
	}
	return append(buf, '}'), nil
}

var errNULEscape = errors.New(`\u0000 cannot be stored in jsonb`)

func (p *jsonParser) str(buf []byte) ([]byte, error) {
	p.i++ // opening quote
	buf = append(buf, '"')
	for {
		if p.i >= len(p.s) {
			return nil, p.errorf("unterminated string")
		}
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return append(buf, '"'), nil
		case c < 0x20:
			return nil, p.errorf("control character 0x%02x in a string must be escaped", c)
		case c == '\\':
			if p.i+1 >= len(p.s) {
				return nil, p.errorf("unterminated escape")
			}
			e := p.s[p.i+1]
			p.i += 2
			switch e {
			case '"', '\\', '/':
				buf = p.appendRune(buf, rune(e))
			case 'b':
				buf = p.appendRune(buf, '\b')
			case 'f':
				buf = p.appendRune(buf, '\f')
			case 'n':
				buf = p.appendRune(buf, '\n')
			case 'r':
				buf = p.appendRune(buf, '\r')
			case 't':
				buf = p.appendRune(buf, '\t')
			case 'u':
				r, err := p.hex4()
				if err != nil {
					return nil, err
				}
				if r == 0 {
					return nil, errNULEscape
				}
				if utf16.IsSurrogate(r) {
					if r >= 0xdc00 || p.i+6 > len(p.s) || p.s[p.i] != '\\' || p.s[p.i+1] != 'u' {
						return nil, p.errorf("unpaired surrogate in \\u escape")
					}
					p.i += 2
					r2, err := p.hex4()
					if err != nil {
						return nil, err
					}
					r = utf16.DecodeRune(r, r2)
					if r == utf8.RuneError {
						return nil, p.errorf("invalid surrogate pair")
					}
				}
				buf = p.appendRune(buf, r)
			default:
				return nil, p.errorf("invalid escape \\%c", e)
			}
		default:
			buf = append(buf, c)
			p.i++
		}
	}
}

func (p *jsonParser) hex4() (rune, error) {
	if p.i+4 > len(p.s) {
		return 0, p.errorf("short \\u escape")
	}
	v, err := strconv.ParseUint(p.s[p.i:p.i+4], 16, 32)
	if err != nil {
		return 0, p.errorf("bad \\u escape")
	}
	p.i += 4
	return rune(v), nil
}

// appendRune appends r escaped: minimally, or as PostgreSQL's escape_json
// does (short escapes for \b \f \n \r \t).
func (p *jsonParser) appendRune(buf []byte, r rune) []byte {
	if p.pg {
		switch r {
		case '\b':
			return append(buf, '\\', 'b')
		case '\f':
			return append(buf, '\\', 'f')
		case '\n':
			return append(buf, '\\', 'n')
		case '\r':
			return append(buf, '\\', 'r')
		case '\t':
			return append(buf, '\\', 't')
		}
	}
	return appendJSONRune(buf, r)
}

func appendJSONRune(buf []byte, r rune) []byte {
	switch {
	case r == '"':
		return append(buf, '\\', '"')
	case r == '\\':
		return append(buf, '\\', '\\')
	case r < 0x20:
		return fmt.Appendf(buf, `\u%04x`, r)
	default:
		return utf8.AppendRune(buf, r)
	}
}

// number appends sign, significant digits (no leading or trailing zeros)
// and "e" exponent: "1.50", "15e-1" and "0.15E1" all become "15e-1", and
// every zero becomes "0", as numeric equality in jsonb has it.
func (p *jsonParser) number(buf []byte) ([]byte, error) {
	start := p.i
	neg := false
	if p.s[p.i] == '-' {
		neg = true
		p.i++
	}
	intStart := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	intPart := p.s[intStart:p.i]
	if intPart == "" || (len(intPart) > 1 && intPart[0] == '0') {
		return nil, p.errorf("invalid number %q", p.s[start:p.i])
	}
	frac := ""
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		fs := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		frac = p.s[fs:p.i]
		if frac == "" {
			return nil, p.errorf("invalid number")
		}
	}
	exp := int64(0)
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		es := p.i
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		ds := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		if ds == p.i {
			return nil, p.errorf("invalid number exponent")
		}
		v, err := strconv.ParseInt(p.s[es:p.i], 10, 32)
		if err != nil {
			return nil, p.errorf("number exponent out of range")
		}
		exp = v
	}
	if err := sqlite.PGNumericRange(intPart, frac, exp); err != nil {
		return nil, p.errorf("number %s", err)
	}
	if p.pg {
		return appendNumericOut(buf, neg, intPart, frac, exp), nil
	}
	digits := intPart + frac
	exp -= int64(len(frac))
	// Strip leading zeros, then trailing zeros (moving them to exp).
	i := 0
	for i < len(digits) && digits[i] == '0' {
		i++
	}
	digits = digits[i:]
	if digits == "" {
		return append(buf, '0'), nil
	}
	j := len(digits)
	for j > 0 && digits[j-1] == '0' {
		j--
	}
	exp += int64(len(digits) - j)
	digits = digits[:j]
	if neg {
		buf = append(buf, '-')
	}
	buf = append(buf, digits...)
	if exp != 0 {
		buf = append(buf, 'e')
		buf = strconv.AppendInt(buf, exp, 10)
	}
	return buf, nil
}

// appendNumericOut appends numeric_out's text of the JSON number
// -?intPart.frac e exp as numeric_in reads it: no exponent, the display
// scale len(frac)-exp (at least 0), no sign on zero.
func appendNumericOut(buf []byte, neg bool, intPart, frac string, exp int64) []byte {
	digits := intPart + frac
	point := int64(len(intPart)) + exp // digits before the decimal point
	scale := max(int64(len(frac))-exp, 0)
	zero := strings.Trim(digits, "0") == ""
	if neg && !zero {
		buf = append(buf, '-')
	}
	// Integer part.
	start := len(buf)
	switch {
	case point <= 0:
	case point >= int64(len(digits)):
		buf = append(buf, digits...)
		for range point - int64(len(digits)) {
			buf = append(buf, '0')
		}
	default:
		buf = append(buf, digits[:point]...)
	}
	// Strip leading zeros of the integer part, keeping one digit.
	j := start
	for j < len(buf)-1 && buf[j] == '0' {
		j++
	}
	buf = append(buf[:start], buf[j:]...)
	if len(buf) == start {
		buf = append(buf, '0')
	}
	if scale == 0 {
		return buf
	}
	buf = append(buf, '.')
	for range min(-point, scale) {
		buf = append(buf, '0')
	}
	if point < int64(len(digits)) {
		buf = append(buf, digits[max(point, 0):]...)
	}
	return buf
}
