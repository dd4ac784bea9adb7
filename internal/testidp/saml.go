package testidp

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/logger"
	"github.com/crewjam/saml/samlidp"
)

// SAML is a running SAML 2.0 identity provider.
type SAML struct {
	// URL is its base URL; its metadata is at URL/metadata.
	URL string
	// MetadataURL is URL/metadata.
	MetadataURL string
	// Certificate is the IdP's signing certificate and Key its key (a
	// test forges responses with another key).
	Certificate *x509.Certificate
	Key         *rsa.PrivateKey
	srv         *httptest.Server
	idp         *samlidp.Server
}

// StartSAML starts an identity provider on 127.0.0.1 with users; it stops
// at the end of the test. A user's Role goes out in a "role" attribute;
// groups go out in eduPersonAffiliation (samlidp's own mapping), the
// username in uid, the email in mail (also the NameID).
func StartSAML(t testing.TB, users []User) *SAML {
	t.Helper()
	return StartSAMLAt(t, "127.0.0.1", users)
}

// StartSAMLAt is StartSAML with host in the IdP's URLs (it listens on
// 127.0.0.1): "localhost" puts it on another site than a Podium at
// 127.0.0.1, as a real IdP is, so that browsers apply their cross-site
// cookie rules.
func StartSAMLAt(t testing.TB, host string, users []User) *SAML {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	base := "http://" + net.JoinHostPort(host, port)
	key, cert := selfSigned(t, "test idp")
	u, _ := url.Parse(base)
	idp, err := samlidp.New(samlidp.Options{URL: *u, Key: key, Certificate: cert, Store: &samlidp.MemoryStore{}, Logger: logger.DefaultLogger})
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]string{}
	for _, u := range users {
		if u.Role != "" {
			roles[u.Username] = u.Role
		}
	}
	idp.IDP.AssertionMaker = roleMaker{roles: roles}
	s := &SAML{URL: base, MetadataURL: base + "/metadata", Certificate: cert, Key: key, idp: idp}
	s.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: idp}}
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	for _, u := range users {
		pw := u.Password
		body, _ := json.Marshal(samlidp.User{Name: u.Username, PlaintextPassword: &pw, Groups: u.Groups, Email: u.Email,
			CommonName: u.First + " " + u.Last, GivenName: u.First, Surname: u.Last})
		s.put(t, "/users/"+u.Username, "application/json", body)
	}
	return s
}

// AddServiceProvider registers a service provider by its metadata (as
// Podium serves it at /__login__/saml/metadata).
func (s *SAML) AddServiceProvider(t testing.TB, id string, metadata []byte) {
	t.Helper()
	s.put(t, "/services/"+id, "application/samlmetadata+xml", metadata)
}

// Close stops the identity provider.
func (s *SAML) Close() { s.srv.Close() }

func (s *SAML) put(t testing.TB, path, ctype string, body []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, s.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("test IdP: PUT %s: %s %s", path, resp.Status, b)
	}
}

// roleMaker is samlidp's assertion plus a "role" attribute.
type roleMaker struct{ roles map[string]string }

func (m roleMaker) MakeAssertion(req *saml.IdpAuthnRequest, session *saml.Session) error {
	if err := (saml.DefaultAssertionMaker{}).MakeAssertion(req, session); err != nil {
		return err
	}
	r, ok := m.roles[session.UserName]
	if !ok || req.Assertion == nil {
		return nil
	}
	at := saml.Attribute{Name: "role", NameFormat: "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
		Values: []saml.AttributeValue{{Type: "xs:string", Value: r}}}
	if len(req.Assertion.AttributeStatements) == 0 {
		req.Assertion.AttributeStatements = []saml.AttributeStatement{{}}
	}
	req.Assertion.AttributeStatements[0].Attributes = append(req.Assertion.AttributeStatements[0].Attributes, at)
	return nil
}

// selfSigned returns an RSA key and a self-signed certificate for it.
func selfSigned(t testing.TB, cn string) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(fmt.Errorf("certificate: %w", err))
	}
	return key, cert
}

// SelfSigned returns an RSA key and a self-signed certificate (for an SP
// key pair, or a forger's).
func SelfSigned(t testing.TB, cn string) (*rsa.PrivateKey, *x509.Certificate) {
	return selfSigned(t, cn)
}
