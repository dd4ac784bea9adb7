// Package ldaptest starts a private OpenLDAP server (Debian's slapd) for
// tests: its own configuration and database in a temporary folder, plain
// LDAP (with StartTLS) and LDAPS on free loopback ports, a certificate
// from a test CA made here, the memberOf overlay, and a small directory
// loaded with ldapadd (ldap-utils). scripts/ensure-deps.sh installs both
// packages; a test that needs them does not skip.
package ldaptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/testutil"
)

// Directory facts every test can rely on.
const (
	BaseDN       = "dc=example,dc=com"
	AdminDN      = "cn=admin,dc=example,dc=com"
	AdminPass    = "slapd admin secret"
	PeopleDN     = "ou=people,dc=example,dc=com"
	GroupsDN     = "ou=groups,dc=example,dc=com"
	AdaPassword  = "ada's ldap password"
	BobPassword  = "bob's ldap password"
	CaroPassword = "caro's ldap password"
)

// DefaultLDIF is the directory: ada (groups podium-admins, analysts), bob
// (authors), caro (no group).
const DefaultLDIF = `dn: dc=example,dc=com
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,dc=example,dc=com
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=example,dc=com
objectClass: organizationalUnit
ou: groups

dn: uid=ada,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: ada
cn: Ada Lovelace
sn: Lovelace
mail: ada@example.com
userPassword: ` + AdaPassword + `

dn: uid=bob,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: bob
cn: Bob Builder
sn: Builder
mail: bob@example.com
userPassword: ` + BobPassword + `

dn: uid=caro,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: caro
cn: Caro Smith
sn: Smith
userPassword: ` + CaroPassword + `

dn: cn=podium-admins,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: podium-admins
member: uid=ada,ou=people,dc=example,dc=com

dn: cn=analysts,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: analysts
member: uid=ada,ou=people,dc=example,dc=com

dn: cn=authors,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: authors
member: uid=bob,ou=people,dc=example,dc=com
`

// Server is a running slapd.
type Server struct {
	// URL is ldap://127.0.0.1:PORT (StartTLS offered); LDAPSURL is
	// ldaps://127.0.0.1:PORT.
	URL, LDAPSURL string
	// CAFile is the PEM of the CA that signed the server's certificate
	// (for 127.0.0.1).
	CAFile string
	dir    string
	cmd    *exec.Cmd
	mu     sync.Mutex
	log    bytes.Buffer
	done   chan struct{}
}

// Start starts slapd loaded with ldif (DefaultLDIF when ""), and stops it
// at the end of the test.
func Start(tb testing.TB, ldif string) *Server {
	tb.Helper()
	if ldif == "" {
		ldif = DefaultLDIF
	}
	dir := tb.TempDir()
	s := &Server{dir: dir, done: make(chan struct{})}
	s.CAFile = writeCerts(tb, dir)
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		tb.Fatal(err)
	}
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile %[1]s/slapd.pid
argsfile %[1]s/slapd.args
TLSCACertificateFile %[1]s/ca.pem
TLSCertificateFile %[1]s/server.pem
TLSCertificateKeyFile %[1]s/server.key
database mdb
maxsize 16777216
suffix "%[2]s"
rootdn "%[3]s"
rootpw "%[4]s"
directory %[1]s/data
overlay memberof
`, dir, BaseDN, AdminDN, AdminPass)
	confPath := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	port, sport := testutil.FreePort(tb), testutil.FreePort(tb)
	s.URL = fmt.Sprintf("ldap://127.0.0.1:%d", port)
	s.LDAPSURL = fmt.Sprintf("ldaps://127.0.0.1:%d", sport)
	s.cmd = exec.Command("/usr/sbin/slapd", "-f", confPath, "-h", s.URL+"/ "+s.LDAPSURL+"/", "-d", "stats")
	s.cmd.Stdout, s.cmd.Stderr = s, s
	if err := s.cmd.Start(); err != nil {
		tb.Fatalf("slapd: %v", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	tb.Cleanup(func() {
		s.Stop()
		if tb.Failed() {
			tb.Logf("slapd log:\n%s", s.Log())
		}
	})
	testutil.WaitFor(tb, testutil.Timeout(15*time.Second), "slapd listens", func() bool {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(s.URL, "ldap://"), time.Second)
		if err != nil {
			return false
		}
		_ = c.Close()
		return true
	})
	s.LDAPAdd(tb, ldif)
	return s
}

// Write collects slapd's output.
func (s *Server) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.Write(p)
}

// Log returns slapd's output so far.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// LDAPAdd adds entries with ldapadd, bound as the directory's admin.
func (s *Server) LDAPAdd(tb testing.TB, ldif string) {
	tb.Helper()
	cmd := exec.Command("ldapadd", "-x", "-H", s.URL, "-D", AdminDN, "-w", AdminPass)
	cmd.Stdin = strings.NewReader(ldif)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("ldapadd: %v: %s", err, out)
	}
}

// Stop stops slapd (it may be stopped again).
func (s *Server) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// writeCerts makes a test CA and a certificate for 127.0.0.1 signed by
// it, in dir, and returns the CA's file.
func writeCerts(tb testing.TB, dir string) string {
	tb.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "podium test LDAP CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames: []string{"localhost"}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	write := func(name, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	write("ca.pem", "CERTIFICATE", caDER)
	write("server.pem", "CERTIFICATE", der)
	write("server.key", "PRIVATE KEY", keyDER)
	return filepath.Join(dir, "ca.pem")
}
