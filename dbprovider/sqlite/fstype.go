package sqlite

import (
	"path/filepath"

	"github.com/podiumhq/podium"
	"golang.org/x/sys/unix"
)

// Filesystem magic numbers (statfs f_type) of network filesystems. SQLite's
// locking is unreliable on them, so a database there can be corrupted by
// two nodes that both believe they hold the lock.
var networkFS = map[int64]string{
	0x6969:     "NFS",
	0x517B:     "SMB",
	0xFF534D42: "CIFS",
	0xFE534D42: "SMB2",
	0x65735546: "FUSE", // sshfs and friends
	0x47504653: "GPFS",
	0x0BD00BD0: "Lustre",
	0x013111A8: "IBRIX",
	0x5346414F: "AFS",
	0x00C36400: "CephFS",
}

// refuseNetworkFS returns EREFUSED when dir (or its nearest existing
// parent) is on a network filesystem.
func refuseNetworkFS(dir string) error { return checkLocalFS(dir, unix.Statfs) }

// checkLocalFS is refuseNetworkFS with the statfs call passed in, so that
// a test can present a network filesystem without mounting one.
func checkLocalFS(dir string, statfs func(path string, st *unix.Statfs_t) error) error {
	var st unix.Statfs_t
	for d := dir; ; d = filepath.Dir(d) {
		if err := statfs(d, &st); err == nil {
			break
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
	if name, ok := networkFS[int64(st.Type)]; ok {
		return podium.Errorf(podium.EREFUSED,
			"[Database] Dir %s is on a network filesystem (%s): SQLite must live on local disk, and serves one node. "+
				"Point [Database] Dir at a local folder, or for several nodes move to PostgreSQL with \"podium migrate db\"",
			dir, name)
	}
	return nil
}
