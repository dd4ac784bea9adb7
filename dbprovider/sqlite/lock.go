package sqlite

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/podiumhq/podium"
	"golang.org/x/sys/unix"
)

// Lock is an exclusive flock on the lock file beside the database. The
// kernel drops it when the process dies, so a crashed node never leaves a
// stale lock; the file's content (host, pid, purpose) only names the
// holder for the refusal message.
type Lock struct {
	f *os.File
}

// AcquireLock takes the lock at path without waiting. Returns EREFUSED,
// naming the holder, if another process has it.
func AcquireLock(path, purpose string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, podium.Errorf(podium.EINVALID, "sqlite: cannot open lock file %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder := readHolder(f)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, podium.Errorf(podium.EREFUSED,
				"the SQLite database in %s is in use by %s. SQLite serves exactly one node: stop that process first. "+
					"To run several nodes, move to PostgreSQL with \"podium migrate db\" and set [HA] Enabled = true on every node",
				strings.TrimSuffix(path, "/"+LockName), holder)
		}
		return nil, podium.Errorf(podium.EINTERNAL, "sqlite: lock %s: %w", path, err)
	}
	host, _ := os.Hostname()
	if purpose == "" {
		purpose = "podium"
	}
	info := fmt.Sprintf("host=%s pid=%d purpose=%q since=%s\n", host, os.Getpid(), purpose, time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(info), 0)
	}
	return &Lock{f: f}, nil
}

func readHolder(f *os.File) string {
	b := make([]byte, 512)
	n, _ := f.ReadAt(b, 0)
	s := strings.TrimSpace(string(b[:n]))
	if s == "" {
		return "another process"
	}
	// host=H pid=P purpose="serve" since=T → "podium serve (host H, pid P, since T)"
	fields := map[string]string{}
	for _, kv := range strings.Fields(s) {
		if k, v, ok := strings.Cut(kv, "="); ok {
			if u, err := strconv.Unquote(v); err == nil {
				v = u
			}
			fields[k] = v
		}
	}
	return fmt.Sprintf("\"podium %s\" (host %s, pid %s, since %s)", fields["purpose"], fields["host"], fields["pid"], fields["since"])
}

// Release unlocks and closes the lock file. The file stays: removing it
// would race with a process that just opened it.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	return errors.Join(err, l.f.Close())
}
