package apps

import (
	"context"
	"fmt"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/internal/sandbox"
)

// App is what the supervisor needs to run the active bundle of one app or
// api content item.
type App struct {
	// GUID identifies the content; the proxy serves it under
	// /content/{GUID}/.
	GUID string
	// ContentID is the content's database id.
	ContentID int64
	// OwnerID is the id of the content's owner, who may read process logs.
	OwnerID int64
	// BundleID is the active bundle; a new value means a redeploy.
	BundleID int64
	// Dir is the unpacked bundle, the working directory of each process.
	Dir string
	// Command is the manifest's serve.command argv; it must listen on $PORT.
	Command []string
	// BasePathEnv names the variable that receives the base path
	// ("/content/{GUID}/").
	BasePathEnv string
	// Overrides are the content's own process settings.
	Overrides Overrides
	// Env are the content's environment variables (NAME=value), set
	// before the server's own (which win). Secret: never logged.
	Env []string `json:"-"`
	// RuntimeEnv is the environment of the runtime the app runs in (a
	// Python app's virtual environment, say), set after the server's own
	// variables: it may replace PATH, and the content's Env cannot
	// override it.
	RuntimeEnv []string
	// KeepPrefix passes the whole request path, /content/{GUID} included,
	// to apps that serve under that prefix themselves (Streamlit, Bokeh).
	KeepPrefix bool
	// ReadOnly are the directories, besides Dir, that the app's sandbox
	// shows it read-only: its package environment (a Python virtual
	// environment, an R library).
	ReadOnly []string
	// RunAs is the content's own user (an administrator's run_as), ""
	// for the sandbox's per-content uid (or [Applications] RunAs without
	// a sandbox).
	RunAs string
	// SandboxLimits override the node's default limits of the content's
	// processes.
	SandboxLimits sandbox.Limits
}

// BasePath returns the URL path prefix the app is served under, with a
// trailing slash.
func (a *App) BasePath() string { return "/content/" + a.GUID + "/" }

// AppSource finds the app to run for a content item. The publishing store
// implements it.
type AppSource interface {
	// ActiveApp returns the active bundle of app or api content guid.
	// Returns ENOTFOUND if there is no such content, or it is not an app or
	// api, or it has no active bundle.
	ActiveApp(ctx context.Context, guid string) (*App, error)
	// AppGUIDs lists the guids of every app and api content item with an
	// active bundle, so a booting node can start their minimum processes.
	AppGUIDs(ctx context.Context) ([]string, error)
}

// Limits are the effective process settings of one app on one node.
type Limits struct {
	// MinProcesses are kept running even when idle.
	MinProcesses int `json:"min_processes"`
	// MaxProcesses bound the processes of the app on this node.
	MaxProcesses int `json:"max_processes"`
	// MaxConnsPerProcess is the number of concurrent connections (requests
	// and WebSockets) a process is meant to serve.
	MaxConnsPerProcess int `json:"max_conns_per_process"`
	// LoadFactor in (0, 1]: a new process starts when the least-loaded
	// process's connections / MaxConnsPerProcess would exceed it.
	LoadFactor float64 `json:"load_factor"`
	// IdleTimeout is how long an idle process above MinProcesses lives.
	IdleTimeout time.Duration `json:"-"`
	// InitTimeout bounds the wait for a new process to listen.
	InitTimeout time.Duration `json:"-"`
}

// Overrides are per-content process settings; nil fields take the server
// default. Durations are Go duration strings ("30s").
type Overrides struct {
	MinProcesses       *int     `json:"min_processes,omitempty"`
	MaxProcesses       *int     `json:"max_processes,omitempty"`
	MaxConnsPerProcess *int     `json:"max_conns_per_process,omitempty"`
	LoadFactor         *float64 `json:"load_factor,omitempty"`
	IdleTimeout        string   `json:"idle_timeout,omitempty"`
	InitTimeout        string   `json:"init_timeout,omitempty"`
}

// Validate reports the first invalid override. Returns EINVALID.
func (o *Overrides) Validate() error {
	_, err := Limits{MinProcesses: 0, MaxProcesses: 1, MaxConnsPerProcess: 1, LoadFactor: 1, IdleTimeout: time.Second, InitTimeout: time.Second}.apply(o)
	return err
}

// Apply returns l with o's fields in place of its own. Invalid overrides
// are ignored (Validate refuses them when they are written).
func (l Limits) Apply(o *Overrides) Limits {
	r, err := l.apply(o)
	if err != nil {
		return l
	}
	return r
}

func (l Limits) apply(o *Overrides) (Limits, error) {
	if o == nil {
		return l, nil
	}
	if o.MinProcesses != nil {
		l.MinProcesses = *o.MinProcesses
	}
	if o.MaxProcesses != nil {
		l.MaxProcesses = *o.MaxProcesses
	}
	if o.MaxConnsPerProcess != nil {
		l.MaxConnsPerProcess = *o.MaxConnsPerProcess
	}
	if o.LoadFactor != nil {
		l.LoadFactor = *o.LoadFactor
	}
	for _, d := range []struct {
		name string
		s    string
		dst  *time.Duration
	}{{"idle_timeout", o.IdleTimeout, &l.IdleTimeout}, {"init_timeout", o.InitTimeout, &l.InitTimeout}} {
		if d.s == "" {
			continue
		}
		v, err := time.ParseDuration(d.s)
		if err != nil || v <= 0 {
			return l, podium.Errorf(podium.EINVALID, "%s: %q is not a positive duration such as \"30s\"", d.name, d.s)
		}
		*d.dst = v
	}
	switch {
	case l.MaxProcesses < 1:
		return l, podium.Errorf(podium.EINVALID, "max_processes: must be at least 1")
	case l.MinProcesses < 0 || l.MinProcesses > l.MaxProcesses:
		return l, podium.Errorf(podium.EINVALID, "min_processes: must be between 0 and max_processes (%d)", l.MaxProcesses)
	case l.MaxConnsPerProcess < 1:
		return l, podium.Errorf(podium.EINVALID, "max_conns_per_process: must be at least 1")
	case l.LoadFactor <= 0 || l.LoadFactor > 1:
		return l, podium.Errorf(podium.EINVALID, "load_factor: must be more than 0 and at most 1")
	}
	return l, nil
}

// String describes the limits for logs.
func (l Limits) String() string {
	return fmt.Sprintf("min=%d max=%d conns=%d load=%.2f idle=%s init=%s",
		l.MinProcesses, l.MaxProcesses, l.MaxConnsPerProcess, l.LoadFactor, l.IdleTimeout, l.InitTimeout)
}
