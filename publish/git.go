package publish

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/sirupsen/logrus"
)

// Git-backed content (docs/publishing.md, "Git-backed content"): a content
// item follows a branch of a git repository and a directory in it that
// holds a manifest.json. Each new commit becomes one bundle (its commit in
// the bundle's metadata, source_commit) and is deployed through the same
// task as an uploaded bundle.
//
// Exactly one bundle per commit: the bundle row and the move of the
// repository's last_known_commit from the commit it was to the new one are
// one transaction (dbprovider.GitStore.RepositoryRecordCommit, a compare
// and set), so of two nodes that fetch the same new commit one records it
// and the other gives up. Polling is spread by a lease per repository
// (gitLeasePrefix + content GUID), which its holder renews at each poll and
// which another node takes over max(PollingFrequency × gitLeaseTTLFactor,
// NodeTimeout) after the holder's last renewal (a node that died): the lease keeps the
// repository from being fetched by every node; correctness does not rest
// on it.

// gitLeasePrefix names the poll lease of one repository.
const gitLeasePrefix = "git-poll:"

// gitLeaseTTLFactor: a poll lease outlives its holder's last renewal by
// this many polling intervals, and at least [HA] NodeTimeout (when a node
// is taken for dead).
const gitLeaseTTLFactor = 3

// gitCredentialAAD names the additional data a host's secret is sealed
// with (the environment cipher, content id 0): a secret cannot be moved to
// another host, nor to an environment variable.
func gitCredentialAAD(host string) string { return "git-credential:" + host }

// gitState is the git side of the Service: options and what this node is
// fetching now.
type gitState struct {
	GitOptions
	mu       sync.Mutex
	inFlight map[int64]bool // content ids with a git task running here
}

// RepositoryChange is the body of PUT and PATCH …/repository; nil fields
// are left as they are (PATCH) or take their default (PUT: branch "main",
// directory ".", polling false).
type RepositoryChange struct {
	Repository *string
	Branch     *string
	Directory  *string
	Polling    *bool
}

func (s *Service) gitEnabled() error {
	if s.git.Disabled {
		return podium.Errorf(podium.ENOTFOUND, "git-backed content is not enabled on this server ([Git] Enabled)")
	}
	return nil
}

// RepositoryGet returns the repository content u may edit follows.
//
// Returns ENOTFOUND when it follows none (or Git is off), EFORBIDDEN per
// access.
func (s *Service) RepositoryGet(ctx context.Context, u *podium.User, guid string) (*podium.Repository, error) {
	if err := s.gitEnabled(); err != nil {
		return nil, err
	}
	c, _, err := s.contentFor(ctx, u, guid, canEdit)
	if err != nil {
		return nil, err
	}
	r, err := s.db.RepositoryGet(ctx, c.ID)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return nil, podium.Errorf(podium.ENOTFOUND, "content %s does not follow a git repository", guid)
	}
	return r, err
}

// RepositorySet makes content u may edit follow a repository: replace
// true (PUT) sets every field, defaults for those not given; false
// (PATCH) changes the given fields of the repository it follows.
//
// Returns EINVALID for a URL, branch or directory Podium refuses (see
// checkRepositoryURL), ENOTFOUND for PATCH without a repository,
// EFORBIDDEN per access.
func (s *Service) RepositorySet(ctx context.Context, u *podium.User, guid string, ch RepositoryChange, replace bool) (*podium.Repository, error) {
	if err := s.gitEnabled(); err != nil {
		return nil, err
	}
	c, _, err := s.contentFor(ctx, u, guid, canEdit)
	if err != nil {
		return nil, err
	}
	p := &dbprovider.RepositorySetParams{ContentID: c.ID, Branch: "main", Directory: "."}
	if !replace {
		cur, err := s.db.RepositoryGet(ctx, c.ID)
		if podium.IsCode(err, podium.ENOTFOUND) {
			return nil, podium.Errorf(podium.ENOTFOUND, "content %s does not follow a git repository: set one with PUT first", guid)
		} else if err != nil {
			return nil, err
		}
		p.Repository, p.Branch, p.Directory, p.Polling = cur.Repository, cur.Branch, cur.Directory, cur.Polling
	} else if ch.Repository == nil {
		return nil, podium.Errorf(podium.EINVALID, "repository is required: the URL of a git repository")
	}
	if ch.Repository != nil {
		p.Repository = strings.TrimSpace(*ch.Repository)
	}
	if ch.Branch != nil {
		p.Branch = strings.TrimSpace(*ch.Branch)
	}
	if ch.Directory != nil {
		p.Directory = strings.TrimSpace(*ch.Directory)
		if p.Directory == "" {
			p.Directory = "."
		}
	}
	if ch.Polling != nil {
		p.Polling = *ch.Polling
	}
	if _, err := s.checkRepository(p.Repository); err != nil {
		return nil, err
	}
	if err := checkBranch(p.Branch); err != nil {
		return nil, err
	}
	if _, err := cleanDirectory(p.Directory); err != nil {
		return nil, err
	}
	r, err := s.db.RepositorySet(ctx, p)
	if err != nil {
		return nil, err
	}
	s.log.WithFields(map[string]any{"guid": c.GUID, "repository": r.Repository, "branch": r.Branch,
		"directory": r.Directory, "polling": r.Polling, "user": u.Username}).Info("content follows a git repository")
	return r, nil
}

