package config_test

import (
	"slices"
	"strings"
	"testing"
)

func TestLoad_R(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		dir, opts := setup(t)
		opts.Path = writeFile(t, dir, "r.gcfg", "[R]\nExecutable = /usr/bin/R\nExecutable = /opt/R/4.3.1/bin/R\nRepository = /srv/cran\n")
		c := mustLoad(t, opts)
		if want := []string{"/usr/bin/R", "/opt/R/4.3.1/bin/R"}; !slices.Equal(c.R.Executable, want) {
			t.Errorf("Executable = %q, want %q (the key repeats)", c.R.Executable, want)
		}
		if c.R.Repository != "/srv/cran" {
			t.Errorf("Repository = %q", c.R.Repository)
		}
	})
	t.Run("OKRepositoryURL", func(t *testing.T) {
		dir, opts := setup(t)
		opts.Path = writeFile(t, dir, "r.gcfg", "[R]\nRepository = https://packagemanager.example/cran/latest\n")
		if c := mustLoad(t, opts); c.R.Repository != "https://packagemanager.example/cran/latest" {
			t.Errorf("Repository = %q", c.R.Repository)
		}
	})
	t.Run("ErrRelative", func(t *testing.T) {
		dir, opts := setup(t)
		opts.Path = writeFile(t, dir, "r.gcfg", "[R]\nExecutable = R\nRepository = cran\n")
		msg := loadErr(t, opts)
		for _, want := range []string{"[R] Executable = R: must be an absolute path", "[R] Repository = cran: must be an http://, https:// or file:// URL"} {
			if !strings.Contains(msg, want) {
				t.Errorf("message %q lacks %q", msg, want)
			}
		}
	})
}
