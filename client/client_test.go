package client

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podiumhq/podium"
)

// dropFirst answers like a Podium server, but hangs up without an answer
// on the first request of each method, and sets a sticky cookie.
func dropFirst(t *testing.T, hits map[string]*atomic.Int32, cookies *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := r.Cookie("STICKY"); err == nil {
			cookies.Add(1)
		}
		if hits[r.Method].Add(1) == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			_ = conn.Close()
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "STICKY", Value: "n1", Path: "/"})
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"guid": "g", "id": 1, "username": "u"})
	})
}

func TestRetriesIdempotentCallsOnly(t *testing.T) {
	hits := map[string]*atomic.Int32{"GET": {}, "POST": {}}
	var cookies atomic.Int32
	srv := httptest.NewServer(dropFirst(t, hits, &cookies))
	defer srv.Close()
	c, err := New(Options{Server: srv.URL, APIKey: "k", Backoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	if _, err := c.ContentGet(ctx, "g"); err != nil {
		t.Fatalf("GET after a dropped connection: %v", err)
	}
	if got := hits["GET"].Load(); got != 2 {
		t.Fatalf("GET sent %d times, want 2 (one retry)", got)
	}
	if _, err := c.ContentCreate(ctx, ContentFields{Name: "x"}); err == nil {
		t.Fatal("a POST whose connection dropped after sending succeeded: it must not be retried blindly")
	}
	if got := hits["POST"].Load(); got != 1 {
		t.Fatalf("POST sent %d times, want 1", got)
	}
	// The cookie set by the first answer goes back on every later request.
	if _, err := c.ContentGet(ctx, "g"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ContentCreate(ctx, ContentFields{Name: "y"}); err != nil {
		t.Fatal(err)
	}
	if got := cookies.Load(); got < 3 {
		t.Fatalf("the sticky cookie came back on %d requests, want every request after the first answer (3)", got)
	}
}

// refusingDialer is an HTTP client whose first refusals connections are
// refused by the kernel (they dial a port nothing listens on), as a node
// that is restarting refuses them, and whose later ones reach the server:
// the server "comes up" once the client has been refused that many times,
// not after a sleep that a loaded machine may outlast. refused counts the
// refusals the client met.
func refusingDialer(t *testing.T, refusals int32) (hc *http.Client, refused *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	_ = ln.Close() // connections to it are refused
	refused = new(atomic.Int32)
	var dials atomic.Int32
	var d net.Dialer
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) <= refusals {
			c, err := d.DialContext(ctx, network, dead)
			if err == nil {
				c.Close()
				t.Errorf("a connection to %s was accepted: the test needs a port nothing listens on", dead)
				return nil, errors.New("not refused")
			}
			refused.Add(1)
			return nil, err
		}
		return d.DialContext(ctx, network, addr)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}, refused
}

func TestRetriesPOSTWhenNothingWasSent(t *testing.T) {
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"task_id":"t1"}`))
	}))
	defer srv.Close()
	hc, refused := refusingDialer(t, 2)
	c, err := New(Options{Server: srv.URL, HTTPClient: hc, Backoff: 10 * time.Millisecond, Attempts: 10})
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Deploy(context.Background(), "g", 1)
	if err != nil || id != "t1" {
		t.Fatalf("Deploy = %q, %v; want t1 once the server is up", id, err)
	}
	if refused.Load() != 2 || posts.Load() != 1 {
		t.Fatalf("%d refused connections, %d POSTs reached the server; want the POST sent again after each of 2 refusals, and received once",
			refused.Load(), posts.Load())
	}
}

func TestServerErrorsAreTyped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"code":"forbidden","error":"no","request_id":"r1"}`))
	}))
	defer srv.Close()
	c, _ := New(Options{Server: srv.URL})
	_, err := c.ContentGet(context.Background(), "g")
	if !IsStatus(err, http.StatusForbidden) {
		t.Fatalf("err = %v, want a 403 *Error", err)
	}
	var e *Error
	if !asError(err, &e) || e.Message != "no" || e.RequestID != "r1" {
		t.Fatalf("err = %#v", err)
	}
	if _, err := New(Options{Server: "ftp://x"}); err == nil {
		t.Fatal("New accepted an ftp:// server")
	}
}

func asError(err error, e **Error) bool {
	v, ok := err.(*Error)
	*e = v
	return ok
}

