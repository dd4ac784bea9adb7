package web

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

// TestFirstRunSetupService: at the start of a node without users and
// with passwords, the setup is offered with a token printed in the log
// and as plain lines naming the login page, the token the setup form
// takes; with an external provider, or once a user exists, it is not
// offered.
func TestFirstRunSetupService(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := mustBare(t, Options{})
	log, hook := test.NewNullLogger()
	var out bytes.Buffer
	oidc := a.s.FirstRunSetup(a.auth, "n1", "oidc", "", nil, logrus.NewEntry(log))
	if err := oidc.Start(ctx); err != nil || a.s.FirstRunActive() {
		t.Fatalf("with the oidc provider: %v, active %v; want no setup", err, a.s.FirstRunActive())
	}
	if e := hook.LastEntry(); e == nil || e.Level != logrus.WarnLevel || !strings.Contains(e.Message, "first sign-in through the oidc provider") {
		t.Fatalf("oidc warning: %+v", e)
	}

	s := a.s.FirstRunSetup(a.auth, "n1", "password", "https://podium.example/", &out, logrus.NewEntry(log))
	if s.Name() != "first-run setup" {
		t.Fatalf("Name = %q", s.Name())
	}
	if err := s.Start(ctx); err != nil || !a.s.FirstRunActive() {
		t.Fatalf("no users: %v, active %v; want the setup offered", err, a.s.FirstRunActive())
	}
	m := regexp.MustCompile(`first-run setup token ([0-9a-f]{32})`).FindStringSubmatch(hook.LastEntry().Message)
	if m == nil {
		t.Fatalf("no token in the log: %q", hook.LastEntry().Message)
	}
	if !strings.Contains(out.String(), "PODIUM FIRST-RUN SETUP TOKEN: "+m[1]) || !strings.Contains(out.String(), "https://podium.example/__login__") {
		t.Fatalf("plain lines: %q", out.String())
	}
	a.s.firstRun.mu.Lock()
	token := a.s.firstRun.token
	a.s.firstRun.mu.Unlock()
	if token != m[1] {
		t.Fatalf("the setup takes %q, the log printed %q", token, m[1])
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	b := mustAPI(t, Options{}) // users exist
	if err := b.s.FirstRunSetup(b.auth, "n1", "password", "", nil, logrus.NewEntry(log)).Start(ctx); err != nil || b.s.FirstRunActive() {
		t.Fatalf("with users: %v, active %v; want no setup", err, b.s.FirstRunActive())
	}
}

// unreadableUsers is an auth.AccountService whose users cannot be read.
type unreadableUsers struct{ auth.AccountService }

func (unreadableUsers) ListUsers(context.Context) ([]*podium.User, error) {
	return nil, errors.New("database is locked")
}

// TestFirstRunSetupUsersUnreadable: against a fake accounts service whose
// users cannot be read, the setup neither fails the node's start nor
// offers a token (the administrator can still run podium users create).
func TestFirstRunSetupUsersUnreadable(t *testing.T) {
	t.Parallel()
	s := New(Options{Log: quietLog()})
	log, hook := test.NewNullLogger()
	var out bytes.Buffer
	if err := s.FirstRunSetup(unreadableUsers{}, "n1", "password", "", &out, logrus.NewEntry(log)).Start(context.Background()); err != nil {
		t.Fatalf("start: %v; want nil (the node starts)", err)
	}
	if s.FirstRunActive() || out.Len() != 0 || len(hook.AllEntries()) != 0 {
		t.Fatalf("setup offered without knowing whether users exist: active %v, out %q, %d log entries", s.FirstRunActive(), out.String(), len(hook.AllEntries()))
	}
}
