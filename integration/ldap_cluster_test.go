package integration

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/hacheck"
	"github.com/podiumhq/podium/internal/ldaptest"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
)

// ldapConfig signs users in against the test's slapd over LDAPS with its
// test CA; podium-admins are administrators, authors publishers.
func ldapConfig(s *ldaptest.Server) string {
	return pubConfig + `[HTTP]
TrustedProxies = 127.0.0.1
[Authentication]
Provider = ldap
# caro, a password-era user, moves to LDAP (docs/accounts.md).
LinkExistingUsers = true
[LDAP]
ServerAddress = ` + s.LDAPSURL + `
TLSCACertificate = ` + s.CAFile + `
BindDN = ` + ldaptest.AdminDN + `
BindPassword = ` + ldaptest.AdminPass + `
UserSearchBaseDN = ` + ldaptest.PeopleDN + `
Timeout = 3s
[Authorization]
AdministratorRoleMapping = podium-admins
PublisherRoleMapping = authors
`
}

// TestLDAPClusterBrowser: on a two-node PostgreSQL cluster behind the
// shipped HAProxy configuration, with Debian's slapd (LDAPS, test CA):
// ada signs in through node A in Chromium and is an administrator in her
// directory groups; the same browser acts on node B with that session;
// content granted to the analysts group opens for ada and not for bob; a
// wrong password gets the login page again; "ha check" sees the same LDAP
// settings on both nodes, reachable; API keys keep working; and with the
// directory down the login page says so (503) and the log names the
// server, never a 500.
func TestLDAPClusterBrowser(t *testing.T) {
	t.Parallel()
	slapd := ldaptest.Start(t, "")
	pg := pgtest.NewDatabase(t)
	data := sharedDataDir(t)
	cfg := ldapConfig(slapd)
	a := nodetest.StartNode(t, nodetest.Options{Postgres: pg, DataDir: data, Name: "A", Config: cfg})
	b := nodetest.StartNode(t, nodetest.Options{Postgres: pg, DataDir: data, Name: "B", Config: cfg})
	lb := startExampleHAProxy(t, filepath.Join(nodetest.ModuleRoot(t), "deploy", "loadbalancer", "haproxy.cfg"), []*nodetest.Node{a, b})
	rootKey := pubUser(t, a, "root", "admin") // API keys work under ldap
	// caro was a user of the password installation, with content, before
	// it moved to LDAP: her first LDAP sign-in must keep both.
	caroKey := pubUser(t, a, "caro", "publisher")
	r0 := pubJSON(t, "POST", a.URL+"/__api__/v1/content", caroKey, map[string]string{"name": "caros-report"})
	pubWant(t, "caro's content", r0, 201)
	var caroContent struct {
		GUID      string `json:"guid"`
		OwnerGUID string `json:"owner_guid"`
	}
	r0.JSON(t, &caroContent)

	browser := newBrowser(t)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browserRun(t, browser, what, chromedp.Steps(steps...))
	}
	text := func(sel string) string {
		t.Helper()
		return browserRun(t, browser, "text of "+sel, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	}
	login := func(base, user, password, wait string) {
		t.Helper()
		do("log in as "+user+" at "+base,
			chromedp.Navigate(base+"/__login__?next=/__dashboard__/account"),
			chromedp.WaitVisible(chromedp.CSS("#password")),
			chromedp.SendKeys(chromedp.CSS("#username"), user),
			chromedp.SendKeys(chromedp.CSS("#password"), password),
			chromedp.Click(chromedp.CSS(`button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(wait)),
		)
	}

	login(a.URL, "ada", "wrong password", ".error")
	if got := text(".error"); !strings.Contains(got, "Invalid username or password") {
		t.Fatalf("wrong password: %q", got)
	}
	login(a.URL, "ada", ldaptest.AdaPassword, "#my-role")
	if got := text("#my-role"); got != "admin" {
		t.Fatalf("ada's role %q, want admin (podium-admins)", got)
	}
	if got := text("#groups"); !strings.Contains(got, "analysts") || !strings.Contains(got, "podium-admins") {
		t.Fatalf("ada's groups: %q", got)
	}
	// The session made on A works on B (and through the load balancer).
	do("ada on node B", chromedp.Navigate(b.URL+"/__dashboard__/users"), chromedp.WaitVisible(chromedp.CSS(`tr[data-user="ada"]`)))
	do("ada through HAProxy", chromedp.Navigate(lb+"/__dashboard__/account"), chromedp.WaitVisible(chromedp.CSS("#my-role")))

	// Content for the analysts group, deployed with an API key.
	r := pubJSON(t, "POST", lb+"/__api__/v1/content", rootKey, map[string]string{"name": "ldap-analysis"})
	pubWant(t, "create", r, 201)
	var c struct{ GUID string }
	r.JSON(t, &c)
	r = pubDo(t, "POST", a.URL+"/__api__/v1/content/"+c.GUID+"/bundles", rootKey, "application/gzip", pubBundle(t, map[string]string{
		"manifest.json": `{"version":1,"metadata":{"appmode":"static"}}`,
		"index.html":    "<h1 id=secret>for analysts</h1>",
	}))
	pubWant(t, "upload", r, 201)
	var bd struct{ ID int64 }
	r.JSON(t, &bd)
	r = pubJSON(t, "POST", a.URL+"/__api__/v1/content/"+c.GUID+"/deploy", rootKey, map[string]any{"bundle_id": bd.ID})
	pubWant(t, "deploy", r, 202)
	var started struct {
		TaskID string `json:"task_id"`
	}
	r.JSON(t, &started)
	if task := pubWaitTask(t, a.URL, rootKey, started.TaskID); task.Code != 0 {
		t.Fatalf("deploy: %+v", task)
	}
	pubWant(t, "grant analysts", pubJSON(t, "PUT", b.URL+"/__api__/v1/content/"+c.GUID+"/permissions", rootKey, map[string]any{
		"access_type": "acl", "permissions": []map[string]any{{"principal_type": "group", "name": "analysts", "role": "viewer"}}}), 200)
	do("ada opens it on B", chromedp.Navigate(b.URL+"/content/"+c.GUID+"/"), chromedp.WaitVisible(chromedp.CSS("#secret")))

	do("log out", chromedp.Navigate(b.URL+"/__dashboard__/account"), chromedp.WaitVisible(chromedp.CSS("#my-role")),
		chromedp.Click(chromedp.CSS(`form[action$="/__logout__"] button`)), chromedp.WaitVisible(chromedp.CSS("#password")))
	login(b.URL, "bob", ldaptest.BobPassword, "#my-role")
	if got := text("#my-role"); got != "publisher" {
		t.Fatalf("bob's role %q, want publisher (authors)", got)
	}
	do("bob tries it on A", chromedp.Navigate(a.URL+"/content/"+c.GUID+"/"), chromedp.WaitReady(chromedp.CSS("body")))
	if seen := browserRun(t, browser, "is the secret there", chromedp.Evaluate[bool](`!!document.getElementById("secret")`)); seen {
		t.Fatal("bob, not an analyst, opened the analysts' content")
	}

	// caro's first LDAP sign-in finds her password-era user.
	do("log out bob", chromedp.Navigate(b.URL+"/__dashboard__/account"), chromedp.WaitVisible(chromedp.CSS("#my-role")),
		chromedp.Click(chromedp.CSS(`form[action$="/__logout__"] button`)), chromedp.WaitVisible(chromedp.CSS("#password")))
	login(a.URL, "caro", ldaptest.CaroPassword, "#my-role")
	// With role mappings configured the directory decides the role at
	// every sign-in: caro is in no mapped group, so she has the default
	// role now (docs/accounts.md says to map every role before moving).
	if got := text("#my-role"); got != "viewer" {
		t.Fatalf("caro's role after moving to LDAP: %q, want the default viewer (no mapping matches her)", got)
	}
	r1 := pubDo(t, "GET", a.URL+"/__api__/v1/user", caroKey, "", nil)
	pubWant(t, "caro's old key", r1, 200)
	var me struct {
		GUID string `json:"guid"`
		Name string `json:"name"`
	}
	r1.JSON(t, &me)
	if me.GUID != caroContent.OwnerGUID || me.Name != "Caro Smith" {
		t.Fatalf("caro after her first LDAP sign-in: %+v; want the owner of her content (%s), named from LDAP", me, caroContent.OwnerGUID)
	}

	// rsconnect-python's deployment, with an API key, through HAProxy.
	rs := newRSConnect(t, lb, rootKey)
	d := rs.deploy("", "rsc_under_ldap", "Deployed by rsconnect under LDAP",
		htmlBundle(t, map[string]string{"index.html": "<p>hi</p>"}, "index.html"), nil, true, nil)
	if lines, task := rs.waitForTask(d.TaskID, 1); task.Code != 0 {
		t.Fatalf("rsconnect deploy under ldap: code %d error %q\n%s", task.Code, task.Error, strings.Join(lines, "\n"))
	}

	// The R rsconnect client's requests, with the same API key.
	connectRFlow(t, a, pubUser(t, a, "alice", "publisher")) // an API-key user, as the R client has

	// ha check: both nodes have the same [LDAP] and reached the server.
	bin := nodetest.Binary(t)
	var res map[string]hacheck.Result
	testutil.WaitFor(t, testutil.Timeout(60*time.Second), "ha check sees both nodes reach LDAP", func() bool {
		res, _, _ = haCheck(t, bin, a.ConfigPath)
		return res[hacheck.ItemSSO].Status == hacheck.Pass
	})
	if r := res[hacheck.ItemSSO]; !strings.Contains(r.Detail, slapd.LDAPSURL) {
		t.Errorf("ha check sso: %+v", r)
	}

	// The directory goes down: a clear page for the user, a clear log line.
	slapd.Stop()
	do("log out caro", chromedp.Navigate(a.URL+"/__dashboard__/account"), chromedp.WaitVisible(chromedp.CSS("#my-role")),
		chromedp.Click(chromedp.CSS(`form[action$="/__logout__"] button`)), chromedp.WaitVisible(chromedp.CSS("#password")))
	login(a.URL, "ada", ldaptest.AdaPassword, ".error")
	if got := text(".error"); !strings.Contains(got, "sign-in service cannot be reached") {
		t.Fatalf("with LDAP down: %q", got)
	}
	a.WaitLog(t, testutil.Timeout(10*time.Second), "LDAP sign-in: cannot connect")
	if r := pubDo(t, "GET", a.URL+"/__api__/v1/user", rootKey, "", nil); r.Status != 200 {
		t.Fatalf("API key with LDAP down: %d", r.Status)
	}
}
