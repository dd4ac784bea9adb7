package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/hacheck"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/schema"
)

// Build tags of the rolling-upgrade binaries (schema/extra_rolling*.go,
// server/rollingtest_endpoints.go): N knows schema 96, N+1 knows 98 (97
// expand, 98 contract).
const (
	tagRollingN     = "podium_rolling_n"
	tagRollingNPlus = "podium_rolling"
	rollingN        = 96
	rollingNPlus1   = 98
)

// rollingDrainDelay is the nodes' [Server] DrainDelay for the shipped
// HAProxy checks (inter 1s, fall 2): two failed checks plus one interval.
const rollingDrainDelay = 3 * time.Second

// rollingOp is one client request (or step of a flow) and its outcome.
type rollingOp struct {
	kind    string
	at      time.Time
	latency time.Duration
	err     string // "" when it succeeded
}

// rollingClient runs the client loop through the load balancer: reads,
// logins, deployments with task polling, and notes written and read by the
// test code of each binary. Every request must succeed.
type rollingClient struct {
	tb       testing.TB
	base     string
	key      string
	user     string
	password string
	bundle   []byte
	readGUID string

	stop chan struct{}
	wg   sync.WaitGroup

	mu       sync.Mutex
	ops      []rollingOp
	deployed map[string]int64 // acknowledged deployments: content guid -> bundle id
}

func (c *rollingClient) record(kind string, start time.Time, err error) {
	op := rollingOp{kind: kind, at: start, latency: time.Since(start)}
	if err != nil {
		op.err = err.Error()
	}
	c.mu.Lock()
	c.ops = append(c.ops, op)
	c.mu.Unlock()
}

// call sends one request and records it; want is the expected status.
func (c *rollingClient) call(hc *http.Client, kind, method, path string, body io.Reader, ctype string, auth bool, want int, out any) error {
	start := time.Now()
	err := func() error {
		req, err := http.NewRequest(method, c.base+path, body)
		if err != nil {
			return err
		}
		if auth {
			req.Header.Set("Authorization", "Key "+c.key)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		res, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != want {
			return fmt.Errorf("%s %s: HTTP %d (want %d): %.200s", method, path, res.StatusCode, want, b)
		}
		if out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				return fmt.Errorf("%s %s: %v", method, path, err)
			}
		}
		return nil
	}()
	c.record(kind, start, err)
	return err
}

func (c *rollingClient) start() {
	c.stop = make(chan struct{})
	c.deployed = map[string]int64{}
	loops := []func(int){c.readLoop, c.loginLoop, c.deployLoop, c.notesLoop}
	for _, l := range loops {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-c.stop:
					return
				default:
				}
				l(i)
				select {
				case <-c.stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
	}
}

func (c *rollingClient) finish() []rollingOp {
	close(c.stop)
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.ops)
}

func newHTTPClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
}

func (c *rollingClient) readLoop(i int) {
	hc := newHTTPClient()
	defer hc.CloseIdleConnections()
	_ = c.call(hc, "read", "GET", "/__api__/v1/content/"+c.readGUID, nil, "", true, 200, nil)
	// Not /__ping__: it is the load balancer's health check, and answers
	// 503 from a draining node by design.
	_ = c.call(hc, "read", "GET", "/", nil, "", false, 200, nil)
}

// loginLoop logs in with the form as a browser would: the login page sets
// the CSRF cookie, the post sets the session cookie, and the session
// reaches the API on whichever node serves it.
func (c *rollingClient) loginLoop(i int) {
	jar, _ := cookiejar.New(nil)
	hc := newHTTPClient()
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	defer hc.CloseIdleConnections()
	if c.call(hc, "login", "GET", "/__login__", nil, "", false, 200, nil) != nil {
		return
	}
	u, _ := url.Parse(c.base + "/__login__")
	var csrf string
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "podium_login_csrf" {
			csrf = ck.Value
		}
	}
	form := url.Values{"username": {c.user}, "password": {c.password}, "login_csrf": {csrf}, "next": {"/"}}
	if c.call(hc, "login", "POST", "/__login__", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded", false, 303, nil) != nil {
		return
	}
	_ = c.call(hc, "login", "GET", "/__api__/v1/user", nil, "", false, 200, nil)
}