// RepositoryDelete stops content u may edit following a repository; its
// bundles and active bundle stay.
//
// Returns ENOTFOUND when it follows none, EFORBIDDEN per access.
func (s *Service) RepositoryDelete(ctx context.Context, u *podium.User, guid string) error {
	if err := s.gitEnabled(); err != nil {
		return err
	}
	c, _, err := s.contentFor(ctx, u, guid, canEdit)
	if err != nil {
		return err
	}
	if err := s.db.RepositoryDelete(ctx, c.ID); podium.IsCode(err, podium.ENOTFOUND) {
		return podium.Errorf(podium.ENOTFOUND, "content %s does not follow a git repository", guid)
	} else if err != nil {
		return err
	}
	_ = s.db.LeaseRelease(context.WithoutCancel(ctx), gitLeasePrefix+c.GUID, s.nodeID)
	return nil
}

// DeployLatest answers a deployment request without a bundle (Connect's
// POST …/deploy with "bundle_id": null): content that follows a repository
// is brought to the head of its branch (fetched, made into a bundle when
// the commit is new, and deployed, all in the task); other content is
// refused.
//
// Returns EINVALID for content that follows no repository, ENOTFOUND and
// EFORBIDDEN per access.
func (s *Service) DeployLatest(ctx context.Context, u *podium.User, guid string, activate bool) (*podium.Task, error) {
	c, _, err := s.contentFor(ctx, u, guid, canEdit)
	if err != nil {
		return nil, err
	}
	r, err := s.db.RepositoryGet(ctx, c.ID)
	if podium.IsCode(err, podium.ENOTFOUND) || s.git.Disabled {
		return nil, podium.Errorf(podium.EINVALID, "bundle_id is required: content %s does not follow a git repository", guid)
	} else if err != nil {
		return nil, err
	}
	return s.startTask(ctx, podium.TaskDeploy, c, u, func(ctx context.Context, log *TaskLog) (any, error) {
		return s.gitDeploy(ctx, log, c, r, u.ID, activate, true)
	})
}

