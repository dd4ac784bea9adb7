package runas

import (
	"errors"
	"os/user"
	"testing"
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