// deployLoop creates a content item, uploads the bundle, deploys it and
// polls the task until it finishes: an acknowledged deployment.
func (c *rollingClient) deployLoop(i int) {
	hc := newHTTPClient()
	defer hc.CloseIdleConnections()
	var ct struct {
		GUID string `json:"guid"`
	}
	if c.call(hc, "deploy", "POST", "/__api__/v1/content", strings.NewReader(fmt.Sprintf(`{"name":"roll-%d-%d"}`, i, time.Now().UnixNano())),
		"application/json", true, 201, &ct) != nil {
		return
	}
	var bd struct {
		ID int64 `json:"id"`
	}
	if c.call(hc, "deploy", "POST", "/__api__/v1/content/"+ct.GUID+"/bundles", bytes.NewReader(c.bundle), "application/gzip", true, 201, &bd) != nil {
		return
	}
	var task struct {
		TaskID string `json:"task_id"`
	}
	if c.call(hc, "deploy", "POST", "/__api__/v1/content/"+ct.GUID+"/deploy", strings.NewReader(fmt.Sprintf(`{"bundle_id":%d}`, bd.ID)),
		"application/json", true, 202, &task) != nil {
		return
	}
	deadline := time.Now().Add(testutil.Timeout(60 * time.Second))
	for time.Now().Before(deadline) {
		var st struct {
			Finished bool   `json:"finished"`
			Code     int    `json:"code"`
			Error    string `json:"error"`
		}
		if c.call(hc, "task", "GET", "/__api__/v1/tasks/"+task.TaskID, nil, "", true, 200, &st) != nil {
			return
		}
		if st.Finished {
			if st.Code != 0 || st.Error != "" {
				c.record("deploy", time.Now(), fmt.Errorf("deployment task %s failed: code %d %s", task.TaskID, st.Code, st.Error))
				return
			}
			c.mu.Lock()
			c.deployed[ct.GUID] = bd.ID
			c.mu.Unlock()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.record("deploy", time.Now(), fmt.Errorf("deployment task %s did not finish", task.TaskID))
}

// notesLoop writes a note and reads it back: the code of each binary on
// the schema it knows (N writes legacy_flag, N+1 the expand column).
func (c *rollingClient) notesLoop(i int) {
	hc := newHTTPClient()
	defer hc.CloseIdleConnections()
	var note struct {
		ID int64 `json:"id"`
	}
	form := url.Values{"body": {"note " + strconv.Itoa(i)}}
	if c.call(hc, "notes", "POST", "/__rolling__/notes", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded", true, 201, &note) != nil {
		return
	}
	_ = c.call(hc, "notes", "GET", "/__rolling__/notes/"+strconv.FormatInt(note.ID, 10), nil, "", true, 200, nil)
}

// rollingFigures is what one rolling upgrade under load measured.
type rollingFigures struct {
	Sent, Failed       int
	Failures           []string
	SteadyP99, RollP99 time.Duration
	Duration           time.Duration // first SIGTERM to finalize done
	Deployments        int
	ScheduledDues      int
}

func p99(ops []rollingOp, from, to time.Time) time.Duration {
	var ls []time.Duration
	for _, o := range ops {
		if !o.at.Before(from) && o.at.Before(to) {
			ls = append(ls, o.latency)
		}
	}
	if len(ls) == 0 {
		return 0
	}
	slices.Sort(ls)
	return ls[min(len(ls)-1, len(ls)*99/100)]
}

// startShippedHAProxy runs deploy/loadbalancer/haproxy.cfg as shipped,
// with its addresses replaced: the frontend and stats on free local ports,
// node1..node3 at the given addresses.
func startShippedHAProxy(tb testing.TB, addrs []string) (front, stats string) {
	tb.Helper()
	b, err := os.ReadFile(nodetest.ModuleRoot(tb) + "/deploy/loadbalancer/haproxy.cfg")
	if err != nil {
		tb.Fatal(err)
	}
	cfg := string(b)
	port, sport := testutil.FreePort(tb), testutil.FreePort(tb)
	repl := []string{"bind :80\n", fmt.Sprintf("bind 127.0.0.1:%d\n", port),
		"bind 127.0.0.1:8404", fmt.Sprintf("bind 127.0.0.1:%d", sport),
		// The frontend's log line per request would flood the test output.
		"    option httplog\n", ""}
	for i, a := range addrs {
		repl = append(repl, fmt.Sprintf("10.0.0.1%d:3939", i+1), a)
	}
	for i := 0; i < len(repl); i += 2 {
		if !strings.Contains(cfg, repl[i]) {
			tb.Fatalf("the shipped haproxy.cfg has no %q", repl[i])
		}
		cfg = strings.Replace(cfg, repl[i], repl[i+1], 1)
	}
	cfg = strings.Replace(cfg, "log stdout format raw local0", "", 1)
	cfg = strings.Replace(cfg, "    log global\n", "", 1)
	h := &haproxy{URL: fmt.Sprintf("http://127.0.0.1:%d", port), StatsURL: fmt.Sprintf("http://127.0.0.1:%d/stats;csv", sport)}
	startHAProxyProcess(tb, h, cfg)
	return h.URL, h.StatsURL
}

// backendStatus returns the state of each server of the shipped backend.
func backendStatus(statsURL string) map[string]string {
	out := map[string]string{}
	res, err := http.Get(statsURL)
	if err != nil {
		return out
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ",")
		if len(f) > 17 && f[0] == "podium_nodes" && strings.HasPrefix(f[1], "node") {
			out[f[1]] = strings.Fields(f[17] + " ")[0]
		}
	}
	return out
}

func waitBackend(tb testing.TB, statsURL, server, state string) {
	tb.Helper()
	testutil.WaitFor(tb, 30*time.Second, "haproxy sees "+server+" "+state, func() bool {
		return backendStatus(statsURL)[server] == state
	})
}

// rollingRun is one rolling upgrade under load, shared by the test and
// the benchmark.
type rollingRun struct {
	tb            testing.TB
	pg, data      string
	binN, binN1   string
	cfg           string
	nodes         []*nodetest.Node
	client        *rollingClient
	front, stats  string
	schedGUID     string
	steadyFrom    time.Time
	rollFrom      time.Time
	rollTo        time.Time
	finalizeOut   string
	statusMid     schema.Status
	haCheckMid    hacheck.Result
	midNServed    bool
	rehearsal     schema.Rehearsal
	featureBefore bool
	featureAfter  bool
}

func (r *rollingRun) cli(bin string, args ...string) (string, string, int) {
	conf := nodetest.WriteConfig(r.tb, &nodetest.Options{Postgres: r.pg, DataDir: r.data})
	return nodetest.Run(r.tb, bin, nil, append([]string{"--config", conf}, args...)...)
}

// setup starts three N nodes behind the shipped HAProxy, creates the
// users, a content item with a schedule every second, and the client.
func (r *rollingRun) setup() {
	tb := r.tb
	r.pg = pgtest.NewDatabase(tb)
	r.data = sharedDataDir(tb)
	r.binN = nodetest.BinaryWithTags(tb, tagRollingN)
	r.binN1 = nodetest.BinaryWithTags(tb, tagRollingNPlus)
	r.cfg = schedulerConfig(2) + fmt.Sprintf("[Server]\nDrainDelay = %s\n[Database]\nSchemaCheckInterval = 5s\n", rollingDrainDelay)
	for i := range 3 {
		r.nodes = append(r.nodes, nodetest.Start(tb, nodetest.Options{Binary: r.binN, Name: fmt.Sprintf("n%d-N", i+1),
			Postgres: r.pg, DataDir: r.data, Config: r.cfg}))
	}
	var addrs []string
	for _, n := range r.nodes {
		n.WaitReady(tb, 60*time.Second)
		addrs = append(addrs, strings.TrimPrefix(n.URL, "http://"))
	}
	if _, stderr, code := r.cli(r.binN, "users", "create", "--username", "admin", "--role", "admin", "--no-password"); code != 0 {
		tb.Fatalf("users create: %d %s", code, stderr)
	}
	key, stderr, code := r.cli(r.binN, "keys", "create", "--username", "admin")
	if code != 0 {
		tb.Fatalf("keys create: %d %s", code, stderr)
	}
	key = strings.TrimSpace(key)
	r.front, r.stats = startShippedHAProxy(tb, addrs)
	for i := range r.nodes {
		waitBackend(tb, r.stats, fmt.Sprintf("node%d", i+1), "UP")
	}
	api := &benchAPI{tb: tb, base: r.front, key: key}
	password := "rolling-upgrade-password"
	if code := api.do("POST", "/__api__/v1/users", strings.NewReader(`{"username":"alice","role":"publisher","password":"`+password+`"}`), nil); code != 201 {
		tb.Fatalf("create user alice: %d", code)
	}
	dir := reportBundleDir(tb, "0")
	r.schedGUID = api.deployReport("scheduled", dir)
	var buf bytes.Buffer
	if _, err := bundle.Pack(context.Background(), dir, &buf); err != nil {
		tb.Fatal(err)
	}
	r.client = &rollingClient{tb: tb, base: r.front, key: key, user: "alice", password: password, bundle: buf.Bytes(), readGUID: r.schedGUID}
}

// roll runs the client, measures a steady state, replaces the nodes one
// by one (SIGTERM, drain, start N+1 on the same address and state), and
// finalizes.
func (r *rollingRun) roll(steady time.Duration) {
	tb := r.tb
	api := &benchAPI{tb: tb, base: r.front, key: r.client.key}
	if code := api.do("PUT", "/__api__/v1/content/"+r.schedGUID+"/schedule", strings.NewReader(`{"spec": "* * * * * *"}`), nil); code != 200 {
		tb.Fatalf("put schedule: %d", code)
	}
	r.steadyFrom = time.Now()
	r.client.start()
	time.Sleep(steady)

	out, stderr, code := r.cli(r.binN1, "migrate", "schema", "rehearse", "--json")
	if code != 0 {
		tb.Fatalf("rehearse: exit %d\n%s\n%s", code, out, stderr)
	}
	if err := json.Unmarshal([]byte(out), &r.rehearsal); err != nil {
		tb.Fatalf("rehearse JSON: %v\n%s", err, out)
	}

	r.rollFrom = time.Now()
	for i, old := range r.nodes {
		if err := old.Signal(syscall.SIGTERM); err != nil {
			tb.Fatal(err)
		}
		code, err := old.Wait(60 * time.Second)
		if err != nil || code != 0 {
			tb.Fatalf("%s: exit %d (%v) after SIGTERM, want 0\n%s", old.Name, code, err, old.Log())
		}
		n := nodetest.Start(tb, nodetest.Options{Binary: r.binN1, Name: fmt.Sprintf("n%d-N+1", i+1), Postgres: r.pg,
			DataDir: r.data, StateDir: old.StateDir, Listen: old.Opts.Listen, Config: r.cfg})
		n.WaitReady(tb, 60*time.Second)
		waitBackend(tb, r.stats, fmt.Sprintf("node%d", i+1), "UP")
		r.nodes[i] = n
		if i == 0 {
			out, stderr, code := r.cli(r.binN1, "migrate", "schema", "status", "--json")
			if code != 0 {
				tb.Fatalf("migrate schema status: exit %d\n%s", code, stderr)
			}
			if err := json.Unmarshal([]byte(out), &r.statusMid); err != nil {
				tb.Fatalf("status JSON: %v\n%s", err, out)
			}
			out, stderr, _ = nodetest.Run(tb, r.binN1, nil, "ha", "check", "--config", n.ConfigPath, "--json")
			var list []hacheck.Result
			if err := json.Unmarshal([]byte(out), &list); err != nil {
				tb.Fatalf("ha check --json: %v\n%s\n%s", err, out, stderr)
			}
			for _, res := range list {
				if res.Item == hacheck.ItemVersion {
					r.haCheckMid = res
				}
			}
			// Binary N started now, on a schema newer than its own but a
			// floor that still allows it, serves.
			mid := nodetest.StartNode(tb, nodetest.Options{Binary: r.binN, Name: "N-mid-upgrade", Postgres: r.pg, DataDir: r.data, Config: r.cfg})
			if status, _, err := mid.Ping(); err != nil || status != 200 {
				tb.Fatalf("binary N started mid-upgrade: ping %d %v, want 200\n%s", status, err, mid.Log())
			}
			if code := mid.Stop(tb); code != 0 {
				tb.Fatalf("binary N started mid-upgrade: exit %d after SIGTERM, want 0\n%s", code, mid.Log())
			}
			r.midNServed = true
		}
	}
	var feat struct {
		Enabled bool `json:"enabled"`
	}
	api.do("GET", "/__rolling__/feature", nil, &feat)
	r.featureBefore = feat.Enabled
	out, stderr, code = r.cli(r.binN1, "migrate", "schema", "finalize")
	if code != 0 {
		tb.Fatalf("finalize: exit %d\n%s\n%s", code, out, stderr)
	}
	r.finalizeOut = out
	r.rollTo = time.Now()
	api.do("GET", "/__rolling__/feature", nil, &feat)
	r.featureAfter = feat.Enabled
	time.Sleep(2 * time.Second) // the client keeps going on the finalized cluster
}

// figures stops the client and the schedule and sums up.
func (r *rollingRun) figures() (rollingFigures, []rollingOp) {
	ops := r.client.finish()
	api := &benchAPI{tb: r.tb, base: r.front, key: r.client.key}
	if code := api.do("DELETE", "/__api__/v1/content/"+r.schedGUID+"/schedule", nil, nil); code != 204 {
		r.tb.Errorf("delete schedule: %d", code)
	}
	f := rollingFigures{Sent: len(ops), Duration: r.rollTo.Sub(r.rollFrom), Deployments: len(r.client.deployed)}
	for _, o := range ops {
		if o.err != "" {
			f.Failed++
			f.Failures = append(f.Failures, fmt.Sprintf("%s at %s: %s", o.kind, o.at.Format("15:04:05.000"), o.err))
		}
	}
	f.SteadyP99 = p99(ops, r.steadyFrom, r.rollFrom)
	f.RollP99 = p99(ops, r.rollFrom, r.rollTo)
	return f, ops
}
