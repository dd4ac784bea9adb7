package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/podiumhq/podium"
)

// validate checks ranges and combinations of the merged configuration and
// records every problem.
func (l *loader) validate() {
	c := l.cfg

	// [Server]
	l.atLeastDuration("Server.ShutdownGracePeriod", c.Server.ShutdownGracePeriod, 0)
	l.atLeast("Server.MinFreeSpace", c.Server.MinFreeSpace, 0)
	l.atLeastDuration("Server.DrainDelay", c.Server.DrainDelay, 0)
	if c.Server.DrainDelay > MaxDrainDelay {
		l.bad("Server.DrainDelay", fmt.Sprintf("must be at most %s (a node retiring on a newer schema exits within 30s)", MaxDrainDelay))
	}
	if c.Server.AuditLogRetention != 0 {
		l.atLeastDuration("Server.AuditLogRetention", c.Server.AuditLogRetention, time.Hour)
	}

	l.webOrigins()

	// [HTTP]
	l.listen("HTTP.Listen", c.HTTP.Listen)
	for _, p := range c.HTTP.TrustedProxies {
		if !validProxy(p) {
			l.problem("HTTP.TrustedProxies", p,
				"is not an IP address or CIDR range: write entries such as 10.0.0.1, 10.0.0.0/8 or fd00::/8, separated by commas")
		}
	}
	l.atLeast("HTTP.MaxUploadSize", c.HTTP.MaxUploadSize, 1)
	l.atLeastDuration("HTTP.ReadHeaderTimeout", c.HTTP.ReadHeaderTimeout, 1)
	l.atLeast("HTTP.MinUploadRate", c.HTTP.MinUploadRate, 0)
	l.atLeastDuration("HTTP.UploadRateWindow", c.HTTP.UploadRateWindow, 1)
	l.atLeastDuration("HTTP.WriteTimeout", c.HTTP.WriteTimeout, 1)
	l.atLeastDuration("HTTP.IdleTimeout", c.HTTP.IdleTimeout, 1)
	l.atLeast("HTTP.MaxConnections", int64(c.HTTP.MaxConnections), 0)

	// [HTTPS]
	if c.HTTPS.Listen != "" {
		l.listen("HTTPS.Listen", c.HTTPS.Listen)
		if c.HTTPS.Certificate == "" || c.HTTPS.Key == "" {
			l.bad("HTTPS.Listen", "needs [HTTPS] Certificate (the PEM file of the certificate chain, leaf first) and [HTTPS] Key (the PEM file of its private key)")
		}
		if c.HTTPS.Listen == c.HTTP.Listen {
			l.bad("HTTPS.Listen", "must differ from [HTTP] Listen")
		}
	} else if c.HTTPS.Certificate != "" || c.HTTPS.Key != "" {
		l.bad("HTTPS.Listen", "must be set when [HTTPS] Certificate or Key is, e.g. :443 (or unset both)")
	}
	if _, err := ParseTLSVersion(c.HTTPS.MinimumTLSVersion); err != nil {
		l.bad("HTTPS.MinimumTLSVersion", err.Error())
	}

	// [Authentication]
	l.atLeastDuration("Authentication.SessionIdleTimeout", c.Authentication.SessionIdleTimeout, 1)
	l.atLeastDuration("Authentication.SessionLifetime", c.Authentication.SessionLifetime, 1)
	if c.Authentication.SessionIdleTimeout > c.Authentication.SessionLifetime {
		l.bad("Authentication.SessionIdleTimeout", fmt.Sprintf("must be at most [Authentication] SessionLifetime (%s)", formatDuration(c.Authentication.SessionLifetime)))
	}

	switch p := strings.ToLower(c.Authentication.Provider); p {
	case AuthPassword, AuthLDAP, AuthOIDC, AuthSAML, AuthProxy:
		c.Authentication.Provider = p
	default:
		l.bad("Authentication.Provider", "must be password, ldap, oidc, saml or proxy (see docs/accounts.md)")
	}
	switch c.Authentication.Provider {
	case AuthOIDC:
		l.validateOIDC()
	case AuthSAML:
		l.validateSAML()
	}

	// [ProxyAuth]
	for _, p := range c.ProxyAuth.TrustedProxies {
		if !validProxy(p) {
			l.problem("ProxyAuth.TrustedProxies", p,
				"is not an IP address or CIDR range: write the addresses of the authenticating proxies, such as 10.0.0.5 or 10.0.0.0/24, separated by commas")
		}
	}
	if c.Authentication.Provider == AuthProxy {
		if len(c.ProxyAuth.TrustedProxies) == 0 {
			l.bad("ProxyAuth.TrustedProxies", "must list the authenticating proxies' addresses with [Authentication] Provider = proxy: without it anyone could send the user header")
		}
		if strings.TrimSpace(c.ProxyAuth.UsernameHeader) == "" {
			l.bad("ProxyAuth.UsernameHeader", "must name the header that carries the username with [Authentication] Provider = proxy")
		}
	}
	if c.ProxyAuth.GroupsSeparator == "" {
		c.ProxyAuth.GroupsSeparator = ","
	}

	// [LDAP]
	if c.Authentication.Provider == AuthLDAP {
		u, err := url.Parse(c.LDAP.ServerAddress)
		switch {
		case c.LDAP.ServerAddress == "":
			l.bad("LDAP.ServerAddress", "must be set with [Authentication] Provider = ldap, e.g. ldaps://ldap.example.com or ldap://ldap.example.com (with StartTLS)")
		case err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "":
			l.bad("LDAP.ServerAddress", "must be an ldap:// or ldaps:// URL with a host, e.g. ldaps://ldap.example.com:636")
		case u.Scheme == "ldaps" && c.LDAP.StartTLS:
			l.bad("LDAP.StartTLS", "is for ldap:// addresses: ldaps:// is already TLS")
		}
		if c.LDAP.UserSearchBaseDN == "" {
			l.bad("LDAP.UserSearchBaseDN", "must be set with [Authentication] Provider = ldap, e.g. ou=people,dc=example,dc=com")
		}
		if !strings.Contains(c.LDAP.UserFilter, "{username}") {
			l.bad("LDAP.UserFilter", "must contain {username}, e.g. (uid={username}) or (sAMAccountName={username})")
		}
		if c.LDAP.BindDN != "" && c.LDAP.BindPassword == "" {
			l.bad("LDAP.BindPassword", "must be set with [LDAP] BindDN (prefer the environment variable PODIUM_LDAP_BINDPASSWORD)")
		}
	}
	l.atLeastDuration("LDAP.Timeout", c.LDAP.Timeout, time.Second)

	// [Authorization]
	switch r := strings.ToLower(c.Authorization.DefaultUserRole); r {
	case podium.RoleAdmin, podium.RolePublisher, podium.RoleViewer:
		c.Authorization.DefaultUserRole = r
	default:
		l.bad("Authorization.DefaultUserRole", "must be viewer, publisher or admin")
	}
	for _, m := range []struct {
		id     string
		groups []string
	}{
		{"Authorization.AdministratorRoleMapping", c.Authorization.AdministratorRoleMapping},
		{"Authorization.PublisherRoleMapping", c.Authorization.PublisherRoleMapping},
		{"Authorization.ViewerRoleMapping", c.Authorization.ViewerRoleMapping},
	} {
		for _, g := range m.groups {
			if strings.TrimSpace(g) == "" {
				l.problem(m.id, g, "is an empty group name: list the provider's group names, separated by commas")
			}
		}
	}

	// [Password]
	if n := c.Password.MinimumLength; n < 8 || n > 128 {
		l.bad("Password.MinimumLength", "must be between 8 and 128")
	}

	// [Database]
	provider := strings.ToLower(c.Database.Provider)
	switch provider {
	case ProviderSQLite, ProviderPostgres:
		c.Database.Provider = provider
	default:
		l.bad("Database.Provider", "must be sqlite or postgres")
	}
	if d := c.Database.SchemaCheckInterval; d <= 0 || d > 30*time.Second {
		l.bad("Database.SchemaCheckInterval", "must be more than 0s and at most 30s")
	}
	if d := c.Database.MigrationLockTimeout; d < 100*time.Millisecond || d > time.Minute {
		l.bad("Database.MigrationLockTimeout", "must be at least 100ms and at most 1m")
	}

	// [Postgres]
	if c.Postgres.URL != "" {
		if reason := checkPostgresURL(c.Postgres.URL); reason != "" {
			l.bad("Postgres.URL", reason)
		} else if c.Postgres.Password == "" && urlPassword(c.Postgres.URL) == podium.Mask {
			l.bad("Postgres.URL", "its password is the mask written by \"podium config dump\", not a password: "+
				"put the real password in [Postgres] Password or PODIUM_POSTGRES_PASSWORD")
		}
	}
	if c.Postgres.Password.Reveal() == podium.Mask {
		l.bad("Postgres.Password", "is the mask written by \"podium config dump\", not a password: "+
			"put the real password in [Postgres] Password or PODIUM_POSTGRES_PASSWORD")
	}
	if provider == ProviderPostgres && c.Postgres.URL == "" {
		l.bad("Database.Provider", "needs [Postgres] URL, e.g. postgres://podium@db.example/podium (or PODIUM_POSTGRES_URL)")
	}
	l.atLeast("Postgres.MaxConns", int64(c.Postgres.MaxConns), 1)

	// [HA]
	if c.HA.Enabled && provider == ProviderSQLite {
		l.errs = append(l.errs, fmt.Sprintf("%s: [HA] Enabled = true needs a shared PostgreSQL database, "+
			"but [Database] Provider = sqlite: SQLite serves a single node. "+
			"Move the data with \"podium migrate db\", then set [Database] Provider = postgres on every node.",
			l.origin("HA.Enabled")))
	}
	l.atLeastDuration("HA.HeartbeatInterval", c.HA.HeartbeatInterval, 1)
	if c.HA.NodeTimeout <= c.HA.HeartbeatInterval {
		l.bad("HA.NodeTimeout", fmt.Sprintf("must be more than [HA] HeartbeatInterval (%s)", formatDuration(c.HA.HeartbeatInterval)))
	}
	l.atLeastDuration("HA.ClockWarnOffset", c.HA.ClockWarnOffset, 1)
	if c.HA.ClockFailOffset <= c.HA.ClockWarnOffset {
		l.bad("HA.ClockFailOffset", fmt.Sprintf("must be more than [HA] ClockWarnOffset (%s)", formatDuration(c.HA.ClockWarnOffset)))
	}

	// [Metrics]
	if c.Metrics.PrometheusListen != "" {
		l.listen("Metrics.PrometheusListen", c.Metrics.PrometheusListen)
	}
	if c.Metrics.GraphiteEnabled && c.Metrics.GraphiteHost == "" {
		l.bad("Metrics.GraphiteEnabled", "needs [Metrics] GraphiteHost")
	}
	if p := c.Metrics.GraphitePort; p < 1 || p > 65535 {
		l.bad("Metrics.GraphitePort", "must be a port between 1 and 65535")
	}
	l.atLeastDuration("Metrics.Interval", c.Metrics.Interval, 1)

	// [Usage]
	l.atLeastDuration("Usage.FlushInterval", c.Usage.FlushInterval, 10*time.Millisecond)
	l.atLeast("Usage.BatchSize", int64(c.Usage.BatchSize), 1)
	if c.Usage.MaxPending < c.Usage.BatchSize {
		l.bad("Usage.MaxPending", fmt.Sprintf("must be at least [Usage] BatchSize (%d)", c.Usage.BatchSize))
	}
	if c.Usage.Retention != 0 {
		l.atLeastDuration("Usage.Retention", c.Usage.Retention, time.Hour)
	}

	// [Git]
	l.atLeastDuration("Git.PollingFrequency", c.Git.PollingFrequency, 100*time.Millisecond)
	l.atLeastDuration("Git.Timeout", c.Git.Timeout, time.Second)
	if c.Git.Executable == "" {
		l.bad("Git.Executable", "must name the git program (a name looked up in PATH, or an absolute path)")
	}

	// [Applications]
	if c.Applications.RunAs == "" {
		l.bad("Applications.RunAs", "must name a Unix user")
	}
	l.atLeast("Applications.ScheduleConcurrency", int64(c.Applications.ScheduleConcurrency), 0)
	l.atLeastDuration("Applications.JobHeartbeatTimeout", c.Applications.JobHeartbeatTimeout, 1)
	l.atLeastDuration("Applications.JobPollInterval", c.Applications.JobPollInterval, 1)
	l.atLeastDuration("Applications.HistoryRetention", c.Applications.HistoryRetention, 0)
	l.atLeastDuration("Applications.RenderTimeout", c.Applications.RenderTimeout, 1)
	l.atLeast("Applications.MaxBundleSize", c.Applications.MaxBundleSize, 1)
	if k := c.Applications.EnvironmentKey.Reveal(); k != "" {
		if _, err := ParseEnvironmentKey(k); err != nil {
			l.bad("Applications.EnvironmentKey", err.Error())
		}
	}
	if ks := c.Applications.EnvironmentPreviousKeys.Reveal(); ks != "" {
		for i, k := range strings.Split(ks, ",") {
			if _, err := ParseEnvironmentKey(k); err != nil {
				l.bad("Applications.EnvironmentPreviousKeys", fmt.Sprintf("key %d %s", i+1, err))
			}
		}
	}

	if _, _, err := c.Applications.UIDRange(); err != nil {
		l.bad("Applications.SandboxUIDRange", err.Error())
	}
	if n := c.Applications.SandboxNetwork; n != "isolated" && n != "host" {
		l.bad("Applications.SandboxNetwork", "must be isolated or host")
	}
	if p := c.Applications.Proxy; p != "direct" && p != "standard" {
		l.bad("Applications.Proxy", "must be direct or standard")
	}
	l.atLeast("Applications.SandboxMemoryLimit", c.Applications.SandboxMemoryLimit, 0)
	l.atLeast("Applications.SandboxProcessLimit", int64(c.Applications.SandboxProcessLimit), 0)
	l.atLeast("Applications.SandboxOpenFileLimit", int64(c.Applications.SandboxOpenFileLimit), 0)
	if n := c.Applications.SandboxCPUShares; n != 0 && (n < 2 || n > 262144) {
		l.bad("Applications.SandboxCPUShares", "must be 0 (no CPU cgroup) or between 2 and 262144 (1024 weighs as much as one busy process)")
	}
	l.atLeast("Applications.SandboxTmpSize", c.Applications.SandboxTmpSize, 1<<20)

	// [Scheduler]
	l.atLeast("Scheduler.MinProcesses", int64(c.Scheduler.MinProcesses), 0)
	l.atLeast("Scheduler.MaxProcesses", int64(c.Scheduler.MaxProcesses), 1)
	if c.Scheduler.MaxProcesses >= 1 && c.Scheduler.MinProcesses > c.Scheduler.MaxProcesses {
		l.bad("Scheduler.MinProcesses", fmt.Sprintf("must be at most [Scheduler] MaxProcesses (%d)", c.Scheduler.MaxProcesses))
	}
	l.atLeast("Scheduler.MaxConnsPerProcess", int64(c.Scheduler.MaxConnsPerProcess), 1)
	if f := c.Scheduler.LoadFactor; f <= 0 || f > 1 {
		l.bad("Scheduler.LoadFactor", "must be more than 0 and at most 1")
	}
	l.atLeastDuration("Scheduler.IdleTimeout", c.Scheduler.IdleTimeout, 1)
	l.atLeastDuration("Scheduler.InitTimeout", c.Scheduler.InitTimeout, 1)

	// [R]
	for _, p := range c.R.Executable {
		if !filepath.IsAbs(p) {
			l.problem("R.Executable", p, "must be an absolute path such as /usr/bin/R: Podium never looks R up through PATH")
		}
	}
	if r := c.R.Repository; r != "" && !filepath.IsAbs(r) && !strings.HasPrefix(r, "https://") && !strings.HasPrefix(r, "http://") && !strings.HasPrefix(r, "file://") {
		l.problem("R.Repository", r, "must be an http://, https:// or file:// URL of a CRAN-like repository, or an absolute directory")
	}
	// [Python]
	for _, p := range c.Python.Executable {
		if !filepath.IsAbs(p) {
			l.problem("Python.Executable", p, "must be an absolute path such as /usr/bin/python3: Podium never looks interpreters up through PATH")
		}
	}
	for _, p := range c.Python.FindLinks {
		if !filepath.IsAbs(p) && !strings.Contains(p, "://") {
			l.problem("Python.FindLinks", p, "must be an absolute directory path or a URL")
		}
	}
	for _, idx := range append([]string{c.Python.PackageIndex}, c.Python.ExtraIndex...) {
		if idx != "" && !strings.HasPrefix(idx, "https://") && !strings.HasPrefix(idx, "http://") && !strings.HasPrefix(idx, "file://") {
			id := "Python.ExtraIndex"
			if idx == c.Python.PackageIndex {
				id = "Python.PackageIndex"
			}
			l.problem(id, idx, "must be an http://, https:// or file:// URL of a package index")
		}
	}
	if c.Python.NoIndex && (c.Python.PackageIndex != "" || len(c.Python.ExtraIndex) > 0) {
		l.bad("Python.NoIndex", "is true, so [Python] PackageIndex and ExtraIndex would be ignored: unset one or the other")
	}
	l.atLeastDuration("Python.EnvironmentRetention", c.Python.EnvironmentRetention, 0)
	l.atLeast("Python.EnvironmentMaxSize", c.Python.EnvironmentMaxSize, 0)
}

