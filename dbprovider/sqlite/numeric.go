package sqlite

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// PostgreSQL's numeric, which jsonb stores JSON numbers as, holds at most
// 131072 digits before the decimal point and 16383 after it (its weight
// and display scale limits); a number beyond them is refused ("value
// overflows numeric format"). SQLite's json_valid() accepts them, and no
// SQL of SQLite can find them without also refusing text inside JSON
// strings, so they are checked here: on the provider's writes (write
// guard) and by "podium migrate db" as it converts each value.
const (
	pgNumericMaxIntDigits  = 131072
	pgNumericMaxFracDigits = 16383
)

// PGNumericRange reports whether a JSON number, given as its integer
// digits, fraction digits and exponent, fits PostgreSQL's numeric; the
// error says why not.
func PGNumericRange(intPart, frac string, exp int64) error {
	if scale := int64(len(frac)) - exp; scale > pgNumericMaxFracDigits {
		return fmt.Errorf("has %d digits after the decimal point, more than PostgreSQL's numeric holds (%d)", scale, pgNumericMaxFracDigits)
	}
	// The position of the first significant digit, as a power of ten.
	var lead int64
	switch i, f := strings.TrimLeft(intPart, "0"), strings.TrimLeft(frac, "0"); {
	case i != "":
		lead = int64(len(i)) - 1 + exp
	case f != "":
		lead = -int64(len(frac)-len(f)) - 1 + exp
	default:
		return nil // zero
	}
	if lead >= pgNumericMaxIntDigits {
		return fmt.Errorf("has %d digits before the decimal point, more than PostgreSQL's numeric holds (%d)", lead+1, pgNumericMaxIntDigits)
	}
	return nil
}

// jsonNumbersFit checks every number of s, when s is a JSON object or
// array, against PGNumericRange. Other text is not looked at.
func jsonNumbersFit(s string) error {
	if s == "" || (s[0] != '{' && s[0] != '[') || !json.Valid([]byte(s)) {
		return nil
	}
	inString := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '-' || (c >= '0' && c <= '9'):
			// s is valid JSON: outside strings, this starts a number.
			j := i
			if s[j] == '-' {
				j++
			}
			is := j
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			intPart, frac := s[is:j], ""
			if j < len(s) && s[j] == '.' {
				fs := j + 1
				for j = fs; j < len(s) && s[j] >= '0' && s[j] <= '9'; j++ {
				}
				frac = s[fs:j]
			}
			var exp int64
			if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
				es := j + 1
				for j = es; j < len(s) && (s[j] == '+' || s[j] == '-' || (s[j] >= '0' && s[j] <= '9')); j++ {
				}
				v, err := strconv.ParseInt(s[es:j], 10, 32)
				if err != nil {
					return fmt.Errorf("JSON number %.20s...: exponent out of range", s[i:j])
				}
				exp = v
			}
			if err := PGNumericRange(intPart, frac, exp); err != nil {
				return fmt.Errorf("JSON number %.20s... %w", s[i:j], err)
			}
			i = j - 1
		}
	}
	return nil
}
