package web

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

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
