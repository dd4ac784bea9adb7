package web

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/podiumhq/podium/schema"
	"github.com/sirupsen/logrus"
)

// UpgradePing answers on [HTTP] Listen while the node upgrades the
// database schema, before the node's own handlers exist: /__ping__ says
// 503 "starting" with the upgrade's phase (table, rows done, time left).
// The load balancer keeps the node out, and an administrator sees how far
// the upgrade is. Any other request is closed without an answer, as if the
// node were not listening yet: a load balancer that still takes the node
// for up (a node restarted faster than its health checks notice, as in a
// rolling upgrade with [Server] DrainDelay = 0) retries the request on
// another node ("retry-on empty-response" in the shipped HAProxy
// configurations) instead of handing the client a 503.
type UpgradePing struct {
	srv   *http.Server
	done  chan struct{}
	phase atomic.Pointer[string]
}

// StartUpgradePing listens on addr, answering /__ping__ with body (its
// Status and Phase set); nil (and a warning) if it cannot: the upgrade
// goes on, and the node's own listen reports the problem later.
func StartUpgradePing(addr string, body PingBody, log *logrus.Entry) *UpgradePing {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.WithError(err).Warn("cannot answer /__ping__ during the schema upgrade")
		return nil
	}
	u := &UpgradePing{done: make(chan struct{})}
	start := "upgrading the database schema"
	u.phase.Store(&start)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		b := body
		b.Status, b.Phase = "starting", *u.phase.Load()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Retry-After", "5")
		if r.URL.Path == "/__ping__" {
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(b)
			return
		}
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "the node is upgrading its database schema: " + b.Phase})
	})
	u.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(u.done)
		if err := u.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.WithError(err).Warn("/__ping__ during the schema upgrade stopped")
		}
	}()
	return u
}

// Progress is the schema upgrade's callback (schema.Options.Progress): the
// phase /__ping__ reports from now on. A nil UpgradePing ignores it.
func (u *UpgradePing) Progress(p schema.Progress) {
	if u == nil {
		return
	}
	s := "upgrading the database schema: " + p.String()
	u.phase.Store(&s)
}

// Stop closes the listener (the node listens on the same address next)
// and waits for the server to end. A nil UpgradePing does nothing.
func (u *UpgradePing) Stop() {
	if u == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = u.srv.Shutdown(ctx)
	<-u.done
}
