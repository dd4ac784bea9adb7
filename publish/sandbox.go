package publish

import (
	"context"
	"encoding/json"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/internal/sandbox"
)

// sandboxKey is the key of a content item's SandboxSettings in its
// settings document (content.settings), beside the process settings
// ("processes"): no schema change, and every node reads the same.
const sandboxKey = "sandbox"

// MinMemoryLimit is the smallest memory_limit an administrator may set:
// below it not even an interpreter starts, and the error would only show
// as crashes.
const MinMemoryLimit = 16 << 20

// SandboxSettings are an administrator's settings of one content item's
// processes (apps, renders, environment builds), Connect's field names
// where Connect has them: the user they run as and limits that replace
// the node's defaults ([Applications] SandboxMemoryLimit, SandboxCPUShares,
// SandboxProcessLimit, SandboxOpenFileLimit). A zero value (JSON null in
// the API) means the node's default.
type SandboxSettings struct {
	// RunAs is a local user the content runs as instead of its own uid
	// of the sandbox range (Connect's run_as).
	RunAs string `json:"run_as,omitempty"`
	// MemoryLimit bounds the memory of all the content's processes, in
	// bytes (Connect's memory_limit).
	MemoryLimit int64 `json:"memory_limit,omitempty"`
	// CPUShares is the content's CPU weight (1024 an equal share).
	CPUShares int `json:"cpu_shares,omitempty"`
	// ProcessLimit bounds the content's processes and threads.
	ProcessLimit int `json:"process_limit,omitempty"`
	// OpenFileLimit bounds the open files of each process.
	OpenFileLimit int `json:"open_file_limit,omitempty"`
}

// Limits are the limits of s, for a sandbox.Spec (zero: the default).
func (s SandboxSettings) Limits() sandbox.Limits {
	return sandbox.Limits{Memory: s.MemoryLimit, CPUShares: s.CPUShares, Processes: s.ProcessLimit, OpenFiles: s.OpenFileLimit}
}

// Field is a field of a PATCH body: Set when the body names it, V nil
// when its value is JSON null (back to the default).
type Field[T any] struct {
	Set bool
	V   *T
}

// UnmarshalJSON implements json.Unmarshaler (called for null too).
func (f *Field[T]) UnmarshalJSON(b []byte) error {
	f.Set, f.V = true, nil
	if string(b) == "null" {
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	f.V = &v
	return nil
}

// value is f's value, the zero value for null.
func (f Field[T]) value() T {
	var zero T
	if f.V == nil {
		return zero
	}
	return *f.V
}

// SandboxPatch is the part of a content update that changes its
// SandboxSettings (administrators only).
type SandboxPatch struct {
	RunAs         Field[string]
	MemoryLimit   Field[int64]
	CPUShares     Field[int]
	ProcessLimit  Field[int]
	OpenFileLimit Field[int]
	// RunAsCurrentUser is Connect's run_as_current_user: Podium runs
	// content as the viewer never, so only false is accepted.
	RunAsCurrentUser *bool
}

// empty reports whether p changes nothing.
func (p SandboxPatch) empty() bool {
	return !p.RunAs.Set && !p.MemoryLimit.Set && !p.CPUShares.Set && !p.ProcessLimit.Set && !p.OpenFileLimit.Set &&
		(p.RunAsCurrentUser == nil || !*p.RunAsCurrentUser)
}

// apply returns st changed by p, or EINVALID saying which field is wrong
// and what to send instead. check tests a run_as user (nil: no sandbox
// to check against).
func (p SandboxPatch) apply(st SandboxSettings, check func(name string) error) (SandboxSettings, error) {
	if p.RunAsCurrentUser != nil && *p.RunAsCurrentUser {
		return st, podium.Errorf(podium.EINVALID, "run_as_current_user: Podium does not run content as its viewer: send false (or leave it out), and run_as to choose the user")
	}
	if p.RunAs.Set {
		st.RunAs = p.RunAs.value()
		if st.RunAs != "" && check != nil {
			if err := check(st.RunAs); err != nil {
				return st, podium.Errorf(podium.EINVALID, "%v", err)
			}
		}
	}
	if p.MemoryLimit.Set {
		st.MemoryLimit = p.MemoryLimit.value()
		if st.MemoryLimit != 0 && st.MemoryLimit < MinMemoryLimit {
			return st, podium.Errorf(podium.EINVALID, "memory_limit %d: must be at least %d bytes (16 MiB), or null for the node's default", st.MemoryLimit, MinMemoryLimit)
		}
	}
	for _, f := range []struct {
		name     string
		in       Field[int]
		dst      *int
		min, max int
	}{
		{"cpu_shares", p.CPUShares, &st.CPUShares, 2, 262144},
		{"process_limit", p.ProcessLimit, &st.ProcessLimit, 1, 1 << 22},
		{"open_file_limit", p.OpenFileLimit, &st.OpenFileLimit, 16, 1 << 20},
	} {
		if !f.in.Set {
			continue
		}
		*f.dst = f.in.value()
		if *f.dst != 0 && (*f.dst < f.min || *f.dst > f.max) {
			return st, podium.Errorf(podium.EINVALID, "%s %d: must be %d to %d, or null for the node's default", f.name, *f.dst, f.min, f.max)
		}
	}
	return st, nil
}

// sandboxSetting is the SandboxSettings in the content settings document.
var sandboxSetting = ContentSetting[SandboxSettings]{Key: sandboxKey}

// ContentSandbox returns the SandboxSettings of content contentID (zero
// when an administrator set none). The caller has checked access.
func (s *Service) ContentSandbox(ctx context.Context, contentID int64) (SandboxSettings, error) {
	return sandboxSetting.Get(ctx, s.db, contentID)
}

// checkRunAs is the test of a run_as user on this node (nil without a
// sandbox to check against).
func (s *Service) checkRunAs() func(string) error {
	if s.sandbox == nil {
		return nil
	}
	return s.sandbox.CheckRunAs
}

// sandboxUnchanged reports whether p leaves the content's SandboxSettings
// as they are.
func (s *Service) sandboxUnchanged(ctx context.Context, contentID int64, p SandboxPatch) (bool, error) {
	st, err := sandboxSetting.Get(ctx, s.db, contentID)
	if err != nil {
		return false, err
	}
	next, err := p.apply(st, nil)
	return err == nil && next == st, nil
}

// updateSandbox applies p to content contentID's SandboxSettings.
func (s *Service) updateSandbox(ctx context.Context, contentID int64, p SandboxPatch) (SandboxSettings, error) {
	check := s.checkRunAs()
	return sandboxSetting.Update(ctx, s.db, contentID, func(st *SandboxSettings) error {
		next, err := p.apply(*st, check)
		if err != nil {
			return err
		}
		*st = next
		return nil
	})
}
