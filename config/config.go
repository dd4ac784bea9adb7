// Package config loads the configuration of the podium binary: built-in
// defaults, then one gcfg (git-config style) file, then PODIUM_* environment
// variables, validated as a whole.
//
// The user documentation of every section and key is docs/configuration.md;
// keep it in step with the key table in keys.go.
//
// The package imports the root package podium (for its error codes and the
// Secret type), the standard library and github.com/go-git/gcfg/v2, nothing
// else: it must not import database drivers, echo or logrus.
package config

import (
	"time"

	"github.com/podiumhq/podium"
)

// DefaultPath is the configuration file read when neither --config nor
// PODIUM_CONFIG names one, if it exists.
const DefaultPath = "/etc/podium/podium.gcfg"

// Built-in values of [Server] DataDir: DefaultDataDir when a configuration
// file is used, NoFileDataDir (made absolute against the working directory)
// when there is no file at all, so that `podium` started in a scratch
// folder keeps its data there.
const (
	DefaultDataDir = "/var/lib/podium"
	NoFileDataDir  = "podium-data"
)

// Size units.
const (
	KiB int64 = 1 << 10
	MiB int64 = 1 << 20
	GiB int64 = 1 << 30
)

// Config is the effective configuration of one podium process.
type Config struct {
	// Source is the absolute path of the file loaded, "" for built-in
	// defaults (with environment overrides).
	Source string
	// Set holds the keys ("Applications.HistoryRetention") the file or the
	// environment set, as opposed to defaults: an installation upgraded
	// from a release without [Applications] HistoryRetention deletes no
	// history until the administrator sets it (docs/upgrading.md).
	Set map[string]bool

	Server         ServerConfig
	HTTP           HTTPConfig
	HTTPS          HTTPSConfig
	Authentication AuthenticationConfig
	Authorization  AuthorizationConfig
	ProxyAuth      ProxyAuthConfig
	LDAP           LDAPConfig
	Password       PasswordConfig
	Database       DatabaseConfig
	Postgres       PostgresConfig
	HA             HAConfig
	Metrics        MetricsConfig
	Usage          UsageConfig
	Git            GitConfig
	Applications   ApplicationsConfig
	Scheduler      SchedulerConfig
	R              RConfig
	Python         PythonConfig
	OAuth2         OAuth2Config
	SAML           SAMLConfig
}

// ServerConfig is the [Server] section. All paths are absolute after Load.
type ServerConfig struct {
	// DataDir holds the data of the node: the SQLite database, bundles,
	// metrics. Default /var/lib/podium with a file, ./podium-data without.
	DataDir string
	// LandingDir holds a custom landing page; "" serves the built-in one.
	LandingDir string
	// StateDir holds node-local state such as the node id. Default
	// {DataDir}/state/{hostname}. Nodes on one host that share DataDir must
	// set distinct StateDirs.
	StateDir string
	// ShutdownGracePeriod is how long a stopping server waits for requests
	// and jobs to finish. 0 stops at once.
	ShutdownGracePeriod time.Duration
	// MinFreeSpace is the free space of DataDir, in bytes, under which the
	// node warns (log, /__ping__, "podium ha check"). 0 turns the warning
	// off.
	MinFreeSpace int64
	// DrainDelay is how long a stopping node keeps serving after
	// /__ping__ turns 503 and before it closes its listener, so that the
	// load balancer's health checks take it out first (set it to the check
	// interval times the failures needed, plus one interval). 0 closes at
	// once. At most MaxDrainDelay. Default DefaultHADrainDelay with [HA]
	// Enabled, 0 without (a single node has no peer to take its traffic).
	DrainDelay time.Duration
	// AuditLogRetention is how long audit log entries are kept; older ones
	// are deleted hourly, in batches. 0 keeps them forever.
	AuditLogRetention time.Duration
	// Address is the public URL of the dashboard and the API (the main
	// origin), e.g. https://podium.example; "" when not set. Needed with
	// ContentURL: the content origin sends readers there to sign in.
	Address string
	// ContentURL is the origin user content is served from, e.g.
	// https://content.example or, one sub-domain per content item,
	// https://*.content.example; "" serves content on the main origin
	// (warned about at start). See docs/security.md.
	ContentURL string
	// FrameOptionsDashboard is the X-Frame-Options of the dashboard and
	// the login pages (DENY, SAMEORIGIN, or NONE for no header).
	FrameOptionsDashboard string
	// FrameOptionsContent is the X-Frame-Options of content responses
	// (DENY, SAMEORIGIN, or NONE, the default, for no header).
	FrameOptionsContent string
}

