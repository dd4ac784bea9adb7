package sandbox

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnavailable: on a host that cannot make sandboxes, New refuses
// with ErrUnavailable and a message that names what is missing and the
// ways out, and a Refusing sandbox starts no process. The host is made
// so by the helpers' lookup path: one without bwrap, and one whose bwrap
// fails as it does where namespaces are forbidden.
func TestUnavailable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the sandbox runs as root: run this test as root (CI does)")
	}
	cfg := Config{UIDFirst: 200000, UIDLast: 299999, Network: NetworkIsolated, TmpSize: 1 << 20}
	withPath := func(t *testing.T, dir string) {
		old := binPath
		binPath = dir
		t.Cleanup(func() { binPath = old })
	}
	// helpers returns a directory with setpriv and prlimit (the host's)
	// and, when bwrap is not empty, a bwrap script of that body.
	helpers := func(t *testing.T, bwrap string) string {
		dir := t.TempDir()
		for _, name := range []string{"setpriv", "prlimit"} {
			real, err := exec.LookPath(name)
			if err != nil {
				t.Fatalf("%s is not installed (util-linux; scripts/ensure-deps.sh installs it): %v", name, err)
			}
			if err := os.Symlink(real, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
		if bwrap != "" {
			if err := os.WriteFile(filepath.Join(dir, "bwrap"), []byte("#!/bin/sh\n"+bwrap), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	want := func(t *testing.T, err error, parts ...string) {
		t.Helper()
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("New: %v, want ErrUnavailable", err)
		}
		for _, p := range append(parts, "Sandbox = off") {
			if !strings.Contains(err.Error(), p) {
				t.Errorf("New: %q does not say %q", err, p)
			}
		}
	}

	t.Run("ErrNoBubblewrap", func(t *testing.T) {
		withPath(t, helpers(t, ""))
		_, err := New(cfg)
		want(t, err, "bwrap is not installed", "apt-get install bubblewrap")
	})
	t.Run("ErrNamespacesForbidden", func(t *testing.T) {
		withPath(t, helpers(t, "echo 'bwrap: Creating new namespace failed: Operation not permitted' >&2\nexit 1\n"))
		_, err := New(cfg)
		want(t, err, "bubblewrap cannot create the namespaces it needs here", "Operation not permitted", "docker run --privileged")
	})
	t.Run("RefusingStartsNothing", func(t *testing.T) {
		cause := errors.New("content sandbox unavailable: test")
		sb := Refusing(cfg, cause)
		if _, err := sb.Command(&Spec{Name: "x"}, "/bin/true"); !errors.Is(err, cause) {
			t.Errorf("Command on a refusing sandbox: %v, want its reason", err)
		}
		if sb.Refused() != cause {
			t.Errorf("Refused: %v", sb.Refused())
		}
	})
	t.Run("OffStartsPlainProcesses", func(t *testing.T) {
		withPath(t, t.TempDir()) // no helper at all: not needed when off
		sb, err := New(Config{Off: true})
		if err != nil {
			t.Fatal(err)
		}
		p, err := sb.Command(&Spec{Name: "x"}, "/bin/true")
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		if err := p.Wait(); err != nil {
			t.Fatal(err)
		}
		if p.Sandboxed() || sb.Network() != NetworkHost {
			t.Errorf("Sandbox = off: sandboxed %t, network %s", p.Sandboxed(), sb.Network())
		}
	})
}

// TestCheckRunAs: a content item's run_as must be an existing user, not
// root, and outside SandboxUIDRange (whose uids are the content items'
// own); Identity then runs the content as that user.
func TestCheckRunAs(t *testing.T) {
	const nobody = 65534 // Debian's and most distributions' nobody
	sb := Refusing(Config{UIDFirst: 200000, UIDLast: 299999}, nil)
	if err := sb.CheckRunAs("nobody"); err != nil {
		t.Errorf("nobody (uid %d, outside the range): %v", nobody, err)
	}
	for name, want := range map[string]string{
		"root":                  `run_as "root" is root`,
		"podium-no-such-user-x": `run_as "podium-no-such-user-x" is not a user of this node`,
	} {
		if err := sb.CheckRunAs(name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckRunAs(%q) = %v, want an error containing %q", name, err, want)
		}
	}
	in := Refusing(Config{UIDFirst: nobody - 10, UIDLast: nobody + 10}, nil)
	err := in.CheckRunAs("nobody")
	if err == nil || !strings.Contains(err.Error(), "inside [Applications] SandboxUIDRange 65524-65544") {
		t.Errorf("nobody inside the range: %v, want refused naming the range", err)
	}
	if os.Geteuid() == 0 {
		cred, err := sb.Identity(42, "nobody")
		if err != nil || cred == nil || cred.Uid != nobody {
			t.Errorf("Identity(42, nobody) = %+v, %v, want uid %d", cred, err, nobody)
		}
	}
}
