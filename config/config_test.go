package config_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/config"
)

// env returns a LookupEnv over a fixed map, so tests never touch the
// process environment.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// setup returns a temp directory and Options that read nothing outside
// it: the default path does not exist, the environment is empty.
func setup(t *testing.T) (string, config.Options) {
	t.Helper()
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, config.Options{
		LookupEnv:   env(nil),
		DefaultPath: filepath.Join(dir, "etc", "podium.gcfg"),
		Hostname:    "host1",
		WorkDir:     work,
	}
}

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// mustLoad loads or fails the test.
func mustLoad(tb testing.TB, opts config.Options) *config.Config {
	tb.Helper()
	c, err := config.Load(opts)
	if err != nil {
		tb.Fatalf("Load: %v", err)
	}
	return c
}

// loadErr loads, expects an EINVALID error and returns its message.
func loadErr(t *testing.T, opts config.Options) string {
	t.Helper()
	c, err := config.Load(opts)
	if err == nil {
		t.Fatalf("Load succeeded, want an error; config %+v", c)
	}
	if code := podium.ErrorCode(err); code != podium.EINVALID {
		t.Fatalf("Load error code %q, want %q: %v", code, podium.EINVALID, err)
	}
	if podium.ExitCode(err) != podium.ExitRefused {
		t.Fatalf("ExitCode = %d, want %d", podium.ExitCode(err), podium.ExitRefused)
	}
	return err.Error()
}

func TestLoad_Defaults(t *testing.T) {
	t.Parallel()
	_, opts := setup(t)
	c := mustLoad(t, opts)
	data := filepath.Join(opts.WorkDir, "podium-data")
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"Source", c.Source, ""},
		{"Server.DataDir", c.Server.DataDir, data},
		{"Server.LandingDir", c.Server.LandingDir, ""},
		{"Server.StateDir", c.Server.StateDir, filepath.Join(data, "state", "host1")},
		{"Server.ShutdownGracePeriod", c.Server.ShutdownGracePeriod, 10 * time.Second},
		{"Server.DrainDelay", c.Server.DrainDelay, time.Duration(0)},
		{"HTTP.Listen", c.HTTP.Listen, ":3939"},
		{"HTTP.TrustedProxies", len(c.HTTP.TrustedProxies), 0},
		{"HTTP.MaxUploadSize", c.HTTP.MaxUploadSize, int64(1 << 30)},
		{"Database.Provider", c.Database.Provider, "sqlite"},
		{"Authentication.Provider", c.Authentication.Provider, "password"},
		{"Authorization.DefaultUserRole", c.Authorization.DefaultUserRole, "viewer"},
		{"Authorization.AdministratorRoleMapping", len(c.Authorization.AdministratorRoleMapping), 0},
		{"Database.Dir", c.Database.Dir, filepath.Join(data, "db")},
		{"Database.SchemaCheckInterval", c.Database.SchemaCheckInterval, 5 * time.Second},
		{"Postgres.URL", c.Postgres.URL, ""},
		{"Postgres.Password", c.Postgres.Password.Reveal(), ""},
		{"Postgres.MaxConns", c.Postgres.MaxConns, 10},
		{"HA.Enabled", c.HA.Enabled, false},
		{"HA.HeartbeatInterval", c.HA.HeartbeatInterval, 5 * time.Second},
		{"HA.NodeTimeout", c.HA.NodeTimeout, 30 * time.Second},
		{"HA.ClockWarnOffset", c.HA.ClockWarnOffset, time.Second},
		{"HA.ClockFailOffset", c.HA.ClockFailOffset, 5 * time.Second},
		{"Metrics.DataPath", c.Metrics.DataPath, filepath.Join(data, "state", "host1", "metrics")},
		{"Metrics.PrometheusListen", c.Metrics.PrometheusListen, ""},
		{"Metrics.GraphiteEnabled", c.Metrics.GraphiteEnabled, false},
		{"Metrics.GraphiteHost", c.Metrics.GraphiteHost, ""},
		{"Metrics.GraphitePort", c.Metrics.GraphitePort, 2003},
		{"Metrics.GraphiteClientId", c.Metrics.GraphiteClientId, "podium"},
		{"Metrics.Interval", c.Metrics.Interval, 60 * time.Second},
		{"Applications.RunAs", c.Applications.RunAs, "podium"},
		{"Applications.SharedRunAsUnixGroup", c.Applications.SharedRunAsUnixGroup, ""},
		{"Applications.ScheduleConcurrency", c.Applications.ScheduleConcurrency, 2},
		{"Applications.JobHeartbeatTimeout", c.Applications.JobHeartbeatTimeout, 30 * time.Second},
		{"Applications.HistoryRetention", c.Applications.HistoryRetention, 30 * 24 * time.Hour},
		{"Applications.RenderTimeout", c.Applications.RenderTimeout, 10 * time.Minute},
		{"Applications.MaxBundleSize", c.Applications.MaxBundleSize, int64(1 << 30)},
		{"Scheduler.MinProcesses", c.Scheduler.MinProcesses, 0},
		{"Scheduler.MaxProcesses", c.Scheduler.MaxProcesses, 3},
		{"Scheduler.MaxConnsPerProcess", c.Scheduler.MaxConnsPerProcess, 20},
		{"Scheduler.LoadFactor", c.Scheduler.LoadFactor, 0.5},
		{"Scheduler.IdleTimeout", c.Scheduler.IdleTimeout, 5 * time.Second},
		{"Scheduler.InitTimeout", c.Scheduler.InitTimeout, 60 * time.Second},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestLoad_DefaultsWithFile(t *testing.T) {
	t.Parallel()
	dir, opts := setup(t)
	opts.Path = writeFile(t, dir, "podium.gcfg", "# nothing set\n[Server]\n")
	c := mustLoad(t, opts)
	if c.Source != opts.Path {
		t.Errorf("Source = %q, want %q", c.Source, opts.Path)
	}
	if c.Server.DataDir != "/var/lib/podium" {
		t.Errorf("DataDir = %q, want /var/lib/podium with a file", c.Server.DataDir)
	}
	if want := "/var/lib/podium/state/host1"; c.Server.StateDir != want {
		t.Errorf("StateDir = %q, want %q", c.Server.StateDir, want)
	}
	if want := "/var/lib/podium/db"; c.Database.Dir != want {
		t.Errorf("Database.Dir = %q, want %q", c.Database.Dir, want)
	}
	if want := "/var/lib/podium/state/host1/metrics"; c.Metrics.DataPath != want {
		t.Errorf("Metrics.DataPath = %q, want %q", c.Metrics.DataPath, want)
	}
}

