package server

import (
	"strings"
	"testing"

	"github.com/podiumhq/podium/auth"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

// TestContentOriginWarningAtStart: a node without [Server] ContentURL
// warns at start, naming the risk (issue 23); a node with one does not,
// and says where content is served.
func TestContentOriginWarningAtStart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, config string
		warned       bool
	}{
		{"WithoutContentOrigin", "", true},
		{"WithContentOrigin", "[Server]\nAddress = http://localhost:3939\nContentURL = http://127.0.0.1:3939\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			log, hook := test.NewNullLogger()
			log.SetLevel(logrus.InfoLevel)
			loggedNode(t, auth.Options{Hash: auth.CheapHashParams}, tc.config, log)
			var warned, told bool
			for _, e := range hook.AllEntries() {
				if e.Level == logrus.WarnLevel && e.Message == NoContentOriginWarning {
					warned = true
				}
				if e.Level == logrus.InfoLevel && e.Message == "content is served on its own origin" && e.Data["content_url"] == "http://127.0.0.1:3939" {
					told = true
				}
			}
			if warned != tc.warned || told == tc.warned {
				t.Errorf("start-up log: warned %v, told the content origin %v; want warned %v", warned, told, tc.warned)
			}
			if tc.warned && (!strings.Contains(NoContentOriginWarning, "act as that user") || !strings.Contains(NoContentOriginWarning, "ContentURL")) {
				t.Errorf("the warning does not name the risk and the setting: %q", NoContentOriginWarning)
			}
		})
	}
}
