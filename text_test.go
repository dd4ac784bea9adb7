package podium_test

import (
	"testing"

	"github.com/podiumhq/podium"
)

func TestCleanText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain", "plain"},
		{"a\x00b", "ab"},
		{"a\xffb", "a\uFFFDb"},
		{"\xe2\x82", "\uFFFD"}, // a sequence cut short, as a byte-bounded tail leaves it
		{"\x00\xff\x00", "\uFFFD"},
		{"\xff\xfe", "\uFFFD"}, // a run of invalid bytes is one U+FFFD
		{"ü€", "ü€"},
	} {
		if got := podium.CleanText(c.in); got != c.want {
			t.Errorf("CleanText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