func TestLoad_Source(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		explicit    bool // pass Options.Path
		envConfig   bool // set PODIUM_CONFIG
		defaultFile bool // create the default file
		want        string
	}{
		{"ExplicitBeatsAll", true, true, true, "explicit"},
		{"EnvBeatsDefault", false, true, true, "env"},
		{"DefaultWhenExists", false, false, true, "default"},
		{"BuiltInWhenNoFile", false, false, false, "builtin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, opts := setup(t)
			files := map[string]string{}
			for _, n := range []string{"explicit", "env", "default"} {
				files[n] = writeFile(t, dir, n+".gcfg", "[Applications]\nRunAs = "+n+"\n")
			}
			e := map[string]string{}
			if tt.explicit {
				opts.Path = files["explicit"]
			}
			if tt.envConfig {
				e["PODIUM_CONFIG"] = files["env"]
			}
			if tt.defaultFile {
				opts.DefaultPath = files["default"]
			}
			opts.LookupEnv = env(e)
			c := mustLoad(t, opts)
			want, wantSource := "podium", ""
			if tt.want != "builtin" {
				want, wantSource = tt.want, files[tt.want]
			}
			if c.Applications.RunAs != want || c.Source != wantSource {
				t.Errorf("RunAs = %q, Source = %q; want %q from %q", c.Applications.RunAs, c.Source, want, wantSource)
			}
		})
	}
}

func TestLoad_MissingFile(t *testing.T) {
	t.Parallel()
	t.Run("ExplicitPath", func(t *testing.T) {
		t.Parallel()
		dir, opts := setup(t)
		opts.Path = filepath.Join(dir, "nope.gcfg")
		msg := loadErr(t, opts)
		if !strings.Contains(msg, "--config") || !strings.Contains(msg, "nope.gcfg") {
			t.Errorf("message %q should name --config and the file", msg)
		}
	})
	t.Run("PODIUM_CONFIG", func(t *testing.T) {
		t.Parallel()
		dir, opts := setup(t)
		opts.LookupEnv = env(map[string]string{"PODIUM_CONFIG": filepath.Join(dir, "gone.gcfg")})
		msg := loadErr(t, opts)
		if !strings.Contains(msg, "PODIUM_CONFIG") || !strings.Contains(msg, "gone.gcfg") {
			t.Errorf("message %q should name PODIUM_CONFIG and the file", msg)
		}
	})
	t.Run("EmptyPODIUM_CONFIGIsUnset", func(t *testing.T) {
		t.Parallel()
		_, opts := setup(t)
		opts.LookupEnv = env(map[string]string{"PODIUM_CONFIG": ""})
		if c := mustLoad(t, opts); c.Source != "" {
			t.Errorf("Source = %q, want built-in defaults", c.Source)
		}
	})
	t.Run("RelativeExplicitPath", func(t *testing.T) {
		t.Parallel()
		_, opts := setup(t)
		p := writeFile(t, opts.WorkDir, "rel.gcfg", "[HTTP]\nListen = :1\n")
		opts.Path = "rel.gcfg"
		if c := mustLoad(t, opts); c.Source != p || c.HTTP.Listen != ":1" {
			t.Errorf("Source = %q, Listen = %q; want %q, :1", c.Source, c.HTTP.Listen, p)
		}
	})
}

