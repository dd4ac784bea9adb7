package runas

import (
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/podiumhq/podium/internal/testutil"
)

func TestCredential(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		c, err := Credential(&user.User{Uid: "1001", Gid: "1002"})
		if err != nil {
			t.Fatal(err)
		}
		if c.Uid != 1001 || c.Gid != 1002 || c.Groups == nil || len(c.Groups) != 0 {
			t.Fatalf("credential = %+v, want uid 1001, gid 1002 and an empty, non-nil group list", c)
		}
	})
	t.Run("ErrRoot", func(t *testing.T) {
		t.Parallel()
		if _, err := Credential(&user.User{Uid: "0", Gid: "1002"}); !errors.Is(err, ErrRoot) {
			t.Fatalf("err = %v, want ErrRoot", err)
		}
	})
	t.Run("ErrNonNumeric", func(t *testing.T) {
		t.Parallel()
		for _, u := range []*user.User{{Uid: "x", Gid: "1"}, {Uid: "1", Gid: "S-1-5"}} {
			if _, err := Credential(u); err == nil || errors.Is(err, ErrRoot) {
				t.Fatalf("Credential(%+v) err = %v, want a parse error", u, err)
			}
		}
	})
}

func TestUnsearchable(t *testing.T) {
	t.Parallel()
	root := testutil.OpenTempDir(t, 0o755) // t.TempDir's parent would block "other"
	deep := filepath.Join(root, "data", "content", "guid")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(root, "data")
	// The directories belong to this process's user and group; the
	// credentials below stand for their owner, a member of their group,
	// and anybody else.
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	owner := &syscall.Credential{Uid: uid, Gid: gid + 1}
	group := &syscall.Credential{Uid: uid + 1, Gid: gid}
	other := &syscall.Credential{Uid: uid + 1, Gid: gid + 1}
	for _, c := range []struct {
		mode os.FileMode
		cred *syscall.Credential
		want string
	}{
		{0o755, other, ""},
		{0o751, other, ""}, // search without listing is enough
		{0o750, other, data},
		{0o750, group, ""},
		{0o705, group, data}, // the group's bits apply, not others'
		{0o070, owner, data}, // the owner's bits apply, not the group's
		{0o100, owner, ""},
	} {
		if err := os.Chmod(data, c.mode); err != nil {
			t.Fatal(err)
		}
		if got := Unsearchable(deep, c.cred); got != c.want {
			t.Errorf("data %o, uid %d gid %d: Unsearchable = %q, want %q", c.mode, c.cred.Uid, c.cred.Gid, got, c.want)
		}
	}
	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := Unsearchable(filepath.Join(root, "missing"), other); got != filepath.Join(root, "missing") {
		t.Errorf("missing dir: %q, want it named", got)
	}
}
