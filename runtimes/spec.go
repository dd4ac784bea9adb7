package runtimes

import (
	"slices"
	"strings"
)

// App modes, with the names Posit Connect gives them.
const (
	ModePythonAPI       = "python-api"
	ModePythonFastAPI   = "python-fastapi"
	ModePythonDash      = "python-dash"
	ModePythonShiny     = "python-shiny"
	ModePythonStreamlit = "python-streamlit"
	ModePythonBokeh     = "python-bokeh"
	ModeJupyterStatic   = "jupyter-static"
)

// ServedModes are the Python modes that run as long-lived processes under
// the app supervisor.
var ServedModes = []string{ModePythonAPI, ModePythonFastAPI, ModePythonDash, ModePythonShiny, ModePythonStreamlit, ModePythonBokeh}

// RenderedModes are the Python modes rendered to HTML by the renderer.
var RenderedModes = []string{ModeJupyterStatic}

// IsPython reports whether mode is run by this package.
func IsPython(mode string) bool { return IsServed(mode) || IsRendered(mode) }

// IsServed reports whether mode runs as app processes.
func IsServed(mode string) bool { return slices.Contains(ServedModes, mode) }

// IsRendered reports whether mode is rendered to a document.
func IsRendered(mode string) bool { return slices.Contains(RenderedModes, mode) }

// DefaultPackageFile is the requirements file read when the manifest names
// none.
const DefaultPackageFile = "requirements.txt"

// Spec is what a runtime needs to know of a bundle. The manifest of the
// bundle fills it (Connect's field names in parentheses).
type Spec struct {
	// AppMode is one of ServedModes or RenderedModes (metadata.appmode).
	AppMode string
	// Entrypoint is "module:object" for the served modes, the notebook
	// or script file for the others (metadata.entrypoint).
	Entrypoint string
	// PythonVersion is the version the bundle was made with
	// (python.version).
	PythonVersion string
	// PythonRequires are PEP 440 specifiers (environment.python.requires);
	// they win over PythonVersion.
	PythonRequires string
	// PackageFile is the requirements file, relative to the bundle root
	// (python.package_manager.package_file); "" means requirements.txt.
	PackageFile string
	// HideAllInput hides every code cell of a notebook
	// (jupyter.hide_all_input).
	HideAllInput bool
	// HideTaggedInput hides the code of the cells tagged "hide_input"
	// (jupyter.hide_tagged_input).
	HideTaggedInput bool
}

func (s *Spec) packageFile() string {
	if strings.TrimSpace(s.PackageFile) == "" {
		return DefaultPackageFile
	}
	return s.PackageFile
}

// needs lists the modules the app mode's runner imports in the app's
// environment, each with the Debian package that provides it.
func needs(mode string) []need {
	switch mode {
	case ModePythonAPI:
		return []need{{"waitress", "the WSGI server waitress", "python3-waitress"}}
	case ModePythonFastAPI:
		return []need{{"uvicorn", "the ASGI server uvicorn", "python3-uvicorn"}}
	case ModePythonDash:
		return []need{{"dash", "Dash", ""}}
	case ModePythonShiny:
		return []need{{"shiny", "Shiny for Python", ""}}
	case ModePythonStreamlit:
		return []need{{"streamlit", "Streamlit", ""}}
	case ModePythonBokeh:
		return []need{{"bokeh", "Bokeh", ""}}
	case ModeJupyterStatic:
		return []need{{"nbconvert", "nbconvert", "python3-nbconvert"}, {"ipykernel", "the Jupyter kernel ipykernel", "python3-ipykernel"}}
	}
	return nil
}

type need struct{ module, what, debian string }
