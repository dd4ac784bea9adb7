package runtimes

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/podiumhq/podium"
)

// launcher is the Python program that loads a served app's entrypoint and
// serves it (waitress for WSGI, uvicorn for ASGI), run with the app's own
// interpreter.
//
//go:embed launch.py
var launcher string

// BasePathEnv is the variable that tells a Python app its base path.
const BasePathEnv = "PODIUM_BASE_PATH"

// Command is a program to run: argv[0] is absolute (the environment's
// interpreter, never looked up through a PATH) and Env is added to the
// clean environment the supervisor or renderer gives it.
type Command struct {
	Argv []string
	Env  []string
	// KeepPrefix asks the proxy to pass the whole path, /content/<guid>
	// included, because the framework serves under that prefix itself.
	KeepPrefix bool
}

// envVars is the environment of every process run in env.
func envVars(env *Env) []string {
	return []string{
		"PATH=" + filepath.Join(env.Dir, "bin") + ":/usr/local/bin:/usr/bin:/bin",
		"VIRTUAL_ENV=" + env.Dir,
		"PYTHONNOUSERSITE=1",
		"PYTHONUNBUFFERED=1",
	}
}

// ServeCommand returns the command that serves a served-mode app on $PORT
// (the supervisor sets PORT, and the base path "/content/<guid>/" in
// BasePathEnv).
//
// Returns EINVALID for a mode that is not served or an entrypoint the
// mode cannot use.
func ServeCommand(spec *Spec, env *Env) (*Command, error) {
	py := env.Python()
	vars := append(envVars(env), "PODIUM_APPMODE="+spec.AppMode, "PODIUM_ENTRYPOINT="+spec.Entrypoint)
	switch spec.AppMode {
	case ModePythonAPI, ModePythonFastAPI, ModePythonShiny, ModePythonDash:
		if strings.ContainsAny(spec.Entrypoint, " /\\") || strings.HasSuffix(spec.Entrypoint, ".py") {
			return nil, podium.Errorf(podium.EINVALID, "metadata.entrypoint %q for appmode %s must be module:object (for example app:app), not a file", spec.Entrypoint, spec.AppMode)
		}
		return &Command{Argv: []string{py, "-c", launcher}, Env: vars}, nil
	case ModePythonStreamlit, ModePythonBokeh:
		file, err := scriptEntry(spec)
		if err != nil {
			return nil, err
		}
		vars[len(vars)-1] = "PODIUM_ENTRYPOINT=" + file
		return &Command{Argv: []string{py, "-c", launcher}, Env: vars, KeepPrefix: true}, nil
	}
	return nil, podium.Errorf(podium.EINVALID, "appmode %q is not served by processes", spec.AppMode)
}

// scriptEntry returns the entrypoint file of a script-run framework.
func scriptEntry(spec *Spec) (string, error) {
	e := spec.Entrypoint
	if e == "" {
		e = "app.py"
	}
	if !fs.ValidPath(e) || !strings.HasSuffix(e, ".py") {
		return "", podium.Errorf(podium.EINVALID, "metadata.entrypoint %q for appmode %s must be a .py file of the bundle", spec.Entrypoint, spec.AppMode)
	}
	return e, nil
}

// RenderCommand returns the command that renders a rendered-mode bundle
// (copied to dir) into outDir/index.html. home is the render's scratch
// home: a Jupyter kernel specification that runs the environment's own
// interpreter is written there (the system's one names the system
// Python).
func RenderCommand(spec *Spec, env *Env, dir, outDir, home string) (*Command, error) {
	if spec.AppMode != ModeJupyterStatic {
		return nil, podium.Errorf(podium.EINVALID, "appmode %q is not rendered", spec.AppMode)
	}
	nb, err := notebook(spec, dir)
	if err != nil {
		return nil, err
	}
	kernels := filepath.Join(home, ".podium-jupyter")
	kdir := filepath.Join(kernels, "kernels", "python3")
	if err := os.MkdirAll(kdir, 0o755); err != nil {
		return nil, fmt.Errorf("kernel spec: %w", err)
	}
	ks, _ := json.Marshal(map[string]any{
		"argv":         []string{env.Python(), "-m", "ipykernel_launcher", "-f", "{connection_file}"},
		"display_name": "Python 3 (podium environment)", "language": "python",
	})
	if err := os.WriteFile(filepath.Join(kdir, "kernel.json"), ks, 0o644); err != nil {
		return nil, fmt.Errorf("kernel spec: %w", err)
	}
	argv := []string{env.Python(), "-m", "nbconvert", "--to", "html", "--execute",
		"--ExecutePreprocessor.kernel_name=python3", "--output-dir", outDir, "--output", "index"}
	if spec.HideAllInput {
		argv = append(argv, "--no-input")
	} else if spec.HideTaggedInput {
		argv = append(argv, "--TagRemovePreprocessor.enabled=True", "--TagRemovePreprocessor.remove_input_tags=hide_input")
	}
	argv = append(argv, nb)
	vars := append(envVars(env), "JUPYTER_PATH="+kernels, "JUPYTER_PLATFORM_DIRS=1")
	return &Command{Argv: argv, Env: vars}, nil
}

// notebook returns the notebook to render: the entrypoint, or the only
// .ipynb at the bundle root.
func notebook(spec *Spec, dir string) (string, error) {
	if e := spec.Entrypoint; e != "" {
		if !fs.ValidPath(e) || !strings.HasSuffix(e, ".ipynb") {
			return "", podium.Errorf(podium.EINVALID, "metadata.entrypoint %q for appmode %s must be a .ipynb file of the bundle", e, spec.AppMode)
		}
		if _, err := os.Stat(filepath.Join(dir, e)); err != nil {
			return "", podium.Errorf(podium.EINVALID, "metadata.entrypoint %q is not in the bundle", e)
		}
		return e, nil
	}
	found, _ := filepath.Glob(filepath.Join(dir, "*.ipynb"))
	if len(found) != 1 {
		return "", podium.Errorf(podium.EINVALID, "appmode %s: set metadata.entrypoint to the notebook to render (the bundle root holds %d .ipynb files)", spec.AppMode, len(found))
	}
	return filepath.Base(found[0]), nil
}
