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
	"fmt"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
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

// LookPath finds the executable that a child process with the environment
// variable PATH=pathEnv would run for name, and that cred's user may
// execute (cred nil: this process's user). It is the child's lookup, not
// this process's: exec.Command resolves a bare name through podium's own
// PATH, which may hold directories (a root shell's pyenv shims) the child
// neither has nor may enter.
//
// A name holding a slash is returned unchanged: it is a path, which the
// kernel resolves. Execute permission is judged as in [Unsearchable]:
// owners and mode bits for cred (ACLs are not read), and access(2) for a
// nil cred.
//
// Returns an error naming the command, the PATH searched, and why each
// file found there was refused, if no directory of pathEnv holds an
// executable name.
func LookPath(name, pathEnv string, cred *syscall.Credential) (string, error) {
	if name == "" {
		return "", errors.New("runas: empty command name")
	}
	if strings.Contains(name, "/") {
		return name, nil
	}
	var refused []string
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue // the current directory: never searched
		}
		p := filepath.Join(dir, name)
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			if blocked := unsearchableBy(dir, cred); blocked != "" && !errors.Is(err, syscall.ENOENT) {
				refused = append(refused, fmt.Sprintf("%s: cannot enter %s", p, blocked))
			}
			continue
		}
		if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
			continue
		}
		if blocked := unsearchableBy(dir, cred); blocked != "" {
			refused = append(refused, fmt.Sprintf("%s: cannot enter %s", p, blocked))
			continue
		}
		if !executableBy(p, &st, cred) {
			refused = append(refused, fmt.Sprintf("%s: no execute permission", p))
			continue
		}
		return p, nil
	}
	who := "this user"
	if cred != nil {
		who = fmt.Sprintf("uid %d, gid %d", cred.Uid, cred.Gid)
	}
	msg := fmt.Sprintf("command %q: no executable file of that name in PATH=%s that %s may run", name, pathEnv, who)
	if len(refused) > 0 {
		msg += " (" + strings.Join(refused, "; ") + ")"
	}
	return "", errors.New(msg)
}

// unsearchableBy is [Unsearchable] for cred, or access(2) for a nil cred.
func unsearchableBy(dir string, cred *syscall.Credential) string {
	if cred != nil {
		return Unsearchable(dir, cred)
	}
	if syscall.Access(dir, 0o1) != nil { // X_OK
		return dir
	}
	return ""
}

// executableBy reports whether cred's user may execute the regular file p
// with status st.
func executableBy(p string, st *syscall.Stat_t, cred *syscall.Credential) bool {
	if cred == nil {
		return syscall.Access(p, 0o1) == nil // X_OK
	}
	switch {
	case st.Uid == cred.Uid:
		return st.Mode&0o100 != 0
	case st.Gid == cred.Gid:
		return st.Mode&0o010 != 0
	default:
		return st.Mode&0o001 != 0
	}
}
