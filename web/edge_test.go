package web

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"

	"github.com/podiumhq/podium"
)

// TestCheckJSONText: JSON whose strings are not text is refused before
// encoding/json would rewrite it to U+FFFD or NUL; text in any script and
// escaped pairs pass.
func TestCheckJSONText(t *testing.T) {
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
		err := checkJSONText([]byte(in))
		if (err == nil) != ok {
			t.Errorf("checkJSONText(%q) = %v, want ok %t", in, err, ok)
		}
		if err != nil && !podium.IsCode(err, podium.EINVALID) {
			t.Errorf("checkJSONText(%q): code %s, want invalid", in, podium.ErrorCode(err))
		}
	}
}

// TestTextReader: the streaming check finds bad bytes wherever the reads
// split the input, and passes characters split between reads.
func TestTextReader(t *testing.T) {
	t.Parallel()
	for in, ok := range map[string]bool{
		"Zoë 日本語 ✓ 😀 and more": true,
		"abc\xffdef":           false,
		"abc\x00def":           false,
		"ends inside \xe6\x97": false,
	} {
		tr := &textReader{}
		// One byte at a time: every multi-byte character is split.
		r := iotest.OneByteReader(bytes.NewReader([]byte(in)))
		var err error
		buf := make([]byte, 1)
		for err == nil {
			var n int
			n, err = r.Read(buf)
			if cerr := tr.check(buf[:n], err == io.EOF); cerr != nil {
				err = cerr
			}
		}
		if (err == io.EOF) != ok {
			t.Errorf("textReader(%q): %v, want ok %t", in, err, ok)
		}
	}
}
