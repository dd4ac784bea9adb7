package bundle_test

import (
	"crypto/md5"
	"encoding/hex"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/runtimes/rlang"
)

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestManifestConnect checks manifests as the Connect clients write them:
// static sites deploy (with md5 checksums verified), the sections Podium
// does not act on are accepted and reported, the Python modes validate
// for package runtimes, and the app modes Podium cannot run are refused
// naming the mode and what it needs.
func TestManifestConnect(t *testing.T) {
	t.Parallel()
	files := map[string]string{"index.html": "<h1>hi</h1>", "style.css": "h1{}"}

	t.Run("OKStaticHTML", func(t *testing.T) {
		t.Parallel()
		// What `rsconnect deploy html` writes.
		manifest := `{
  "version": 1,
  "locale": "en_US.UTF-8",
  "metadata": {"appmode": "static", "primary_html": "index.html", "entrypoint": "index.html"},
  "files": {
    "index.html": {"checksum": "` + md5hex(files["index.html"]) + `"},
    "style.css": {"checksum": "` + md5hex(files["style.css"]) + `"}
  }
}`
		m, err := bundle.LoadManifest(bundleDir(t, manifest, files))
		if err != nil {
			t.Fatal(err)
		}
		if m.Metadata.AppMode != bundle.AppModeStatic || m.PrimaryPage() != "index.html" {
			t.Errorf("mode %q page %q", m.Metadata.AppMode, m.PrimaryPage())
		}
		if got, want := m.Ignored(), []string{"locale", "metadata.entrypoint"}; !slices.Equal(got, want) {
			t.Errorf("Ignored = %v, want %v", got, want)
		}
	})

	t.Run("OKEverySection", func(t *testing.T) {
		t.Parallel()
		manifest := `{"version": 1, "locale": "en_US", "platform": "4.3.1",
  "metadata": {"appmode": "static", "primary_rmd": null, "content_category": "site", "has_parameters": false},
  "python": {"version": "3.11.4", "package_manager": {"name": "pip", "version": "23", "package_file": "requirements.txt"}},
  "environment": {"python": {"requires": ">=3.8"}}, "quarto": {"version": "1.4", "engines": ["markdown"]},
  "jupyter": {"hide_all_input": false}, "packages": {}, "users": null,
  "files": {"index.html": {"checksum": "` + md5hex(files["index.html"]) + `"}}}`
		m, err := bundle.LoadManifest(bundleDir(t, manifest, files))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"locale", "python", "environment", "quarto", "jupyter", "packages", "platform", "metadata.content_category", "metadata.has_parameters"}
		if got := m.Ignored(); !slices.Equal(got, want) {
			t.Errorf("Ignored = %v, want %v", got, want)
		}
	})

	t.Run("OKUnknownConnectFields", func(t *testing.T) {
		t.Parallel()
		// Fields a newer client writes that this server does not know are
		// accepted and reported in a Connect manifest...
		manifest := `{"version": 1, "locale": "en_US", "integration_requests": [{"guid": "x"}],
  "metadata": {"appmode": "static", "entrypoint": "index.html", "new_flag": true},
  "files": {"index.html": {"checksum": "` + md5hex(files["index.html"]) + `", "size": 11}}}`
		m, err := bundle.LoadManifest(bundleDir(t, manifest, files))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"locale", "metadata.entrypoint", "integration_requests", "metadata.new_flag", `files["index.html"].size`}
		if got := m.Ignored(); !slices.Equal(got, want) {
			t.Errorf("Ignored = %v, want %v", got, want)
		}
		// ...while Podium's own manifests stay strict.
		_, err = bundle.LoadManifest(bundleDir(t, `{"version": 1, "metadata": {"appmode": "static", "new_flag": true}}`, files))
		checkErr(t, err, podium.EINVALID, `unknown field "new_flag" in metadata`)
	})

	t.Run("ErrMD5Mismatch", func(t *testing.T) {
		t.Parallel()
		manifest := `{"version": 1, "metadata": {"appmode": "static"}, "files": {"index.html": {"checksum": "` + md5hex("other") + `"}}}`
		_, err := bundle.LoadManifest(bundleDir(t, manifest, files))
		checkErr(t, err, podium.EINVALID, `files["index.html"].checksum does not match the file's content (md5 `+md5hex(files["index.html"])+")")
	})

	for _, mode := range []string{"python-api", "python-fastapi", "jupyter-static"} {
		t.Run("OKPythonMode_"+mode, func(t *testing.T) {
			t.Parallel()
			// What `rsconnect deploy flask|fastapi|notebook` writes: the
			// Python modes run through package runtimes, which acts on
			// python, environment and metadata.entrypoint.
			entry := "app:app"
			if mode == "jupyter-static" {
				entry = "nb.ipynb"
			}
			manifest := `{"version": 1, "locale": "en_US.UTF-8", "metadata": {"appmode": "` + mode + `", "entrypoint": "` + entry + `"},
  "python": {"version": "3.11.4", "package_manager": {"name": "pip", "version": "23.0.1", "package_file": "requirements.txt"}},
  "environment": {"python": {"requires": ">=3.8"}},
  "files": {"app.py": {"checksum": "` + md5hex("x") + `"}, "requirements.txt": {"checksum": "` + md5hex("") + `"}}}`
			m, err := bundle.LoadManifest(bundleDir(t, manifest, map[string]string{"app.py": "x", "requirements.txt": ""}))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := m.Ignored(), []string{"locale"}; !slices.Equal(got, want) {
				t.Errorf("Ignored = %v, want %v", got, want)
			}
			spec := m.RuntimeSpec()
			if spec == nil || spec.AppMode != mode || spec.Entrypoint != entry || spec.PythonVersion != "3.11.4" ||
				spec.PackageFile != "requirements.txt" || spec.PythonRequires != ">=3.8" {
				t.Errorf("RuntimeSpec = %+v", spec)
			}
		})
	}

	for _, tt := range []struct{ mode, needs string }{
		{"python-flask", "a runner Podium does not have: write Flask apps as appmode python-api"},
		{"jupyter-voila", "a Voila runner"},
		{"quarto-static", "the Quarto runtime"},
	} {
		t.Run("ErrCannotRun_"+tt.mode, func(t *testing.T) {
			t.Parallel()
			manifest := `{"version": 1, "metadata": {"appmode": "` + tt.mode + `", "entrypoint": "app:app"},
  "python": {"version": "3.11.4", "package_manager": {"name": "pip", "package_file": "requirements.txt"}},
  "files": {"app.py": {"checksum": "` + md5hex("x") + `"}}}`
			m, err := bundle.ParseManifest(strings.NewReader(manifest))
			if err != nil {
				t.Fatalf("parse (what upload does) refused it: %v", err)
			}
			err = m.Validate(nil)
			checkErr(t, err, podium.EPRECONDITION, `metadata.appmode "`+tt.mode+`" is a Posit Connect app mode this server cannot run yet: it needs `+tt.needs)
		})
	}

	// The R modes: Connect's manifests as rsconnect writes them run with
	// package runtimes/rlang; Podium's own api with serve.command is not R.
	for _, tt := range []struct {
		name, manifest string
		want           *rlang.Spec
	}{
		{"Shiny", `{"version": 1, "locale": "en_US", "platform": "4.2.2",
  "metadata": {"appmode": "shiny", "primary_rmd": null, "primary_html": null, "content_category": null, "has_parameters": false},
  "packages": {"shiny": {"Source": "CRAN", "description": {"Package": "shiny", "Version": "1.7.4"}}},
  "files": {"app.R": {"checksum": "` + md5hex("x") + `"}}}`,
			&rlang.Spec{AppMode: "shiny", RVersion: "4.2.2", Packages: []rlang.Package{{Name: "shiny", Version: "1.7.4"}}}},
		{"RmdStatic", `{"version": 1, "platform": "4.2.2", "metadata": {"appmode": "rmd-static", "primary_rmd": "report.Rmd"}, "packages": {}}`,
			&rlang.Spec{AppMode: "rmd-static", Entrypoint: "report.Rmd", RVersion: "4.2.2", Packages: []rlang.Package{}}},
		{"Plumber", `{"version": 1, "platform": "4.3.1", "metadata": {"appmode": "api", "entrypoint": "plumber.R"}, "packages": {}}`,
			&rlang.Spec{AppMode: "api", Entrypoint: "plumber.R", RVersion: "4.3.1", Packages: []rlang.Package{}}},
		{"PodiumAPI", `{"version": 1, "metadata": {"appmode": "api"}, "serve": {"command": ["./server"]}, "packages": {}}`, nil},
	} {
		t.Run("R_"+tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := bundle.ParseManifest(strings.NewReader(tt.manifest))
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Validate(nil); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			spec, err := m.RSpec()
			if err != nil || !reflect.DeepEqual(spec, tt.want) {
				t.Fatalf("RSpec = %+v, %v; want %+v", spec, err, tt.want)
			}
			if m.IsR() != (tt.want != nil) || (m.IsR() && m.RuntimeSpec() != nil) {
				t.Fatalf("IsR = %v, RuntimeSpec = %+v", m.IsR(), m.RuntimeSpec())
			}
			for _, f := range m.Ignored() {
				if tt.want != nil && (f == "packages" || f == "platform" || f == "metadata.entrypoint" || f == "metadata.primary_rmd") {
					t.Errorf("Ignored lists %s, which the R runtime reads", f)
				}
			}
		})
	}
	for _, tt := range []struct{ name, manifest, want string }{
		{"Packages", `{"version": 1, "metadata": {"appmode": "shiny"}, "packages": {"shiny": {"description": {"Package": "shiny", "Version": "latest"}}}}`, `manifest packages["shiny"]`},
		{"Platform", `{"version": 1, "platform": 4.2, "metadata": {"appmode": "shiny"}}`, "manifest platform must be the R version as a string"},
		{"PrimaryRmd", `{"version": 1, "metadata": {"appmode": "rmd-static", "primary_rmd": "../x.Rmd"}}`, `metadata.primary_rmd "../x.Rmd" must be a relative`},
		{"Render", `{"version": 1, "metadata": {"appmode": "rmd-static"}, "render": {"command": ["x"]}}`, `render is only used with appmode "report"`},
	} {
		t.Run("ErrR_"+tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := bundle.ParseManifest(strings.NewReader(tt.manifest))
			if err != nil {
				t.Fatal(err)
			}
			checkErr(t, m.Validate(nil), podium.EINVALID, tt.want)
		})
	}
}