func TestLoad_EnvOverridesFile(t *testing.T) {
	t.Parallel()
	dir, opts := setup(t)
	opts.Path = writeFile(t, dir, "conf/podium.gcfg", `
[HTTP]
Listen = :8000
TrustedProxies = 10.0.0.1
MaxUploadSize = 2MB
[Database]
SchemaCheckInterval = 10s
[Metrics]
GraphiteHost = graphite.example
`)
	opts.LookupEnv = env(map[string]string{
		"PODIUM_HTTP_LISTEN":                  "127.0.0.1:9000",
		"PODIUM_HTTP_TRUSTEDPROXIES":          "192.168.0.0/16, ::1",
		"PODIUM_HTTP_MAXUPLOADSIZE":           "512MiB",
		"PODIUM_DATABASE_SCHEMACHECKINTERVAL": "2s",
		"PODIUM_METRICS_GRAPHITEENABLED":      "yes",
		"PODIUM_SCHEDULER_LOADFACTOR":         "0.75",
		"PODIUM_SERVER_LANDINGDIR":            "landing", // relative: against the working directory
		"PODIUM_APPLICATIONS_RUNAS":           "rsconnect",
	})
	c := mustLoad(t, opts)
	if c.HTTP.Listen != "127.0.0.1:9000" {
		t.Errorf("Listen = %q", c.HTTP.Listen)
	}
	if want := []string{"192.168.0.0/16", "::1"}; !reflect.DeepEqual(c.HTTP.TrustedProxies, want) {
		t.Errorf("TrustedProxies = %q, want %q (env replaces the file's list)", c.HTTP.TrustedProxies, want)
	}
	if c.HTTP.MaxUploadSize != 512<<20 {
		t.Errorf("MaxUploadSize = %d", c.HTTP.MaxUploadSize)
	}
	if c.Database.SchemaCheckInterval != 2*time.Second {
		t.Errorf("SchemaCheckInterval = %v", c.Database.SchemaCheckInterval)
	}
	if !c.Metrics.GraphiteEnabled || c.Metrics.GraphiteHost != "graphite.example" {
		t.Errorf("Graphite = %v %q", c.Metrics.GraphiteEnabled, c.Metrics.GraphiteHost)
	}
	if c.Scheduler.LoadFactor != 0.75 {
		t.Errorf("LoadFactor = %v", c.Scheduler.LoadFactor)
	}
	if want := filepath.Join(opts.WorkDir, "landing"); c.Server.LandingDir != want {
		t.Errorf("LandingDir = %q, want %q", c.Server.LandingDir, want)
	}
	if c.Applications.RunAs != "rsconnect" {
		t.Errorf("RunAs = %q", c.Applications.RunAs)
	}
}

func TestLoad_Paths(t *testing.T) {
	t.Parallel()
	t.Run("RelativeToFile", func(t *testing.T) {
		t.Parallel()
		dir, opts := setup(t)
		opts.Path = writeFile(t, dir, "conf/podium.gcfg", `
[Server]
DataDir = data
LandingDir = ../landing
StateDir = /abs/state
`)
		c := mustLoad(t, opts)
		conf := filepath.Join(dir, "conf")
		checks := map[string][2]string{
			"DataDir":          {c.Server.DataDir, filepath.Join(conf, "data")},
			"LandingDir":       {c.Server.LandingDir, filepath.Join(dir, "landing")},
			"StateDir":         {c.Server.StateDir, "/abs/state"},
			"Database.Dir":     {c.Database.Dir, filepath.Join(conf, "data", "db")},
			"Metrics.DataPath": {c.Metrics.DataPath, "/abs/state/metrics"},
		}
		for name, gw := range checks {
			if gw[0] != gw[1] {
				t.Errorf("%s = %q, want %q", name, gw[0], gw[1])
			}
		}
	})
	t.Run("DerivedAfterEnv", func(t *testing.T) {
		t.Parallel()
		dir, opts := setup(t)
		opts.Path = writeFile(t, dir, "podium.gcfg", "[Database]\nDir = /fast/db\n")
		opts.LookupEnv = env(map[string]string{"PODIUM_SERVER_DATADIR": "/srv/podium"})
		c := mustLoad(t, opts)
		if c.Server.StateDir != "/srv/podium/state/host1" || c.Metrics.DataPath != "/srv/podium/state/host1/metrics" {
			t.Errorf("StateDir = %q, DataPath = %q: want them under /srv/podium", c.Server.StateDir, c.Metrics.DataPath)
		}
		if c.Database.Dir != "/fast/db" {
			t.Errorf("Database.Dir = %q, want the explicit /fast/db", c.Database.Dir)
		}
	})
}

// TestLoad_DrainDelayDefault: a cluster node drains for the shipped
// HAProxy checks (3s) unless DrainDelay is set, 0s included; a single
// node closes at once.
func TestLoad_DrainDelayDefault(t *testing.T) {
	t.Parallel()
	ha := "[HA]\nEnabled = true\n[Database]\nProvider = postgres\n[Postgres]\nURL = postgres://podium@db/podium\n"
	for _, tc := range []struct {
		name, file string
		env        map[string]string
		want       time.Duration
	}{
		{"SingleNode", "", nil, 0},
		{"HA", ha, nil, config.DefaultHADrainDelay},
		{"HAExplicitZero", ha + "[Server]\nDrainDelay = 0s\n", nil, 0},
		{"HAEnvironment", ha, map[string]string{"PODIUM_SERVER_DRAINDELAY": "5s"}, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir, opts := setup(t)
			opts.Path = writeFile(t, dir, "podium.gcfg", tc.file)
			opts.LookupEnv = env(tc.env)
			if c := mustLoad(t, opts); c.Server.DrainDelay != tc.want {
				t.Errorf("DrainDelay = %s, want %s", c.Server.DrainDelay, tc.want)
			}
		})
	}
}

func TestLoad_FileSyntax(t *testing.T) {
	t.Parallel()
	dir, opts := setup(t)
	opts.Path = writeFile(t, dir, "podium.gcfg", `
; comments of both kinds
[http]
listen = :4000 # trailing comment
trustedproxies = 10.0.0.1, 10.0.0.2
TrustedProxies = "10.1.0.0/16"
[HA]
Enabled
[Database]
Provider = Postgres
[Postgres]
URL = postgres://podium@db/podium
`)
	c := mustLoad(t, opts)
	if c.HTTP.Listen != ":4000" {
		t.Errorf("Listen = %q (case-insensitive names, comment stripped)", c.HTTP.Listen)
	}
	if want := []string{"10.0.0.1", "10.0.0.2", "10.1.0.0/16"}; !reflect.DeepEqual(c.HTTP.TrustedProxies, want) {
		t.Errorf("TrustedProxies = %q, want %q", c.HTTP.TrustedProxies, want)
	}
	if !c.HA.Enabled {
		t.Error("a bare bool key should be true")
	}
	if c.Database.Provider != "postgres" {
		t.Errorf("Provider = %q, want it lower-cased", c.Database.Provider)
	}
}

