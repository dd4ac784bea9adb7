package hacheck

import (
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium"
)

// TestCertificates: the tls item is absent without TLS, passes a
// certificate valid for 14 days or more, warns under 14 days and fails an
// expired one.
func TestCertificates(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	judge := func(notAfter ...time.Time) (Result, bool) {
		c := &checker{}
		for i, na := range notAfter {
			n := &podium.Node{ID: string(rune('a' + i)), Info: map[string]any{}}
			if !na.IsZero() {
				n.Info[TLSInfoKey] = TLS{Subject: "[podium.example]", NotAfter: na}.Map()
			}
			c.live = append(c.live, n)
			c.ids = append(c.ids, n.ID)
		}
		return c.certificates(now)
	}
	if _, ok := judge(time.Time{}, time.Time{}); ok {
		t.Error("tls item present with no node serving TLS")
	}
	if r, ok := judge(now.Add(90*24*time.Hour), time.Time{}); !ok || r.Status != Pass {
		t.Errorf("90 days: %+v, want pass", r)
	}
	if r, _ := judge(now.Add(90*24*time.Hour), now.Add(13*24*time.Hour)); r.Status != Warn || len(r.Nodes) != 1 || r.Nodes[0] != "b" ||
		!strings.Contains(r.Detail, "in 13 days") || r.Action == "" {
		t.Errorf("13 days: %+v, want a warning naming node b", r)
	}
	if r, _ := judge(now.Add(-time.Hour)); r.Status != Fail || !strings.Contains(r.Detail, "expired") {
		t.Errorf("expired: %+v, want a failure", r)
	}
}
