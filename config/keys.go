package config

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/podiumhq/podium"
)

// key describes one configuration key: where it lives in the file, in the
// environment and in Config. The table below is the single list of keys;
// parsing, environment overrides, Dump and error messages all walk it.
type key struct {
	section string // as documented, e.g. "HTTP"
	name    string // as documented, e.g. "MaxUploadSize"
	path    bool   // a path: relative values resolve against the file's directory
	field   func(c *Config) any
}

// id is "Section.Name", the key of the origin map.
func (k *key) id() string { return k.section + "." + k.name }

// label is "[Section] Name", as error messages and the docs write it.
func (k *key) label() string { return "[" + k.section + "] " + k.name }

// env is the environment variable that overrides the key.
func (k *key) env() string {
	return "PODIUM_" + strings.ToUpper(k.section) + "_" + strings.ToUpper(k.name)
}

// sections lists the sections in the order of the docs and of Dump.
var sections = []string{"Server", "HTTP", "HTTPS", "Authentication", "Authorization", "ProxyAuth", "LDAP", "Password", "Database", "Postgres", "HA", "Metrics", "Usage", "Git", "Applications", "Scheduler", "Python", "R", "OAuth2", "SAML"}

// keys returns the key table. It is a function, not a package variable, so
// the package holds no mutable global state.
func keys() []key {
	return append([]key{
		{section: "Server", name: "DataDir", path: true, field: func(c *Config) any { return &c.Server.DataDir }},
		{section: "Server", name: "LandingDir", path: true, field: func(c *Config) any { return &c.Server.LandingDir }},
		{section: "Server", name: "StateDir", path: true, field: func(c *Config) any { return &c.Server.StateDir }},
		{section: "Server", name: "ShutdownGracePeriod", field: func(c *Config) any { return &c.Server.ShutdownGracePeriod }},
		{section: "Server", name: "MinFreeSpace", field: func(c *Config) any { return &c.Server.MinFreeSpace }},
		{section: "Server", name: "DrainDelay", field: func(c *Config) any { return &c.Server.DrainDelay }},
		{section: "Server", name: "AuditLogRetention", field: func(c *Config) any { return &c.Server.AuditLogRetention }},
		{section: "Server", name: "Address", field: func(c *Config) any { return &c.Server.Address }},
		{section: "Server", name: "ContentURL", field: func(c *Config) any { return &c.Server.ContentURL }},
		{section: "Server", name: "FrameOptionsDashboard", field: func(c *Config) any { return &c.Server.FrameOptionsDashboard }},
		{section: "Server", name: "FrameOptionsContent", field: func(c *Config) any { return &c.Server.FrameOptionsContent }},

		{section: "HTTP", name: "Listen", field: func(c *Config) any { return &c.HTTP.Listen }},
		{section: "HTTP", name: "TrustedProxies", field: func(c *Config) any { return &c.HTTP.TrustedProxies }},
		{section: "HTTP", name: "MaxUploadSize", field: func(c *Config) any { return &c.HTTP.MaxUploadSize }},
		{section: "HTTP", name: "ReadHeaderTimeout", field: func(c *Config) any { return &c.HTTP.ReadHeaderTimeout }},
		{section: "HTTP", name: "MinUploadRate", field: func(c *Config) any { return &c.HTTP.MinUploadRate }},
		{section: "HTTP", name: "UploadRateWindow", field: func(c *Config) any { return &c.HTTP.UploadRateWindow }},
		{section: "HTTP", name: "WriteTimeout", field: func(c *Config) any { return &c.HTTP.WriteTimeout }},
		{section: "HTTP", name: "IdleTimeout", field: func(c *Config) any { return &c.HTTP.IdleTimeout }},
		{section: "HTTP", name: "MaxConnections", field: func(c *Config) any { return &c.HTTP.MaxConnections }},
		{section: "HTTP", name: "FastPath", field: func(c *Config) any { return &c.HTTP.FastPath }},

		{section: "HTTPS", name: "Listen", field: func(c *Config) any { return &c.HTTPS.Listen }},
		{section: "HTTPS", name: "Certificate", path: true, field: func(c *Config) any { return &c.HTTPS.Certificate }},
		{section: "HTTPS", name: "Key", path: true, field: func(c *Config) any { return &c.HTTPS.Key }},
		{section: "HTTPS", name: "MinimumTLSVersion", field: func(c *Config) any { return &c.HTTPS.MinimumTLSVersion }},

		{section: "Authentication", name: "Provider", field: func(c *Config) any { return &c.Authentication.Provider }},
		{section: "Authentication", name: "LinkExistingUsers", field: func(c *Config) any { return &c.Authentication.LinkExistingUsers }},
		{section: "Authentication", name: "SessionIdleTimeout", field: func(c *Config) any { return &c.Authentication.SessionIdleTimeout }},
		{section: "Authentication", name: "SessionLifetime", field: func(c *Config) any { return &c.Authentication.SessionLifetime }},

		{section: "Authorization", name: "DefaultUserRole", field: func(c *Config) any { return &c.Authorization.DefaultUserRole }},
		{section: "Authorization", name: "AdministratorRoleMapping", field: func(c *Config) any { return &c.Authorization.AdministratorRoleMapping }},
		{section: "Authorization", name: "PublisherRoleMapping", field: func(c *Config) any { return &c.Authorization.PublisherRoleMapping }},
		{section: "Authorization", name: "ViewerRoleMapping", field: func(c *Config) any { return &c.Authorization.ViewerRoleMapping }},
		{section: "Authorization", name: "PublishersCanManageVanities", field: func(c *Config) any { return &c.Authorization.PublishersCanManageVanities }},

		{section: "ProxyAuth", name: "TrustedProxies", field: func(c *Config) any { return &c.ProxyAuth.TrustedProxies }},
		{section: "ProxyAuth", name: "UsernameHeader", field: func(c *Config) any { return &c.ProxyAuth.UsernameHeader }},
		{section: "ProxyAuth", name: "UniqueIDHeader", field: func(c *Config) any { return &c.ProxyAuth.UniqueIDHeader }},
		{section: "ProxyAuth", name: "NameHeader", field: func(c *Config) any { return &c.ProxyAuth.NameHeader }},
		{section: "ProxyAuth", name: "EmailHeader", field: func(c *Config) any { return &c.ProxyAuth.EmailHeader }},
		{section: "ProxyAuth", name: "GroupsHeader", field: func(c *Config) any { return &c.ProxyAuth.GroupsHeader }},
		{section: "ProxyAuth", name: "GroupsSeparator", field: func(c *Config) any { return &c.ProxyAuth.GroupsSeparator }},
		{section: "ProxyAuth", name: "RoleHeader", field: func(c *Config) any { return &c.ProxyAuth.RoleHeader }},

		{section: "LDAP", name: "ServerAddress", field: func(c *Config) any { return &c.LDAP.ServerAddress }},
		{section: "LDAP", name: "StartTLS", field: func(c *Config) any { return &c.LDAP.StartTLS }},
		{section: "LDAP", name: "TLSCACertificate", path: true, field: func(c *Config) any { return &c.LDAP.TLSCACertificate }},
		{section: "LDAP", name: "BindDN", field: func(c *Config) any { return &c.LDAP.BindDN }},
		{section: "LDAP", name: "BindPassword", field: func(c *Config) any { return &c.LDAP.BindPassword }},
		{section: "LDAP", name: "UserSearchBaseDN", field: func(c *Config) any { return &c.LDAP.UserSearchBaseDN }},
		{section: "LDAP", name: "UserFilter", field: func(c *Config) any { return &c.LDAP.UserFilter }},
		{section: "LDAP", name: "UsernameAttribute", field: func(c *Config) any { return &c.LDAP.UsernameAttribute }},
		{section: "LDAP", name: "UniqueIDAttribute", field: func(c *Config) any { return &c.LDAP.UniqueIDAttribute }},
		{section: "LDAP", name: "NameAttribute", field: func(c *Config) any { return &c.LDAP.NameAttribute }},
		{section: "LDAP", name: "EmailAttribute", field: func(c *Config) any { return &c.LDAP.EmailAttribute }},
		{section: "LDAP", name: "GroupsAttribute", field: func(c *Config) any { return &c.LDAP.GroupsAttribute }},
		{section: "LDAP", name: "GroupSearchBaseDN", field: func(c *Config) any { return &c.LDAP.GroupSearchBaseDN }},
		{section: "LDAP", name: "GroupFilter", field: func(c *Config) any { return &c.LDAP.GroupFilter }},
		{section: "LDAP", name: "GroupNameAttribute", field: func(c *Config) any { return &c.LDAP.GroupNameAttribute }},
		{section: "LDAP", name: "Timeout", field: func(c *Config) any { return &c.LDAP.Timeout }},

		{section: "Password", name: "MinimumLength", field: func(c *Config) any { return &c.Password.MinimumLength }},

		{section: "Database", name: "Provider", field: func(c *Config) any { return &c.Database.Provider }},
		{section: "Database", name: "Dir", path: true, field: func(c *Config) any { return &c.Database.Dir }},
		{section: "Database", name: "SchemaCheckInterval", field: func(c *Config) any { return &c.Database.SchemaCheckInterval }},
		{section: "Database", name: "MigrationLockTimeout", field: func(c *Config) any { return &c.Database.MigrationLockTimeout }},

		{section: "Postgres", name: "URL", field: func(c *Config) any { return &c.Postgres.URL }},
		{section: "Postgres", name: "Password", field: func(c *Config) any { return &c.Postgres.Password }},
		{section: "Postgres", name: "MaxConns", field: func(c *Config) any { return &c.Postgres.MaxConns }},

		{section: "HA", name: "Enabled", field: func(c *Config) any { return &c.HA.Enabled }},
		{section: "HA", name: "HeartbeatInterval", field: func(c *Config) any { return &c.HA.HeartbeatInterval }},
		{section: "HA", name: "NodeTimeout", field: func(c *Config) any { return &c.HA.NodeTimeout }},
		{section: "HA", name: "ClockWarnOffset", field: func(c *Config) any { return &c.HA.ClockWarnOffset }},
		{section: "HA", name: "ClockFailOffset", field: func(c *Config) any { return &c.HA.ClockFailOffset }},

		{section: "Metrics", name: "DataPath", path: true, field: func(c *Config) any { return &c.Metrics.DataPath }},
		{section: "Metrics", name: "PrometheusListen", field: func(c *Config) any { return &c.Metrics.PrometheusListen }},
		{section: "Metrics", name: "GraphiteEnabled", field: func(c *Config) any { return &c.Metrics.GraphiteEnabled }},
		{section: "Metrics", name: "GraphiteHost", field: func(c *Config) any { return &c.Metrics.GraphiteHost }},
		{section: "Metrics", name: "GraphitePort", field: func(c *Config) any { return &c.Metrics.GraphitePort }},
		{section: "Metrics", name: "GraphiteClientId", field: func(c *Config) any { return &c.Metrics.GraphiteClientId }},
		{section: "Metrics", name: "Interval", field: func(c *Config) any { return &c.Metrics.Interval }},

		{section: "Usage", name: "Enabled", field: func(c *Config) any { return &c.Usage.Enabled }},
		{section: "Usage", name: "FlushInterval", field: func(c *Config) any { return &c.Usage.FlushInterval }},
		{section: "Usage", name: "BatchSize", field: func(c *Config) any { return &c.Usage.BatchSize }},
		{section: "Usage", name: "MaxPending", field: func(c *Config) any { return &c.Usage.MaxPending }},
		{section: "Usage", name: "Retention", field: func(c *Config) any { return &c.Usage.Retention }},

		{section: "Git", name: "Enabled", field: func(c *Config) any { return &c.Git.Enabled }},
		{section: "Git", name: "PollingFrequency", field: func(c *Config) any { return &c.Git.PollingFrequency }},
		{section: "Git", name: "Timeout", field: func(c *Config) any { return &c.Git.Timeout }},
		{section: "Git", name: "Executable", field: func(c *Config) any { return &c.Git.Executable }},
		{section: "Git", name: "AllowLocalRepositories", field: func(c *Config) any { return &c.Git.AllowLocalRepositories }},

		{section: "Applications", name: "RunAs", field: func(c *Config) any { return &c.Applications.RunAs }},
		{section: "Applications", name: "SharedRunAsUnixGroup", field: func(c *Config) any { return &c.Applications.SharedRunAsUnixGroup }},
		{section: "Applications", name: "ScheduleConcurrency", field: func(c *Config) any { return &c.Applications.ScheduleConcurrency }},
		{section: "Applications", name: "JobHeartbeatTimeout", field: func(c *Config) any { return &c.Applications.JobHeartbeatTimeout }},
		{section: "Applications", name: "JobPollInterval", field: func(c *Config) any { return &c.Applications.JobPollInterval }},
		{section: "Applications", name: "HistoryRetention", field: func(c *Config) any { return &c.Applications.HistoryRetention }},
		{section: "Applications", name: "RenderTimeout", field: func(c *Config) any { return &c.Applications.RenderTimeout }},
		{section: "Applications", name: "MaxBundleSize", field: func(c *Config) any { return &c.Applications.MaxBundleSize }},
		{section: "Applications", name: "EnvironmentKey", field: func(c *Config) any { return &c.Applications.EnvironmentKey }},
		{section: "Applications", name: "EnvironmentPreviousKeys", field: func(c *Config) any { return &c.Applications.EnvironmentPreviousKeys }},
		{section: "Applications", name: "Sandbox", field: func(c *Config) any { return &c.Applications.Sandbox }},
		{section: "Applications", name: "SandboxUIDRange", field: func(c *Config) any { return &c.Applications.SandboxUIDRange }},
		{section: "Applications", name: "SandboxNetwork", field: func(c *Config) any { return &c.Applications.SandboxNetwork }},
		{section: "Applications", name: "SandboxMemoryLimit", field: func(c *Config) any { return &c.Applications.SandboxMemoryLimit }},
		{section: "Applications", name: "SandboxProcessLimit", field: func(c *Config) any { return &c.Applications.SandboxProcessLimit }},
		{section: "Applications", name: "SandboxOpenFileLimit", field: func(c *Config) any { return &c.Applications.SandboxOpenFileLimit }},
		{section: "Applications", name: "SandboxCPUShares", field: func(c *Config) any { return &c.Applications.SandboxCPUShares }},
		{section: "Applications", name: "SandboxTmpSize", field: func(c *Config) any { return &c.Applications.SandboxTmpSize }},
		{section: "Applications", name: "Proxy", field: func(c *Config) any { return &c.Applications.Proxy }},

		{section: "Scheduler", name: "MinProcesses", field: func(c *Config) any { return &c.Scheduler.MinProcesses }},
		{section: "Scheduler", name: "MaxProcesses", field: func(c *Config) any { return &c.Scheduler.MaxProcesses }},
		{section: "Scheduler", name: "MaxConnsPerProcess", field: func(c *Config) any { return &c.Scheduler.MaxConnsPerProcess }},
		{section: "Scheduler", name: "LoadFactor", field: func(c *Config) any { return &c.Scheduler.LoadFactor }},
		{section: "Scheduler", name: "IdleTimeout", field: func(c *Config) any { return &c.Scheduler.IdleTimeout }},
		{section: "Scheduler", name: "InitTimeout", field: func(c *Config) any { return &c.Scheduler.InitTimeout }},

		{section: "R", name: "Executable", field: func(c *Config) any { return &c.R.Executable }},
		{section: "R", name: "Repository", field: func(c *Config) any { return &c.R.Repository }},
		{section: "Python", name: "Executable", field: func(c *Config) any { return &c.Python.Executable }},
		{section: "Python", name: "PackageIndex", field: func(c *Config) any { return &c.Python.PackageIndex }},
		{section: "Python", name: "ExtraIndex", field: func(c *Config) any { return &c.Python.ExtraIndex }},
		{section: "Python", name: "FindLinks", field: func(c *Config) any { return &c.Python.FindLinks }},
		{section: "Python", name: "NoIndex", field: func(c *Config) any { return &c.Python.NoIndex }},
		{section: "Python", name: "SystemSitePackages", field: func(c *Config) any { return &c.Python.SystemSitePackages }},
		{section: "Python", name: "EnvironmentRetention", field: func(c *Config) any { return &c.Python.EnvironmentRetention }},
		{section: "Python", name: "EnvironmentMaxSize", field: func(c *Config) any { return &c.Python.EnvironmentMaxSize }},
	}, ssoKeys()...)
}

