package publish

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/runas"
	"github.com/podiumhq/podium/internal/sandbox"
)

// RenderOptions say who asked for a render and where its output goes.
type RenderOptions struct {
	// TaskID is the task the render runs in, "" for none.
	TaskID string
	// JobID is the scheduled job the render runs for, 0 for none.
	JobID int64
	// JobToken is the claim token of the job's run: the render is recorded
	// good only while that claim holds (a node that lost its claim cannot
	// make its late render the one readers see).
	JobToken string
	// Output receives each line the render command writes (stdout and
	// stderr); nil discards them.
	Output func(line string)
}

// renderPath is the PATH of a render: the usual system directories, not
// the server's.
const renderPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Render renders the active bundle of a report on this node, without an
// HTTP request (the scheduler calls it). On success readers see the new
// output; a failed render leaves the previous good one in place.
//
// Returns ENOTFOUND for unknown content, EPRECONDITION when the content
// is not a deployed report or the RunAs user is missing, EINVALID when the
// command fails, times out or writes no index.html, ECANCELED when ctx
// ends first.
func (s *Service) Render(ctx context.Context, contentID int64, opts RenderOptions) (*podium.Render, error) {
	c, err := s.db.ContentGet(ctx, contentID)
	if err != nil {
		return nil, err
	}
	return s.renderActive(ctx, c, opts)
}

func (s *Service) renderActive(ctx context.Context, c *podium.Content, opts RenderOptions) (*podium.Render, error) {
	if c.ActiveBundleID == nil {
		return nil, podium.Errorf(podium.EPRECONDITION, "content %s has not been deployed", c.GUID)
	}
	if !rendered(c.AppMode) {
		return nil, podium.Errorf(podium.EPRECONDITION, "content %s is a %q, not a report: only reports render", c.GUID, c.AppMode)
	}
	b, err := s.db.BundleGet(ctx, *c.ActiveBundleID)
	if err != nil {
		return nil, err
	}
	dir, err := s.ensureUnpacked(ctx, c, b)
	if err != nil {
		return nil, err
	}
	m, err := bundle.LoadManifest(dir)
	if err != nil {
		return nil, err
	}
	return s.render(ctx, c, b, dir, m, opts)
}

// RenderTask starts an ad-hoc render of content u may edit, as a task on
// this node.
func (s *Service) RenderTask(ctx context.Context, u *podium.User, guid string) (*podium.Task, error) {
	c, _, err := s.contentFor(ctx, u, guid, canEdit)
	if err != nil {
		return nil, err
	}
	if c.ActiveBundleID == nil || !rendered(c.AppMode) {
		return nil, podium.Errorf(podium.EPRECONDITION, "content %s is not a deployed report: only reports render", guid)
	}
	return s.startTask(ctx, podium.TaskRender, c, u, func(ctx context.Context, log *TaskLog) (any, error) {
		log.Printf("Rendering content %s on node %s", c.GUID, s.nodeID)
		r, err := s.renderActive(ctx, c, RenderOptions{TaskID: log.id, Output: log.Line})
		if err != nil {
			return nil, err
		}
		return map[string]any{"render_id": r.ID, "bundle_id": r.BundleID, "content_url": ContentPath(c.GUID)}, nil
	})
}

// identity returns the user the renders and builds of content item
// contentID run as: with the sandbox, the content's own uid; without it,
// RunAs when podium runs as root; nil (the current user) when podium does
// not run as root. An administrator's run_as (SandboxSettings) wins; its
// limits come with it, for the process's sandbox.Spec.
func (s *Service) identity(ctx context.Context, contentID int64) (*syscall.Credential, sandbox.Limits, error) {
	st, err := s.ContentSandbox(ctx, contentID)
	if err != nil {
		return nil, sandbox.Limits{}, err
	}
	if s.sandbox != nil && (!s.sandbox.Off() || st.RunAs != "") {
		cred, err := s.sandbox.Identity(contentID, st.RunAs)
		if err != nil {
			return nil, sandbox.Limits{}, podium.Errorf(podium.EPRECONDITION, "%v", err)
		}
		return cred, st.Limits(), nil
	}
	cred, err := s.runAsCredential()
	return cred, st.Limits(), err
}

