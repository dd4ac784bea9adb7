// Package logging builds the logrus logger of a podium process: text on a
// terminal, JSON otherwise, and a hook that redacts secret-looking fields
// whatever a caller passes.
package logging

import (
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/podiumhq/podium"
	"github.com/sirupsen/logrus"
	"golang.org/x/term"
)

// Formats accepted by New.
const (
	FormatAuto = "auto"
	FormatText = "text"
	FormatJSON = "json"
)

// New returns a logger writing to w in the given format ("auto" picks text
// when w is a terminal). Returns EINVALID for an unknown format.
func New(w io.Writer, format, level string) (*logrus.Logger, error) {
	log := logrus.New()
	log.SetOutput(w)
	switch format {
	case "", FormatAuto:
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
		} else {
			log.SetFormatter(&logrus.JSONFormatter{})
		}
	case FormatText:
		log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, DisableColors: true})
	case FormatJSON:
		log.SetFormatter(&logrus.JSONFormatter{})
	default:
		return nil, podium.Errorf(podium.EINVALID, "--log-format %q: must be auto, text or json", format)
	}
	if level == "" {
		level = "info"
	}
	lv, err := logrus.ParseLevel(level)
	if err != nil {
		return nil, podium.Errorf(podium.EINVALID, "--log-level %q: must be one of panic, fatal, error, warn, info, debug, trace", level)
	}
	log.SetLevel(lv)
	log.AddHook(RedactHook{})
	return log, nil
}

// Component returns log's entry for one part of the node.
func Component(log *logrus.Logger, name string) *logrus.Entry {
	return log.WithField("component", name)
}

// secretKeys are field-name fragments whose values never reach a log.
var secretKeys = []string{"password", "passwd", "token", "secret", "authorization", "cookie", "dsn", "api_key", "apikey"}

// RedactHook masks fields whose names look secret, and passwords inside
// URL-valued fields.
type RedactHook struct{}

// Levels implements logrus.Hook.
func (RedactHook) Levels() []logrus.Level { return logrus.AllLevels }

// Fire implements logrus.Hook.
func (RedactHook) Fire(e *logrus.Entry) error {
	for k, v := range e.Data {
		lk := strings.ToLower(k)
		for _, s := range secretKeys {
			if strings.Contains(lk, s) {
				e.Data[k] = podium.Mask
				break
			}
		}
		if s, ok := v.(string); ok && strings.Contains(s, "://") && strings.Contains(s, "@") {
			if u, err := url.Parse(s); err == nil && u.User != nil {
				e.Data[k] = u.Redacted()
			}
		}
	}
	return nil
}

// Discard returns a logger that writes nothing, for tests.
func Discard() *logrus.Logger {
	log := logrus.New()
	log.SetOutput(io.Discard)
	return log
}
