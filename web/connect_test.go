package web

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/podiumhq/podium"
)

func multipartBody(t *testing.T, parts ...[2]string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		if err := w.WriteField(p[0], p[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf, w.Boundary()
}

// TestMultipartBundle checks the multipart upload reader: the archive
// streams with the metadata kept, and every malformed upload is refused
// with a message saying what to send.
func TestMultipartBundle(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		body, boundary := multipartBody(t, [2]string{"metadata", `{"source":"git"}`}, [2]string{"archive", "ARCHIVE"})
		r, md, err := multipartBundle(body, boundary, 100)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r)
		if string(got) != "ARCHIVE" || string(md) != `{"source":"git"}` {
			t.Fatalf("archive %q metadata %s", got, md)
		}
	})
	t.Run("ErrTooLarge", func(t *testing.T) {
		body, boundary := multipartBody(t, [2]string{"archive", strings.Repeat("x", 50)})
		r, _, err := multipartBundle(body, boundary, 10)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(r)
		var mbe *http.MaxBytesError
		if !errors.As(err, &mbe) || mbe.Limit != 10 {
			t.Fatalf("over the limit: %v", err)
		}
	})
	for _, tc := range []struct {
		name  string
		parts [][2]string
		code  string
		want  string
	}{
		{"ErrNoArchive", [][2]string{{"metadata", `{}`}}, podium.EINVALID, `no "archive" part`},
		{"ErrMetadataNotObject", [][2]string{{"metadata", `[1]`}, {"archive", "x"}}, podium.EINVALID, "must be a JSON object"},
		{"ErrMetadataTooLarge", [][2]string{{"metadata", `{"a":"` + strings.Repeat("x", MaxBundleMetadata) + `"}`}, {"archive", "x"}}, podium.ETOOLARGE, "metadata part is larger"},
		{"ErrUnknownPart", [][2]string{{"bundle", "x"}}, podium.EINVALID, `unexpected multipart part "bundle"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, boundary := multipartBody(t, tc.parts...)
			_, _, err := multipartBundle(body, boundary, 100)
			if podium.ErrorCode(err) != tc.code || !strings.Contains(podium.ErrorMessage(err), tc.want) {
				t.Fatalf("err = %v, want %s with %q", err, tc.code, tc.want)
			}
		})
	}
	if _, _, err := multipartBundle(strings.NewReader(""), "", 100); podium.ErrorCode(err) != podium.EINVALID {
		t.Fatalf("no boundary: %v", err)
	}
}

// TestUserGUID checks that the GUIDs derived from user ids map back, and
// that other GUIDs name no user.
func TestUserGUID(t *testing.T) {
	t.Parallel()
	for _, id := range []int64{1, 42, 1 << 40} {
		if got, ok := ParseUserGUID(UserGUID(id)); !ok || got != id {
			t.Errorf("ParseUserGUID(UserGUID(%d)) = %d, %v", id, got, ok)
		}
	}
	for _, s := range []string{"", "6f1c0e2a-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000000", "00000000-0000-4000-8000-00000000000g"} {
		if _, ok := ParseUserGUID(s); ok {
			t.Errorf("ParseUserGUID(%q) names a user", s)
		}
	}
}