// bad records a problem with the current value of a key.
func (l *loader) bad(id, reason string) {
	k := l.keyByID(id)
	l.problem(id, k.format(l.cfg), reason)
}

// problem records a problem with one value of a key. value must already be
// masked if the key holds a secret.
func (l *loader) problem(id, value, reason string) {
	k := l.keyByID(id)
	if value == "" {
		value = `""`
	}
	l.errs = append(l.errs, fmt.Sprintf("%s: %s = %s: %s", l.origin(id), k.label(), value, reason))
}

// atLeast checks a count or size.
func (l *loader) atLeast(id string, n, lowest int64) {
	if n < lowest {
		l.bad(id, "must be at least "+strconv.FormatInt(lowest, 10))
	}
}

// atLeastDuration checks a duration: lowest 0 allows 0, lowest 1 asks for
// a positive duration.
func (l *loader) atLeastDuration(id string, d, lowest time.Duration) {
	switch {
	case lowest == 0 && d < 0:
		l.bad(id, "must be 0s or more")
	case lowest > 0 && d <= 0:
		l.bad(id, "must be more than 0s")
	}
}

// listen checks a host:port listen address. A port of 0 (any free port) is
// allowed: tests use it.
func (l *loader) listen(id, addr string) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		l.bad(id, "must be host:port or :port, e.g. :3939 or 127.0.0.1:3939")
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		l.bad(id, "must end in a port number between 0 and 65535")
	}
}