// set parses raw into the key's field of c. base is the directory that a
// relative path resolves against. With appendList, a list key keeps its
// values and adds the new ones (a repeated key in a file). The error is the
// reason only, without key or value: the caller adds those.
func (k *key) set(c *Config, raw string, base string, appendList bool) error {
	v := strings.TrimSpace(raw)
	switch p := k.field(c).(type) {
	case *string:
		if k.path && v != "" && !filepath.IsAbs(v) {
			v = filepath.Join(base, v)
		}
		if k.path && v != "" {
			v = filepath.Clean(v)
		}
		*p = v
	case *podium.Secret:
		// Not trimmed: a password may start or end with a space.
		*p = podium.Secret(raw)
	case *[]string:
		var list []string
		if appendList {
			list = *p
		}
		for item := range strings.SplitSeq(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				list = append(list, item)
			}
		}
		*p = list
	case *bool:
		b, ok := parseBool(v)
		if !ok {
			return fmt.Errorf("must be true or false (also yes/no, on/off, 1/0)")
		}
		*p = b
	case *int:
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("must be a whole number")
		}
		*p = n
	case *int64:
		n, err := parseSize(v)
		if err != nil {
			return err
		}
		*p = n
	case *float64:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("must be a decimal number such as 0.5")
		}
		*p = f
	case *time.Duration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("must be a duration such as 500ms, 30s, 10m or 1h")
		}
		*p = d
	default:
		panic(fmt.Sprintf("config: key %s has unsupported type %T", k.id(), p))
	}
	return nil
}

