package route

import "testing"

func TestExpand(t *testing.T) {
	t.Parallel()
	params := map[string]string{"guid": "abc", "id": "7"}
	for pattern, want := range map[string]string{
		"":                    "",
		"content:{guid}":      "content:abc",
		"{guid}/{id}":         "abc/7",
		"key:{missing}":       "key:",
		"open {guid":          "open {guid",
		"plain":               "plain",
		"a{id}b{guid}c{id}d}": "a7babcc7d}",
	} {
		if got := Expand(pattern, func(n string) string { return params[n] }); got != want {
			t.Errorf("Expand(%q) = %q, want %q", pattern, got, want)
		}
	}
}
