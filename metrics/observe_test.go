package metrics

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestObserveBoundsMethods: requests are counted by route, method and
// status, but a made-up method (net/http accepts any token) is counted as
// "other": a client sending a new one per request must not make a series
// per request.
func TestObserveBoundsMethods(t *testing.T) {
	r := NewRegistry(RegistryOptions{})
	for i := range 50 {
		r.Observe("other", fmt.Sprintf("M%d", i), 404, time.Now())
	}
	r.Observe("/content/:guid/*", "GET", 200, time.Now())
	r.ObserveRaw("/content/:guid/*", "GET", 200, time.Now(), true)
	if n := len(gather(t, r, "podium_http_requests_total")); n != 2 {
		t.Errorf("%d request series, want 2 (other/other/404, the route's GET/200)", n)
	}
	if v := value(t, r.HTTPRequests.WithLabelValues("other", "other", "404")); v != 50 {
		t.Errorf("made-up methods counted %v times, want 50", v)
	}
	if v := value(t, r.HTTPRequests.WithLabelValues("/content/:guid/*", "GET", "200")); v != 2 {
		t.Errorf("GET 200 counted %v times, want 2", v)
	}
	if v := value(t, r.RawLane); v != 1 {
		t.Errorf("raw lane counted %v, want 1", v)
	}
	if v := value(t, r.FastLane); v != 1 {
		t.Errorf("fast lane counted %v, want 1", v)
	}
}

// gather returns the series of the metric family name in r.
func gather(t *testing.T, r *Registry, name string) []*dto.Metric {
	t.Helper()
	fams, err := r.Prom.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name {
			return f.Metric
		}
	}
	return nil
}

// value is a counter's value.
func value(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