// format returns the value of the key in c as Dump writes it and Load reads
// it back. Secrets come out masked: a Secret as the mask, a password inside
// a URL masked in place.
func (k *key) format(c *Config) string {
	switch p := k.field(c).(type) {
	case *string:
		if k.section == "Postgres" && k.name == "URL" {
			return redactURL(*p)
		}
		return *p
	case *podium.Secret:
		return p.String()
	case *[]string:
		return strings.Join(*p, ", ")
	case *bool:
		return strconv.FormatBool(*p)
	case *int:
		return strconv.Itoa(*p)
	case *int64:
		return formatSize(*p)
	case *float64:
		return strconv.FormatFloat(*p, 'g', -1, 64)
	case *time.Duration:
		return formatDuration(*p)
	default:
		panic(fmt.Sprintf("config: key %s has unsupported type %T", k.id(), p))
	}
}

// shown is raw as an error message may show it: secrets masked.
func (k *key) shown(raw string) string {
	switch k.field(&Config{}).(type) {
	case *podium.Secret:
		return podium.Secret(raw).String()
	}
	if k.section == "Postgres" && k.name == "URL" {
		return redactURL(strings.TrimSpace(raw))
	}
	return strings.TrimSpace(raw)
}

// parseBool accepts what gcfg accepts for a bool, ignoring case.
func parseBool(s string) (value, ok bool) {
	switch strings.ToLower(s) {
	case "true", "yes", "on", "1":
		return true, true
	case "false", "no", "off", "0":
		return false, true
	}
	return false, false
}

