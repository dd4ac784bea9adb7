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
	"path/filepath"
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

// Unsearchable returns the first directory from the root down to dir (dir
// included) that cred's user cannot search (enter), judged by the
// directories' owners and mode bits as the kernel would for a process
// with only cred's uid and gid (ACLs are not read), and "" when it can
// reach dir. A directory that cannot be inspected is returned too.
func Unsearchable(dir string, cred *syscall.Credential) string {
	dir = filepath.Clean(dir)
	var parts []string
	for d := dir; ; d = filepath.Dir(d) {
		parts = append(parts, d)
		if d == filepath.Dir(d) {
			break
		}
	}
	for i := len(parts) - 1; i >= 0; i-- {
		var st syscall.Stat_t
		if err := syscall.Stat(parts[i], &st); err != nil {
			return parts[i]
		}
		var bit uint32
		switch {
		case st.Uid == cred.Uid:
			bit = 0o100
		case st.Gid == cred.Gid:
			bit = 0o010
		default:
			bit = 0o001
		}
		if st.Mode&bit == 0 {
			return parts[i]
		}
	}
	return ""
}
