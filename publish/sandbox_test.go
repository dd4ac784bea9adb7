package publish

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/podiumhq/podium"
)

// TestSandboxPatch: a PATCH body's sandbox fields change only what they
// name, null returns to the default, and each bad value is refused with
// the field's name and what to send instead.
func TestSandboxPatch(t *testing.T) {
	decode := func(t *testing.T, body string) SandboxPatch {
		t.Helper()
		var b struct {
			RunAs            Field[string] `json:"run_as"`
			RunAsCurrentUser *bool         `json:"run_as_current_user"`
			MemoryLimit      Field[int64]  `json:"memory_limit"`
			CPUShares        Field[int]    `json:"cpu_shares"`
			ProcessLimit     Field[int]    `json:"process_limit"`
			OpenFileLimit    Field[int]    `json:"open_file_limit"`
		}
		if err := json.Unmarshal([]byte(body), &b); err != nil {
			t.Fatal(err)
		}
		return SandboxPatch{RunAs: b.RunAs, RunAsCurrentUser: b.RunAsCurrentUser, MemoryLimit: b.MemoryLimit,
			CPUShares: b.CPUShares, ProcessLimit: b.ProcessLimit, OpenFileLimit: b.OpenFileLimit}
	}
	stored := SandboxSettings{RunAs: "svc", MemoryLimit: 1 << 30, CPUShares: 512, ProcessLimit: 100, OpenFileLimit: 4096}
	var checked []string
	check := func(name string) error {
		checked = append(checked, name)
		if name == "root" {
			return errors.New(`run_as "root" is root: content must not run as root`)
		}
		return nil
	}

	t.Run("OK", func(t *testing.T) {
		p := decode(t, `{"process_limit": 20, "memory_limit": null, "run_as_current_user": false}`)
		if p.empty() {
			t.Fatal("a patch that names fields is empty")
		}
		got, err := p.apply(stored, check)
		want := stored
		want.ProcessLimit, want.MemoryLimit = 20, 0
		if err != nil || got != want {
			t.Errorf("apply = %+v, %v; want %+v", got, err, want)
		}
		if len(checked) != 0 {
			t.Errorf("run_as checked though not sent: %v", checked)
		}
		if got.Limits().Processes != 20 || got.Limits().Memory != 0 || got.Limits().CPUShares != 512 {
			t.Errorf("Limits() = %+v", got.Limits())
		}
	})
	t.Run("Empty", func(t *testing.T) {
		if p := decode(t, `{"run_as_current_user": false}`); !p.empty() {
			t.Errorf("run_as_current_user false alone changes something: %+v", p)
		}
	})
	t.Run("RunAsCleared", func(t *testing.T) {
		got, err := decode(t, `{"run_as": null}`).apply(stored, check)
		if err != nil || got.RunAs != "" {
			t.Errorf("run_as null: %+v, %v", got, err)
		}
	})
	for name, c := range map[string]struct{ body, want string }{
		"ErrCurrentUser": {`{"run_as_current_user": true}`, "run_as_current_user: Podium does not run content as its viewer"},
		"ErrRoot":        {`{"run_as": "root"}`, `run_as "root" is root`},
		"ErrMemory":      {`{"memory_limit": 1000}`, "memory_limit 1000: must be at least 16777216 bytes"},
		"ErrShares":      {`{"cpu_shares": 1}`, "cpu_shares 1: must be 2 to 262144"},
		"ErrProcesses":   {`{"process_limit": -1}`, "process_limit -1: must be 1 to"},
		"ErrFiles":       {`{"open_file_limit": 3}`, "open_file_limit 3: must be 16 to"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := decode(t, c.body).apply(stored, check)
			if !podium.IsCode(err, podium.EINVALID) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %v, want EINVALID containing %q", c.body, err, c.want)
			}
		})
	}
}
