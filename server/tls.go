package server

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/config"
	"github.com/sirupsen/logrus"
)

// openTLS opens the [HTTPS] listener when [HTTPS] Listen is set (nil,
// nil, nil otherwise) and returns it with the reloader of its
// certificate: the certificate pair is loaded first (a pair that does not
// load refuses the start, exit 2), the listener has its own [HTTP]
// MaxConnections bound.
func openTLS(conf *config.Config, log *logrus.Entry) (net.Listener, *certReloader, error) {
	cfg := conf.HTTPS
	if cfg.Listen == "" {
		return nil, nil, nil
	}
	minVersion, err := config.ParseTLSVersion(cfg.MinimumTLSVersion)
	if err != nil {
		return nil, nil, podium.Errorf(podium.EINVALID, "[HTTPS] MinimumTLSVersion %s", err)
	}
	certs, err := newCertReloader(cfg.Certificate, cfg.Key, log)
	if err != nil {
		return nil, nil, err
	}
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, nil, podium.Errorf(podium.EREFUSED, "[HTTPS] Listen %s: %w", cfg.Listen, err)
	}
	if max := conf.HTTP.MaxConnections; max > 0 {
		lim := newConnLimiter(l, max, log)
		lim.closeOnly = true
		l = lim
	}
	tl := tls.NewListener(l, tlsConfig(certs, minVersion))
	log.WithFields(logrus.Fields{"listen": tl.Addr().String(), "subject": certs.Subject(),
		"not_after": certs.NotAfter().UTC().Format(time.RFC3339)}).Info("serving TLS")
	return tl, certs, nil
}

// httpsPort is the port of [HTTPS] Listen, "" when it is not set: the
// plain HTTP listener redirects there.
func httpsPort(listen string) string {
	if listen == "" {
		return ""
	}
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return ""
	}
	return port
}

// TLSAddr returns the address of the [HTTPS] listener, "" without one.
func (n *Node) TLSAddr() string {
	if n.tlsListener == nil {
		return ""
	}
	return n.tlsListener.Addr().String()
}

// certCheckInterval is the least time between two looks at the
// certificate files: at most one pair of small reads per interval, on the
// handshake path.
const certCheckInterval = time.Second

// certReloader serves the certificate of [HTTPS] Certificate and Key and
// loads them again when either file changes: a renewed certificate
// (certbot, an ACME client, a configuration manager) takes effect on the
// next connection, without a restart. A pair that does not load is logged
// and the previous one kept.
type certReloader struct {
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

// newCertReloader loads the pair once. Returns EREFUSED (exit 2) when it
// does not load: a node must not start without its certificate.
func newCertReloader(certFile, keyFile string, log *logrus.Entry) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log}
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

func (r *certReloader) read() (certPEM, keyPEM []byte, err error) {
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
func (r *certReloader) use(certPEM, keyPEM []byte) error {
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
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.lastCheck) >= certCheckInterval {
		r.lastCheck = time.Now()
		r.reloadLocked()
	}
	return r.cert, nil
}

func (r *certReloader) reloadLocked() {
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
func (r *certReloader) NotAfter() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.leaf.NotAfter
}

// Subject names the served certificate (its subject and DNS names).
func (r *certReloader) Subject() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.leaf.Subject.CommonName
	if len(r.leaf.DNSNames) > 0 {
		s = fmt.Sprint(r.leaf.DNSNames)
	}
	return s
}

// tlsConfig is the server's TLS configuration: the reloaded certificate,
// TLS 1.2 or 1.3 at least, HTTP/1.1 only (proxied WebSockets hijack
// HTTP/1.1 connections).
func tlsConfig(r *certReloader, minVersion uint16) *tls.Config {
	return &tls.Config{GetCertificate: r.GetCertificate, MinVersion: minVersion, NextProtos: []string{"http/1.1"}}
}