// DefaultHADrainDelay is [Server] DrainDelay's default with [HA] Enabled:
// the shipped HAProxy configurations check every second (inter 1s) and
// take a node out after two failed checks (fall 2), so a draining node
// must answer 503 for two intervals, plus one for the check in flight,
// before its port closes.
const DefaultHADrainDelay = 3 * time.Second

// MaxDrainDelay bounds [Server] DrainDelay, so that a node retiring on a
// newer schema still exits within 30 seconds.
const MaxDrainDelay = 10 * time.Second

// HTTPConfig is the [HTTP] section.
type HTTPConfig struct {
	// Listen is the host:port of the HTTP server (port 0 picks a free one).
	Listen string
	// TrustedProxies lists the IPs and CIDRs whose X-Forwarded-* headers
	// are believed. Empty trusts no proxy.
	TrustedProxies []string
	// MaxUploadSize bounds the body of one request, in bytes.
	MaxUploadSize int64
	// ReadHeaderTimeout bounds the reading of a request's headers.
	ReadHeaderTimeout time.Duration
	// MinUploadRate is the slowest a request body may arrive, in bytes per
	// second averaged over UploadRateWindow; a slower one is cut. 0 turns
	// the check off.
	MinUploadRate int64
	// UploadRateWindow is the period over which MinUploadRate is measured
	// (and the longest a body may stall).
	UploadRateWindow time.Duration
	// WriteTimeout bounds one write of a response to a client: a client
	// that reads nothing for that long is cut. Not a total deadline:
	// long downloads, SSE and WebSockets are not cut.
	WriteTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its
	// next request.
	IdleTimeout time.Duration
	// MaxConnections bounds the client connections open at once on this
	// node (WebSockets included); over it, a new connection gets 503. 0
	// means no bound.
	MaxConnections int
	// FastPath serves the plain listener's simple requests under
	// /content/ (GET and HEAD without a body or an upgrade) in Podium's
	// own connection loop instead of net/http's (package
	// internal/fastpath), with the same handlers and answers, and the
	// anonymous ones to public apps through the fast lane and its raw
	// lane (web.Lane, web.RawLane): the app proxy at about a load
	// balancer's cost (docs/load-balancing.md). On by default; false
	// serves everything through net/http and the handler chain.
	FastPath bool
}

// HTTPSConfig is the [HTTPS] section: TLS served by the node itself.
type HTTPSConfig struct {
	// Listen is the host:port of the HTTPS server; "" serves no TLS.
	// When set, the [HTTP] listener redirects to it (except /__ping__).
	Listen string
	// Certificate is a PEM file with the certificate chain, leaf first;
	// Key is the PEM file of its private key. Both are read again when
	// they change, without a restart.
	Certificate string
	Key         string
	// MinimumTLSVersion is "1.2" or "1.3".
	MinimumTLSVersion string
}

// Authentication providers, the values of [Authentication] Provider (the
// names Posit Connect uses).
const (
	AuthPassword = "password" // local users with passwords kept by Podium (default)
	AuthLDAP     = "ldap"     // an LDAP or Active Directory server
	AuthOIDC     = "oidc"     // an OpenID Connect provider
	AuthSAML     = "saml"     // a SAML 2.0 identity provider
	AuthProxy    = "proxy"    // an authenticating proxy that passes the user in headers
)

// AuthenticationConfig is the [Authentication] section: who signs users in,
// and their login sessions.
type AuthenticationConfig struct {
	// Provider is how users sign in: AuthPassword, AuthLDAP, AuthOIDC,
	// AuthSAML or AuthProxy. API keys work whatever the provider.
	Provider string
	// LinkExistingUsers lets the first sign-in of a username through an
	// external provider take over the existing user of that username
	// (with their content, keys and grants): set it while moving a
	// password installation to a provider. Default false: such a sign-in
	// is refused.
	LinkExistingUsers bool
	// SessionIdleTimeout ends a session that made no request for this
	// long. At most SessionLifetime.
	SessionIdleTimeout time.Duration
	// SessionLifetime ends a session this long after the login, however
	// active it is.
	SessionLifetime time.Duration
}