// gitDeploy brings content to the head of its repository's branch: it
// fetches the branch, makes a bundle of the new commit (when it is new)
// and deploys it. redeploy also deploys the bundle of a commit that is not
// new (a request); the poller deploys new commits only.
func (s *Service) gitDeploy(ctx context.Context, log *TaskLog, c *podium.Content, r *podium.Repository, createdBy int64, activate, redeploy bool) (res *DeployResult, err error) {
	defer func() {
		msg := ""
		if err != nil {
			msg = podium.ErrorMessage(err)
		}
		if rerr := s.db.RepositoryRecordCheck(context.WithoutCancel(ctx), c.ID, msg); rerr != nil && !podium.IsCode(rerr, podium.ENOTFOUND) {
			s.logDBError(rerr, "cannot record the check of a git repository")
		}
	}()
	log.Printf("Fetching branch %s of %s (directory %s) on node %s", r.Branch, r.Repository, r.Directory, s.nodeID)
	head, err := s.gitHead(ctx, r)
	if err != nil {
		return nil, err
	}
	if head == r.LastKnownCommit && r.BundleID != nil {
		if !redeploy {
			log.Printf("Commit %s already has bundle %d: nothing to do", head, *r.BundleID)
			return nil, nil
		}
		b, err := s.contentBundle(ctx, c, *r.BundleID)
		if err == nil {
			log.Printf("Commit %s is the last one deployed, as bundle %d: deploying it again", head, b.ID)
			return s.deploy(ctx, log, c, b, activate)
		}
		log.Printf("Commit %s had bundle %d, which is gone: making a new one", head, *r.BundleID)
	}
	b, commit, err := s.gitBundle(ctx, log, c, r, createdBy)
	if podium.IsCode(err, podium.ECONFLICT) {
		// Another node recorded a commit first: it deploys its own.
		cur, gerr := s.db.RepositoryGet(ctx, c.ID)
		if gerr != nil {
			return nil, err
		}
		if !redeploy || cur.BundleID == nil {
			log.Printf("Another node made the bundle of commit %s first (bundle of %s): it deploys it", commit, cur.LastKnownCommit)
			return nil, nil
		}
		if b, err = s.contentBundle(ctx, c, *cur.BundleID); err != nil {
			return nil, err
		}
		log.Printf("Another node made bundle %d of commit %s first: deploying it", b.ID, cur.LastKnownCommit)
	} else if err != nil {
		return nil, err
	} else {
		log.Printf("Commit %s is bundle %d", commit, b.ID)
	}
	return s.deploy(ctx, log, c, b, activate)
}

// gitHead returns the commit at the head of the repository's branch.
func (s *Service) gitHead(ctx context.Context, r *podium.Repository) (string, error) {
	cred, err := s.gitCredFor(ctx, r.Repository)
	if err != nil {
		return "", err
	}
	ref := "refs/heads/" + r.Branch
	var out bytes.Buffer
	if err := s.gitRun(ctx, "", cred, &out, "ls-remote", "--heads", "--", r.Repository, ref); err != nil {
		return "", unreachable(r, err)
	}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		sha, name, ok := strings.Cut(sc.Text(), "\t")
		if ok && name == ref && commitID.MatchString(sha) {
			return sha, nil
		}
	}
	return "", podium.Errorf(podium.EPRECONDITION, "branch %s not found in repository %s", r.Branch, r.Repository)
}

var commitID = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// unreachable words a failed git command that talks to the repository.
func unreachable(r *podium.Repository, err error) error {
	var ge *gitError
	if errors.As(err, &ge) {
		return podium.Errorf(podium.EUNAVAILABLE, "repository %s cannot be read: %s", r.Repository, ge.msg)
	}
	return err
}

