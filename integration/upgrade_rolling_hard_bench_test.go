package integration

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/nodetest"
)

// tagRollingHard builds the N+1 binary of the hard rolling benchmark: the
// release binary plus schema/testdata/rolling_hard (00099: a column on
// every table requests use).
const tagRollingHard = "podium_rolling_hard"

// BenchmarkRollingUpgradeHard is the harder variant of
// BenchmarkRollingUpgrade: three nodes of the release binary behind the
// shipped HAProxy configuration with [Server] DrainDelay = 0s (only
// HAProxy's retries save a request sent to a node that just closed its
// port), replaced one by one by binary N+1, whose expand migration adds a
// column to every table that requests use, under API-key and session
// traffic from closed-loop clients (no pause between requests: the highest
// rate this machine allows), then finalized. It runs
// PODIUM_BENCH_UPGRADES (default 20) consecutive upgrades, each on a new
// database, and prints for each and in total: requests sent and failed
// (goal 0), PostgreSQL's deadlock count for the database
// (pg_stat_database.deadlocks, goal 0), and the upgrade's duration (first
// SIGTERM to finalize done). Run it with "make bench-rolling".
func BenchmarkRollingUpgradeHard(b *testing.B) {
	upgrades := 20
	if s := os.Getenv("PODIUM_BENCH_UPGRADES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("PODIUM_BENCH_UPGRADES=%q: want a positive number", s)
		}
		upgrades = n
	}
	workers := max(8, 4*runtime.GOMAXPROCS(0))
	binN := nodetest.Binary(b)
	binN1 := nodetest.BinaryWithTags(b, tagRollingHard)
	mig, err := os.ReadFile(filepath.Join(nodetest.ModuleRoot(b), "schema", "testdata", "rolling_hard", "postgres", "00099_rolling_hard.sql"))
	if err != nil {
		b.Fatal(err)
	}
	up, _, _ := strings.Cut(string(mig), "-- +goose Down")
	tables := strings.Count(up, "\nALTER TABLE ")
	for range b.N {
		var all []hardFigures
		fmt.Printf("bench-rolling-hard: 3 nodes, DrainDelay 0s, shipped HAProxy config, N+1 adds a column to %d tables "+
			"(every table; NO TRANSACTION, lock_timeout 2s); %d closed-loop clients (API key, session, login); %d upgrades\n", tables, workers, upgrades)
		for i := range upgrades {
			// A sub-benchmark per upgrade, so that its nodes, HAProxy and
			// database are gone before the next one starts.
			var f hardFigures
			b.Run(fmt.Sprintf("upgrade-%02d", i+1), func(b *testing.B) { f = runHardUpgrade(b, binN, binN1, workers) })
			all = append(all, f)
			fmt.Printf("bench-rolling-hard: upgrade %2d/%d: requests %6d (%4.0f/s), failed %d, deadlocks %d, upgrade duration %s\n",
				i+1, upgrades, f.Sent, f.Rate, f.Failed, f.Deadlocks, f.Duration.Round(time.Millisecond))
			for _, fail := range f.Failures[:min(len(f.Failures), 10)] {
				fmt.Printf("bench-rolling-hard:   failed: %s\n", fail)
			}
		}
		var sent, failed int
		var deadlocks int64
		var durs []time.Duration
		for _, f := range all {
			sent += f.Sent
			failed += f.Failed
			deadlocks += f.Deadlocks
			durs = append(durs, f.Duration)
		}
		slices.Sort(durs)
		fmt.Printf("bench-rolling-hard: total over %d consecutive upgrades: requests %d, failed %d (goal 0), deadlocks %d (goal 0)\n",
			len(all), sent, failed, deadlocks)
		fmt.Printf("bench-rolling-hard: upgrade duration median %s, max %s (first SIGTERM to finalize done)\n",
			durs[len(durs)/2].Round(time.Millisecond), durs[len(durs)-1].Round(time.Millisecond))
		b.ReportMetric(float64(sent), "requests")
		b.ReportMetric(float64(failed), "failed")
		b.ReportMetric(float64(deadlocks), "deadlocks")
		b.ReportMetric(durs[len(durs)/2].Seconds(), "upgrade-median-s")
	}
}

