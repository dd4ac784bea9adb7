package server

import (
	"errors"
	"path/filepath"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/internal/keyfile"
	"github.com/sirupsen/logrus"
)

// ContentKeyFile, under [Server] DataDir (shared by every node of a
// cluster), holds the key that signs the content origin's tickets and
// cookies: a ticket issued by one node is redeemed by whichever node the
// load balancer picks.
const ContentKeyFile = "secrets/content-origin.key"

// NoContentOriginWarning names the risk of a node that serves content on
// the dashboard's origin: the log at start and the dashboard (to
// administrators) say it; "podium ha check" says it in its own words
// (hacheck.NoContentOriginRisk).
const NoContentOriginWarning = "[Server] ContentURL is not set: content (apps, APIs, reports, static sites) is served on the dashboard's origin, " +
	"so a publisher's app opened by a logged-in user can act as that user (read the API, create API keys, change content); " +
	"set [Server] Address and ContentURL to serve content on its own origin (docs/security.md)"

// contentKey returns the content origin's signing key when cfg has a
// content origin: read from ContentKeyFile, created by the first node
// that needs it.
func contentKey(cfg *config.Config) ([]byte, error) {
	if cfg.Server.ContentURL == "" {
		return nil, nil
	}
	path := filepath.Join(cfg.Server.DataDir, ContentKeyFile)
	k, err := keyfile.ReadOrCreate(path)
	if err != nil && !errors.Is(err, keyfile.ErrMalformed) {
		return nil, podium.Errorf(podium.EREFUSED, "content origin key file %s: %v", path, err)
	}
	if err != nil || len(k) < keyfile.Size {
		return nil, podium.Errorf(podium.EREFUSED, "content origin key file %s: not 32 bytes of base64; remove it and every node creates a new one at start (readers then sign in to restricted content again)", path)
	}
	return k, nil
}

// warnContentOrigin logs, at start, where content is served.
func warnContentOrigin(log *logrus.Entry, cfg *config.Config) {
	if cfg.Server.ContentURL == "" {
		log.Warn(NoContentOriginWarning)
		return
	}
	log.WithFields(logrus.Fields{"address": cfg.Server.Address, "content_url": cfg.Server.ContentURL}).Info("content is served on its own origin")
}

// adminWarnings are the dashboard's warnings to administrators about this
// node's configuration.
func adminWarnings(cfg *config.Config) []string {
	if cfg.Server.ContentURL == "" {
		return []string{NoContentOriginWarning}
	}
	return nil
}
