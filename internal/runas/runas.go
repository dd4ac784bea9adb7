// Package runas holds the rule for the credential of a child process that
// runs user code (an app, a render) as [Applications] RunAs: the user's uid
// and gid, never root, and no supplementary groups. Apps and renders each
// decide when RunAs applies and word their own errors; the credential
// itself is built here only, so that both keep the same rule.
//
// It imports only the standard library.
package runas

import (
	"errors"
	"os/user"
	"strconv"
	"syscall"
)

// ErrRoot is returned by [Credential] for a user whose uid is 0.
var ErrRoot = errors.New("runas: the user is root")

// Credential returns the credential to run a child process as u: u's uid
// and gid, and an empty (not nil) group list, so that podium's own
// supplementary groups, root's when it runs as root, do not leak to the
// child.
//
// Returns ErrRoot if u is root, and the errors of strconv.ParseUint, joined,
// if u's uid or gid is not a number.
func Credential(u *user.User) (*syscall.Credential, error) {
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	if uid == 0 {
		return nil, ErrRoot
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}
