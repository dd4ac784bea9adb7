package bundle_test

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/bundle"
)

// mustWrite writes files under dir; a name ending in / makes a directory.
func mustWrite(tb testing.TB, dir string, files map[string]string) {
	tb.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				tb.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

func TestPack(t *testing.T) {
	t.Parallel()

	t.Run("OKRoundTrip", func(t *testing.T) {
		t.Parallel()
		src := t.TempDir()
		mustWrite(t, src, map[string]string{
			"index.html":          "<h1>hi</h1>",
			"run.sh":              "#!/bin/sh\necho hi\n",
			"css/site.css":        "body{}",
			"debug.log":           "ignored: *.log at any depth",
			"css/old.log":         "ignored: *.log at any depth",
			"build/out.js":        "ignored: /build is anchored",
			"src/build/keep.js":   "kept: /build is anchored to the root",
			"cache/x":             "ignored: cache/ is a directory",
			"sub/cache":           "kept: cache/ matches directories only",
			"docs/a.tmp":          "ignored: docs/*.tmp",
			"docs/b/a.tmp":        "kept: * does not cross /",
			"#hash":               "ignored: escaped #",
			".git/config":         "always ignored",
			"sub/.git":            "always ignored (submodule file)",
			"empty/":              "",
			bundle.IgnoreFile:     "# comment\n\n*.log\n/build\ncache/   \ndocs/*.tmp\n\\#hash\n",
			"node_modules/x/a.js": "kept",
		})
		if err := os.Chmod(filepath.Join(src, "run.sh"), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("index.html", filepath.Join(src, "home.html")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("../css/site.css", filepath.Join(src, "sub", "style.css")); err != nil {
			t.Fatal(err)
		}

		var buf bytes.Buffer
		st, err := bundle.Pack(t.Context(), src, &buf)
		if err != nil {
			t.Fatal(err)
		}
		packed := bytes.Clone(buf.Bytes())
		parent, dest := setupDest(t)
		ust, err := bundle.Unpack(t.Context(), &buf, dest, bundle.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"index.html":          "-rw-r--r-- <h1>hi</h1>",
			"run.sh":              "-rwxr-xr-x #!/bin/sh\necho hi\n",
			"css":                 "drwxr-xr-x",
			"css/site.css":        "-rw-r--r-- body{}",
			"src":                 "drwxr-xr-x",
			"src/build":           "drwxr-xr-x",
			"src/build/keep.js":   "-rw-r--r-- kept: /build is anchored to the root",
			"sub":                 "drwxr-xr-x",
			"sub/cache":           "-rw-r--r-- kept: cache/ matches directories only",
			"sub/style.css":       "L -> ../css/site.css",
			"docs":                "drwxr-xr-x",
			"docs/b":              "drwxr-xr-x",
			"docs/b/a.tmp":        "-rw-r--r-- kept: * does not cross /",
			"empty":               "drwxr-xr-x",
			"home.html":           "L -> index.html",
			"node_modules":        "drwxr-xr-x",
			"node_modules/x":      "drwxr-xr-x",
			"node_modules/x/a.js": "-rw-r--r-- kept",
		}
		if got := listTree(t, dest); !maps.Equal(got, want) {
			for k := range maps.Keys(got) {
				if _, ok := want[k]; !ok {
					t.Errorf("unexpected %s: %s", k, got[k])
				}
			}
			for k := range maps.Keys(want) {
				if got[k] != want[k] {
					t.Errorf("%s = %q, want %q", k, got[k], want[k])
				}
			}
		}
		// Ignored: debug.log, css/old.log, build/, cache/, docs/a.tmp,
		// #hash, .git/, sub/.git, .podiumignore.
		if want := (bundle.PackStats{Files: 7, Dirs: 9, Symlinks: 2, Bytes: st.Bytes, Ignored: 9}); st != want {
			t.Errorf("pack stats = %+v, want %+v", st, want)
		}
		if ust.Files != st.Files || ust.Dirs != st.Dirs || ust.Symlinks != st.Symlinks || ust.Bytes != st.Bytes {
			t.Errorf("unpack stats %+v differ from pack stats %+v", ust, st)
		}
		checkContained(t, parent, dest)

		// Deterministic: packing the same tree again gives the same bytes.
		var again bytes.Buffer
		if _, err := bundle.Pack(t.Context(), src, &again); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(packed, again.Bytes()) {
			t.Error("packing the same tree twice gave different bundles")
		}
	})

	t.Run("OKSrcDirIsSymlink", func(t *testing.T) {
		t.Parallel()
		real := t.TempDir()
		mustWrite(t, real, map[string]string{"index.html": "x"})
		link := filepath.Join(t.TempDir(), "current")
		if err := os.Symlink(real, link); err != nil {
			t.Fatal(err)
		}
		st, err := bundle.Pack(t.Context(), link, &bytes.Buffer{})
		if err != nil || st.Files != 1 {
			t.Fatalf("Pack = %+v, %v; want the one file of the linked directory", st, err)
		}
	})

	t.Run("ErrNoSrcDir", func(t *testing.T) {
		t.Parallel()
		_, err := bundle.Pack(t.Context(), filepath.Join(t.TempDir(), "missing"), &bytes.Buffer{})
		if err == nil {
			t.Fatal("Pack of a missing directory succeeded")
		}
	})

	t.Run("ErrSymlinkOutside", func(t *testing.T) {
		t.Parallel()
		src := t.TempDir()
		mustWrite(t, src, map[string]string{"a/index.html": "x"})
		if err := os.Symlink("../../etc/passwd", filepath.Join(src, "a", "pw")); err != nil {
			t.Fatal(err)
		}
		_, err := bundle.Pack(t.Context(), src, &bytes.Buffer{})
		checkErr(t, err, podium.EINVALID, `"a/pw"`, "outside the bundle", bundle.IgnoreFile)
	})

	t.Run("ErrSymlinkAbsolute", func(t *testing.T) {
		t.Parallel()
		src := t.TempDir()
		if err := os.Symlink(filepath.Join(src, "x"), filepath.Join(src, "abs")); err != nil {
			t.Fatal(err)
		}
		_, err := bundle.Pack(t.Context(), src, &bytes.Buffer{})
		checkErr(t, err, podium.EINVALID, `"abs"`, "absolute")
	})

	t.Run("OKIgnoredSymlinkOutside", func(t *testing.T) {
		t.Parallel()
		src := t.TempDir()
		mustWrite(t, src, map[string]string{bundle.IgnoreFile: "venv/\n", "venv/bin/.keep": ""})
		if err := os.Symlink("/usr/bin/python3", filepath.Join(src, "venv", "bin", "python")); err != nil {
			t.Fatal(err)
		}
		st, err := bundle.Pack(t.Context(), src, &bytes.Buffer{})
		if err != nil {
			t.Fatal(err)
		}
		if st.Ignored != 2 || st.Files != 0 {
			t.Errorf("stats = %+v, want only the ignore file and venv/ ignored", st)
		}
	})

	t.Run("ErrBadIgnoreFile", func(t *testing.T) {
		t.Parallel()
		src := t.TempDir()
		mustWrite(t, src, map[string]string{bundle.IgnoreFile: "ok\n!keep.log\n"})
		_, err := bundle.Pack(t.Context(), src, &bytes.Buffer{})
		checkErr(t, err, podium.EINVALID, ".podiumignore line 2", "negation")
	})

	t.Run("ErrCanceled", func(t *testing.T) {
		t.Parallel()
		src := t.TempDir()
		mustWrite(t, src, map[string]string{"a": "1"})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := bundle.Pack(ctx, src, &bytes.Buffer{})
		checkErr(t, err, podium.ECANCELED)
	})
}

func TestParseIgnore(t *testing.T) {
	t.Parallel()
	ig, err := bundle.ParseIgnore(strings.NewReader("# c\n*.log\n/build\ncache/\ndocs/*.tmp\nsecret?.txt\n[Tt]humbs.db\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rel   string
		isDir bool
		want  bool
	}{
		{"a.log", false, true},
		{"x/y/a.log", false, true},
		{"a.logx", false, false},
		{"build", true, true},
		{"build/x.js", false, true}, // through its ignored parent
		{"src/build", true, false},
		{"cache", true, true},
		{"cache", false, false},
		{"a/cache/b", false, true},
		{"docs/a.tmp", false, true},
		{"docs/b/a.tmp", false, false},
		{"x/docs/a.tmp", false, false},
		{"secret1.txt", false, true},
		{"secret12.txt", false, false},
		{"Thumbs.db", false, true},
		{"index.html", false, false},
	}
	for _, tt := range tests {
		if got := ig.Match(tt.rel, tt.isDir); got != tt.want {
			t.Errorf("Match(%q, %v) = %v, want %v", tt.rel, tt.isDir, got, tt.want)
		}
	}

	for _, bad := range []struct{ text, want string }{
		{"!keep", "negation"},
		{"a/**/b", "** is not supported"},
		{"x\n[", "line 2"},
		{"/", "empty"},
		{"a//b", "extra slashes"},
	} {
		_, err := bundle.ParseIgnore(strings.NewReader(bad.text))
		checkErr(t, err, podium.EINVALID, bad.want)
	}
}