func TestLoad_Refused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file string            // content of podium.gcfg, "" for no file
		env  map[string]string // environment
		want []string          // substrings of the message; "FILE" stands for the file's path
	}{
		{"UnknownSection", "[Servr]\nDataDir = x\n", nil,
			[]string{"FILE", "unknown section [Servr]", "Server, HTTP"}},
		{"UnknownKey", "[HTTP]\nListne = :1\n", nil,
			[]string{"FILE", "unknown key [HTTP] Listne", "Listen, TrustedProxies, MaxUploadSize"}},
		{"Subsection", "[HTTP \"x\"]\nListen = :1\n", nil,
			[]string{"FILE", "subsections are not used"}},
		{"SyntaxError", "[HTTP]\nListen :1\n", nil,
			[]string{"FILE:2:"}},
		{"BadDuration", "[HA]\nNodeTimeout = soon\n", nil,
			[]string{"FILE", "[HA] NodeTimeout = soon", "must be a duration"}},
		{"BadInt", "[Postgres]\nMaxConns = ten\n", nil,
			[]string{"FILE", "[Postgres] MaxConns = ten", "whole number"}},
		{"BadBool", "[HA]\nEnabled = maybe\n", nil,
			[]string{"FILE", "[HA] Enabled = maybe", "true or false"}},
		{"BadFloat", "[Scheduler]\nLoadFactor = half\n", nil,
			[]string{"FILE", "[Scheduler] LoadFactor = half", "decimal number"}},
		{"BadSize", "[HTTP]\nMaxUploadSize = 1 gallon\n", nil,
			[]string{"FILE", "[HTTP] MaxUploadSize = 1 gallon", "KiB"}},
		{"HTTPSWithoutCertificate", "[HTTPS]\nListen = :8443\n", nil,
			[]string{"FILE", "[HTTPS] Listen = :8443", "needs [HTTPS] Certificate", "[HTTPS] Key"}},
		{"HTTPSCertificateWithoutListen", "[HTTPS]\nCertificate = /x.pem\n", nil,
			[]string{"[HTTPS] Listen", "must be set when [HTTPS] Certificate or Key is"}},
		{"OldTLS", "[HTTPS]\nMinimumTLSVersion = 1.0\n", nil,
			[]string{"FILE", "[HTTPS] MinimumTLSVersion = 1.0", "must be 1.2 or 1.3"}},
		{"IdleOverLifetime", "[Authentication]\nSessionIdleTimeout = 2d\n", nil,
			[]string{"FILE", "[Authentication] SessionIdleTimeout = 2d", "must be a duration"}},
		{"IdleLongerThanLifetime", "[Authentication]\nSessionIdleTimeout = 13h\n", nil,
			[]string{"FILE", "[Authentication] SessionIdleTimeout = 13h", "at most [Authentication] SessionLifetime (12h)"}},
		{"UnknownAuthProvider", "[Authentication]\nProvider = kerberos\n", nil,
			[]string{"FILE", "[Authentication] Provider = kerberos", "must be password, ldap, oidc, saml or proxy"}},
		{"LDAPWithoutServer", "[Authentication]\nProvider = ldap\n[LDAP]\nUserSearchBaseDN = dc=example\n", nil,
			[]string{"[LDAP] ServerAddress", "must be set with [Authentication] Provider = ldap"}},
		{"LDAPBadScheme", "[Authentication]\nProvider = ldap\n[LDAP]\nServerAddress = http://ldap\nUserSearchBaseDN = dc=example\n", nil,
			[]string{"FILE", "[LDAP] ServerAddress = http://ldap", "ldap:// or ldaps://"}},
		{"ProxyWithoutTrusted", "[Authentication]\nProvider = proxy\n", nil,
			[]string{"[ProxyAuth] TrustedProxies", "must list the authenticating proxies"}},
		{"UnknownDefaultRole", "", map[string]string{"PODIUM_AUTHORIZATION_DEFAULTUSERROLE": "root"},
			[]string{"environment PODIUM_AUTHORIZATION_DEFAULTUSERROLE", "[Authorization] DefaultUserRole = root", "must be viewer, publisher or admin"}},
		{"ShortMinimumPassword", "", map[string]string{"PODIUM_PASSWORD_MINIMUMLENGTH": "6"},
			[]string{"environment PODIUM_PASSWORD_MINIMUMLENGTH", "[Password] MinimumLength = 6", "between 8 and 128"}},
		{"BadCIDR", "[HTTP]\nTrustedProxies = 10.0.0.0/33\n", nil,
			[]string{"FILE", "[HTTP] TrustedProxies = 10.0.0.0/33", "IP address or CIDR"}},
		{"ProxyWithZone", "[HTTP]\nTrustedProxies = fe80::1%eth0\n", nil,
			[]string{"FILE", "[HTTP] TrustedProxies = fe80::1%eth0", "IP address or CIDR"}},
		{"BlankNonBool", "[HTTP]\nListen\n", nil,
			[]string{"FILE", "[HTTP] Listen has no value"}},
		{"SchemaCheckTooLong", "[Database]\nSchemaCheckInterval = 45s\n", nil,
			[]string{"FILE", "[Database] SchemaCheckInterval = 45s", "at most 30s"}},
		{"SchemaCheckZero", "[Database]\nSchemaCheckInterval = 0s\n", nil,
			[]string{"FILE", "[Database] SchemaCheckInterval = 0s", "more than 0s"}},
		{"BadProvider", "[Database]\nProvider = mysql\n", nil,
			[]string{"FILE", "[Database] Provider = mysql", "sqlite or postgres"}},
		{"PostgresWithoutURL", "[Database]\nProvider = postgres\n", nil,
			[]string{"FILE", "[Database] Provider = postgres", "needs [Postgres] URL"}},
		{"URLScheme", "[Postgres]\nURL = mysql://u@h/db\n", nil,
			[]string{"FILE", "[Postgres] URL = mysql://u@h/db", "postgres:// or postgresql://"}},
		{"NegativeCount", "[Applications]\nScheduleConcurrency = -1\n", nil,
			[]string{"FILE", "[Applications] ScheduleConcurrency = -1", "at least 0"}},
		{"NegativeRetention", "[Applications]\nHistoryRetention = -1h\n", nil,
			[]string{"FILE", "[Applications] HistoryRetention = -1h", "0s or more"}},
		{"MaxProcessesZero", "[Scheduler]\nMaxProcesses = 0\n", nil,
			[]string{"FILE", "[Scheduler] MaxProcesses = 0", "at least 1"}},
		{"MinAboveMax", "[Scheduler]\nMinProcesses = 5\nMaxProcesses = 4\n", nil,
			[]string{"FILE", "[Scheduler] MinProcesses = 5", "at most [Scheduler] MaxProcesses (4)"}},
		{"LoadFactorAboveOne", "[Scheduler]\nLoadFactor = 1.5\n", nil,
			[]string{"FILE", "[Scheduler] LoadFactor = 1.5", "more than 0 and at most 1"}},
		{"LoadFactorZero", "[Scheduler]\nLoadFactor = 0\n", nil,
			[]string{"FILE", "[Scheduler] LoadFactor = 0", "more than 0 and at most 1"}},
		{"GraphiteWithoutHost", "[Metrics]\nGraphiteEnabled = true\n", nil,
			[]string{"FILE", "[Metrics] GraphiteEnabled = true", "needs [Metrics] GraphiteHost"}},
		{"GraphitePort", "[Metrics]\nGraphitePort = 70000\n", nil,
			[]string{"FILE", "[Metrics] GraphitePort = 70000", "between 1 and 65535"}},
		{"ListenPort", "[HTTP]\nListen = :99999\n", nil,
			[]string{"FILE", "[HTTP] Listen = :99999", "between 0 and 65535"}},
		{"ListenNoPort", "[Metrics]\nPrometheusListen = localhost\n", nil,
			[]string{"FILE", "[Metrics] PrometheusListen = localhost", "host:port"}},
		{"ClockOffsets", "[HA]\nClockWarnOffset = 5s\nClockFailOffset = 5s\n", nil,
			[]string{"FILE", "[HA] ClockFailOffset = 5s", "more than [HA] ClockWarnOffset (5s)"}},
		{"NodeTimeout", "[HA]\nHeartbeatInterval = 30s\n", nil,
			[]string{"built-in default", "[HA] NodeTimeout = 30s", "more than [HA] HeartbeatInterval (30s)"}},
		{"NegativeGrace", "[Server]\nShutdownGracePeriod = -1s\n", nil,
			[]string{"FILE", "[Server] ShutdownGracePeriod = -1s", "0s or more"}},
		{"MigrationLockTimeoutTooShort", "[Database]\nMigrationLockTimeout = 10ms\n", nil,
			[]string{"FILE", "[Database] MigrationLockTimeout = 10ms", "at least 100ms"}},
		{"DrainDelayTooLong", "[Server]\nDrainDelay = 11s\n", nil,
			[]string{"FILE", "[Server] DrainDelay = 11s", "at most 10s"}},
		{"ContentURLWithoutAddress", "[Server]\nContentURL = http://127.0.0.1:3939\n", nil,
			[]string{"FILE", "[Server] ContentURL = http://127.0.0.1:3939", "needs [Server] Address"}},
		{"ContentURLSameHost", "[Server]\nAddress = http://podium.example\nContentURL = http://podium.example:8080\n", nil,
			[]string{"[Server] ContentURL = http://podium.example:8080", "another host than [Server] Address", "share cookies"}},
		{"ContentURLWildcardCoversAddress", "[Server]\nAddress = https://podium.example\nContentURL = https://*.example\n", nil,
			[]string{"[Server] ContentURL = https://*.example", "another host"}},
		{"ContentURLPath", "[Server]\nAddress = https://podium.example\nContentURL = https://content.example/x\n", nil,
			[]string{"[Server] ContentURL = https://content.example/x", "without a path"}},
		{"ContentURLScheme", "[Server]\nAddress = https://podium.example\nContentURL = content.example\n", nil,
			[]string{"[Server] ContentURL = content.example", "http:// or https://"}},
		{"AddressQuery", "[Server]\nAddress = https://podium.example/?a=b\n", nil,
			[]string{"[Server] Address = https://podium.example/?a=b", "query"}},
		{"FrameOptions", "[Server]\nFrameOptionsDashboard = ALLOW-FROM x\n", nil,
			[]string{"[Server] FrameOptionsDashboard = ALLOW-FROM x", "DENY, SAMEORIGIN or NONE"}},
		{"HAOnSQLite", "[HA]\nEnabled = true\n", nil,
			[]string{"FILE", "[HA] Enabled = true needs a shared PostgreSQL database",
				"[Database] Provider = sqlite", `"podium migrate db"`, "Provider = postgres on every node"}},
		{"HAOnSQLiteFromEnv", "", map[string]string{"PODIUM_HA_ENABLED": "true"},
			[]string{"environment PODIUM_HA_ENABLED", "[HA] Enabled = true needs a shared PostgreSQL"}},
		{"EmptyDataDir", "", map[string]string{"PODIUM_SERVER_DATADIR": ""},
			[]string{"environment PODIUM_SERVER_DATADIR", `[Server] DataDir = "": must not be empty`}},
		{"EmptyRunAs", "[Applications]\nRunAs = \"\"\n", nil,
			[]string{"FILE", `[Applications] RunAs = "": must name a Unix user`}},
		{"EnvBadDuration", "", map[string]string{"PODIUM_DATABASE_SCHEMACHECKINTERVAL": "45s"},
			[]string{"environment PODIUM_DATABASE_SCHEMACHECKINTERVAL", "[Database] SchemaCheckInterval = 45s", "at most 30s"}},
		{"EnvBadInt", "", map[string]string{"PODIUM_SCHEDULER_MAXPROCESSES": "3x"},
			[]string{"environment PODIUM_SCHEDULER_MAXPROCESSES", "[Scheduler] MaxProcesses = 3x", "whole number"}},
		{"EnvBadCIDR", "", map[string]string{"PODIUM_HTTP_TRUSTEDPROXIES": "10.0.0.0/8, nope"},
			[]string{"environment PODIUM_HTTP_TRUSTEDPROXIES", "[HTTP] TrustedProxies = nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, opts := setup(t)
			path := ""
			if tt.file != "" {
				path = writeFile(t, dir, "podium.gcfg", tt.file)
				opts.Path = path
			}
			opts.LookupEnv = env(tt.env)
			msg := loadErr(t, opts)
			for _, w := range tt.want {
				w = strings.ReplaceAll(w, "FILE", path)
				if !strings.Contains(msg, w) {
					t.Errorf("message %q\nshould contain %q", msg, w)
				}
			}
		})
	}
}