// gitBundle fetches the head of the branch into the node's scratch
// directory (one commit deep), checks that the directory holds a
// manifest.json, stores the directory as a bundle of c and records its
// commit, in one transaction with the bundle. Returns ECONFLICT (and the
// commit) when another node recorded a commit first.
func (s *Service) gitBundle(ctx context.Context, log *TaskLog, c *podium.Content, r *podium.Repository, createdBy int64) (*podium.Bundle, string, error) {
	sub, err := cleanDirectory(r.Directory)
	if err != nil {
		return nil, "", err
	}
	cred, err := s.gitCredFor(ctx, r.Repository)
	if err != nil {
		return nil, "", err
	}
	work, err := s.scratchPath("git")
	if err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(work)
	repo := filepath.Join(work, "repo.git")
	if err := s.gitRun(ctx, "", nil, io.Discard, "init", "-q", "--bare", repo); err != nil {
		return nil, "", err
	}
	if err := s.gitRun(ctx, repo, cred, io.Discard, "fetch", "-q", "--no-tags", "--depth", "1", "--", r.Repository, "refs/heads/"+r.Branch); err != nil {
		var ge *gitError
		if errors.As(err, &ge) && strings.Contains(ge.msg, "couldn't find remote ref") {
			return nil, "", podium.Errorf(podium.EPRECONDITION, "branch %s not found in repository %s", r.Branch, r.Repository)
		}
		return nil, "", unreachable(r, err)
	}
	var out bytes.Buffer
	if err := s.gitRun(ctx, repo, nil, &out, "rev-parse", "--verify", "FETCH_HEAD^{commit}"); err != nil {
		return nil, "", err
	}
	commit := strings.TrimSpace(out.String())
	log.Printf("Fetched commit %s", commit)
	tree := "FETCH_HEAD^{tree}"
	if sub != "" {
		tree = "FETCH_HEAD:" + sub
	}
	out.Reset()
	if err := s.gitRun(ctx, repo, nil, &out, "cat-file", "-t", tree); err != nil || strings.TrimSpace(out.String()) != "tree" {
		return nil, commit, podium.Errorf(podium.EPRECONDITION, "directory %s not found in commit %s of branch %s", r.Directory, commit, r.Branch)
	}
	if err := s.gitRun(ctx, repo, nil, io.Discard, "cat-file", "-e", tree+"/"+bundle.ManifestName); err != nil {
		if sub == "" {
			err = s.gitRun(ctx, repo, nil, io.Discard, "cat-file", "-e", "FETCH_HEAD:"+bundle.ManifestName)
		}
		if err != nil {
			return nil, commit, podium.Errorf(podium.EPRECONDITION, "no %s in directory %s of commit %s: write one (rsconnect write-manifest, or rsconnect::writeManifest() in R) and commit it", bundle.ManifestName, r.Directory, commit)
		}
	}
	archive := filepath.Join(work, "bundle.tar.gz")
	f, err := os.OpenFile(archive, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, commit, fmt.Errorf("git bundle: %w", err)
	}
	defer f.Close()
	// Stop git once the archive passes the bundle limit, before a huge
	// commit fills the data directory (storeBundle would refuse it after).
	w := &cappedWriter{w: f, max: s.maxBody}
	if err := s.gitRun(ctx, repo, nil, w, "archive", "--format=tar.gz", tree); err != nil {
		if w.over {
			return nil, commit, podium.Errorf(podium.ETOOLARGE, "the bundle of commit %s (directory %s) is larger than %d bytes, the limit of [Applications] MaxBundleSize and [HTTP] MaxUploadSize: leave large files out of that directory or raise the limit", commit, r.Directory, s.maxBody)
		}
		return nil, commit, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, commit, fmt.Errorf("git bundle: %w", err)
	}
	meta, _ := json.Marshal(map[string]string{"source": "git", "source_repo": r.Repository, "source_branch": r.Branch,
		"source_commit": commit, "archive_dir": r.Directory})
	b, err := s.storeBundle(ctx, c, createdBy, f, string(meta), func(ctx context.Context, p *dbprovider.BundleCreateParams) (*podium.Bundle, error) {
		var b *podium.Bundle
		err := dbprovider.RunTx(ctx, s.db, func(tx dbprovider.Tx) error {
			var err error
			if b, err = tx.BundleCreate(ctx, p); err != nil {
				return err
			}
			return tx.RepositoryRecordCommit(ctx, &dbprovider.RepositoryRecordCommitParams{
				ContentID: c.ID, Previous: r.LastKnownCommit, Commit: commit, BundleID: b.ID})
		})
		return b, err
	})
	if err != nil {
		return nil, commit, err
	}
	s.log.WithFields(map[string]any{"guid": c.GUID, "bundle": b.ID, "commit": commit, "repository": r.Repository}).Info("bundle made from a git commit")
	return b, commit, nil
}

// PollRepositories does one round of the poller: for each repository with
// polling on whose lease this node holds (or takes), it compares the head
// of the branch with the last commit made into a bundle, and starts a
// deployment task for a new one. Start runs it every PollingFrequency.
func (s *Service) PollRepositories(ctx context.Context) {
	list, err := s.db.RepositoryListPolling(ctx)
	if err != nil {
		s.logDBError(err, "cannot list the git repositories to poll")
		return
	}
	ttl := max(time.Duration(gitLeaseTTLFactor)*s.git.PollingFrequency, s.nodeTimeout)
	for _, r := range list {
		if ctx.Err() != nil {
			return
		}
		// The lease is renewed even while a deployment of this node is on
		// the repository: a long deployment does not hand it over.
		got, err := s.db.LeaseAcquire(ctx, gitLeasePrefix+r.ContentGUID, s.nodeID, ttl)
		if err != nil {
			s.logDBError(err, "cannot take the poll lease of a git repository")
			continue
		}
		if !got || !s.gitClaim(r.ContentID) {
			continue // another node polls it, or a task of this node is on it
		}
		s.pollOne(ctx, r)
	}
}

