package apps

import (
	"os"
	"os/user"

	"github.com/podiumhq/podium/internal/runas"
	"github.com/sirupsen/logrus"
)

// WarnRunAs says at start-up, rather than at the first request, when
// podium runs as root and [Applications] RunAs cannot run apps as it
// should: the user does not exist or is root (apps and reports fail until
// fixed), or it cannot enter the data directory that holds the bundles
// (apps then run from copies of their bundles under runtime). Without a
// sandbox only: a sandbox shows each bundle at its path.
func WarnRunAs(log *logrus.Entry, runAs, dataDir, runtime string) {
	warnRunAs(log, os.Geteuid(), runAs, dataDir, runtime)
}

// warnRunAs is WarnRunAs for a process of effective user id euid.
func warnRunAs(log *logrus.Entry, euid int, runAs, dataDir, runtime string) {
	if euid != 0 {
		return
	}
	log = log.WithField("run_as", runAs)
	u, err := user.Lookup(runAs)
	if err != nil {
		log.WithError(err).Warn("[Applications] RunAs is not a user of this host: apps and reports cannot run until you create it " +
			"(useradd --system --no-create-home " + runAs + ") or set RunAs to an existing unprivileged user")
		return
	}
	cred, err := runas.Credential(u)
	if err != nil {
		log.WithError(err).Warn("[Applications] RunAs cannot run apps and reports: set it to an unprivileged user")
		return
	}
	if blocked := runas.Unsearchable(dataDir, cred); blocked != "" {
		log.WithFields(logrus.Fields{"directory": blocked, "copies": runtime}).Warn("[Applications] RunAs cannot enter [Server] DataDir or a directory above it: " +
			"each app process will run from a copy of its bundle (slower starts, more disk); to run apps in place, give RunAs search permission (for example chmod o+x " + blocked + ")")
	}
}