// AuthorizationConfig is the [Authorization] section: the role of a user
// signed in by an external provider (LDAP, OpenID Connect, SAML, proxy)
// when the provider names none.
type AuthorizationConfig struct {
	// DefaultUserRole is the role of a new user whose groups match no
	// mapping: admin, publisher or viewer.
	DefaultUserRole string
	// AdministratorRoleMapping, PublisherRoleMapping and ViewerRoleMapping
	// list provider group names; a user in one of them gets that role at
	// every sign-in, the most powerful one when several match.
	AdministratorRoleMapping []string
	PublisherRoleMapping     []string
	ViewerRoleMapping        []string
	// PublishersCanManageVanities lets publishers set and remove the
	// vanity URL of content they may change (Connect's setting of that
	// name); otherwise only administrators may.
	PublishersCanManageVanities bool
}

// ProxyAuthConfig is the [ProxyAuth] section: [Authentication] Provider =
// proxy, where an authenticating proxy in front of the nodes signs users
// in and passes who they are in request headers.
type ProxyAuthConfig struct {
	// TrustedProxies lists the IPs and CIDRs of the authenticating proxies:
	// the headers are believed only on connections from them, and a
	// request from anywhere else that carries UsernameHeader is refused
	// (401). Required with Provider = proxy.
	TrustedProxies []string
	// UsernameHeader names the user. Default X-Auth-Username.
	UsernameHeader string
	// UniqueIDHeader, when set, carries a stable id of the user (else the
	// username is the id).
	UniqueIDHeader string
	// NameHeader and EmailHeader, when set, carry the display name and the
	// email.
	NameHeader  string
	EmailHeader string
	// GroupsHeader, when set, carries the user's groups, separated by
	// GroupsSeparator (default ",").
	GroupsHeader    string
	GroupsSeparator string
	// RoleHeader, when set, carries the role (admin, publisher, viewer),
	// which wins over the [Authorization] mappings.
	RoleHeader string
}

// LDAPConfig is the [LDAP] section: [Authentication] Provider = ldap, where
// the login form's username and password are checked against an LDAP or
// Active Directory server (search with the service account, then bind as
// the user).
type LDAPConfig struct {
	// ServerAddress is ldap://host[:port] or ldaps://host[:port].
	ServerAddress string
	// StartTLS upgrades an ldap:// connection with StartTLS.
	StartTLS bool
	// TLSCACertificate is a PEM file of the CA that signed the server's
	// certificate ("" uses the system's CAs).
	TLSCACertificate string
	// BindDN and BindPassword are the service account that searches;
	// empty searches anonymously.
	BindDN       string
	BindPassword podium.Secret
	// UserSearchBaseDN and UserFilter find the user; {username} in the
	// filter is the typed username, escaped. Default filter (uid={username}).
	UserSearchBaseDN string
	UserFilter       string
	// The attributes of the user entry: UsernameAttribute (uid),
	// UniqueIDAttribute (entryUUID; objectGUID on Active Directory),
	// NameAttribute (cn), EmailAttribute (mail), and GroupsAttribute
	// (memberOf), read when GroupSearchBaseDN is empty.
	UsernameAttribute string
	UniqueIDAttribute string
	NameAttribute     string
	EmailAttribute    string
	GroupsAttribute   string
	// GroupSearchBaseDN, when set, finds the user's groups by a search
	// with GroupFilter ({userdn} is the user's DN, {username} the
	// username; default (member={userdn})) instead of GroupsAttribute.
	GroupSearchBaseDN string
	GroupFilter       string
	// GroupNameAttribute names a group (cn).
	GroupNameAttribute string
	// Timeout bounds each connection and operation.
	Timeout time.Duration
}

// PasswordConfig is the [Password] section: the policy for new passwords.
type PasswordConfig struct {
	// MinimumLength is the fewest characters a new password may have.
	// Between 8 and 128.
	MinimumLength int
}

// Database providers.
const (
	ProviderSQLite   = "sqlite"
	ProviderPostgres = "postgres"
)

