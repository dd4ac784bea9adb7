package hacheck

import (
	"errors"
	"strings"
	"testing"

	"github.com/podiumhq/podium"
)

// TestSandboxItem judges the sandbox item of two nodes: both on with the
// same uid range passes; a node with the sandbox off warns; a node that
// cannot make sandboxes (it refuses content processes) fails, naming the
// way out; different uid ranges fail; a node that does not say warns.
func TestSandboxItem(t *testing.T) {
	t.Parallel()
	on := &SandboxFacts{State: "on", UIDRange: "200000-299999", Network: "isolated", Cgroups: true}
	judge := func(a, b *SandboxFacts) Result {
		c := &checker{live: []*podium.Node{{ID: "n1"}, {ID: "n2"}}, ids: []string{"n1", "n2"},
			facts: map[string]Facts{"n1": {Sandbox: a}, "n2": {Sandbox: b}}}
		return c.sandbox()
	}
	for _, tc := range []struct {
		name   string
		b      *SandboxFacts
		status Status
		says   string
	}{
		{"PassSame", on, Pass, "on, uids 200000-299999, network isolated, cgroups true"},
		{"WarnOff", &SandboxFacts{State: "off"}, Warn, "Sandbox = false"},
		{"FailUnavailable", &SandboxFacts{State: "unavailable", Error: "bwrap is not installed"}, Fail, "install bubblewrap"},
		{"FailOtherRange", &SandboxFacts{State: "on", UIDRange: "300000-399999", Network: "isolated", Cgroups: true}, Fail, "same [Applications] SandboxUIDRange"},
		{"WarnUnknown", nil, Warn, "do not say"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := judge(on, tc.b)
			if r.Status != tc.status || !strings.Contains(r.Detail+" "+r.Action, tc.says) {
				t.Errorf("%+v, want %s saying %q", r, tc.status, tc.says)
			}
		})
	}
}

// fakeSandbox is a content sandbox in a given state.
type fakeSandbox struct {
	refused error
	off     bool
}

func (f fakeSandbox) Refused() error  { return f.refused }
func (f fakeSandbox) Off() bool       { return f.off }
func (f fakeSandbox) Network() string { return "isolated" }
func (f fakeSandbox) Cgroups() bool   { return true }

// TestSandboxFactsOf: on, off, and unavailable with its reason (which
// wins over off), each with the uid range, network and cgroups.
func TestSandboxFactsOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		sb   fakeSandbox
		want SandboxFacts
	}{
		{"On", fakeSandbox{}, SandboxFacts{State: "on"}},
		{"Off", fakeSandbox{off: true}, SandboxFacts{State: "off"}},
		{"Unavailable", fakeSandbox{refused: errors.New("no user namespaces"), off: true}, SandboxFacts{State: "unavailable", Error: "no user namespaces"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.UIDRange, tc.want.Network, tc.want.Cgroups = "200000-299999", "isolated", true
			if got := SandboxFactsOf(tc.sb, "200000-299999"); *got != tc.want {
				t.Fatalf("SandboxFactsOf = %+v, want %+v", *got, tc.want)
			}
		})
	}
}
