package hacheck

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// ItemTLS is the checklist item about the certificates of the nodes that
// serve TLS themselves ([HTTPS] Listen). It is in the results only when
// at least one live node does.
const ItemTLS = "tls"

// TLSInfoKey is the key of TLS in a node's info document.
const TLSInfoKey = "tls"

// CertificateWarnBefore is how long before its expiry a certificate is
// warned about.
const CertificateWarnBefore = 14 * 24 * time.Hour

// TLS is the certificate a node serves on [HTTPS] Listen, as it last
// loaded it, published with every heartbeat.
type TLS struct {
	Subject  string    `json:"subject"`
	NotAfter time.Time `json:"not_after"`
}

// Map returns t as a JSON-like map for the info document.
func (t TLS) Map() map[string]any {
	b, _ := json.Marshal(t)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// TLSFromInfo reads the TLS a node published; ok is false when it serves
// no TLS (or is an older binary).
func TLSFromInfo(info map[string]any) (t TLS, ok bool) {
	v, found := info[TLSInfoKey]
	if !found {
		return t, false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return t, false
	}
	return t, json.Unmarshal(b, &t) == nil
}

// certificates warns about the certificates that expire within
// CertificateWarnBefore of now and fails those already expired; ok is
// false when no live node serves TLS.
func (c *checker) certificates(now time.Time) (r Result, ok bool) {
	r = Result{Item: ItemTLS, Title: "[HTTPS] certificates valid for more than 14 days", Nodes: c.ids, Status: Pass}
	var details, expiring, expired []string
	for _, n := range c.live {
		t, has := TLSFromInfo(n.Info)
		if !has {
			continue
		}
		ok = true
		left := t.NotAfter.Sub(now)
		d := fmt.Sprintf("%s: %s expires %s", n.ID, t.Subject, t.NotAfter.UTC().Format(time.RFC3339))
		switch {
		case left <= 0:
			expired = append(expired, n.ID)
			d += " (expired)"
		case left < CertificateWarnBefore:
			expiring = append(expiring, n.ID)
			d += fmt.Sprintf(" (in %d days)", int(left.Hours()/24))
		}
		details = append(details, d)
	}
	r.Detail = strings.Join(details, ", ")
	switch {
	case len(expired) > 0:
		r.Status, r.Nodes = Fail, append(expired, expiring...)
		r.Action = "renew the certificate: replace the files of [HTTPS] Certificate and Key; the node loads them again without a restart"
	case len(expiring) > 0:
		r.Status, r.Nodes = Warn, expiring
		r.Action = "renew the certificate within the next days: replace the files of [HTTPS] Certificate and Key; the node loads them again without a restart"
	}
	return r, ok
}
