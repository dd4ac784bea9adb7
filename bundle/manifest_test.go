package bundle_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/bundle"
)

// bundleDir writes a manifest and files into a new directory.
func bundleDir(tb testing.TB, manifest string, files map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	mustWrite(tb, dir, files)
	if manifest != "" {
		if err := os.WriteFile(filepath.Join(dir, bundle.ManifestName), []byte(manifest), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

func TestLoadManifest(t *testing.T) {
	t.Parallel()

	t.Run("OKStatic", func(t *testing.T) {
		t.Parallel()
		dir := bundleDir(t, `{"version": 1, "metadata": {"appmode": "static"}}`, map[string]string{"index.html": "hi"})
		m, err := bundle.LoadManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		if m.Metadata.AppMode != bundle.AppModeStatic || m.PrimaryPage() != "index.html" || m.Render != nil || m.Serve != nil {
			t.Errorf("manifest = %+v", m)
		}
	})

	t.Run("OKStaticPrimaryHTML", func(t *testing.T) {
		t.Parallel()
		dir := bundleDir(t, `{"version": 1, "metadata": {"appmode": "static", "primary_html": "site/home.html"},
			"files": {"site/home.html": {"checksum": "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}, "site/x.css": {}}}`,
			map[string]string{"site/home.html": "hello", "site/x.css": ""})
		m, err := bundle.LoadManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		if m.PrimaryPage() != "site/home.html" || len(m.Files) != 2 {
			t.Errorf("manifest = %+v", m)
		}
	})

	t.Run("OKReport", func(t *testing.T) {
		t.Parallel()
		dir := bundleDir(t, `{"version": 1, "metadata": {"appmode": "report"},
			"render": {"command": ["python3", "render.py", "--fast"], "timeout": "90s"}}`, nil)
		m, err := bundle.LoadManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(m.Render.Command, []string{"python3", "render.py", "--fast"}) || m.Render.TimeoutDuration() != 90*time.Second {
			t.Errorf("render = %+v (timeout %v)", m.Render, m.Render.TimeoutDuration())
		}
	})

	t.Run("OKReportDefaultTimeout", func(t *testing.T) {
		t.Parallel()
		m, err := bundle.LoadManifest(bundleDir(t, `{"version": 1, "metadata": {"appmode": "report"}, "render": {"command": ["make"]}}`, nil))
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Render.TimeoutDuration(); got != bundle.DefaultRenderTimeout {
			t.Errorf("timeout = %v, want %v", got, bundle.DefaultRenderTimeout)
		}
	})

	for _, mode := range []string{"api", "app"} {
		t.Run("OK"+mode, func(t *testing.T) {
			t.Parallel()
			m, err := bundle.LoadManifest(bundleDir(t, `{"version": 1, "metadata": {"appmode": "`+mode+`"},
				"serve": {"command": ["python3", "app.py"]}}`, nil))
			if err != nil {
				t.Fatal(err)
			}
			if string(m.Metadata.AppMode) != mode || m.Serve.BasePathVar() != "PODIUM_BASE_PATH" || m.Serve.Command[1] != "app.py" {
				t.Errorf("manifest = %+v", m)
			}
		})
	}

	t.Run("OKBasePathEnv", func(t *testing.T) {
		t.Parallel()
		m, err := bundle.LoadManifest(bundleDir(t, `{"version": 1, "metadata": {"appmode": "app"},
			"serve": {"command": ["streamlit", "run", "app.py"], "base_path_env": "STREAMLIT_SERVER_BASE_URL_PATH"}}`, nil))
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Serve.BasePathVar(); got != "STREAMLIT_SERVER_BASE_URL_PATH" {
			t.Errorf("BasePathVar = %q", got)
		}
	})

	t.Run("ErrMissing", func(t *testing.T) {
		t.Parallel()
		_, err := bundle.LoadManifest(bundleDir(t, "", map[string]string{"index.html": "x"}))
		checkErr(t, err, podium.EINVALID, "bundle has no manifest.json at its root")
	})

	t.Run("ErrTooLarge", func(t *testing.T) {
		t.Parallel()
		big := `{"version": 1, "metadata": {"appmode": "static"}}` + strings.Repeat(" ", bundle.MaxManifestBytes)
		_, err := bundle.LoadManifest(bundleDir(t, big, nil))
		checkErr(t, err, podium.ETOOLARGE, "manifest.json is larger than")
	})
}

func TestManifestErrors(t *testing.T) {
	t.Parallel()
	index := map[string]string{"index.html": "hi"}
	tests := []struct {
		name     string
		manifest string
		files    map[string]string
		want     string
	}{
		{"ErrEmpty", "  \n", nil, "manifest.json is empty"},
		{"ErrSyntax", "{\n  \"version\": 1,\n  \"metadata\": {\"appmode\": \"static\",}\n}", index, "malformed JSON at line 3, column 36"},
		{"ErrUnclosed", `{"version": 1, "metadata": {`, index, "ends before the top-level object is closed"},
		{"ErrTrailing", `{"version": 1, "metadata": {"appmode": "static"}} {}`, index, "unexpected data after the top-level object (line 1, column 51)"},
		{"ErrNotObject", `[1, 2]`, nil, "must hold a JSON object, not array"},
		{"ErrNull", `null`, nil, "must hold a JSON object, not null"},
		{"ErrUnknownTopLevel", `{"version": 1, "metdata": {"appmode": "static"}}`, index, `unknown field "metdata" at the top level (known fields: version, metadata, render, serve, files, python, environment, jupyter, locale,`},
		{"ErrUnknownCase", `{"Version": 1, "metadata": {"appmode": "static"}}`, index, `unknown field "Version" at the top level`},
		{"ErrUnknownMetadata", `{"version": 1, "metadata": {"appmode": "static", "entrypiont": "x"}}`, index, `unknown field "entrypiont" in metadata (known fields: appmode, primary_html, entrypoint,`},
		{"ErrPythonWithServe", `{"version": 1, "metadata": {"appmode": "python-api"}, "serve": {"command": ["x"]}}`, nil, `serve is only used with appmode "api" or "app", not "python-api"`},
		{"ErrPackageManager", `{"version": 1, "metadata": {"appmode": "python-fastapi"}, "python": {"package_manager": {"name": "conda"}}}`, nil, `python.package_manager.name "conda" is not supported`},
		{"ErrUnknownRender", `{"version": 1, "metadata": {"appmode": "report"}, "render": {"command": ["x"], "env": {}}}`, nil, `unknown field "env" in render`},
		{"ErrUnknownServe", `{"version": 1, "metadata": {"appmode": "api"}, "serve": {"command": ["x"], "port": 80}}`, nil, `unknown field "port" in serve`},
		{"ErrUnknownFiles", `{"version": 1, "metadata": {"appmode": "static"}, "files": {"index.html": {"md5": "x"}}}`, index, `unknown field "md5" in files["index.html"]`},
		{"ErrTypeVersion", `{"version": "1", "metadata": {"appmode": "static"}}`, index, "version must be an integer, not string (line 1, column 15)"},
		{"ErrTypeAppMode", `{"version": 1, "metadata": {"appmode": 3}}`, index, "metadata.appmode must be a string, not number"},
		{"ErrTypeCommand", `{"version": 1, "metadata": {"appmode": "report"}, "render": {"command": "python3 render.py"}}`, nil, "render.command must be an array of strings, not string"},
		{"ErrNoVersion", `{"metadata": {"appmode": "static"}}`, index, "version is required and must be 1"},
		{"ErrVersion2", `{"version": 2, "metadata": {"appmode": "static"}}`, index, "version 2 is not supported"},
		{"ErrNoAppMode", `{"version": 1, "metadata": {}}`, index, "metadata.appmode is required (one of static, report, api, app, python-api, python-fastapi,"},
		{"ErrBadAppMode", `{"version": 1, "metadata": {"appmode": "shinny"}}`, index, `manifest.json: metadata.appmode "shinny" is not one of static, report, api, app, python-api`},
		{"ErrStaticNoIndex", `{"version": 1, "metadata": {"appmode": "static"}}`, map[string]string{"home.html": "x"}, `metadata.primary_html "index.html" is not in the bundle`},
		{"ErrStaticPrimaryMissing", `{"version": 1, "metadata": {"appmode": "static", "primary_html": "home.html"}}`, index, `metadata.primary_html "home.html" is not in the bundle`},
		{"ErrStaticPrimaryDir", `{"version": 1, "metadata": {"appmode": "static", "primary_html": "site"}}`, map[string]string{"site/index.html": ""}, `metadata.primary_html "site" is not a regular file`},
		{"ErrStaticPrimaryEscape", `{"version": 1, "metadata": {"appmode": "static", "primary_html": "../index.html"}}`, index, "metadata.primary_html \"../index.html\" must be a relative"},
		{"ErrStaticWithRender", `{"version": 1, "metadata": {"appmode": "static"}, "render": {"command": ["x"]}}`, index, `render is only used with appmode "report", not "static"`},
		{"ErrStaticWithServe", `{"version": 1, "metadata": {"appmode": "static"}, "serve": {"command": ["x"]}}`, index, `serve is only used with appmode "api" or "app", not "static"`},
		{"ErrReportNoRender", `{"version": 1, "metadata": {"appmode": "report"}}`, nil, `render.command is required for appmode "report"`},
		{"ErrReportEmptyCommand", `{"version": 1, "metadata": {"appmode": "report"}, "render": {"command": []}}`, nil, "render.command is required for appmode \"report\" and must be a non-empty array"},
		{"ErrReportEmptyProgram", `{"version": 1, "metadata": {"appmode": "report"}, "render": {"command": [" ", "x"]}}`, nil, "render.command[0], the program to run, must not be empty"},
		{"ErrReportNUL", `{"version": 1, "metadata": {"appmode": "report"}, "render": {"command": ["x", "a\u0000b"]}}`, nil, "render.command[1] contains a NUL byte"},
		{"ErrReportTimeout", `{"version": 1, "metadata": {"appmode": "report"}, "render": {"command": ["x"], "timeout": "5 minutes"}}`, nil, `render.timeout "5 minutes" is not a duration`},
		{"ErrReportTimeoutNegative", `{"version": 1, "metadata": {"appmode": "report"}, "render": {"command": ["x"], "timeout": "-1s"}}`, nil, `render.timeout "-1s" must be more than 0 and at most 24h0m0s`},
		{"ErrReportTimeoutHuge", `{"version": 1, "metadata": {"appmode": "report"}, "render": {"command": ["x"], "timeout": "25h"}}`, nil, "at most 24h0m0s"},
		{"ErrReportPrimaryHTML", `{"version": 1, "metadata": {"appmode": "report", "primary_html": "a.html"}, "render": {"command": ["x"]}}`, nil, `metadata.primary_html is only used with appmode "static", not "report"`},
		{"ErrReportWithServe", `{"version": 1, "metadata": {"appmode": "report"}, "render": {"command": ["x"]}, "serve": {"command": ["y"]}}`, nil, "serve is only used with appmode"},
		{"ErrAPINoServe", `{"version": 1, "metadata": {"appmode": "api"}}`, nil, `serve.command is required for appmode "api"`},
		{"ErrAppEmptyCommand", `{"version": 1, "metadata": {"appmode": "app"}, "serve": {"command": null}}`, nil, `serve.command is required for appmode "app"`},
		{"ErrAppEmptyProgram", `{"version": 1, "metadata": {"appmode": "app"}, "serve": {"command": [""]}}`, nil, "serve.command[0], the program to run, must not be empty"},
		{"ErrAppWithRender", `{"version": 1, "metadata": {"appmode": "app"}, "serve": {"command": ["x"]}, "render": {"command": ["y"]}}`, nil, `render is only used with appmode "report", not "app"`},
		{"ErrBasePathEnvName", `{"version": 1, "metadata": {"appmode": "api"}, "serve": {"command": ["x"], "base_path_env": "1BAD-NAME"}}`, nil, `serve.base_path_env "1BAD-NAME" is not a valid environment variable name`},
		{"ErrBasePathEnvPORT", `{"version": 1, "metadata": {"appmode": "api"}, "serve": {"command": ["x"], "base_path_env": "PORT"}}`, nil, "serve.base_path_env must not be PORT"},
		{"ErrFileMissing", `{"version": 1, "metadata": {"appmode": "static"}, "files": {"app.js": {}}}`, index, `files["app.js"] is not in the bundle`},
		{"ErrFileEscape", `{"version": 1, "metadata": {"appmode": "static"}, "files": {"/etc/passwd": {}}}`, index, `files key "/etc/passwd" must be a relative`},
		{"ErrFileChecksumFormat", `{"version": 1, "metadata": {"appmode": "static"}, "files": {"index.html": {"checksum": "md5:abc"}}}`, index, `files["index.html"].checksum "md5:abc" must be "sha256:" followed by 64 hex digits`},
		{"ErrFileChecksumMismatch", `{"version": 1, "metadata": {"appmode": "static"}, "files": {"index.html": {"checksum": "sha256:0000000000000000000000000000000000000000000000000000000000000000"}}}`, index, `files["index.html"].checksum does not match the file's content (sha256:8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := bundle.LoadManifest(bundleDir(t, tt.manifest, tt.files))
			checkErr(t, err, podium.EINVALID, tt.want)
			if !strings.HasPrefix(podium.ErrorMessage(err), "manifest.json") {
				t.Errorf("message %q does not start with manifest.json", podium.ErrorMessage(err))
			}
		})
	}
}

// TestManifestValidateNilRoot checks that Validate without files still
// checks everything else, and skips only the file checks.
func TestManifestValidateNilRoot(t *testing.T) {
	t.Parallel()
	m, err := bundle.ParseManifest(strings.NewReader(`{"version": 1, "metadata": {"appmode": "static", "primary_html": "nowhere.html"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Validate(nil); err != nil {
		t.Errorf("Validate(nil) = %v, want nil (no files to check)", err)
	}
	m.Metadata.AppMode = "shinny"
	checkErr(t, m.Validate(nil), podium.EINVALID, `"shinny" is not one of`)
}
