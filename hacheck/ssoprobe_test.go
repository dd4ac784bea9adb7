package hacheck

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/startstop"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

// TestSSOProbe: the probe checks at once and then every interval; the
// facts say when and with what error; the log says once that the provider
// cannot be reached and once that it can again; Stop ends its goroutine.
func TestSSOProbe(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	log, hook := test.NewNullLogger()
	p := NewSSOProbe(SSOFacts{Provider: "oidc", Settings: "issuer=x", Source: "https://idp/.well-known/openid-configuration"},
		func(context.Context) error {
			if down.Load() {
				return errors.New("connection refused")
			}
			return nil
		}, 5*time.Millisecond, logrus.NewEntry(log))
	p.Probed.Init()
	if p.Name() != "sign-in provider probe" {
		t.Fatalf("Name = %q", p.Name())
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.Probed.WaitOrTimeout(t)
	p.Probed.WaitOrTimeout(t) // a second failure: logged once only
	if f := p.Facts(); f.Error != "connection refused" || f.CheckedAt.IsZero() || f.Provider != "oidc" || f.Settings != "issuer=x" {
		t.Fatalf("facts while down: %+v", f)
	}
	down.Store(false)
	for p.Facts().Error != "" {
		p.Probed.WaitOrTimeout(t)
	}
	startstop.StopForTest(t, context.Background(), p)
	var errs, infos int
	for _, e := range hook.AllEntries() {
		switch {
		case e.Level == logrus.ErrorLevel && e.Message == "the sign-in provider cannot be reached: users cannot sign in through this node":
			errs++
		case e.Level == logrus.InfoLevel && e.Message == "the sign-in provider can be reached again":
			infos++
		}
	}
	if errs != 1 || infos != 1 {
		t.Fatalf("logged %d failures and %d recoveries, want 1 and 1: %v", errs, infos, hook.AllEntries())
	}
}
