package certreload

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/sirupsen/logrus"
)

// selfSigned returns the PEM of a self-signed certificate with serial and
// of its key.
func selfSigned(t *testing.T, serial int64) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "node"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

func served(t *testing.T, r *Reloader) int64 {
	t.Helper()
	c, err := r.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf.SerialNumber.Int64()
}

// TestCertReloader: the pair is loaded at start (a bad one refuses the
// start without quoting the key), a changed pair is served from the next
// look, and a pair that does not load keeps the previous certificate.
// Handshakes may run concurrently with a reload.
func TestCertReloader(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	write := func(c, k []byte) {
		t.Helper()
		if err := os.WriteFile(keyFile, k, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(certFile, c, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	log := logrus.New()
	log.SetOutput(io.Discard)

	c1, k1 := selfSigned(t, 1)
	c2, k2 := selfSigned(t, 2)
	write(c1, k2) // a mismatched pair
	_, err := New(certFile, keyFile, logrus.NewEntry(log))
	if podium.ErrorCode(err) != podium.EREFUSED || podium.ExitCode(err) != podium.ExitRefused {
		t.Fatalf("mismatched pair at start: %v, want EREFUSED", err)
	}
	write(c1, k1)
	r, err := New(certFile, keyFile, logrus.NewEntry(log))
	if err != nil {
		t.Fatal(err)
	}
	if s := served(t, r); s != 1 {
		t.Fatalf("served serial %d, want 1", s)
	}

	// Handshakes during the reloads (the race detector watches).
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				_, _ = r.GetCertificate(&tls.ClientHelloInfo{})
				_ = r.NotAfter()
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	// lookNow makes the next handshake look at the files, as one a
	// certCheckInterval later would.
	lookNow := func() {
		r.mu.Lock()
		r.lastCheck = time.Time{}
		r.mu.Unlock()
	}
	write(c2, k1) // half-way through a renewal: the new certificate with the old key
	lookNow()
	if s := served(t, r); s != 1 {
		t.Fatalf("after a pair that does not load: serial %d, want the previous 1", s)
	}
	write(c2, k2)
	lookNow()
	if s := served(t, r); s != 2 {
		t.Fatalf("after the renewal: serial %d, want 2", s)
	}
}