// sizeUnits maps the accepted size suffixes, lower-cased, to bytes: SI
// units are powers of 1000, IEC units powers of 1024.
var sizeUnits = []struct {
	name  string
	bytes int64
}{
	{"TiB", 1 << 40}, {"TB", 1e12},
	{"GiB", 1 << 30}, {"GB", 1e9},
	{"MiB", 1 << 20}, {"MB", 1e6},
	{"KiB", 1 << 10}, {"KB", 1e3},
	{"B", 1},
}

// parseSize reads a byte count: a whole number with an optional unit,
// e.g. 1048576, 512MB, 1GiB (units ignore case; space between allowed).
func parseSize(s string) (int64, error) {
	bad := fmt.Errorf("must be a size in bytes, optionally with a unit: B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. 512MB or 1GiB")
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	num, unit := s[:i], strings.TrimSpace(s[i:])
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, bad
	}
	if unit == "" {
		return n, nil
	}
	for _, u := range sizeUnits {
		if strings.EqualFold(unit, u.name) {
			if n > math.MaxInt64/u.bytes || n < math.MinInt64/u.bytes {
				return 0, fmt.Errorf("is too large")
			}
			return n * u.bytes, nil
		}
	}
	return 0, bad
}

// formatSize writes n with the largest unit that divides it exactly.
func formatSize(n int64) string {
	if n != 0 {
		for _, u := range sizeUnits {
			if u.bytes > 1 && n%u.bytes == 0 {
				return strconv.FormatInt(n/u.bytes, 10) + u.name
			}
		}
	}
	return strconv.FormatInt(n, 10)
}

// formatDuration writes d as time.Duration.String does, without the zero
// tails: 10m rather than 10m0s, 1h rather than 1h0m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
