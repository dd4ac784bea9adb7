package apps

import (
	"net/http"
	"reflect"
	"testing"
)

func TestDropSessionCookie(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   []string
		want []string
	}{
		{"OnlySession", []string{"podium_session=secret"}, nil},
		{"KeepsAppCookies", []string{"a=1; podium_session=secret; b=2"}, []string{"a=1; b=2"}},
		{"SeveralLines", []string{"podium_session=x", "PODIUMNODE=n1"}, []string{"PODIUMNODE=n1"}},
		{"NoCookie", nil, nil},
		{"SimilarName", []string{"podium_session2=keep"}, []string{"podium_session2=keep"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tc.in {
				h.Add("Cookie", v)
			}
			dropSessionCookie(h)
			if got := h.Values("Cookie"); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Cookie = %q, want %q", got, tc.want)
			}
		})
	}
}
