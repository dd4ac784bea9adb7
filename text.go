package podium

import (
	"strings"
	"unicode/utf8"
)

// CleanText returns s as PostgreSQL text (and Podium's SQLite CHECK
// constraints) accept it: each invalid UTF-8 sequence is replaced with
// U+FFFD, visibly, and NUL bytes are removed. Podium applies it to the
// output it captures from processes (render, build and task output, job
// logs) before storing it, and the schema upgrade applies it to what older
// releases stored without it, so that no run fails on its own output. It
// is never applied to values a user entered.
func CleanText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}
