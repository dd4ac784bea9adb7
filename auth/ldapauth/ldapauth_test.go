package ldapauth_test

import (
	"context"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/auth"
	"github.com/podiumhq/podium/auth/ldapauth"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/internal/ldaptest"
	"github.com/sirupsen/logrus"
)

func baseConfig(s *ldaptest.Server) config.LDAPConfig {
	return config.LDAPConfig{ServerAddress: s.LDAPSURL, TLSCACertificate: s.CAFile, BindDN: ldaptest.AdminDN,
		BindPassword: ldaptest.AdminPass, UserSearchBaseDN: ldaptest.PeopleDN, UserFilter: "(uid={username})",
		UsernameAttribute: "uid", UniqueIDAttribute: "entryUUID", NameAttribute: "cn", EmailAttribute: "mail",
		GroupsAttribute: "memberOf", GroupFilter: "(member={userdn})", GroupNameAttribute: "cn", Timeout: 5 * time.Second}
}

func newAuth(t *testing.T, cfg config.LDAPConfig) *ldapauth.Authenticator {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	a, err := ldapauth.New(cfg, logrus.NewEntry(log))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestAuthenticate against Debian's slapd: search then bind over LDAPS
// and over StartTLS with the test CA, groups by memberOf and by a group
// search, wrong passwords, unknown users and a filter injection refused,
// the wrong CA and a stopped server reported as unavailable.
func TestAuthenticate(t *testing.T) {
	t.Parallel()
	s := ldaptest.Start(t, "")
	ctx := context.Background()

	for _, tc := range []struct {
		name string
		cfg  func(c *config.LDAPConfig)
	}{
		{"LDAPSMemberOf", func(c *config.LDAPConfig) {}},
		{"StartTLSGroupSearch", func(c *config.LDAPConfig) {
			c.ServerAddress, c.StartTLS, c.GroupSearchBaseDN = s.URL, true, ldaptest.GroupsDN
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig(s)
			tc.cfg(&cfg)
			a := newAuth(t, cfg)
			if err := a.Check(ctx); err != nil {
				t.Fatalf("Check: %v", err)
			}
			id, err := a.Authenticate(ctx, "ada", ldaptest.AdaPassword)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(id.Groups)
			if id.Provider != "ldap" || id.Username != "ada" || id.Name != "Ada Lovelace" || id.Email != "ada@example.com" ||
				len(id.UniqueID) != 36 || !slices.Equal(id.Groups, []string{"analysts", "podium-admins"}) {
				t.Fatalf("ada = %+v", id)
			}
			for _, bad := range [][2]string{{"ada", "wrong"}, {"nobody", "x"}, {"*", ldaptest.AdaPassword}, {"ada)(uid=*", ldaptest.AdaPassword}, {"ada", ""}} {
				if _, err := a.Authenticate(ctx, bad[0], bad[1]); !podium.IsCode(err, podium.EUNAUTHORIZED) {
					t.Errorf("Authenticate(%q, %q) = %v, want EUNAUTHORIZED", bad[0], bad[1], err)
				}
			}
		})
	}

	t.Run("WrongCA", func(t *testing.T) {
		cfg := baseConfig(s)
		cfg.TLSCACertificate = "" // the system's CAs do not know the test CA
		a := newAuth(t, cfg)
		if _, err := a.Authenticate(ctx, "ada", ldaptest.AdaPassword); !podium.IsCode(err, podium.EUNAVAILABLE) {
			t.Fatalf("unknown CA: %v, want EUNAVAILABLE", err)
		}
	})
	t.Run("WrongServiceAccount", func(t *testing.T) {
		cfg := baseConfig(s)
		cfg.BindPassword = "not it"
		a := newAuth(t, cfg)
		if err := a.Check(ctx); !podium.IsCode(err, podium.EUNAVAILABLE) {
			t.Fatalf("Check with a wrong bind password: %v", err)
		}
	})
}

// TestServerDown: a stopped directory is EUNAVAILABLE (the user's page
// and the administrator's log say so), never a wrong password.
func TestServerDown(t *testing.T) {
	t.Parallel()
	s := ldaptest.Start(t, "")
	a := newAuth(t, baseConfig(s))
	s.Stop()
	_, err := a.Authenticate(context.Background(), "ada", ldaptest.AdaPassword)
	if !podium.IsCode(err, podium.EUNAVAILABLE) {
		t.Fatalf("server down: %v, want EUNAVAILABLE", err)
	}
	var _ auth.PasswordAuthenticator = a
}