func TestLoad_RefusedAllProblems(t *testing.T) {
	t.Parallel()
	dir, opts := setup(t)
	opts.Path = writeFile(t, dir, "podium.gcfg", "[HTTP]\nListne = :1\nMaxUploadSize = lots\n[Nope]\n")
	msg := loadErr(t, opts)
	lines := strings.Split(msg, "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 problems, one per line, got %d:\n%s", len(lines), msg)
	}
	for i, w := range []string{"Listne", "MaxUploadSize", "[Nope]"} {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d = %q, want it to mention %q", i, lines[i], w)
		}
	}
}

// The password must never leak: not in errors, not in Dump.
func TestSecrets(t *testing.T) {
	t.Parallel()
	const urlPW, envPW = "urlSecret-123", "envSecret-456"
	tests := []struct {
		name string
		file string
		env  map[string]string
	}{
		{"BadScheme", "[Postgres]\nURL = mysql://podium:" + urlPW + "@db/podium\n", nil},
		{"Unparsable", "[Postgres]\nURL = postgres://podium:" + urlPW + "@db:port/x%zz\n", nil},
		{"QueryPassword", "[Postgres]\nURL = pg://db/podium?password=" + urlPW + "\n", nil},
		{"EnvPasswordWithOtherError", "[Postgres]\nURL = postgres://podium:" + urlPW + "@db/podium\n[HA]\nEnabled = true\n",
			map[string]string{"PODIUM_POSTGRES_PASSWORD": envPW}},
		{"EnvURL", "", map[string]string{"PODIUM_POSTGRES_URL": "http://u:" + urlPW + "@db/", "PODIUM_POSTGRES_PASSWORD": envPW}},
		// A keyword-form connection string (libpq's "host=... password=..."),
		// which Podium refuses, must not be echoed with its password.
		{"EnvKeywordDSN", "", map[string]string{"PODIUM_POSTGRES_URL": "host=db user=podium password=" + urlPW + " dbname=podium",
			"PODIUM_DATABASE_PROVIDER": "postgres"}},
		{"KeywordDSNQuoted", "[Postgres]\nURL = \"host=db password = '" + urlPW + " x' sslmode=disable\"\n", nil},
		{"KeywordDSNUpperCase", "[Postgres]\nURL = host=db PASSWORD=" + urlPW + "\n", nil},
	}
	for _, tt := range tests {
		t.Run("Error"+tt.name, func(t *testing.T) {
			t.Parallel()
			dir, opts := setup(t)
			if tt.file != "" {
				opts.Path = writeFile(t, dir, "podium.gcfg", tt.file)
			}
			opts.LookupEnv = env(tt.env)
			msg := loadErr(t, opts)
			if strings.Contains(msg, urlPW) || strings.Contains(msg, envPW) {
				t.Errorf("error leaks a password: %q", msg)
			}
			if !strings.Contains(msg, "[Postgres] URL") && !strings.Contains(msg, "[HA] Enabled") {
				t.Errorf("error %q names neither key", msg)
			}
		})
	}

	t.Run("Dump", func(t *testing.T) {
		t.Parallel()
		dir, opts := setup(t)
		opts.Path = writeFile(t, dir, "podium.gcfg",
			"[Database]\nProvider = postgres\n[Postgres]\nURL = postgres://podium:"+urlPW+"@db/podium?sslmode=disable\n")
		opts.LookupEnv = env(map[string]string{"PODIUM_POSTGRES_PASSWORD": envPW})
		c := mustLoad(t, opts)
		var b bytes.Buffer
		if err := c.Dump(&b); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if strings.Contains(out, urlPW) || strings.Contains(out, envPW) {
			t.Errorf("Dump leaks a password:\n%s", out)
		}
		for _, w := range []string{"URL = postgres://podium:" + podium.Mask + "@db/podium?sslmode=disable",
			"# Password = " + podium.Mask, "PODIUM_POSTGRES_PASSWORD"} {
			if !strings.Contains(out, w) {
				t.Errorf("Dump lacks %q:\n%s", w, out)
			}
		}
		if r := c.PostgresURLRedacted(); strings.Contains(r, urlPW) || strings.Contains(r, envPW) || !strings.Contains(r, "db/podium") {
			t.Errorf("PostgresURLRedacted = %q", r)
		}
		if s := (&config.Config{Postgres: config.PostgresConfig{URL: "postgres://u:" + urlPW + "@h:x/"}}).PostgresURLRedacted(); strings.Contains(s, urlPW) {
			t.Errorf("PostgresURLRedacted of a bad URL = %q", s)
		}
	})
}

func TestPostgresURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		url      string
		password string
		want     string
		redacted string
	}{
		{"NoPassword", "postgres://podium@db/podium", "", "postgres://podium@db/podium", "postgres://podium@db/podium"},
		{"PasswordAdded", "postgres://podium@db/podium", "p w", "postgres://podium:p%20w@db/podium", "postgres://podium:********@db/podium"},
		{"PasswordWins", "postgres://podium:old@db/podium", "new", "postgres://podium:new@db/podium", "postgres://podium:********@db/podium"},
		{"URLPasswordKept", "postgresql://podium:old@db:5433/podium", "", "postgresql://podium:old@db:5433/podium", "postgresql://podium:********@db:5433/podium"},
		{"QueryPasswordReplaced", "postgres://podium@db/podium?password=old&sslmode=require", "new", "postgres://podium:new@db/podium?sslmode=require", "postgres://podium:********@db/podium?sslmode=require"},
		{"QueryPasswordRedacted", "postgres://podium@db/podium?password=old", "", "postgres://podium@db/podium?password=old", "postgres://podium@db/podium?password=%2A%2A%2A%2A%2A%2A%2A%2A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := config.Defaults()
			c.Postgres.URL, c.Postgres.Password = tt.url, podium.Secret(tt.password)
			got, err := c.PostgresURL()
			if err != nil {
				t.Fatal(err)
			}
			if got.Reveal() != tt.want {
				t.Errorf("PostgresURL = %q, want %q", got.Reveal(), tt.want)
			}
			if r := c.PostgresURLRedacted(); r != tt.redacted {
				t.Errorf("PostgresURLRedacted = %q, want %q", r, tt.redacted)
			}
		})
	}
	t.Run("ErrNotSet", func(t *testing.T) {
		t.Parallel()
		if _, err := config.Defaults().PostgresURL(); !podium.IsCode(err, podium.EINVALID) {
			t.Errorf("err = %v, want EINVALID", err)
		}
	})
}