// DatabaseConfig is the [Database] section.
type DatabaseConfig struct {
	// Provider is ProviderSQLite or ProviderPostgres.
	Provider string
	// Dir holds the SQLite database. Default {DataDir}/db.
	Dir string
	// SchemaCheckInterval is how often a running server checks that the
	// database schema is not newer than the binary. In (0, 30s].
	SchemaCheckInterval time.Duration
	// MigrationLockTimeout is the PostgreSQL lock_timeout of every
	// migration statement: a statement that waits longer for its lock
	// gives up and the migration is tried again after a backoff, so that
	// requests queued behind it never wait longer. In [100ms, 1m].
	MigrationLockTimeout time.Duration
}

// PostgresConfig is the [Postgres] section.
type PostgresConfig struct {
	// URL is a postgres:// or postgresql:// connection URL. It may hold a
	// password; use PostgresURL to connect and PostgresURLRedacted to log.
	URL string
	// Password, when set, replaces any password in URL.
	Password podium.Secret
	// MaxConns bounds the connection pool of this node.
	MaxConns int
}

// HAConfig is the [HA] section.
type HAConfig struct {
	// Enabled runs this node as a member of a cluster sharing one
	// PostgreSQL database.
	Enabled bool
	// HeartbeatInterval is how often the node records that it is alive.
	HeartbeatInterval time.Duration
	// NodeTimeout is how long without a heartbeat before a node is taken
	// for dead. Greater than HeartbeatInterval.
	NodeTimeout time.Duration
	// ClockWarnOffset is the clock difference with the database that is
	// logged as a warning.
	ClockWarnOffset time.Duration
	// ClockFailOffset is the clock difference with the database that the
	// node reports as a failure: an error in its log, a warning in its
	// /__ping__ body, and a failed clock item in "podium ha check". Greater
	// than ClockWarnOffset.
	ClockFailOffset time.Duration
}

// MetricsConfig is the [Metrics] section.
type MetricsConfig struct {
	// DataPath holds the node's metrics data; each node claims its own.
	// Default {StateDir}/metrics.
	DataPath string
	// PrometheusListen is the host:port of a Prometheus /metrics endpoint;
	// "" turns it off.
	PrometheusListen string
	// GraphiteEnabled sends metrics to GraphiteHost:GraphitePort.
	GraphiteEnabled bool
	// GraphiteHost is the Graphite server; needed when GraphiteEnabled.
	GraphiteHost string
	// GraphitePort is the Graphite plaintext port.
	GraphitePort int
	// GraphiteClientId prefixes the metric names sent to Graphite.
	GraphiteClientId string
	// Interval is how often metrics are sampled and sent.
	Interval time.Duration
}

// UsageConfig is the [Usage] section: the recording of content visits and
// app sessions (docs/usage.md).
type UsageConfig struct {
	// Enabled records visits and app sessions.
	Enabled bool
	// FlushInterval is the longest a record waits in memory before it is
	// written.
	FlushInterval time.Duration
	// BatchSize is the number of waiting records that are written at once
	// in one statement.
	BatchSize int
	// MaxPending bounds the records a node keeps while the database
	// cannot take them; beyond it the oldest are dropped (and logged).
	MaxPending int
	// Retention is how long usage is kept; older records are deleted
	// hourly, in batches. 0 keeps it forever.
	Retention time.Duration
}

// GitConfig is the [Git] section: git-backed content (docs/publishing.md,
// "Git-backed content").
type GitConfig struct {
	// Enabled lets content follow git repositories.
	Enabled bool
	// PollingFrequency is how often the repositories of content with
	// polling on are checked for new commits.
	PollingFrequency time.Duration
	// Timeout bounds one git command (ls-remote, fetch, archive).
	Timeout time.Duration
	// Executable is the git program.
	Executable string
	// AllowLocalRepositories lets content follow repositories on the
	// node's file system (file:// and absolute paths); off by default.
	AllowLocalRepositories bool
}

