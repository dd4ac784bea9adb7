package hacheck

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/podiumhq/podium/internal/startstop"
	"github.com/podiumhq/podium/internal/testsignal"
	"github.com/sirupsen/logrus"
)

// ItemSSO: the single sign-on provider ([Authentication] Provider = oidc
// or saml) is configured alike on every node, and every node reaches it.
const ItemSSO = "sso"

// SSOFacts describe a node's single sign-on provider.
type SSOFacts struct {
	// Provider is "oidc" or "saml".
	Provider string `json:"provider"`
	// Settings is the provider's configuration as one line, secrets
	// replaced by a fingerprint (the first bytes of their SHA-256): two
	// nodes with the same Settings sign users in alike.
	Settings string `json:"settings"`
	// Source is what the node fetches from the provider: the OIDC
	// discovery document's URL, or the SAML IdP metadata's URL or file.
	Source string `json:"source"`
	// CheckedAt is when the node last fetched Source (zero: not yet);
	// Error why that failed ("" when it worked).
	CheckedAt time.Time `json:"checked_at,omitzero"`
	Error     string    `json:"error,omitempty"`
}

// sso checks that the nodes that sign users in through a provider all
// have the same settings, and that each reached the provider at its last
// check (nodes check every minute).
func (c *checker) sso() (Result, bool) {
	r := Result{Item: ItemSSO, Title: "sign-in provider ([OAuth2] / [SAML] / [LDAP]) alike and reachable", Nodes: c.ids, Status: Pass}
	settings := map[string][]string{}
	var any bool
	var unreachable, unchecked []string
	var source string
	for _, n := range c.live {
		f, ok := c.facts[n.ID]
		if !ok {
			continue
		}
		if f.SSO == nil {
			settings["no single sign-on"] = append(settings["no single sign-on"], n.ID)
			continue
		}
		any = true
		settings[f.SSO.Provider+": "+f.SSO.Settings] = append(settings[f.SSO.Provider+": "+f.SSO.Settings], n.ID)
		source = f.SSO.Source
		switch {
		case f.SSO.CheckedAt.IsZero():
			unchecked = append(unchecked, n.ID)
		case f.SSO.Error != "":
			unreachable = append(unreachable, n.ID+" ("+f.SSO.Error+")")
		}
	}
	if !any {
		return r, false
	}
	switch {
	case len(settings) > 1:
		r.Status, r.Detail = Fail, "the nodes' sign-in settings differ: "+groups(settings)
		r.Action = "give every node the same [Authentication] Provider and [OAuth2], [SAML] or [LDAP] section (secrets are compared by fingerprint)"
	case len(unreachable) > 0:
		r.Status, r.Detail = Fail, "these nodes cannot reach the provider at "+source+": "+strings.Join(unreachable, "; ")
		r.Action = "check the provider's URL, the nodes' network path and TLS trust to it; users cannot sign in through those nodes"
	case len(unchecked) > 0:
		r.Status, r.Nodes = Pending, unchecked
		r.Detail = "these nodes have not checked the provider yet"
		r.Action = "run the check again in a minute"
	default:
		r.Detail = "every node has the same settings and reached " + source
	}
	return r, true
}

// SSOProbe checks the node's sign-in provider now and then (an OIDC
// discovery document, SAML metadata, an LDAP bind), logs when that fails
// (users could not sign in through this node) and when it works again,
// and keeps the result as the facts "podium ha check" reads (Facts). It is
// a background service on startstop.Base.
type SSOProbe struct {
	startstop.Base
	check func(context.Context) error
	every time.Duration
	log   *logrus.Entry
	mu    sync.Mutex
	f     SSOFacts
	// Probed signals the end of each probe (tests: Init it first).
	Probed testsignal.Signal[struct{}]
}

// NewSSOProbe returns the probe that runs check every interval (each run
// bounded to 10 s), starting from the facts f (Provider, Settings and
// Source; CheckedAt and Error are the probe's).
func NewSSOProbe(f SSOFacts, check func(context.Context) error, every time.Duration, log *logrus.Entry) *SSOProbe {
	return &SSOProbe{check: check, every: every, log: log, f: f}
}

// Name names the service in logs.
func (p *SSOProbe) Name() string { return "sign-in provider probe" }

// Facts returns a copy of the provider's facts as of the last probe.
func (p *SSOProbe) Facts() *SSOFacts {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.f
	return &f
}

// Start probes at once and then every interval, until Stop.
func (p *SSOProbe) Start(ctx context.Context) error {
	return p.GoEvery(ctx, p.every, true, func(ctx context.Context) {
		p.probe(ctx)
		p.Probed.Signal(struct{}{})
	})
}

func (p *SSOProbe) probe(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := p.check(ctx)
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return
	}
	p.mu.Lock()
	was := p.f.Error
	p.f.CheckedAt = time.Now().UTC()
	p.f.Error = ""
	if err != nil {
		p.f.Error = err.Error()
	}
	p.mu.Unlock()
	switch {
	case err != nil && was == "":
		p.log.WithField("source", p.f.Source).WithError(err).Error("the sign-in provider cannot be reached: users cannot sign in through this node")
	case err == nil && was != "":
		p.log.WithField("source", p.f.Source).Info("the sign-in provider can be reached again")
	}
}
