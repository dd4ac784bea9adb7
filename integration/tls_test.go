package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/hacheck"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "podium test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue writes a server certificate for 127.0.0.1 and localhost, valid
// for validFor, with the given serial, to certFile and keyFile.
func (ca *testCA) issue(t *testing.T, serial int64, validFor time.Duration, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "podium node"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(validFor),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// Key first, then the certificate, each by rename: a reader sees the
	// old pair or the new one (or, between the two renames, a mismatch
	// that the node refuses and logs).
	write := func(path string, block *pem.Block) {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(keyFile, &pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	write(certFile, &pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestTLSOnTheNode: a node with [HTTPS] serves TLS with the configured
// certificate to a real TLS client that trusts only the test CA, refuses
// TLS versions under MinimumTLSVersion, sends HSTS, redirects plain HTTP
// (but not /__ping__), sets Secure cookies, picks up a renewed certificate
// from the same files without a restart, and podium ha check warns about
// a certificate that expires within 14 days.
func TestTLSOnTheNode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "node.crt"), filepath.Join(dir, "node.key")
	ca := newTestCA(t)
	ca.issue(t, 100, 10*24*time.Hour, certFile, keyFile)
	port := testutil.FreePort(t)
	bin := nodetest.Binary(t)
	n := nodetest.StartNode(t, nodetest.Options{Binary: bin, Name: "tls", Config: fmt.Sprintf(
		"[HTTPS]\nListen = 127.0.0.1:%d\nCertificate = %s\nKey = %s\nMinimumTLSVersion = 1.3\n[HA]\nHeartbeatInterval = 1s\n",
		port, certFile, keyFile)})
	base := fmt.Sprintf("https://127.0.0.1:%d", port)

	client := func(maxVersion uint16) *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Timeout: 10 * time.Second, Jar: jar,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool, MaxVersion: maxVersion}, DisableKeepAlives: true}}
	}
	c := client(0)
	resp, err := c.Get(base + "/__ping__")
	if err != nil {
		t.Fatalf("GET /__ping__ over TLS: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil || resp.TLS.Version != tls.VersionTLS13 ||
		resp.TLS.PeerCertificates[0].SerialNumber.Int64() != 100 {
		t.Fatalf("GET /__ping__ over TLS: %d, TLS %+v", resp.StatusCode, resp.TLS)
	}
	if h := resp.Header.Get("Strict-Transport-Security"); !strings.Contains(h, "max-age=31536000") {
		t.Errorf("Strict-Transport-Security = %q", h)
	}
	// Under MinimumTLSVersion: no handshake.
	if _, err := client(tls.VersionTLS12).Get(base + "/__ping__"); err == nil {
		t.Error("a TLS 1.2 client was served; MinimumTLSVersion is 1.3")
	}

	// Plain HTTP: 308 to https, /__ping__ answered for load balancers.
	plain := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = plain.Get(n.URL + "/__api__/v1/user?x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := base + "/__api__/v1/user?x=1"; resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
		t.Errorf("plain HTTP: %d Location %q, want 308 to %s", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	resp, err = plain.Get(n.URL + "/__ping__")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Strict-Transport-Security") != "" {
		t.Errorf("plain /__ping__: %d, HSTS %q; want 200 without HSTS", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}

	// Login over TLS: the cookies are Secure.
	dashUser(t, n, "bob", "viewer", "correct horse battery")
	resp, err = c.Get(base + "/__login__")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="login_csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("login form: %s", page)
	}
	resp, err = c.PostForm(base+"/__login__", url.Values{"username": {"bob"}, "password": {"correct horse battery"}, "login_csrf": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "podium_session" {
			session = ck
		}
	}
	if resp.StatusCode != http.StatusSeeOther || session == nil || !session.Secure {
		t.Fatalf("login over TLS: %d, cookie %+v; want 303 and a Secure cookie", resp.StatusCode, session)
	}

	// ha check: the certificate expires in 10 days.
	var res map[string]hacheck.Result
	testutil.WaitFor(t, testutil.Timeout(30*time.Second), "ha check reports the certificate", func() bool {
		res, _, _ = haCheck(t, bin, n.ConfigPath)
		_, ok := res[hacheck.ItemTLS]
		return ok
	})
	if r := res[hacheck.ItemTLS]; r.Status != hacheck.Warn || !strings.Contains(r.Detail, "in 9 days") {
		t.Errorf("ha check tls item: %+v, want a warning (expires in 9 days and some hours)", r)
	}

	// Renewal: new files in place; new connections get the new
	// certificate, without a restart.
	ca.issue(t, 200, 90*24*time.Hour, certFile, keyFile)
	testutil.WaitFor(t, testutil.Timeout(20*time.Second), "the renewed certificate is served", func() bool {
		resp, err := c.Get(base + "/__ping__")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64() == 200
	})
	testutil.WaitFor(t, testutil.Timeout(30*time.Second), "ha check passes after the renewal", func() bool {
		res, _, _ = haCheck(t, bin, n.ConfigPath)
		return res[hacheck.ItemTLS].Status == hacheck.Pass
	})
	if code, done := n.Exited(); done {
		t.Fatalf("node exited (%d) during the renewal", code)
	}
}