// dumpAndLoad dumps c to a file under dir and loads that file.
func dumpAndLoad(t *testing.T, c *config.Config, dir string, opts config.Options) (*config.Config, error) {
	t.Helper()
	var b bytes.Buffer
	if err := c.Dump(&b); err != nil {
		t.Fatal(err)
	}
	opts.Path = writeFile(t, dir, "dumped/podium.gcfg", b.String())
	return config.Load(opts)
}

func TestDump_RoundTrip(t *testing.T) {
	t.Parallel()
	t.Run("Defaults", func(t *testing.T) {
		t.Parallel()
		dir, opts := setup(t)
		c := mustLoad(t, opts)
		c2, err := dumpAndLoad(t, c, dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		c2.Source, c2.Set = "", c.Set // a dump writes every key: loading it sets them all
		if !reflect.DeepEqual(c, c2) {
			t.Errorf("round trip differs:\n got %+v\nwant %+v", c2, c)
		}
	})
	t.Run("Everything", func(t *testing.T) {
		t.Parallel()
		dir, opts := setup(t)
		opts.Path = writeFile(t, dir, "podium.gcfg", `
[Server]
DataDir = "data dir;with#odd \"chars\""
LandingDir = landing
ShutdownGracePeriod = 0s
[HTTP]
Listen = 127.0.0.1:0
TrustedProxies = 10.0.0.0/8, fd00::/8
MaxUploadSize = 512MB
[Database]
Provider = postgres
SchemaCheckInterval = 1500ms
[Postgres]
URL = postgres://podium@db.example/podium?sslmode=verify-full
MaxConns = 3
[HA]
Enabled = on
NodeTimeout = 1h
[Metrics]
PrometheusListen = :9100
GraphiteEnabled = true
GraphiteHost = graphite
GraphitePort = 2004
GraphiteClientId = node-a
Interval = 90s
[Applications]
RunAs = apps
SharedRunAsUnixGroup = appgroup
ScheduleConcurrency = 0
RenderTimeout = 90m
MaxBundleSize = 1234567
[Scheduler]
MinProcesses = 1
MaxProcesses = 8
LoadFactor = 0.25
`)
		c := mustLoad(t, opts)
		if c.Server.DataDir != filepath.Join(dir, `data dir;with#odd "chars"`) {
			t.Fatalf("DataDir = %q", c.Server.DataDir)
		}
		c2, err := dumpAndLoad(t, c, dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		// A dump writes every key: loading it sets them all.
		c2.Source, c2.Set = c.Source, c.Set
		if !reflect.DeepEqual(c, c2) {
			t.Errorf("round trip differs:\n got %+v\nwant %+v", c2, c)
		}
	})
	t.Run("MaskedSecrets", func(t *testing.T) {
		t.Parallel()
		dir, opts := setup(t)
		opts.Path = writeFile(t, dir, "podium.gcfg",
			"[Database]\nProvider = postgres\n[Postgres]\nURL = postgres://podium:inurl@db/podium\n")
		opts.LookupEnv = env(map[string]string{"PODIUM_POSTGRES_PASSWORD": "fromenv"})
		c := mustLoad(t, opts)

		// With the password supplied again, the dump loads to the same
		// configuration except for the masked password in the URL.
		c2, err := dumpAndLoad(t, c, dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		if c2.Postgres.URL != "postgres://podium:"+podium.Mask+"@db/podium" {
			t.Errorf("URL = %q, want the masked one", c2.Postgres.URL)
		}
		u1, _ := c.PostgresURL()
		u2, _ := c2.PostgresURL()
		if u1.Reveal() != u2.Reveal() {
			t.Errorf("effective URLs differ: %q vs %q", u1.Reveal(), u2.Reveal())
		}
		c2.Source, c2.Postgres.URL, c2.Set = c.Source, c.Postgres.URL, c.Set
		if !reflect.DeepEqual(c, c2) {
			t.Errorf("round trip differs:\n got %+v\nwant %+v", c2, c)
		}

		// Without it, the mask is refused rather than used as a password.
		opts.LookupEnv = env(nil)
		if _, err := dumpAndLoad(t, c, dir, opts); !podium.IsCode(err, podium.EINVALID) ||
			!strings.Contains(err.Error(), "podium config dump") {
			t.Errorf("loading a masked dump without a password: err = %v, want EINVALID naming the dump", err)
		}
	})
}

func TestDump_Header(t *testing.T) {
	t.Parallel()
	dir, opts := setup(t)
	var b bytes.Buffer
	if err := mustLoad(t, opts).Dump(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "# Source: built-in defaults") {
		t.Errorf("no-file dump should say so:\n%s", b.String())
	}
	opts.Path = writeFile(t, dir, "podium.gcfg", "")
	b.Reset()
	if err := mustLoad(t, opts).Dump(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "# Source: "+opts.Path) {
		t.Errorf("dump should name its source %s:\n%s", opts.Path, b.String())
	}
}

func TestExampleFile(t *testing.T) {
	t.Parallel()
	_, opts := setup(t)
	opts.Path = filepath.Join("..", "docs", "examples", "podium.gcfg")
	opts.WorkDir, _ = os.Getwd()
	opts.LookupEnv = env(map[string]string{"PODIUM_POSTGRES_PASSWORD": "example"})
	c := mustLoad(t, opts)
	if !c.HA.Enabled || c.Database.Provider != config.ProviderPostgres || len(c.HTTP.TrustedProxies) != 2 {
		t.Errorf("example: HA %v, Provider %q, TrustedProxies %q", c.HA.Enabled, c.Database.Provider, c.HTTP.TrustedProxies)
	}
	if u, err := c.PostgresURL(); err != nil || !strings.Contains(u.Reveal(), ":example@") {
		t.Errorf("example: PostgresURL did not take the env password (err %v)", err)
	}
}

func TestSizes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1048576", 1 << 20, true},
		{"512MB", 512e6, true},
		{"512 mib", 512 << 20, true},
		{"1GiB", 1 << 30, true},
		{"2kb", 2000, true},
		{"7B", 7, true},
		{"1.5GB", 0, false},
		{"1 gallon", 0, false},
		{"", 0, false},
		{"99999999999TiB", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			_, opts := setup(t)
			opts.LookupEnv = env(map[string]string{"PODIUM_APPLICATIONS_MAXBUNDLESIZE": tt.in})
			c, err := config.Load(opts)
			if !tt.ok {
				if !podium.IsCode(err, podium.EINVALID) {
					t.Errorf("Load(%q) err = %v, want EINVALID", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Applications.MaxBundleSize != tt.want {
				t.Errorf("MaxBundleSize = %d, want %d", c.Applications.MaxBundleSize, tt.want)
			}
		})
	}
}

func TestLoad_AuthenticationProvider(t *testing.T) {
	t.Parallel()
	dir, opts := setup(t)
	opts.Path = writeFile(t, dir, "podium.gcfg", "[Authentication]\nProvider = LDAP\n[LDAP]\nServerAddress = ldaps://ldap.example.com\nUserSearchBaseDN = ou=people,dc=example,dc=com\n[Authorization]\nDefaultUserRole = Publisher\nAdministratorRoleMapping = podium-admins\nAdministratorRoleMapping = ops, sre\nViewerRoleMapping = staff\n")
	c, err := config.Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	if c.Authentication.Provider != config.AuthLDAP {
		t.Errorf("Provider = %q, want ldap (lower-cased)", c.Authentication.Provider)
	}
	if c.Authorization.DefaultUserRole != "publisher" {
		t.Errorf("DefaultUserRole = %q, want publisher", c.Authorization.DefaultUserRole)
	}
	if want := []string{"podium-admins", "ops", "sre"}; !reflect.DeepEqual(c.Authorization.AdministratorRoleMapping, want) {
		t.Errorf("AdministratorRoleMapping = %q, want %q", c.Authorization.AdministratorRoleMapping, want)
	}
	if want := []string{"staff"}; !reflect.DeepEqual(c.Authorization.ViewerRoleMapping, want) {
		t.Errorf("ViewerRoleMapping = %q, want %q", c.Authorization.ViewerRoleMapping, want)
	}
}
