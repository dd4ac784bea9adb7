package integration

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/podiumhq/podium/internal/nodetest"
)

// TestUsersDashboardBrowser drives the user management pages in headless
// Chromium: an administrator creates a user, changes their role, locks
// and unlocks them, resets their password and deletes another user; the
// user signs in with the reset password, sees their role and sessions,
// changes their own password (which signs them out) and signs in with the
// new one. Each step is checked on the page and through the API.
func TestUsersDashboardBrowser(t *testing.T) {
	t.Parallel()
	n := nodetest.StartNode(t, nodetest.Options{Name: "users"})
	const adminPassword = "correct horse battery staple"
	dashUser(t, n, "admin", "admin", adminPassword)
	dashUser(t, n, "temp", "viewer", "a temporary passphrase")
	adminKey := pubKeyFor(t, n, "admin")
	browser := newBrowser(t)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browserRun(t, browser, what, chromedp.Steps(steps...))
	}
	text := func(sel string) string {
		t.Helper()
		return browserRun(t, browser, "text of "+sel, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	}
	login := func(user, password, wait string) {
		t.Helper()
		do("log in as "+user,
			chromedp.Navigate(n.URL+"/__login__?next=/__dashboard__/account"),
			chromedp.WaitVisible(chromedp.CSS("#password")),
			chromedp.SendKeys(chromedp.CSS("#username"), user),
			chromedp.SendKeys(chromedp.CSS("#password"), password),
			chromedp.Click(chromedp.CSS(`button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(wait)),
		)
	}
	userRow := func(name string) string { return `tr[data-user="` + name + `"]` }
	apiUser := func(name string) map[string]any {
		t.Helper()
		r := pubDo(t, "GET", n.URL+"/__api__/v1/users", adminKey, "", nil)
		pubWant(t, "list users", r, 200)
		var users []map[string]any
		r.JSON(t, &users)
		for _, u := range users {
			if u["username"] == name {
				return u
			}
		}
		return nil
	}

	login("admin", adminPassword, "#my-role")
	do("open the users page", chromedp.Click(chromedp.CSS(`nav a[href$="/users"]`)), chromedp.WaitVisible(chromedp.CSS("#create-user")))
	do("create vera",
		chromedp.SendKeys(chromedp.CSS("#new-username"), "vera"),
		chromedp.SetValue(chromedp.CSS("#new-role"), "viewer"),
		chromedp.SendKeys(chromedp.CSS("#new-password"), "vera's first passphrase"),
		chromedp.Click(chromedp.CSS(`#create-user button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#done[data-done="created"]`)),
	)
	if got := text("#done"); !strings.Contains(got, "User created") {
		t.Fatalf("after create: %q", got)
	}
	do("make vera a publisher",
		chromedp.SetValue(chromedp.CSS(userRow("vera")+` select[name=role]`), "publisher"),
		chromedp.Click(chromedp.CSS(userRow("vera")+` button.set-role`)),
		chromedp.WaitVisible(chromedp.CSS(`#done[data-done="role"]`)),
	)
	if u := apiUser("vera"); u == nil || u["role"] != "publisher" {
		t.Fatalf("vera after the role change: %v", u)
	}
	do("lock vera", chromedp.Click(chromedp.CSS(userRow("vera")+` button.lock`)), chromedp.WaitVisible(chromedp.CSS(userRow("vera")+` button.unlock`)))
	if got := text(userRow("vera") + " td.status"); got != "locked" {
		t.Fatalf("vera's status after lock: %q", got)
	}
	if u := apiUser("vera"); u["locked"] != true {
		t.Fatalf("vera after lock: %v", u)
	}
	do("unlock vera", chromedp.Click(chromedp.CSS(userRow("vera")+` button.unlock`)), chromedp.WaitVisible(chromedp.CSS(userRow("vera")+` button.lock`)))
	do("reset vera's password",
		chromedp.SendKeys(chromedp.CSS(userRow("vera")+` input[name=password]`), "vera's reset passphrase"),
		chromedp.Click(chromedp.CSS(userRow("vera")+` button.reset`)),
		chromedp.WaitVisible(chromedp.CSS(`#done[data-done="password"]`)),
	)
	do("delete temp", chromedp.Click(chromedp.CSS(userRow("temp")+` button.delete`)), chromedp.WaitVisible(chromedp.CSS(`#done[data-done="deleted"]`)))
	if u := apiUser("temp"); u != nil {
		t.Fatalf("temp still listed after delete: %v", u)
	}
	do("try to lock oneself", chromedp.Click(chromedp.CSS(userRow("admin")+` button.lock`)), chromedp.WaitVisible(chromedp.CSS("#error")))
	if got := text("#error"); !strings.Contains(got, "your own account") {
		t.Fatalf("self lock: %q", got)
	}
	do("log out", chromedp.Click(chromedp.CSS(`form[action$="/__logout__"] button`)), chromedp.WaitVisible(chromedp.CSS("#password")))

	// Vera: the reset password, her role, her session, her own password.
	login("vera", "vera's reset passphrase", "#my-role")
	if got := text("#my-role"); got != "publisher" {
		t.Fatalf("vera's role on her page: %q", got)
	}
	if got := text("#sessions"); !strings.Contains(got, "this browser") {
		t.Fatalf("sessions: %q", got)
	}
	do("change her password",
		chromedp.SendKeys(chromedp.CSS("#current-password"), "vera's reset passphrase"),
		chromedp.SendKeys(chromedp.CSS("#new-password"), "vera's own passphrase"),
		chromedp.SendKeys(chromedp.CSS("#confirm-password"), "vera's own passphrase"),
		chromedp.Click(chromedp.CSS(`#change-password button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#password")), // signed out: the login page
	)
	login("vera", "vera's own passphrase", "#my-role")
	if got := text("#username"); got != "vera" {
		t.Fatalf("signed in as %q", got)
	}
}

// pubKeyFor creates an API key for an existing user (podium keys create)
// and returns it.
func pubKeyFor(t *testing.T, n *nodetest.Node, username string) string {
	t.Helper()
	stdout, stderr, code := nodetest.Run(t, nodetest.Binary(t), nil, "--config", n.ConfigPath, "keys", "create", "--username", username)
	if code != 0 {
		t.Fatalf("keys create %s: exit %d: %s", username, code, stderr)
	}
	return strings.TrimSpace(stdout)
}
