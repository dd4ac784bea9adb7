package web

import "testing"

// TestSafeNext: the login redirect follows local paths only.
func TestSafeNext(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                      "",
		"/":                     "/",
		"/content/7/?tab=logs":  "/content/7/?tab=logs",
		"//evil.example/":       "",
		"/\\evil.example":       "",
		"https://evil.example/": "",
		"javascript:alert(1)":   "",
		"evil.example":          "",
		"/ok\r\nSet-Cookie: x":  "",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
