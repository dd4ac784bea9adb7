package publish

import (
	"context"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/runtimes"
)

// rendered reports whether content of mode is rendered to a document:
// Podium's reports and the rendered Python modes (jupyter-static).
func rendered(mode string) bool {
	return mode == string(bundle.AppModeReport) || runtimes.IsRendered(mode)
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
func (s *Service) prepareRuntime(ctx context.Context, spec *runtimes.Spec, dir string, out func(string)) (*runtimes.Env, error) {
	if !s.runsPython() {
		return nil, podium.Errorf(podium.EPRECONDITION, "appmode %s needs a Python interpreter: set [Python] Executable", spec.AppMode)
	}
	cred, err := s.credential()
	if err != nil {
		return nil, err
	}
	return s.runtimes.Prepare(ctx, spec, dir, cred, out)
}

// runtimeRender returns the command that renders a Python bundle (unpacked
// in dir, copied to src for the render).
func (s *Service) runtimeRender(ctx context.Context, spec *runtimes.Spec, dir, src, outDir, home string, out func(string)) (*runtimes.Command, error) {
	if !s.runsPython() {
		return nil, podium.Errorf(podium.EPRECONDITION, "appmode %s needs a Python interpreter: set [Python] Executable", spec.AppMode)
	}
	env, err := s.runtimes.Lookup(spec, dir)
	if podium.IsCode(err, podium.ENOTFOUND) {
		// Evicted, or never built by this configuration: build it again.
		env, err = s.prepareRuntime(ctx, spec, dir, out)
	}
	if err != nil {
		return nil, err
	}
	return runtimes.RenderCommand(spec, env, src, outDir, home)
}
