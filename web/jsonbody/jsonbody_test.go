package jsonbody

import (
	"testing"

	"github.com/podiumhq/podium"
)

// TestCheckText: JSON whose strings are not text is refused before
// encoding/json would rewrite it to U+FFFD or NUL; text in any script and
// escaped pairs pass.
func TestCheckText(t *testing.T) {
	t.Parallel()
	for in, ok := range map[string]bool{
		`{"a": "plain"}`:                           true,
		`{"a": "Zoë 日本語 ✓ 😀"}`:                     true,
		`{"a": "\ud83d\ude00"}`:                    true, // an escaped pair
		`{"a": "\\u0000"}`:                         true, // an escaped backslash, then text
		`{"a": "\u00e9\n\"\\"}`:                    true,
		"{\"a\": \"caf\xe9\"}":                     false, // Latin-1
		"{\"a\": \"\xff\xfe\"}":                    false,
		`{"a": "x\u0000y"}`:                        false,
		`{"a": "\ud800"}`:                          false, // unpaired high
		`{"a": "\udc00"}`:                          false, // unpaired low
		`{"a": "\ud800\u0041"}`:                    false, // high then not a low
		"{\"a\": \"ok\", \"b\": \"\xed\xa0\x80\"}": false, // a surrogate encoded in UTF-8
	} {
		err := CheckText([]byte(in))
		if (err == nil) != ok {
			t.Errorf("CheckText(%q) = %v, want ok %t", in, err, ok)
		}
		if err != nil && !podium.IsCode(err, podium.EINVALID) {
			t.Errorf("CheckText(%q): code %s, want invalid", in, podium.ErrorCode(err))
		}
	}
}
