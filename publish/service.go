// Package publish deploys and renders content: it stores uploaded bundles
// under [Server] DataDir, runs deployments and renders as tasks whose output
// goes to the database (so any node answers a poll), activates bundles
// atomically, and decides who may see and change what.
//
// Layout under DataDir (shared between the nodes of a cluster):
//
//	content/<guid>/bundles/<id>.tar.gz   the uploaded archive, kept for redeploys
//	content/<guid>/bundles/<id>/         the unpacked bundle (renamed into place whole)
//	content/<guid>/renders/<id>/         the output of one render (renamed into place whole)
//	scratch/<node id>/                   the node's work in progress: uploads being received
//	                                     and checked, bundles being unpacked, render output
//	                                     being copied, renamed into place when whole
//
// Renders run in {TempDir}/podium-render-<node id>/. Every scratch entry a
// node makes starts with a prefix of its own run; at start a node removes
// what an earlier run of itself left (a crash), and every sweep interval
// it removes the data directory's scratch of nodes that are not live in
// the registry: the data directory is shared, so never the work in
// progress of a live node.
//
// The package imports the domain, dbprovider, bundle and config packages and
// logrus; it must not import echo or the web package: the HTTP handlers in
// web call it.
package publish

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/sandbox"
	"github.com/podiumhq/podium/internal/startstop"
	"github.com/podiumhq/podium/internal/testsignal"
	"github.com/podiumhq/podium/runtimes"
	"github.com/podiumhq/podium/runtimes/rlang"
	"github.com/sirupsen/logrus"
)

// Options configure New.
type Options struct {
	DB      dbprovider.Provider
	DataDir string
	NodeID  string
	Log     *logrus.Entry
	// Apps gives RunAs, RenderTimeout and MaxBundleSize.
	Apps config.ApplicationsConfig
	// MaxUploadSize bounds one request body ([HTTP] MaxUploadSize); 0 means
	// no bound besides Apps.MaxBundleSize.
	MaxUploadSize int64
	// TempDir is where renders get their scratch directory
	// (podium-render-<node id>); "" means os.TempDir().
	TempDir string
	// NodeTimeout is [HA] NodeTimeout: the tasks and renders of a node
	// whose heartbeat is older are failed, and its scratch removed
	// (default 30s).
	NodeTimeout time.Duration
	// SweepInterval is how often the node looks for the tasks, renders
	// and scratch of dead nodes ([HA] HeartbeatInterval; default 5s).
	SweepInterval time.Duration
	// EnvKey encrypts environment variables (32 bytes); nil means the key
	// file EnvKeyFile under DataDir. EnvPreviousKeys still decrypt.
	EnvKey          []byte
	EnvPreviousKeys [][]byte
	// Runtimes builds and runs Python content; nil refuses it.
	Runtimes *runtimes.Manager
	// R restores and runs R content; nil or one without installations
	// refuses it.
	R *rlang.Manager
	// Sandbox runs renders and builds (see package internal/sandbox);
	// nil runs them as Apps.RunAs without one.
	Sandbox *sandbox.Sandbox
	// PublishersCanManageVanities lets publishers set the vanity URL of
	// content they may change ([Authorization]
	// PublishersCanManageVanities); otherwise only administrators may.
	PublishersCanManageVanities bool
	// Git configures git-backed content ([Git]).
	Git GitOptions
}

// Service deploys and renders content. It is a server.Service: Stop
// cancels the running tasks and waits for them.
type Service struct {
	db      dbprovider.Provider
	dataDir string
	nodeID  string
	log     *logrus.Entry
	apps    config.ApplicationsConfig
	maxBody int64
	tempDir string
	// run prefixes every scratch entry of this process, so a sweep tells
	// this run's work from what an earlier run of the node left.
	run           string
	nodeTimeout   time.Duration
	sweepInterval time.Duration
	// The background loops, each on startstop.Base: the sweeps, the git
	// polls and the task listener.
	sweeps, gitPolls, taskListen startstop.Base

	runtimes *runtimes.Manager
	rlang    *rlang.Manager
	sandbox  *sandbox.Sandbox
	// publishersVanities: [Authorization] PublishersCanManageVanities.
	publishersVanities bool

	ctx      context.Context
	cancel   context.CancelFunc
	mu       sync.Mutex
	stopped  bool
	wg       sync.WaitGroup
	warnOnce sync.Once

	// TestSignals are the events tests wait on instead of sleeping;
	// production leaves them nil (call Init before the first task).
	TestSignals TestSignals

	waiters taskWaiters // polls held on this node; see taskwait.go
	env     *envCipher  // encrypts environment variables; see envvars.go
	git     gitState    // git-backed content; see git.go
}

// TestSignals are the publishing service's test signals.
type TestSignals struct {
	// TaskLogFlushed carries the number of lines of each batch of task
	// output written to the database.
	TaskLogFlushed testsignal.Signal[int]
}

