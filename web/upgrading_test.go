package web

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/podiumhq/podium/schema"
	"github.com/sirupsen/logrus"
)

// TestUpgradePingClosesOtherRequests: while a node upgrades its schema,
// /__ping__ answers 503 with the phase, and any other request is closed
// without an answer (as if the node did not listen yet), so that a load
// balancer that still takes the node for up retries it on another node
// (HAProxy's "retry-on empty-response") instead of passing a 503 on.
func TestUpgradePingClosesOtherRequests(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	u := StartUpgradePing(addr, PingBody{Node: "n1", Version: "test", Schema: 80}, logrus.NewEntry(logrus.New()))
	if u == nil {
		t.Fatal("StartUpgradePing: nil")
	}
	defer u.Stop()

	res, err := http.Get("http://" + addr + "/__ping__")
	if err != nil {
		t.Fatal(err)
	}
	var body PingBody
	_ = json.NewDecoder(res.Body).Decode(&body)
	res.Body.Close()
	if res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("/__ping__ during the upgrade: X-Content-Type-Options %q, want nosniff", res.Header.Get("X-Content-Type-Options"))
	}
	if res.StatusCode != 503 || body.Status != "starting" || !strings.Contains(body.Phase, "upgrading the database schema") {
		t.Fatalf("/__ping__ during the upgrade: %d %+v; want 503 starting with the phase", res.StatusCode, body)
	}
	for _, m := range []string{"GET", "POST"} {
		req, _ := http.NewRequest(m, "http://"+addr+"/__api__/v1/user", strings.NewReader("x=1"))
		res, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			t.Fatalf("%s during the upgrade: answered %d %s; want the connection closed without an answer", m, res.StatusCode, b)
		}
	}

	// The upgrade's progress is the phase /__ping__ reports next.
	u.Progress(schema.Progress{Phase: "migrating", Migration: "00035_parity.sql", Table: "jobs", Rows: 10, Total: 40})
	res, err = http.Get("http://" + addr + "/__ping__")
	if err != nil {
		t.Fatal(err)
	}
	body = PingBody{}
	_ = json.NewDecoder(res.Body).Decode(&body)
	res.Body.Close()
	if want := "upgrading the database schema: migrating 00035_parity.sql: table jobs, 10/40 rows"; !strings.HasPrefix(body.Phase, want) {
		t.Fatalf("/__ping__ after progress: phase %q, want %q…", body.Phase, want)
	}
}

// TestUpgradePingNil: a node that could not listen during the upgrade has
// a nil UpgradePing, which the upgrade still calls.
func TestUpgradePingNil(t *testing.T) {
	var u *UpgradePing
	u.Progress(schema.Progress{Phase: "migrating"})
	u.Stop()
}
