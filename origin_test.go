package podium_test

import (
	"testing"

	"github.com/podiumhq/podium"
)

func TestContentOriginMatch(t *testing.T) {
	t.Parallel()
	one, err := podium.ParseContentURL("http://127.0.0.1:3939")
	if err != nil {
		t.Fatal(err)
	}
	wild, err := podium.ParseContentURL("https://*.Content.Example:443/")
	if err != nil {
		t.Fatal(err)
	}
	if got := wild.String(); got != "https://*.content.example" {
		t.Errorf("wildcard String = %q", got)
	}
	tests := []struct {
		o         *podium.ContentOrigin
		host      string
		wantLabel string
		wantOK    bool
	}{
		{one, "127.0.0.1:3939", "", true},
		{one, "localhost:3939", "", false},
		{one, "127.0.0.1:3940", "", false},
		{one, "127.0.0.1", "", true}, // a proxy that drops the port
		{one, "localhost", "", false},
		{wild, "abc.content.example", "abc", true},
		{wild, "ABC.content.example:443", "abc", true},
		{wild, "content.example", "", false},
		{wild, "a.b.content.example", "", false},
		{wild, "abc.content.example.evil", "", false},
	}
	for _, tt := range tests {
		label, ok := tt.o.Match(tt.host)
		if label != tt.wantLabel || ok != tt.wantOK {
			t.Errorf("%s Match(%q) = %q, %v; want %q, %v", tt.o, tt.host, label, ok, tt.wantLabel, tt.wantOK)
		}
	}
	if got := wild.Origin("G1").String(); got != "https://g1.content.example" {
		t.Errorf("Origin(G1) = %q", got)
	}
	for _, bad := range []string{"ftp://x", "http://", "http://a/b", "http://u@x", "http://a.*.x", "http://*.127.0.0.1"} {
		if _, err := podium.ParseContentURL(bad); err == nil {
			t.Errorf("ParseContentURL(%q) accepted", bad)
		}
	}
}
