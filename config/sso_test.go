package config_test

import (
	"strings"
	"testing"

	"github.com/podiumhq/podium/config"
)

func TestLoad_SSO(t *testing.T) {
	t.Parallel()
	t.Run("OIDC", func(t *testing.T) {
		dir, opts := setup(t)
		opts.Path = writeFile(t, dir, "p.gcfg", "[Authentication]\nProvider = oidc\n[OAuth2]\nClientId = podium\nClientSecret = s3cret value\n"+
			"OpenIDConnectIssuer = https://sso.example.com/realms/staff\nCustomScope = groups\nCustomScope = offline_access\nRoleClaim = podium_role\n")
		c := mustLoad(t, opts)
		o := c.OAuth2
		if o.ClientSecret.Reveal() != "s3cret value" || strings.Join(o.CustomScope, ",") != "groups,offline_access" || o.RoleClaim != "podium_role" ||
			o.UsernameClaim != "preferred_username" || o.UniqueIdClaim != "sub" || o.GroupsClaim != "groups" || !o.LogoutAtProvider {
			t.Fatalf("[OAuth2] = %+v", o)
		}
	})
	t.Run("SAML", func(t *testing.T) {
		dir, opts := setup(t)
		opts.Path = writeFile(t, dir, "p.gcfg", "[Authentication]\nProvider = saml\n[Server]\nAddress = https://podium.example\n"+
			"[SAML]\nIdPMetaDataPath = idp.xml\nGroupsAttribute = memberOf\n")
		c := mustLoad(t, opts)
		if c.SAML.IdPMetaDataPath != dir+"/idp.xml" || c.SAML.GroupsAttribute != "memberOf" || c.SAML.UsernameAttribute != "uid" {
			t.Fatalf("[SAML] = %+v", c.SAML)
		}
	})
	// Sections of a provider not selected are not checked.
	t.Run("OtherProvider", func(t *testing.T) {
		dir, opts := setup(t)
		opts.Path = writeFile(t, dir, "p.gcfg", "[OAuth2]\nClientId = podium\n")
		if c := mustLoad(t, opts); c.Authentication.Provider != config.AuthPassword {
			t.Fatalf("provider %q", c.Authentication.Provider)
		}
	})
	for _, tc := range []struct {
		name, file string
		want       []string
	}{
		{"OIDCIncomplete", "[Authentication]\nProvider = oidc\n[OAuth2]\nClientSecret = hunter2-secret\nOpenIDConnectIssuer = sso.example.com\n",
			[]string{"[OAuth2] ClientId", "is required with [Authentication] Provider = oidc", "[OAuth2] OpenIDConnectIssuer = sso.example.com", "http(s) URL"}},
		{"SAMLNoMetadata", "[Authentication]\nProvider = saml\n", []string{"[SAML] IdPMetaDataURL", "is required", "[Server] Address"}},
		{"SAMLBoth", "[Authentication]\nProvider = saml\n[Server]\nAddress = https://p.example\n[SAML]\nIdPMetaDataURL = https://idp.example/md\nIdPMetaDataPath = /x.xml\n",
			[]string{"both set: keep one"}},
		{"SAMLHalfKeyPair", "[Authentication]\nProvider = saml\n[Server]\nAddress = https://p.example\n[SAML]\nIdPMetaDataURL = https://idp.example/md\nSPCertificate = /c.pem\n",
			[]string{"[SAML] SPCertificate", "go together"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, opts := setup(t)
			opts.Path = writeFile(t, dir, "p.gcfg", tc.file)
			msg := loadErr(t, opts)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%s", w, msg)
				}
			}
			if strings.Contains(msg, "hunter2-secret") {
				t.Errorf("error shows the client secret:\n%s", msg)
			}
		})
	}
}
