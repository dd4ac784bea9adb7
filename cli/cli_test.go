package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podiumhq/podium/cli"
	"github.com/podiumhq/podium/schema"
)

// run runs cli.Main in-process with env as the whole environment.
func run(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Main(context.Background(), args, cli.Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		LookupEnv: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		},
		DefaultConfigPath: filepath.Join(t.TempDir(), "absent.gcfg"),
	})
	return out.String(), errb.String(), code
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"UnknownCommand", []string{"no-such-command"}, 2, `unknown command "no-such-command"`},
		{"UnknownFlag", []string{"serve", "--frobnicate"}, 2, "unknown flag: --frobnicate"},
		{"ServeTakesNoArguments", []string{"serve", "extra"}, 2, "takes no arguments"},
		{"MissingConfigFile", []string{"--config", "/nonexistent/podium.gcfg", "serve"}, 2, "/nonexistent/podium.gcfg"},
		{"UnknownSubcommand", []string{"migrate", "nope"}, 2, `unknown command "nope" for "podium migrate"`},
		{"UnknownNestedSubcommand", []string{"migrate", "schema", "sideways"}, 2, `unknown command "sideways" for "podium migrate schema"`},
		{"GroupAloneShowsHelp", []string{"migrate"}, 0, ""},
		{"Help", []string{"help"}, 0, ""},
		{"Version", []string{"version"}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, stderr, code := run(t, nil, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Fatalf("podium %v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
			}
		})
	}
}

func TestVersionJSON(t *testing.T) {
	t.Parallel()
	stdout, _, code := run(t, nil, "version", "--json")
	var v map[string]any
	if code != 0 || json.Unmarshal([]byte(stdout), &v) != nil {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	if v["schema"] != float64(schema.Latest()) || v["version"] == "" {
		t.Fatalf("version --json = %v, want schema %d", v, schema.Latest())
	}
}

func TestConfigDumpMasksPassword(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "podium.gcfg")
	if err := os.WriteFile(path, []byte("[Server]\nDataDir = "+dir+"\n[Database]\nProvider = postgres\n[Postgres]\nURL = postgres://podium:inurl-secret@db.example.com/podium\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := run(t, map[string]string{"PODIUM_POSTGRES_PASSWORD": "hunter2"}, "--config", path, "config", "dump")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, secret := range []string{"hunter2", "inurl-secret"} {
		if strings.Contains(stdout+stderr, secret) {
			t.Errorf("config dump shows %q:\n%s", secret, stdout)
		}
	}
	if !strings.Contains(stdout, "db.example.com") {
		t.Errorf("config dump lost the host:\n%s", stdout)
	}
}

func TestConfigDumpInvalid(t *testing.T) {
	t.Parallel()
	_, stderr, code := run(t, map[string]string{"PODIUM_HA_ENABLED": "true"}, "config", "dump")
	if code != 2 || !strings.Contains(stderr, "PODIUM_HA_ENABLED") || !strings.Contains(stderr, "podium migrate db") {
		t.Fatalf("exit %d, stderr %q; want 2 naming PODIUM_HA_ENABLED and podium migrate db", code, stderr)
	}
}