// pollOne checks one repository whose lease this node holds; claimed.
func (s *Service) pollOne(ctx context.Context, r *podium.Repository) {
	log := s.log.WithFields(map[string]any{"guid": r.ContentGUID, "repository": r.Repository, "branch": r.Branch})
	head, err := s.gitHead(ctx, r)
	if err == nil && head == r.LastKnownCommit && r.BundleID != nil && s.interruptedDeploy(ctx, r) {
		// The node that made the bundle died before it was deployed.
		log.WithFields(map[string]any{"commit": head, "bundle": *r.BundleID}).Info("the deployment of this commit was lost with its node: deploying it again")
		s.startGitTask(ctx, r, log, true)
		return
	}
	if err != nil || (head == r.LastKnownCommit && r.BundleID != nil) {
		s.gitRelease(r.ContentID)
		msg := ""
		if err != nil {
			msg = podium.ErrorMessage(err)
			log.WithField("error", msg).Info("git poll failed")
		}
		if rerr := s.db.RepositoryRecordCheck(ctx, r.ContentID, msg); rerr != nil && !podium.IsCode(rerr, podium.ENOTFOUND) {
			s.logDBError(rerr, "cannot record the check of a git repository")
		}
		return
	}
	log.WithField("commit", head).Info("new commit: deploying")
	s.startGitTask(ctx, r, log, false)
}

// startGitTask starts the deployment task of a polled repository (claimed;
// released when the task ends): redeploy deploys the bundle of the last
// known commit again.
func (s *Service) startGitTask(ctx context.Context, r *podium.Repository, log *logrus.Entry, redeploy bool) {
	c, err := s.db.ContentGet(ctx, r.ContentID)
	if err != nil {
		s.gitRelease(r.ContentID)
		return
	}
	owner := &podium.User{ID: c.OwnerID}
	if _, err := s.startTask(ctx, podium.TaskDeploy, c, owner, func(ctx context.Context, tl *TaskLog) (any, error) {
		defer s.gitRelease(r.ContentID)
		return s.gitDeploy(ctx, tl, c, r, c.OwnerID, true, redeploy)
	}); err != nil {
		s.gitRelease(r.ContentID)
		log.WithField("error", podium.ErrorMessage(err)).Warn("cannot start the deployment of a git commit")
	}
}

// interruptedDeploy reports whether the bundle of the repository's last
// known commit is not active because the node deploying it died: the
// content's last task failed on a node that is not live. (A deployment
// that failed on a live node is not tried again: it would fail again.)
func (s *Service) interruptedDeploy(ctx context.Context, r *podium.Repository) bool {
	c, err := s.db.ContentGet(ctx, r.ContentID)
	if err != nil || (c.ActiveBundleID != nil && *c.ActiveBundleID == *r.BundleID) {
		return false
	}
	tasks, err := s.db.TaskList(ctx, r.ContentID, 1)
	if err != nil || len(tasks) == 0 || !tasks[0].Finished || tasks[0].Code == 0 {
		return false
	}
	live, err := s.db.NodeListLive(ctx, s.nodeTimeout)
	if err != nil {
		return false
	}
	for _, n := range live {
		if n.ID == tasks[0].NodeID {
			return false
		}
	}
	return true
}

func (s *Service) gitClaim(contentID int64) bool {
	s.git.mu.Lock()
	defer s.git.mu.Unlock()
	if s.git.inFlight[contentID] {
		return false
	}
	if s.git.inFlight == nil {
		s.git.inFlight = map[int64]bool{}
	}
	s.git.inFlight[contentID] = true
	return true
}

func (s *Service) gitRelease(contentID int64) {
	s.git.mu.Lock()
	delete(s.git.inFlight, contentID)
	s.git.mu.Unlock()
}

