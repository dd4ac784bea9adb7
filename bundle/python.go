package bundle

import (
	"github.com/podiumhq/podium/runtimes"
)

// The Python sections of a manifest, with Connect's field names. Podium
// acts on the fields below for the Python app modes; a Connect manifest
// may carry more, which ParseManifest keeps in Manifest.Extra and Ignored
// reports.

// Python is the "python" object: the version the bundle was made with and
// its package file.
type Python struct {
	// Version is the interpreter version, e.g. "3.11.4".
	Version string `json:"version,omitempty"`
	// PackageManager names the package file.
	PackageManager *PackageManager `json:"package_manager,omitempty"`
}

// PackageManager is "python.package_manager".
type PackageManager struct {
	Name        string `json:"name,omitempty"`
	Version     string `json:"version,omitempty"`
	PackageFile string `json:"package_file,omitempty"`
}

// Environment is the "environment" object.
type Environment struct {
	Python *EnvironmentPython `json:"python,omitempty"`
}

// EnvironmentPython is "environment.python".
type EnvironmentPython struct {
	// Requires are PEP 440 version specifiers, e.g. ">=3.9".
	Requires string `json:"requires,omitempty"`
}

// Jupyter is the "jupyter" object: notebook rendering options.
type Jupyter struct {
	HideAllInput    bool `json:"hide_all_input,omitempty"`
	HideTaggedInput bool `json:"hide_tagged_input,omitempty"`
}

func pythonModes() []AppMode {
	var out []AppMode
	for _, m := range append(append([]string{}, runtimes.ServedModes...), runtimes.RenderedModes...) {
		out = append(out, AppMode(m))
	}
	return out
}

// IsPython reports whether the mode is run by package runtimes.
func (m AppMode) IsPython() bool { return runtimes.IsPython(string(m)) }

// RuntimeSpec returns what package runtimes needs of the manifest, nil
// for a mode that is not a Python one. This is the one place where the
// manifest's fields map to a runtime.
func (m *Manifest) RuntimeSpec() *runtimes.Spec {
	if !m.Metadata.AppMode.IsPython() {
		return nil
	}
	s := &runtimes.Spec{AppMode: string(m.Metadata.AppMode), Entrypoint: m.Metadata.Entrypoint}
	if m.Python != nil {
		s.PythonVersion = m.Python.Version
		if m.Python.PackageManager != nil {
			s.PackageFile = m.Python.PackageManager.PackageFile
		}
	}
	if m.Environment != nil && m.Environment.Python != nil {
		s.PythonRequires = m.Environment.Python.Requires
	}
	if m.Jupyter != nil {
		s.HideAllInput, s.HideTaggedInput = m.Jupyter.HideAllInput, m.Jupyter.HideTaggedInput
	}
	return s
}

// validatePython checks the Python sections against the app mode.
func (m *Manifest) validatePython() error {
	mode := m.Metadata.AppMode
	if !mode.IsPython() {
		// Connect clients write these for other modes too (an entrypoint
		// for a static site): accepted, and reported by Ignored.
		return nil
	}
	if m.Render != nil || m.Serve != nil {
		return invalidf("appmode %q runs from metadata.entrypoint: remove render and serve", mode)
	}
	if m.Jupyter != nil && mode != AppMode(runtimes.ModeJupyterStatic) {
		return invalidf("jupyter is only used with appmode %q, not %q", runtimes.ModeJupyterStatic, mode)
	}
	if m.Python != nil && m.Python.PackageManager != nil {
		if f := m.Python.PackageManager.PackageFile; f != "" && !validBundlePath(f) {
			return invalidf("python.package_manager.package_file %q must be a relative slash-separated path inside the bundle", f)
		}
		if n := m.Python.PackageManager.Name; n != "" && n != "pip" {
			return invalidf("python.package_manager.name %q is not supported: Podium builds environments with pip", n)
		}
	}
	return nil
}
