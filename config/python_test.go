package config_test

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoad_Python(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		dir, opts := setup(t)
		opts.Path = writeFile(t, dir, "p.gcfg", "[Python]\nExecutable = /usr/bin/python3\nExecutable = /opt/python/3.12/bin/python3\n"+
			"FindLinks = /srv/wheels\nNoIndex = true\nSystemSitePackages = yes\nEnvironmentRetention = 48h\nEnvironmentMaxSize = 10GiB\n")
		c := mustLoad(t, opts)
		if want := []string{"/usr/bin/python3", "/opt/python/3.12/bin/python3"}; !slices.Equal(c.Python.Executable, want) {
			t.Errorf("Executable = %q, want %q (the key repeats)", c.Python.Executable, want)
		}
		if !c.Python.NoIndex || !c.Python.SystemSitePackages || c.Python.EnvironmentRetention != 48*time.Hour ||
			c.Python.EnvironmentMaxSize != 10<<30 || !slices.Equal(c.Python.FindLinks, []string{"/srv/wheels"}) {
			t.Errorf("Python = %+v", c.Python)
		}
	})
	t.Run("ErrRelativeExecutable", func(t *testing.T) {
		dir, opts := setup(t)
		opts.Path = writeFile(t, dir, "p.gcfg", "[Python]\nExecutable = python3\n")
		if msg := loadErr(t, opts); !strings.Contains(msg, "[Python] Executable = python3: must be an absolute path") {
			t.Errorf("message %q", msg)
		}
	})
	t.Run("ErrNoIndexWithIndex", func(t *testing.T) {
		dir, opts := setup(t)
		opts.Path = writeFile(t, dir, "p.gcfg", "[Python]\nNoIndex = true\nPackageIndex = https://pypi.example/simple\nFindLinks = wheels\n")
		msg := loadErr(t, opts)
		for _, want := range []string{"[Python] NoIndex", "[Python] FindLinks = wheels: must be an absolute directory path or a URL"} {
			if !strings.Contains(msg, want) {
				t.Errorf("message %q lacks %q", msg, want)
			}
		}
	})
}