// ApplicationsConfig is the [Applications] section.
type ApplicationsConfig struct {
	// RunAs is the Unix user that application processes run as.
	RunAs string
	// SharedRunAsUnixGroup is the group of shared application files; ""
	// means the primary group of RunAs.
	SharedRunAsUnixGroup string
	// ScheduleConcurrency is how many scheduled jobs this node runs at
	// once; 0 means the node takes no scheduled work.
	ScheduleConcurrency int
	// JobHeartbeatTimeout is how long a running job may go without a
	// heartbeat before it is taken for lost.
	JobHeartbeatTimeout time.Duration
	// JobPollInterval is how often a node looks for due scheduled work and
	// abandoned jobs (it also looks after each job it finishes and, on
	// PostgreSQL, when another node announces work).
	JobPollInterval time.Duration
	// HistoryRetention is how long finished scheduled jobs (with their
	// attempts) and render records without output are kept; 0 keeps them
	// forever.
	HistoryRetention time.Duration
	// RenderTimeout bounds one render of a document.
	RenderTimeout time.Duration
	// MaxBundleSize bounds one uploaded bundle, in bytes.
	MaxBundleSize int64
	// EnvironmentKey is the AES-256 key (32 bytes, base64) that encrypts
	// the environment variables of content at rest. Empty means the key
	// file {DataDir}/secrets/environment.key, created on first use.
	EnvironmentKey podium.Secret
	// EnvironmentPreviousKeys are earlier keys (base64, comma-separated)
	// still accepted to decrypt values written before a rotation.
	EnvironmentPreviousKeys podium.Secret
	// Sandbox runs every content process in its own sandbox (namespaces,
	// a uid per content item, limits): see docs/security.md. false runs
	// them as RunAs without one.
	Sandbox bool
	// SandboxUIDRange is the range "first-last" of the uids (and gids)
	// given to content items: first + content id modulo its size.
	SandboxUIDRange string
	// SandboxNetwork is "isolated" (each app process in its own network
	// namespace) or "host".
	SandboxNetwork string
	// SandboxMemoryLimit bounds the memory of one content item's
	// processes on one node, in bytes; 0 means no bound.
	SandboxMemoryLimit int64
	// SandboxProcessLimit bounds the processes and threads of one
	// content item on one node; 0 means no bound.
	SandboxProcessLimit int
	// SandboxOpenFileLimit bounds the open files of each content
	// process; 0 means the host's.
	SandboxOpenFileLimit int
	// SandboxCPUShares, when not 0, gives each content item a CPU
	// cgroup of its own with this weight (1024: as much as one busy
	// process); 0 (the default) schedules content with its node.
	SandboxCPUShares int
	// SandboxTmpSize bounds each sandbox's private /tmp, in bytes.
	SandboxTmpSize int64
	// Proxy is the path of requests to apps and APIs: "direct" (requests
	// without a body on Podium's own connections to the process, the
	// rest through Go's reverse proxy) or "standard" (all through Go's
	// reverse proxy).
	Proxy string
}

// SchedulerConfig is the [Scheduler] section: the defaults for the process
// pool of each interactive application.
type SchedulerConfig struct {
	// MinProcesses is how many processes are kept even when idle.
	MinProcesses int
	// MaxProcesses bounds the processes of one application. At least 1.
	MaxProcesses int
	// MaxConnsPerProcess bounds the connections one process serves.
	MaxConnsPerProcess int
	// LoadFactor in (0, 1] is the share of MaxConnsPerProcess at which a
	// new process is started.
	LoadFactor float64
	// IdleTimeout is how long an idle process above MinProcesses lives.
	IdleTimeout time.Duration
	// InitTimeout bounds the start of one process.
	InitTimeout time.Duration
}

// RConfig is the [R] section: the R installations this node offers to R
// content and where their packages come from. See docs/runtimes-r.md.
type RConfig struct {
	// Executable lists the R executables, absolute paths (repeatable).
	Executable []string
	// Repository is the CRAN-like repository packages are restored from:
	// an http(s):// or file:// URL, or an absolute directory; "" means
	// the system library alone.
	Repository string
}

// PythonConfig is the [Python] section: the interpreters this node offers
// to Python content and where their package environments come from. See
// docs/runtimes.md.
type PythonConfig struct {
	// Executable lists the interpreters, absolute paths (repeatable).
	Executable []string
	// PackageIndex is the index pip installs from; "" is pip's default.
	PackageIndex string
	// ExtraIndex lists more indexes (repeatable).
	ExtraIndex []string
	// FindLinks lists directories (absolute paths) or URLs of wheels
	// (repeatable).
	FindLinks []string
	// NoIndex makes pip use no index at all: FindLinks only.
	NoIndex bool
	// SystemSitePackages lets environments see the interpreter's own
	// site-packages.
	SystemSitePackages bool
	// EnvironmentRetention is how long an environment that no live bundle
	// uses is kept; 0 keeps them.
	EnvironmentRetention time.Duration
	// EnvironmentMaxSize bounds the environment cache, in bytes; 0 means
	// no bound.
	EnvironmentMaxSize int64
}

