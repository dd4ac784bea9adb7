package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"regexp"
	"strings"

	"github.com/podiumhq/podium"
)

var nodeIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{2,62}$`)

// loadNodeID returns the node's stable id from its state dir, creating one
// on first start. The id outlives restarts, so the registry keeps one row
// per node rather than one per process.
func loadNodeID(stateDir string) (string, error) {
	path := StateFile(stateDir)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		id := strings.TrimSpace(string(b))
		if !nodeIDPattern.MatchString(id) {
			return "", podium.Errorf(podium.EINVALID, "node id file %s holds %q, which is not a node id: remove it to make a new one", path, id)
		}
		return id, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", podium.Errorf(podium.EINVALID, "[Server] StateDir: cannot read %s: %w", path, err)
	}
	if err := os.MkdirAll(stateDir, 0o750); err != nil {
		return "", podium.Errorf(podium.EINVALID, "[Server] StateDir %s: cannot create: %w", stateDir, err)
	}
	host, _ := os.Hostname()
	host = strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9-]+`).ReplaceAllString(host, "-"))
	if len(host) > 40 {
		host = host[:40]
	}
	host = strings.Trim(host, "-")
	if host == "" {
		host = "node"
	}
	r := make([]byte, 4)
	_, _ = rand.Read(r)
	id := host + "-" + hex.EncodeToString(r)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(id+"\n"), 0o640); err != nil {
		return "", podium.Errorf(podium.EINVALID, "[Server] StateDir: cannot write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", podium.Errorf(podium.EINVALID, "[Server] StateDir: cannot write %s: %w", path, err)
	}
	return id, nil
}
