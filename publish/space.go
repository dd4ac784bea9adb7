package publish

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/podiumhq/podium"
)

// DiskSpace returns the free space (for an unprivileged writer) and the
// size of the filesystem that holds dir, in bytes.
func DiskSpace(dir string) (free, total int64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), int64(st.Blocks) * int64(st.Bsize), nil
}

// NoSpaceMessage is the client's message for a write that found the data
// directory dir full: its free space, never its path.
func NoSpaceMessage(dir string) string {
	msg := "the server's data directory is full"
	if free, total, err := DiskSpace(dir); err == nil {
		msg += fmt.Sprintf(" (%s free of %s)", podium.FormatBytes(free), podium.FormatBytes(total))
	}
	return msg + ": nothing was stored; ask the administrator to free space, then try again"
}

// IsNoSpace reports whether err comes from a full filesystem (or quota).
func IsNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// noSpace turns the error of a write that found the data directory full
// into ENOSPACE (507, exit code 1: the server's condition, not the
// client's input), whatever code it was wrapped in. The cause, with its
// paths, stays in Err for the log. Other errors pass unchanged.
func (s *Service) noSpace(err error) error {
	if err == nil || podium.IsCode(err, podium.ENOSPACE) || !IsNoSpace(err) {
		return err
	}
	return &podium.Error{Code: podium.ENOSPACE, Message: NoSpaceMessage(s.dataDir), Err: err}
}
