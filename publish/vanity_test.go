package publish

import (
	"slices"
	"testing"

	"github.com/podiumhq/podium"
)

// TestNormalizeVanity: paths are stored lower case between slashes;
// Podium's own first segments are refused with ECONFLICT, malformed
// paths with EINVALID.
func TestNormalizeVanity(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want, code string }{
		{"Sales/Q3-report", "/sales/q3-report/", ""},
		{"/a/b.c_d/", "/a/b.c_d/", ""},
		{" /x ", "/x/", ""},
		{"/__api__/", "", podium.ECONFLICT},
		{"/__anything__/x", "", podium.ECONFLICT},
		{"/content/", "", podium.ECONFLICT},
		{"/Metrics", "", podium.ECONFLICT},
		{"/", "", podium.EINVALID},
		{"", "", podium.EINVALID},
		{"/a//b/", "", podium.EINVALID},
		{"/./", "", podium.EINVALID},
		{"/a/../b/", "", podium.EINVALID},
		{"/-a/", "", podium.EINVALID},
		{"/a%2fb/", "", podium.EINVALID},
		{"/é/", "", podium.EINVALID},
	} {
		got, err := NormalizeVanity(tc.in)
		switch {
		case tc.code == "" && (err != nil || got != tc.want):
			t.Errorf("NormalizeVanity(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		case tc.code != "" && !podium.IsCode(err, tc.code):
			t.Errorf("NormalizeVanity(%q) = %q, %v; want %s", tc.in, got, err, tc.code)
		}
	}
}

// TestVanityCandidates: every prefix at a segment boundary, lower case,
// the path itself with a slash added.
func TestVanityCandidates(t *testing.T) {
	t.Parallel()
	if got, want := VanityCandidates("/Sales/Report/x.html"), []string{"/sales/", "/sales/report/", "/sales/report/x.html/"}; !slices.Equal(got, want) {
		t.Errorf("candidates = %q, want %q", got, want)
	}
	if got, want := VanityCandidates("/a/b/"), []string{"/a/", "/a/b/"}; !slices.Equal(got, want) {
		t.Errorf("candidates = %q, want %q", got, want)
	}
	// Only ASCII letters fold: the Kelvin sign does not become "k", so no
	// candidate is shorter in bytes than the path it came from.
	if got, want := VanityCandidates("/\u212Aeam/x"), []string{"/\u212Aeam/", "/\u212Aeam/x/"}; !slices.Equal(got, want) {
		t.Errorf("candidates of a path with a Kelvin sign = %q, want %q", got, want)
	}
	if got := VanityCandidates("relative"); got != nil {
		t.Errorf("candidates of a relative path = %q", got)
	}
	long := ""
	for range 40 {
		long += "/s"
	}
	if got := VanityCandidates(long); len(got) != MaxVanitySegments {
		t.Errorf("%d candidates for a 40-segment path, want %d", len(got), MaxVanitySegments)
	}
}
