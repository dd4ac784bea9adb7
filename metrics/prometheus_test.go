package metrics

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/startstop"
	"github.com/podiumhq/podium/internal/testutil"
)

// TestPrometheusServer: the scrape endpoint serves the registry from
// Start (its Started channel says so) to Stop, which ends its goroutine
// (Stopped) and closes the listener.
func TestPrometheusServer(t *testing.T) {
	p, err := ListenPrometheus("127.0.0.1:0", NewRegistry(RegistryOptions{Version: "1.2.3", NodeID: "n1", Host: "h1"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Started():
	case <-time.After(testutil.Timeout(10 * time.Second)):
		t.Fatal("the server never started")
	}
	res, err := http.Get("http://" + p.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(string(body), `podium_build_info{host="h1",node="n1",version="1.2.3"} 1`) {
		t.Fatalf("scrape: %d %v\n%s", res.StatusCode, res.Header, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(10*time.Second))
	defer cancel()
	startstop.StopForTest(t, ctx, p)
	if res, err := http.Get("http://" + p.Addr() + "/metrics"); err == nil {
		res.Body.Close()
		t.Fatalf("scraped after Stop: %d", res.StatusCode)
	}
}
