// Package certreload serves a TLS certificate pair from its files
// ([HTTPS] Certificate and Key) and loads it again when the files change,
// so that a renewed certificate takes effect without a restart. It
// imports the standard library, podium and logrus only.
package certreload

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/podiumhq/podium"
	"github.com/sirupsen/logrus"
)

// certCheckInterval is the least time between two looks at the
// certificate files: at most one pair of small reads per interval, on the
// handshake path.
const certCheckInterval = time.Second

// Reloader serves the certificate of [HTTPS] Certificate and Key and
// loads them again when either file changes: a renewed certificate
// (certbot, an ACME client, a configuration manager) takes effect on the
// next connection, without a restart. A pair that does not load is logged
// and the previous one kept.
type Reloader struct {
	certFile, keyFile string
	log               *logrus.Entry

	mu        sync.Mutex
	cert      *tls.Certificate
	leaf      *x509.Certificate
	certPEM   []byte
	keyPEM    []byte
	lastCheck time.Time
	badPair   []byte // the certificate bytes of the last pair that failed, logged once
}

// New loads the pair once. Returns EREFUSED (exit 2) when it does not
// load: a node must not start without its certificate.
func New(certFile, keyFile string, log *logrus.Entry) (*Reloader, error) {
	r := &Reloader{certFile: certFile, keyFile: keyFile, log: log}
	certPEM, keyPEM, err := r.read()
	if err == nil {
		err = r.use(certPEM, keyPEM)
	}
	if err != nil {
		return nil, podium.Errorf(podium.EREFUSED, "[HTTPS] Certificate %s and Key %s: %v", certFile, keyFile, err)
	}
	r.lastCheck = time.Now()
	return r, nil
}

func (r *Reloader) read() (certPEM, keyPEM []byte, err error) {
	if certPEM, err = os.ReadFile(r.certFile); err != nil {
		return nil, nil, err
	}
	if keyPEM, err = os.ReadFile(r.keyFile); err != nil {
		return nil, nil, err
	}
	return certPEM, keyPEM, nil
}

// use parses a pair and makes it the served one. The error never quotes
// the key.
func (r *Reloader) use(certPEM, keyPEM []byte) error {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("not a certificate and matching private key in PEM: %w", err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return fmt.Errorf("certificate: %w", err)
		}
	}
	r.cert, r.leaf, r.certPEM, r.keyPEM = &cert, leaf, certPEM, keyPEM
	return nil
}

// GetCertificate is the tls.Config hook: the current certificate, loaded
// again first if the files changed since the last look.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.lastCheck) >= certCheckInterval {
		r.lastCheck = time.Now()
		r.reloadLocked()
	}
	return r.cert, nil
}

func (r *Reloader) reloadLocked() {
	certPEM, keyPEM, err := r.read()
	if err != nil {
		// Half-written during a renewal, or removed: keep serving.
		return
	}
	if bytes.Equal(certPEM, r.certPEM) && bytes.Equal(keyPEM, r.keyPEM) {
		return
	}
	if err := r.use(certPEM, keyPEM); err != nil {
		if !bytes.Equal(certPEM, r.badPair) {
			r.badPair = certPEM
			r.log.WithField("error", err.Error()).Warn("[HTTPS] Certificate or Key changed but does not load: still serving the previous certificate")
		}
		return
	}
	r.badPair = nil
	r.log.WithFields(logrus.Fields{"subject": r.leaf.Subject.String(), "not_after": r.leaf.NotAfter.UTC().Format(time.RFC3339)}).
		Info("[HTTPS] certificate loaded again")
}

// NotAfter returns when the served certificate expires.
func (r *Reloader) NotAfter() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.leaf.NotAfter
}

// Subject names the served certificate (its subject and DNS names).
func (r *Reloader) Subject() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.leaf.Subject.CommonName
	if len(r.leaf.DNSNames) > 0 {
		s = fmt.Sprint(r.leaf.DNSNames)
	}
	return s
}

// TLSConfig is the server's TLS configuration: the reloaded certificate,
// minVersion (TLS 1.2 or 1.3) at least, HTTP/1.1 only (proxied WebSockets
// hijack HTTP/1.1 connections).
func (r *Reloader) TLSConfig(minVersion uint16) *tls.Config {
	return &tls.Config{GetCertificate: r.GetCertificate, MinVersion: minVersion, NextProtos: []string{"http/1.1"}}
}
