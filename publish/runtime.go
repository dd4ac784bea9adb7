package publish

import (
	"bufio"
	"context"
	"io"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/internal/sandbox"
	"github.com/podiumhq/podium/runtimes"
	"github.com/podiumhq/podium/runtimes/rlang"
)

// rendered reports whether content of mode is rendered to a document:
// Podium's reports, the rendered Python modes (jupyter-static) and R
// Markdown (rmd-static).
func rendered(mode string) bool {
	return mode == string(bundle.AppModeReport) || runtimes.IsRendered(mode) || mode == string(bundle.AppModeRmdStatic)
}

// runsR reports whether this node offers R ([R] Executable): without it,
// R content is refused naming its app mode and that key.
func (s *Service) runsR() bool {
	return s.rlang != nil && len(s.rlang.Installations()) > 0
}

// restoreR restores (or finds in the shared cache) the package library of
// an R bundle, its output going to out line by line.
//
// Returns EPRECONDITION when the node has no R or none matching the
// bundle's platform, EINVALID naming the package and version when a
// package cannot be restored.
func (s *Service) restoreR(ctx context.Context, contentID int64, spec *rlang.Spec, out func(string)) (*rlang.Library, error) {
	if !s.runsR() {
		return nil, podium.Errorf(podium.EPRECONDITION, "appmode %s needs R: set [R] Executable", spec.AppMode)
	}
	cred, limits, err := s.identity(ctx, contentID)
	if err != nil {
		return nil, err
	}
	ctx = sandbox.WithLimits(ctx, limits)
	w := lineWriter(out)
	defer w.Close()
	return s.rlang.RestoreAs(ctx, spec, cred, w)
}

// renderR returns the command that renders an R Markdown bundle copied to
// src; its library is the cached one (restored again if it is missing).
func (s *Service) renderR(ctx context.Context, contentID int64, spec *rlang.Spec, src string, out func(string)) (*rlang.Command, []string, error) {
	lib, err := s.restoreR(ctx, contentID, spec, out)
	if err != nil {
		return nil, nil, err
	}
	cmd, err := rlang.RenderCommand(spec, lib, src)
	if err != nil {
		return nil, nil, err
	}
	var dirs []string
	if lib.Dir != "" {
		dirs = []string{lib.Dir}
	}
	return cmd, dirs, nil
}

// lineWriter returns a writer that hands out each line written to it; Close
// flushes the last one and must be called.
func lineWriter(out func(string)) io.WriteCloser {
	r, w := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			out(sc.Text())
		}
		_, _ = io.Copy(io.Discard, r) // a line over the limit: drain
	}()
	return &pipeLines{w: w, done: done}
}

type pipeLines struct {
	w    *io.PipeWriter
	done chan struct{}
}

func (p *pipeLines) Write(b []byte) (int, error) { return p.w.Write(b) }

func (p *pipeLines) Close() error {
	err := p.w.Close()
	<-p.done
	return err
}

// runsPython reports whether this node offers a Python interpreter
// ([Python] Executable): without one, Python content is refused naming
// its app mode and that key.
func (s *Service) runsPython() bool {
	return s.runtimes != nil && len(s.runtimes.Interpreters()) > 0
}

// prepareRuntime builds (or finds in the shared cache) the environment of
// a Python bundle in dir, as the RunAs user, its output going to out.
//
// Returns EPRECONDITION when the node cannot run the mode (no interpreter,
// a runner's server missing), EINVALID when pip fails.
func (s *Service) prepareRuntime(ctx context.Context, contentID int64, spec *runtimes.Spec, dir string, out func(string)) (*runtimes.Env, error) {
	if !s.runsPython() {
		return nil, podium.Errorf(podium.EPRECONDITION, "appmode %s needs a Python interpreter: set [Python] Executable", spec.AppMode)
	}
	cred, limits, err := s.identity(ctx, contentID)
	if err != nil {
		return nil, err
	}
	return s.runtimes.Prepare(sandbox.WithLimits(ctx, limits), spec, dir, cred, out)
}

// runtimeRender returns the command that renders a Python bundle (unpacked
// in dir, copied to src for the render).
func (s *Service) runtimeRender(ctx context.Context, contentID int64, spec *runtimes.Spec, dir, src, outDir, home string, out func(string)) (*runtimes.Command, []string, error) {
	if !s.runsPython() {
		return nil, nil, podium.Errorf(podium.EPRECONDITION, "appmode %s needs a Python interpreter: set [Python] Executable", spec.AppMode)
	}
	env, err := s.runtimes.Lookup(spec, dir)
	if podium.IsCode(err, podium.ENOTFOUND) {
		// Evicted, or never built by this configuration: build it again.
		env, err = s.prepareRuntime(ctx, contentID, spec, dir, out)
	}
	if err != nil {
		return nil, nil, err
	}
	cmd, err := runtimes.RenderCommand(spec, env, src, outDir, home)
	return cmd, []string{env.Dir}, err
}