// keyByID finds a key of the table; ids are constants of this file.
func (l *loader) keyByID(id string) *key {
	for i := range l.keys {
		if l.keys[i].id() == id {
			return &l.keys[i]
		}
	}
	panic("config: no key " + id)
}

// validProxy reports whether s is an IP address or a CIDR range.
func validProxy(s string) bool {
	_, err := ParseTrustedProxy(s)
	return err == nil
}

// ParseTrustedProxy parses one [HTTP] TrustedProxies entry: an IP address
// (the range of that address alone) or a CIDR range, without a zone. It is
// the one parser of the key: validation and the node use it, so an entry
// is never accepted here and dropped there.
func ParseTrustedProxy(s string) (*net.IPNet, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		p = p.Masked()
		return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return nil, podium.Errorf(podium.EINVALID, "[HTTP] TrustedProxies: %q is not an IP address or CIDR range (without a zone): write entries such as 10.0.0.1, 10.0.0.0/8 or fd00::/8", s)
	}
	return &net.IPNet{IP: net.IP(a.AsSlice()), Mask: net.CIDRMask(a.BitLen(), a.BitLen())}, nil
}

// checkPostgresURL returns why raw is not a usable PostgreSQL URL, "" if it
// is. The reason never quotes raw: it may hold a password.
func checkPostgresURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the whole URL, password included: drop it.
		return "is not a valid URL: write postgres://user@host[:port]/database"
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return "must be a postgres:// or postgresql:// URL, e.g. postgres://podium@db.example/podium"
	}
	return ""
}

