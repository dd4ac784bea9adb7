package pgtest

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	tempPrefix = "podium-pgtest-" // os.MkdirTemp pattern prefix of cluster directories
	ownerFile  = "owner.pid"      // in a cluster directory: the pid of the test binary
)

var sweepOnce sync.Once

// sweepStale removes the cluster directories left behind by test binaries
// that were killed: those whose owner and postmaster are both gone. A
// directory without an owner file is removed only once it is an hour old,
// since it may be one being created right now.
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(baseTempDir(), tempPrefix+"*"))
	for _, dir := range dirs {
		if owner, ok := readPID(filepath.Join(dir, ownerFile)); ok {
			if alive(owner) {
				continue
			}
		} else if fi, err := os.Stat(dir); err != nil || time.Since(fi.ModTime()) < time.Hour {
			continue
		}
		if pm, ok := readPID(filepath.Join(dir, "data", "postmaster.pid")); ok && alive(pm) {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}

// readPID reads the decimal pid on the first line of path.
func readPID(path string) (int, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	if !s.Scan() {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(s.Text()))
	return pid, err == nil && pid > 0
}

// alive reports whether a process with this pid exists.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