// Defaults returns the built-in defaults as Load gives them with no file and
// an empty environment, except that the {DataDir}-derived paths are left
// empty (Load fills them) and DataDir is the relative NoFileDataDir (Load
// makes it absolute).
func Defaults() *Config {
	return &Config{
		Server: ServerConfig{
			DataDir:             NoFileDataDir,
			ShutdownGracePeriod: 10 * time.Second,
			MinFreeSpace:        1 * GiB,

			FrameOptionsDashboard: FrameDeny,
			FrameOptionsContent:   FrameNone,
		},
		HTTP: HTTPConfig{
			Listen:            ":3939",
			MaxUploadSize:     1 * GiB,
			ReadHeaderTimeout: 30 * time.Second,
			MinUploadRate:     1 * KiB,
			UploadRateWindow:  60 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxConnections:    4096,
			FastPath:          true,
		},
		HTTPS: HTTPSConfig{
			MinimumTLSVersion: "1.2",
		},
		Authentication: AuthenticationConfig{
			Provider:           AuthPassword,
			SessionIdleTimeout: 2 * time.Hour,
			SessionLifetime:    12 * time.Hour,
		},
		Authorization: AuthorizationConfig{
			DefaultUserRole: "viewer",
		},
		LDAP: LDAPConfig{
			UserFilter:         "(uid={username})",
			UsernameAttribute:  "uid",
			UniqueIDAttribute:  "entryUUID",
			NameAttribute:      "cn",
			EmailAttribute:     "mail",
			GroupsAttribute:    "memberOf",
			GroupFilter:        "(member={userdn})",
			GroupNameAttribute: "cn",
			Timeout:            10 * time.Second,
		},
		ProxyAuth: ProxyAuthConfig{
			UsernameHeader:  "X-Auth-Username",
			GroupsSeparator: ",",
		},
		Password: PasswordConfig{
			MinimumLength: 10,
		},
		Database: DatabaseConfig{
			Provider:             ProviderSQLite,
			SchemaCheckInterval:  5 * time.Second,
			MigrationLockTimeout: 2 * time.Second,
		},
		Postgres: PostgresConfig{
			MaxConns: 10,
		},
		HA: HAConfig{
			HeartbeatInterval: 5 * time.Second,
			NodeTimeout:       30 * time.Second,
			ClockWarnOffset:   1 * time.Second,
			ClockFailOffset:   5 * time.Second,
		},
		Metrics: MetricsConfig{
			GraphitePort:     2003,
			GraphiteClientId: "podium",
			Interval:         60 * time.Second,
		},
		Usage: UsageConfig{
			Enabled:       true,
			FlushInterval: 5 * time.Second,
			BatchSize:     500,
			MaxPending:    100000,
			Retention:     400 * 24 * time.Hour,
		},
		Git: GitConfig{
			Enabled:          true,
			PollingFrequency: 15 * time.Minute,
			Timeout:          5 * time.Minute,
			Executable:       "git",
		},
		Applications: ApplicationsConfig{
			RunAs:                "podium",
			ScheduleConcurrency:  2,
			JobHeartbeatTimeout:  30 * time.Second,
			JobPollInterval:      5 * time.Second,
			HistoryRetention:     30 * 24 * time.Hour,
			RenderTimeout:        10 * time.Minute,
			MaxBundleSize:        1 * GiB,
			Sandbox:              true,
			SandboxUIDRange:      "200000-299999",
			SandboxNetwork:       "isolated",
			SandboxMemoryLimit:   1 * GiB,
			SandboxProcessLimit:  1024,
			SandboxOpenFileLimit: 4096,
			SandboxTmpSize:       256 * MiB,
			Proxy:                "direct",
		},
		Scheduler: SchedulerConfig{
			MinProcesses:       0,
			MaxProcesses:       3,
			MaxConnsPerProcess: 20,
			LoadFactor:         0.5,
			IdleTimeout:        5 * time.Second,
			InitTimeout:        60 * time.Second,
		},
		Python: PythonConfig{
			EnvironmentRetention: 30 * 24 * time.Hour,
		},
		OAuth2: defaultOAuth2(),
		SAML:   defaultSAML(),
	}
}