// ParseTLSVersion reads [HTTPS] MinimumTLSVersion: "1.2" or "1.3" (a
// "TLS" prefix is allowed), as a crypto/tls version number.
func ParseTLSVersion(s string) (uint16, error) {
	v := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "TLS"), "V"))
	switch v {
	case "1.2":
		return 0x0303, nil // tls.VersionTLS12; this package does not import crypto/tls
	case "1.3":
		return 0x0304, nil // tls.VersionTLS13
	}
	return 0, fmt.Errorf("must be 1.2 or 1.3: older TLS versions are not offered")
}

// ParseEnvironmentKey decodes an [Applications] EnvironmentKey: standard
// base64 of exactly 32 bytes (for example the output of
// "head -c 32 /dev/urandom | base64"). The error never repeats the key.
func ParseEnvironmentKey(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("must be base64 (make one with: head -c 32 /dev/urandom | base64)")
	}
	if len(b) != 32 {
		return nil, fmt.Errorf("must decode to 32 bytes, not %d (make one with: head -c 32 /dev/urandom | base64)", len(b))
	}
	return b, nil
}

// X-Frame-Options policies of [Server] FrameOptionsDashboard and
// FrameOptionsContent.
const (
	FrameDeny       = "DENY"
	FrameSameOrigin = "SAMEORIGIN"
	FrameNone       = "NONE" // no header: any site may frame the pages
)

