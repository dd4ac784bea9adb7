package apps

import (
	"net/http"
	"reflect"
	"testing"
)

func TestDropPodiumCookies(t *testing.T) {
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
		{"ContentCookie", []string{"podium_content=signed; app=1"}, []string{"app=1"}},
		{"HostPrefixed", []string{"__Host-podium_content=signed; __host-Podium_x=1; __Secure-podium_y=2; __Host-app=1"}, []string{"__Host-app=1"}},
		{"AnyPodiumName", []string{"podium_session2=x; Podium_Session=y; podiumx=keep"}, []string{"podiumx=keep"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tc.in {
				h.Add("Cookie", v)
			}
			dropPodiumCookies(h)
			if got := h.Values("Cookie"); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Cookie = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestDropPodiumSetCookies: an app's response can set its own cookies but
// never set, change or delete one of Podium's (issue 23: an app logged its
// viewer out, or into the attacker's account, with Set-Cookie:
// podium_session=...).
func TestDropPodiumSetCookies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   []string
		want []string
	}{
		{"Session", []string{"podium_session=attacker; Path=/; HttpOnly"}, nil},
		{"Delete", []string{"podium_session=; Max-Age=0; Path=/"}, nil},
		{"LoginCSRF", []string{"podium_login_csrf=x; Path=/"}, nil},
		{"ContentCookie", []string{"podium_content=x"}, nil},
		{"HostPrefixed", []string{"__Host-podium_content=x; Path=/; Secure", "__SECURE-podium_session=x; Secure", "__Host-app=1; Path=/; Secure"}, []string{"__Host-app=1; Path=/; Secure"}},
		{"CaseVariant", []string{"PODIUM_SESSION=x"}, nil},
		{"AppCookiesKept", []string{"app=1; Path=/", "podium_session=x", "other=2"}, []string{"app=1; Path=/", "other=2"}},
		{"NoneToDrop", []string{"a=1", "b=2"}, []string{"a=1", "b=2"}},
		{"None", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tc.in {
				h.Add("Set-Cookie", v)
			}
			dropPodiumSetCookies(h)
			if got := h.Values("Set-Cookie"); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Set-Cookie = %q, want %q", got, tc.want)
			}
		})
	}
}
