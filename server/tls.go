package server

import (
	"crypto/tls"
	"net"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/internal/certreload"
	"github.com/sirupsen/logrus"
)

// openTLS opens the [HTTPS] listener when [HTTPS] Listen is set (nil,
// nil, nil otherwise) and returns it with the reloader of its
// certificate: the certificate pair is loaded first (a pair that does not
// load refuses the start, exit 2), the listener has its own [HTTP]
// MaxConnections bound.
func openTLS(conf *config.Config, log *logrus.Entry) (net.Listener, *certreload.Reloader, error) {
	cfg := conf.HTTPS
	if cfg.Listen == "" {
		return nil, nil, nil
	}
	minVersion, err := config.ParseTLSVersion(cfg.MinimumTLSVersion)
	if err != nil {
		return nil, nil, podium.Errorf(podium.EINVALID, "[HTTPS] MinimumTLSVersion %s", err)
	}
	certs, err := certreload.New(cfg.Certificate, cfg.Key, log)
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
	tl := tls.NewListener(l, certs.TLSConfig(minVersion))
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