// runAsCredential is the credential of [Applications] RunAs, nil when
// podium does not run as root.
func (s *Service) runAsCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		s.warnOnce.Do(func() {
			s.log.WithField("uid", os.Geteuid()).Warn("podium does not run as root: renders run as the current user, not as [Applications] RunAs")
		})
		return nil, nil
	}
	name := s.apps.RunAs
	if name == "" {
		return nil, podium.Errorf(podium.EPRECONDITION, "[Applications] RunAs is empty: podium runs as root and will not run renders as root")
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, podium.Errorf(podium.EPRECONDITION, "[Applications] RunAs user %q does not exist on this node: create it or set RunAs to an existing user", name)
	}
	cred, err := runas.Credential(u)
	if errors.Is(err, runas.ErrRoot) {
		return nil, podium.Errorf(podium.EPRECONDITION, "[Applications] RunAs user %q is root: renders must not run as root", name)
	}
	if err != nil {
		return nil, podium.Errorf(podium.EPRECONDITION, "[Applications] RunAs user %q has a non-numeric uid or gid", name)
	}
	return cred, nil
}

// render runs the report's command in a scratch tree of the bundle (hard
// links to this node's read-only copy, see renderSource), as the
// RunAs user, with a clean environment and a timeout, then moves its
// output under DataDir and records it good.
func (s *Service) render(ctx context.Context, c *podium.Content, b *podium.Bundle, dir string, m *bundle.Manifest, opts RenderOptions) (_ *podium.Render, err error) {
	out := func(string) {}
	if opts.Output != nil {
		// Every consumer gets the output as it can be stored: a render
		// never fails on what its own command printed (NUL, bad UTF-8).
		out = func(line string) { opts.Output(podium.CleanText(line)) }
	}
	cred, limits, err := s.identity(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	r, err := s.db.RenderCreate(ctx, &dbprovider.RenderCreateParams{
		ContentID: c.ID, BundleID: b.ID, TaskID: opts.TaskID, JobID: opts.JobID, NodeID: s.nodeID,
	})
	if err != nil {
		return nil, err
	}
	recorded := false
	defer func() {
		if recorded {
			return
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		// ECONFLICT: already failed by another node (this one was taken
		// for dead); that verdict stands.
		if ferr := s.db.RenderFinish(fctx, r.ID, podium.RenderFailed); ferr != nil && !podium.IsCode(ferr, podium.ECONFLICT) && err == nil {
			err = ferr
		}
		r.Status = podium.RenderFailed
	}()

	work, err := s.renderWorkDir()
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	defer os.RemoveAll(work)
	src, outDir, home := filepath.Join(work, "bundle"), filepath.Join(work, "output"), filepath.Join(work, "home")
	source, err := s.renderSource(c.GUID, b.ID, dir)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	if err := bundle.LinkTree(source, src); err != nil {
		return nil, fmt.Errorf("render: link bundle: %w", err)
	}
	for _, d := range []string{outDir, home} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, fmt.Errorf("render: %w", err)
		}
	}
	if cred != nil {
		if err := chownDirs(work, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("render: %w", err)
		}
	}

	timeout := s.apps.RenderTimeout
	if (m.Render != nil && m.Render.Timeout != "") || timeout <= 0 {
		timeout = m.Render.TimeoutDuration()
	}
	env, err := s.ContentEnv(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	var argv, runtimeEnv, runtimeDirs []string
	rspec, err := m.RSpec()
	if err != nil {
		return nil, err
	}
	if m.Render != nil {
		argv = m.Render.Command
	} else if rspec != nil {
		cmd, dirs, err := s.renderR(ctx, c.ID, rspec, src, out)
		if err != nil {
			return nil, err
		}
		argv, runtimeEnv, runtimeDirs = cmd.Argv, cmd.Env, dirs
	} else if spec := m.RuntimeSpec(); spec != nil {
		cmd, dirs, err := s.runtimeRender(ctx, c.ID, spec, dir, src, outDir, home, out)
		if err != nil {
			return nil, err
		}
		argv, runtimeEnv, runtimeDirs = cmd.Argv, cmd.Env, dirs
	}
	if len(argv) == 0 {
		return nil, podium.Errorf(podium.EINVALID, "appmode %s has nothing to render", m.Metadata.AppMode)
	}
	box := &sandbox.Spec{Kind: sandbox.KindRender, Name: c.GUID, Cred: cred, ReadOnly: runtimeDirs, Writable: []string{work}, Limits: limits}
	if err := s.runRender(ctx, box, argv, src, outDir, home, timeout, env, runtimeEnv, out); err != nil {
		return nil, err
	}
	if fi, err := os.Lstat(filepath.Join(outDir, "index.html")); err != nil || !fi.Mode().IsRegular() {
		return nil, podium.Errorf(podium.EINVALID, "the render command wrote no index.html to $PODIUM_OUTPUT_DIR")
	}

	if err := os.MkdirAll(s.rendersDir(c.GUID), 0o755); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	final := s.RenderDir(c.GUID, r.ID)
	tmp, err := s.scratchPath("output")
	if err != nil {
		return nil, fmt.Errorf("render: keep output: %w", err)
	}
	if err := bundle.CopyTree(outDir, tmp, false); err != nil {
		_ = os.RemoveAll(tmp)
		return nil, fmt.Errorf("render: keep output: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		_ = os.RemoveAll(tmp)
		return nil, fmt.Errorf("render: keep output: %w", err)
	}
	if err := s.recordGood(context.WithoutCancel(ctx), r.ID, opts); err != nil {
		_ = os.RemoveAll(final)
		return nil, err
	}
	recorded = true
	r.Status = podium.RenderOK
	out(fmt.Sprintf("Render %d done", r.ID))
	s.pruneRenders(context.WithoutCancel(ctx), c, r)
	return r, nil
}

// recordGood records a render good, fenced: in the same transaction, the
// job's claim (opts.JobToken) must still be this run's and the task
// (opts.TaskID) still unfinished. A node that was stopped longer than the
// claim or node timeout, and whose work another node took over or failed,
// cannot make its late output the one readers see: ECONFLICT.
func (s *Service) recordGood(ctx context.Context, renderID int64, opts RenderOptions) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	inTx := false
	err := dbprovider.RunTx(ctx, s.db, func(tx dbprovider.Tx) error {
		inTx = true
		if opts.JobID != 0 {
			if err := tx.JobHeartbeat(ctx, opts.JobID, opts.JobToken); err != nil {
				return err
			}
		}
		if opts.TaskID != "" {
			if err := tx.TaskHold(ctx, opts.TaskID); err != nil {
				return err
			}
		}
		if err := tx.RenderFinish(ctx, renderID, podium.RenderOK); err != nil {
			return err
		}
		inTx = false // the commit's error is not a fence
		return nil
	})
	if err != nil && inTx {
		return fenced(renderID, err)
	}
	if err != nil {
		return fmt.Errorf("render %d: %w", renderID, err)
	}
	return nil
}

func fenced(renderID int64, err error) error {
	if podium.IsCode(err, podium.ECONFLICT) && !dbprovider.IsRetryable(err) {
		return podium.Errorf(podium.ECONFLICT, "render %d is not recorded good: this node lost the work to another node (%s)",
			renderID, podium.ErrorMessage(err))
	}
	return fmt.Errorf("render %d: %w", renderID, err)
}

// KeepRenders is how many successful renders of each bundle keep their
// output; older outputs are deleted (their rows stay, as history, until
// the render history retention removes them).
const KeepRenders = 3

// pruneBatch bounds the outputs one render prunes.
const pruneBatch = 100

// pruneRenders deletes the output of old successful renders of the bundle
// just rendered: all but the newest KeepRenders (the one that just
// finished counts, though the database may not show it as ok yet). Only
// renders whose output still exists are listed (a partial index holds
// them), and each is marked pruned once removed, so the cost follows what
// is removed, not the length of the history.
func (s *Service) pruneRenders(ctx context.Context, c *podium.Content, done *podium.Render) {
	list, err := s.db.RenderListUnpruned(ctx, &dbprovider.RenderPruneParams{ContentID: c.ID, BundleID: done.BundleID,
		Keep: KeepRenders - 1, Except: done.ID, Limit: pruneBatch})
	if err != nil {
		s.log.WithError(err).WithField("guid", c.GUID).Warn("cannot list renders to prune")
		return
	}
	ids := make([]int64, 0, len(list))
	for _, r := range list {
		if err := os.RemoveAll(s.RenderDir(c.GUID, r.ID)); err != nil {
			s.log.WithError(err).WithField("guid", c.GUID).Warn("cannot prune a render")
			continue
		}
		ids = append(ids, r.ID)
	}
	if err := s.db.RenderMarkPruned(ctx, ids); err != nil {
		s.log.WithError(err).WithField("guid", c.GUID).Warn("cannot record pruned renders")
	}
}

// runRender runs argv and sends its output lines to out. The process gets
// its own process group, killed whole on timeout or cancellation. Its
// environment is env (the content's variables), then the server's own,
// then runtimeEnv (a Python environment's PATH and variables): later
// ones win, so content cannot override PATH or PODIUM_OUTPUT_DIR.
func (s *Service) runRender(ctx context.Context, box *sandbox.Spec, argv []string, dir, outDir, home string,
	timeout time.Duration, env, runtimeEnv []string, out func(string)) error {
	cred := box.Cred
	// A bare name is looked up as the render would: in its PATH, as
	// RunAs; never in podium's own PATH (exec.Command's lookup).
	exe, err := runas.LookPath(argv[0], renderPath, cred)
	if err != nil {
		return podium.Errorf(podium.EINVALID, "cannot start the render command: %v", err)
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var p *sandbox.Process
	if s.sandbox != nil {
		if p, err = s.sandbox.Command(box, exe, argv[1:]...); err != nil {
			return podium.Errorf(podium.EPRECONDITION, "cannot start the render command: %v", err)
		}
	} else {
		cmd := exec.Command(exe, argv[1:]...)
		cmd.Args[0] = argv[0]
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
		p = sandbox.Unsandboxed(cmd)
	}
	cmd := p.Cmd
	cmd.Dir = dir
	// The content's variables first: the server's own win, and the
	// runtime's (which may replace PATH) last.
	cmd.Env = append(slices.Clip(env), "PATH="+renderPath, "HOME="+home, "LANG=C.UTF-8", "PODIUM_OUTPUT_DIR="+outDir)
	cmd.Env = append(cmd.Env, runtimeEnv...)
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	defer pr.Close()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := p.StartContext(rctx); err != nil {
		_ = pw.Close()
		return podium.Errorf(podium.EINVALID, "cannot start the render command %q: %v", argv[0], err)
	}
	_ = pw.Close()
	read := make(chan struct{})
	go func() {
		defer close(read)
		br := bufio.NewReaderSize(pr, 64<<10)
		for {
			line, err := br.ReadString('\n')
			if len(line) > 0 {
				out(trimEOL(line))
			}
			if err != nil {
				return
			}
		}
	}()
	werr := p.Wait()
	// Children left in the group would keep the pipe open.
	p.Kill()
	select {
	case <-read:
	case <-time.After(2 * time.Second):
		_ = pr.Close()
		<-read
	}
	switch {
	case errors.Is(rctx.Err(), context.DeadlineExceeded):
		return podium.Errorf(podium.EINVALID, "the render command was stopped after its timeout of %s", timeout)
	case ctx.Err() != nil:
		return podium.Errorf(podium.ECANCELED, "render canceled: %w", ctx.Err())
	case p.LimitKill() != "":
		out("podium: the render command was " + p.LimitKill())
		return podium.Errorf(podium.EINVALID, "the render command was %s", p.LimitKill())
	case werr != nil:
		return podium.Errorf(podium.EINVALID, "the render command failed: %w", werr) // keeps *exec.ExitError for the exit code
	}
	return nil
}

func trimEOL(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}