// pollLoop runs PollRepositories every PollingFrequency until ctx or the
// service ends.
func (s *Service) pollLoop(ctx context.Context) {
	t := time.NewTimer(s.git.PollingFrequency)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		s.PollRepositories(s.ctx)
		t.Reset(s.git.PollingFrequency)
	}
}

// gitCredFor returns the credential git authenticates to the repository
// with: the one set for its host, over http(s) only (ssh uses the keys of
// the user Podium runs as).
func (s *Service) gitCredFor(ctx context.Context, repository string) (*gitCred, error) {
	host, err := s.checkRepository(repository)
	if err != nil {
		return nil, err
	}
	scheme, _, ok := strings.Cut(repository, "://")
	if !ok || (scheme != "https" && scheme != "http") {
		return nil, nil
	}
	host = strings.ToLower(host) // as GitCredentialSet stores it
	cr, err := s.db.GitCredentialGet(ctx, host)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	secret, err := s.env.open(0, gitCredentialAAD(host), cr.Secret)
	if err != nil {
		return nil, err
	}
	return &gitCred{origin: scheme + "://" + host, username: cr.Username, secret: secret}, nil
}

// gitHost is what a credential's host may be: a host name or address,
// with a port.
var gitHost = regexp.MustCompile(`^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$`)

// GitCredentialSet sets the account Podium uses for the http(s)
// repositories of host (administrators only). The secret (a password or a
// token) is stored encrypted as environment values are, and is never
// returned or logged.
//
// Returns EFORBIDDEN for others, EINVALID for a bad host or empty secret.
func (s *Service) GitCredentialSet(ctx context.Context, u *podium.User, host, username, secret string) (*podium.GitCredential, error) {
	if !u.IsAdmin() {
		return nil, podium.Errorf(podium.EFORBIDDEN, "only administrators may set git credentials")
	}
	host = strings.ToLower(strings.TrimSpace(host))
	if !gitHost.MatchString(host) {
		return nil, podium.Errorf(podium.EINVALID, "host %q must be a host name or address, with a port if not the default, such as github.com or git.example.com:8443", host)
	}
	if username == "" || len(username) > 255 || strings.ContainsAny(username, ":\x00\n\r") {
		return nil, podium.Errorf(podium.EINVALID, "username must be 1 to 255 characters without ':' or line breaks (for a token, a name the host accepts, such as x-access-token or oauth2)")
	}
	if secret == "" || len(secret) > 16<<10 {
		return nil, podium.Errorf(podium.EINVALID, "secret must be 1 to 16384 bytes: the password or token of the account")
	}
	sealed, err := s.env.seal(0, gitCredentialAAD(host), secret)
	if err != nil {
		return nil, err
	}
	c, err := s.db.GitCredentialSet(ctx, &podium.GitCredential{Host: host, Username: username, Secret: sealed})
	if err != nil {
		return nil, err
	}
	s.log.WithFields(map[string]any{"host": host, "user": u.Username}).Info("git credential set")
	c.Secret = nil
	return c, nil
}

// GitCredentialList returns the credentials, without their secrets
// (administrators only).
func (s *Service) GitCredentialList(ctx context.Context, u *podium.User) ([]*podium.GitCredential, error) {
	if !u.IsAdmin() {
		return nil, podium.Errorf(podium.EFORBIDDEN, "only administrators may see git credentials")
	}
	list, err := s.db.GitCredentialList(ctx)
	for _, c := range list {
		c.Secret = nil
	}
	return list, err
}

// GitCredentialDelete removes the credential of a host (administrators
// only). Returns ENOTFOUND, EFORBIDDEN.
func (s *Service) GitCredentialDelete(ctx context.Context, u *podium.User, host string) error {
	if !u.IsAdmin() {
		return podium.Errorf(podium.EFORBIDDEN, "only administrators may delete git credentials")
	}
	return s.db.GitCredentialDelete(ctx, strings.ToLower(strings.TrimSpace(host)))
}

// cappedWriter writes to w until more than max bytes come, then fails.
type cappedWriter struct {
	w    io.Writer
	n    int64
	max  int64
	over bool
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	if c.n+int64(len(p)) > c.max {
		c.over = true
		return 0, errors.New("bundle larger than the limit")
	}
	c.n += int64(len(p))
	return c.w.Write(p)
}