// TestWaitTaskRidesOutARestart (issue 12, defect 1): while the node a task
// is polled through restarts (connections refused, then 503 while it
// starts), WaitTask keeps polling and returns the task's end, here the
// failure the restarted node recorded for it.
func TestWaitTaskRidesOutARestart(t *testing.T) {
	var polls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch n := polls.Add(1); {
		case n <= 4:
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": "starting"})
		default:
			_ = json.NewEncoder(w).Encode(map[string]any{"id": "t", "finished": true, "code": 1,
				"error": "node n1 restarted while this task ran", "output": []string{}, "last": 0})
		}
	}))
	// Refused connections first: each of the first two polls is refused
	// twice (Attempts 2), then the "restarted" node answers.
	defer srv.Close()
	hc, refused := refusingDialer(t, 4)
	c, err := New(Options{Server: srv.URL, HTTPClient: hc, APIKey: "k", Backoff: 10 * time.Millisecond, Attempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	task, err := c.WaitTask(context.Background(), "t", 10*time.Millisecond, nil)
	if err != nil {
		t.Fatalf("WaitTask across a restart: %v", err)
	}
	if !task.Finished || task.Code != 1 || task.Error != "node n1 restarted while this task ran" {
		t.Fatalf("task: %+v", task)
	}
	if refused.Load() != 4 || polls.Load() != 5 {
		t.Fatalf("%d refused connections, %d polls answered; want 4 refusals ridden out, then four 503s and the task", refused.Load(), polls.Load())
	}
}

// TestPodiumCodeMatchesServer: the client reads every status the server
// answers with (web.StatusOf) back as its code; 412, 415, 501 and 503 were
// EINTERNAL.
func TestPodiumCodeMatchesServer(t *testing.T) {
	for status, want := range map[int]string{
		http.StatusBadRequest: podium.EINVALID, http.StatusPreconditionFailed: podium.EPRECONDITION,
		http.StatusUnsupportedMediaType: podium.EUNSUPPORTED, http.StatusNotImplemented: podium.ENOTIMPLEMENTED,
		http.StatusServiceUnavailable: podium.EUNAVAILABLE, http.StatusRequestEntityTooLarge: podium.ETOOLARGE,
		http.StatusInsufficientStorage: podium.ENOSPACE, http.StatusInternalServerError: podium.EINTERNAL,
	} {
		if got := (&Error{Status: status}).PodiumCode(); got != want {
			t.Errorf("status %d: code %s, want %s", status, got, want)
		}
	}
}

// TestPodiumCodeReadsTheBody: the code comes from the error body the
// server answers, so that ESCHEMA and EREFUSED, which share 503 with
// EUNAVAILABLE, come back as themselves (the exit codes of `podium
// deploy` are 3 and 2, not 1); an answer without a podium code (a
// proxy's page, or JSON of its own) falls back to the status.
func TestPodiumCodeReadsTheBody(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"SchemaMismatch", http.StatusServiceUnavailable, `{"code":"schema_mismatch","error":"the schema is newer"}`, podium.ESCHEMA},
		{"Refused", http.StatusServiceUnavailable, `{"code":"refused","error":"unsafe"}`, podium.EREFUSED},
		{"Unavailable", http.StatusServiceUnavailable, `{"code":"unavailable","error":"database down"}`, podium.EUNAVAILABLE},
		{"Conflict", http.StatusConflict, `{"code":"conflict","error":"exists"}`, podium.ECONFLICT},
		{"NoBody", http.StatusServiceUnavailable, ``, podium.EUNAVAILABLE},
		{"ProxyPage", http.StatusBadGateway, `<html>bad gateway</html>`, podium.EINTERNAL},
		{"ForeignCode", http.StatusNotFound, `{"code":"Not Found","message":"no route"}`, podium.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c, err := New(Options{Server: srv.URL, APIKey: "k", Attempts: 1})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.ContentGet(context.Background(), "g")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("ContentGet: %v, want an *Error", err)
			}
			if e.Status != tc.status {
				t.Errorf("status %d, want %d", e.Status, tc.status)
			}
			if got := e.PodiumCode(); got != tc.want {
				t.Errorf("code %q, want %q (body %s)", got, tc.want, tc.body)
			}
		})
	}
}
