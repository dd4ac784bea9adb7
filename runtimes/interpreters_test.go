package runtimes

import (
	"context"
	"strings"
	"testing"

	"github.com/podiumhq/podium"
)

func TestChoose(t *testing.T) {
	t.Parallel()
	offered := []Interpreter{
		{Path: "/opt/py/3.10.4/bin/python3", Version: "3.10.4"},
		{Path: "/usr/bin/python3", Version: "3.11.2"},
		{Path: "/opt/py/3.11.9/bin/python3", Version: "3.11.9"},
		{Path: "/opt/py/3.12.1/bin/python3", Version: "3.12.1"},
	}
	for _, tc := range []struct {
		name, version, requires, want, errCode string
	}{
		{name: "DefaultIsFirstConfigured", want: "3.10.4"},
		{name: "ExactVersion", version: "3.11.2", want: "3.11.2"},
		{name: "SameMinorHighestPatch", version: "3.11.4", want: "3.11.9"},
		{name: "MajorMinorOnly", version: "3.12", want: "3.12.1"},
		{name: "NoSuchMinor", version: "3.9.1", errCode: podium.EPRECONDITION},
		{name: "BadVersion", version: "three", errCode: podium.EINVALID},
		{name: "RequiresWinsOverVersion", version: "3.10.4", requires: ">=3.11", want: "3.12.1"},
		{name: "RequiresRange", requires: ">=3.9, <3.12", want: "3.11.9"},
		{name: "RequiresCompatible", requires: "~=3.10.0", want: "3.10.4"},
		{name: "RequiresWildcard", requires: "==3.11.*", want: "3.11.9"},
		{name: "RequiresNotEqual", requires: "!=3.12.*,!=3.11.9", want: "3.11.2"},
		{name: "RequiresNothingMatches", requires: ">=3.13", errCode: podium.EPRECONDITION},
		{name: "RequiresMalformed", requires: "3.11", errCode: podium.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Choose(offered, tc.version, tc.requires)
			if tc.errCode != "" {
				if !podium.IsCode(err, tc.errCode) {
					t.Fatalf("Choose(%q, %q) = %v, %v; want %s", tc.version, tc.requires, got, err, tc.errCode)
				}
				if tc.errCode == podium.EPRECONDITION && !strings.Contains(err.Error(), "[Python] Executable") {
					t.Errorf("error %q does not name [Python] Executable", err)
				}
				return
			}
			if err != nil || got.Version != tc.want {
				t.Fatalf("Choose(%q, %q) = %v, %v; want %s", tc.version, tc.requires, got, err, tc.want)
			}
		})
	}
	t.Run("NoInterpreter", func(t *testing.T) {
		_, err := Choose(nil, "3.11", "")
		if !podium.IsCode(err, podium.EPRECONDITION) || !strings.Contains(err.Error(), "[Python] Executable") {
			t.Fatalf("err = %v, want EPRECONDITION naming [Python] Executable", err)
		}
	})
}

func TestProbe(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		got, err := Probe(context.Background(), []string{"/usr/bin/python3", "/usr/bin/python3"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !strings.HasPrefix(got[0].Version, "3.") {
			t.Fatalf("Probe = %+v, want one Python 3", got)
		}
	})
	t.Run("ErrRelative", func(t *testing.T) {
		_, err := Probe(context.Background(), []string{"python3"})
		if !podium.IsCode(err, podium.EINVALID) || !strings.Contains(err.Error(), "absolute path") {
			t.Fatalf("err = %v, want EINVALID about an absolute path", err)
		}
	})
	t.Run("ErrNotPython", func(t *testing.T) {
		_, err := Probe(context.Background(), []string{"/bin/true"})
		if !podium.IsCode(err, podium.EINVALID) || !strings.Contains(err.Error(), "/bin/true") {
			t.Fatalf("err = %v, want EINVALID naming /bin/true", err)
		}
	})
}