// hardFigures is what one upgrade of the hard variant measured.
type hardFigures struct {
	Sent, Failed int
	Failures     []string
	Deadlocks    int64
	Duration     time.Duration
	Rate         float64 // requests per second during the upgrade
}

// runHardUpgrade sets up three N nodes on a new database, runs the
// clients, upgrades the nodes one by one to N+1, finalizes, stops the
// nodes and sums up.
func runHardUpgrade(tb testing.TB, binN, binN1 string, workers int) hardFigures {
	pg := pgtest.NewDatabase(tb)
	data := sharedDataDir(tb)
	cfg := "[Server]\nDrainDelay = 0s\n[Database]\nSchemaCheckInterval = 5s\n"
	var nodes []*nodetest.Node
	for i := range 3 {
		nodes = append(nodes, nodetest.Start(tb, nodetest.Options{Binary: binN, Name: fmt.Sprintf("n%d-N", i+1),
			Postgres: pg, DataDir: data, Config: cfg}))
	}
	var addrs []string
	for _, n := range nodes {
		n.WaitReady(tb, 60*time.Second)
		addrs = append(addrs, strings.TrimPrefix(n.URL, "http://"))
	}
	conf := nodetest.WriteConfig(tb, &nodetest.Options{Postgres: pg, DataDir: data})
	if _, stderr, code := nodetest.Run(tb, binN, nil, "--config", conf, "users", "create", "--username", "admin", "--role", "admin", "--no-password"); code != 0 {
		tb.Fatalf("users create: %d %s", code, stderr)
	}
	key, stderr, code := nodetest.Run(tb, binN, nil, "--config", conf, "keys", "create", "--username", "admin")
	if code != 0 {
		tb.Fatalf("keys create: %d %s", code, stderr)
	}
	key = strings.TrimSpace(key)
	front, stats := startShippedHAProxy(tb, addrs)
	for i := range nodes {
		waitBackend(tb, stats, fmt.Sprintf("node%d", i+1), "UP")
	}
	api := &benchAPI{tb: tb, base: front, key: key}
	password := "rolling-hard-password"
	if code := api.do("POST", "/__api__/v1/users", strings.NewReader(`{"username":"alice","role":"publisher","password":"`+password+`"}`), nil); code != 201 {
		tb.Fatalf("create user alice: %d", code)
	}
	var ct struct {
		GUID string `json:"guid"`
	}
	if code := api.do("POST", "/__api__/v1/content", strings.NewReader(`{"name":"rolling-hard"}`), &ct); code != 201 {
		tb.Fatalf("create content: %d", code)
	}
	c := &rollingClient{tb: tb, base: front, key: key, user: "alice", password: password, readGUID: ct.GUID}
	db := openPostgres(tb, pg)
	deadlocks := func() int64 {
		var n int64
		if err := db.DB().QueryRowContext(context.Background(),
			`SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
			tb.Fatal(err)
		}
		return n
	}
	before := deadlocks()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch {
			case w == 0:
				c.hardLogins(stop)
			case w%2 == 1:
				c.hardKeyReads(stop)
			default:
				c.hardSessionReads(stop)
			}
		}()
	}
	// A moment of traffic on N before the first SIGTERM.
	time.Sleep(time.Second)

	rollFrom := time.Now()
	for i, old := range nodes {
		if err := old.Signal(syscall.SIGTERM); err != nil {
			tb.Fatal(err)
		}
		if code, err := old.Wait(60 * time.Second); err != nil || code != 0 {
			tb.Fatalf("%s: exit %d (%v) after SIGTERM, want 0\n%s", old.Name, code, err, old.Log())
		}
		n := nodetest.Start(tb, nodetest.Options{Binary: binN1, Name: fmt.Sprintf("n%d-N+1", i+1), Postgres: pg,
			DataDir: data, StateDir: old.StateDir, Listen: old.Opts.Listen, Config: cfg})
		n.WaitReady(tb, 60*time.Second)
		waitBackend(tb, stats, fmt.Sprintf("node%d", i+1), "UP")
		nodes[i] = n
	}
	if out, stderr, code := nodetest.Run(tb, binN1, nil, "--config", conf, "migrate", "schema", "finalize"); code != 0 {
		tb.Fatalf("finalize: exit %d\n%s\n%s", code, out, stderr)
	}
	rollTo := time.Now()
	time.Sleep(time.Second) // the clients keep going on the finalized cluster
	close(stop)
	wg.Wait()
	// Stopped backends flush their statistics: read the count after.
	for _, n := range nodes {
		if code := n.Stop(tb); code != 0 {
			tb.Errorf("%s: exit %d after SIGTERM\n%s", n.Name, code, n.Log())
		}
	}
	var after int64
	deadline := time.Now().Add(5 * time.Second)
	for {
		if after = deadlocks(); after > before || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond) // statistics reach pg_stat_database asynchronously
	}

	ops := c.finishOps()
	f := hardFigures{Sent: len(ops), Duration: rollTo.Sub(rollFrom), Deadlocks: after - before}
	during := 0
	for _, o := range ops {
		if !o.at.Before(rollFrom) && o.at.Before(rollTo) {
			during++
		}
		if o.err != "" {
			f.Failed++
			f.Failures = append(f.Failures, fmt.Sprintf("%s at %s: %s", o.kind, o.at.Format("15:04:05.000"), o.err))
		}
	}
	f.Rate = float64(during) / f.Duration.Seconds()
	return f
}

// finishOps returns the recorded operations (the hard variant's workers
// stop on their own channel).
func (c *rollingClient) finishOps() []rollingOp {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.ops)
}

func stopped(stop chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// hardKeyReads reads a content item with the API key, without pause: the
// key lookup joins api_keys and users.
func (c *rollingClient) hardKeyReads(stop chan struct{}) {
	hc := newHTTPClient()
	defer hc.CloseIdleConnections()
	for !stopped(stop) {
		_ = c.call(hc, "key-read", "GET", "/__api__/v1/content/"+c.readGUID, nil, "", true, 200, nil)
	}
}

// hardLogin logs hc in with the login form (as loginLoop does); false
// when a step failed (recorded).
func (c *rollingClient) hardLogin(hc *http.Client) bool {
	jar, _ := cookiejar.New(nil)
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if c.call(hc, "login", "GET", "/__login__", nil, "", false, 200, nil) != nil {
		return false
	}
	u, _ := url.Parse(c.base + "/__login__")
	var csrf string
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "podium_login_csrf" {
			csrf = ck.Value
		}
	}
	form := url.Values{"username": {c.user}, "password": {c.password}, "login_csrf": {csrf}, "next": {"/"}}
	return c.call(hc, "login", "POST", "/__login__", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded", false, 303, nil) == nil
}

// hardSessionReads logs in once, then reads the session's user without
// pause: the session lookup joins sessions and users.
func (c *rollingClient) hardSessionReads(stop chan struct{}) {
	hc := newHTTPClient()
	defer hc.CloseIdleConnections()
	for !stopped(stop) && !c.hardLogin(hc) {
	}
	for !stopped(stop) {
		_ = c.call(hc, "session-read", "GET", "/__api__/v1/user", nil, "", false, 200, nil)
	}
}

// hardLogins logs in again and again (inserts into sessions).
func (c *rollingClient) hardLogins(stop chan struct{}) {
	for !stopped(stop) {
		hc := newHTTPClient()
		if c.hardLogin(hc) {
			_ = c.call(hc, "login", "GET", "/__api__/v1/user", nil, "", false, 200, nil)
		}
		hc.CloseIdleConnections()
	}
}