// webOrigins checks [Server] Address, ContentURL and the frame policies.
func (l *loader) webOrigins() {
	c := l.cfg
	var main podium.Origin
	if c.Server.Address != "" {
		o, _, err := podium.ParseAddress(c.Server.Address)
		if err != nil {
			l.bad("Server.Address", err.Error())
		}
		main = o
	}
	if c.Server.ContentURL != "" {
		co, err := podium.ParseContentURL(c.Server.ContentURL)
		switch {
		case err != nil:
			l.bad("Server.ContentURL", err.Error())
		case c.Server.Address == "":
			l.bad("Server.ContentURL", "needs [Server] Address, the URL of the dashboard, where the content origin sends readers to sign in "+
				"(for one node on this machine: Address = http://localhost:3939, ContentURL = http://127.0.0.1:3939)")
		case main.Host != "":
			if _, same := co.Match(main.Host); same || co.Origin("").Hostname() == main.Hostname() {
				l.bad("Server.ContentURL", "must name another host than [Server] Address ("+main.Hostname()+
					"): browsers share cookies between ports of one host, so a port alone does not keep content away from the dashboard")
			}
		}
	}
	for _, id := range []string{"Server.FrameOptionsDashboard", "Server.FrameOptionsContent"} {
		v := l.keyByID(id).field(c).(*string)
		switch up := strings.ToUpper(strings.TrimSpace(*v)); up {
		case FrameDeny, FrameSameOrigin, FrameNone:
			*v = up
		case "":
			*v = FrameNone
		default:
			l.bad(id, "must be DENY, SAMEORIGIN or NONE (no header)")
		}
	}
}