// Init makes every signal.
func (ts *TestSignals) Init() { ts.TaskLogFlushed.Init() }

// New returns a service. Tasks may start as soon as it exists (requests
// can arrive before the node starts its services).
func New(opts Options) *Service {
	ctx, cancel := context.WithCancel(context.Background())
	max := opts.Apps.MaxBundleSize
	if opts.MaxUploadSize > 0 && (max <= 0 || opts.MaxUploadSize < max) {
		max = opts.MaxUploadSize
	}
	if max <= 0 {
		max = config.GiB
	}
	if opts.TempDir == "" {
		opts.TempDir = os.TempDir()
	}
	if opts.NodeTimeout <= 0 {
		opts.NodeTimeout = 30 * time.Second
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = 5 * time.Second
	}
	if opts.Git.PollingFrequency <= 0 {
		opts.Git.PollingFrequency = 15 * time.Minute
	}
	if opts.Git.Timeout <= 0 {
		opts.Git.Timeout = 5 * time.Minute
	}
	if opts.Git.Executable == "" {
		opts.Git.Executable = "git"
	}
	return &Service{
		git: gitState{GitOptions: opts.Git},
		db:  opts.DB, dataDir: opts.DataDir, nodeID: opts.NodeID, log: opts.Log, apps: opts.Apps,
		maxBody: max, tempDir: opts.TempDir, ctx: ctx, cancel: cancel,
		run: "r" + randomHex(6), nodeTimeout: opts.NodeTimeout, sweepInterval: opts.SweepInterval,
		env:      &envCipher{dataDir: opts.DataDir, key: opts.EnvKey, previous: opts.EnvPreviousKeys},
		runtimes: opts.Runtimes,
		rlang:    opts.R,
		sandbox:  opts.Sandbox, publishersVanities: opts.PublishersCanManageVanities,
	}
}

// Name implements server.Service.
func (s *Service) Name() string { return "publish" }

// Start implements server.Service. Tasks run from New on; Start begins the
// sweeps: at once, then every SweepInterval until ctx ends, it fails the
// tasks and renders of dead nodes (and those an earlier run of this node
// left) and removes dead nodes' scratch.
func (s *Service) Start(ctx context.Context) error {
	_ = s.sweeps.Go(ctx, func(ctx context.Context) {
		t := time.NewTimer(0)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.ctx.Done(): // Stop
				return
			case <-t.C:
			}
			s.Sweep(ctx)
			t.Reset(s.sweepInterval)
		}
	})
	// Git-backed content: the repositories this node holds the lease of
	// are checked every [Git] PollingFrequency.
	if !s.git.Disabled {
		_ = s.gitPolls.Go(ctx, s.pollLoop)
	}
	// Polls held here answer when a task on another node moves
	// (PostgreSQL notifications); until Stop, not until ctx ends.
	_ = s.taskListen.Go(s.ctx, s.listenTasks)
	return nil
}

// Stop implements server.Service: it cancels the running tasks (a render
// is killed, its task finished with an error) and waits for them within
// ctx.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.cancel()
	done := make(chan struct{})
	go func() {
		_ = s.sweeps.Stop(context.Background())
		_ = s.gitPolls.Stop(context.Background())
		_ = s.taskListen.Stop(context.Background())
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("publish: stop: tasks still running: %w", ctx.Err())
	}
}

// MaxUpload returns the largest bundle upload accepted, in bytes.
func (s *Service) MaxUpload() int64 { return s.maxBody }

// ContentDir returns the directory of a content's bundles and renders
// (the layout is bundle.Layout's).
func (s *Service) ContentDir(guid string) string { return s.layout().ContentDir(guid) }

func (s *Service) layout() bundle.Layout { return bundle.Layout{DataDir: s.dataDir} }

func (s *Service) bundlesDir(guid string) string { return s.layout().BundlesDir(guid) }

func (s *Service) bundleDir(guid string, id int64) string { return s.layout().Dir(guid, id) }

func (s *Service) bundleArchive(guid string, id int64) string { return s.layout().Archive(guid, id) }

func (s *Service) rendersDir(guid string) string { return s.layout().RendersDir(guid) }

// RenderDir returns the directory that holds the output of a render.
func (s *Service) RenderDir(guid string, renderID int64) string {
	return s.layout().RenderDir(guid, renderID)
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newGUID returns a random UUID for new content.
func newGUID() string { return uuid.NewString() }

// validGUID reports whether s is a UUID in canonical form; anything else
// cannot name content (and is never joined into a path).
func validGUID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}

// namePattern is what a content name may be: Connect's rule (letters,
// digits, '_' and '-', at most 64; Connect clients derive names such as
// "_my_site" from titles) plus '.', which Podium always allowed.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$`)

// Bounds of content fields.
const (
	MaxTitleLen       = 1024
	MaxDescriptionLen = 16 << 10
)

func notFound(guid string) error {
	return podium.Errorf(podium.ENOTFOUND, "content %s not found", guid)
}
