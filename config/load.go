package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/gcfg/v2"
	"github.com/podiumhq/podium"
)

// Options says where Load looks. The zero value reads the process
// environment, /etc/podium/podium.gcfg, the host name and the working
// directory; tests set every field.
type Options struct {
	// Path is the file named by --config. When set it must exist and be
	// readable; PODIUM_CONFIG and DefaultPath are then not consulted.
	Path string
	// LookupEnv reads one environment variable, as os.LookupEnv does (nil
	// means os.LookupEnv). A variable set to "" counts as set, except
	// PODIUM_CONFIG, which counts as unset when empty.
	LookupEnv func(key string) (string, bool)
	// DefaultPath is the file read, if it exists, when neither Path nor
	// PODIUM_CONFIG names one. "" means the package's DefaultPath.
	DefaultPath string
	// Hostname names this host in the default StateDir. "" means
	// os.Hostname().
	Hostname string
	// WorkDir is the directory that relative paths resolve against when
	// they do not come from a file. "" means os.Getwd().
	WorkDir string
}

// origin labels of values that do not come from a file or the environment.
const (
	originDefault = "built-in default"
	originDerived = "built-in default from [Server] DataDir"
)

// loader holds the state of one Load call.
type loader struct {
	opts    Options
	cfg     *Config
	keys    []key
	origins map[string]string // key id -> where its value came from
	errs    []string          // problems found so far, one line each
}

// Load reads the configuration: defaults, then one file (opts.Path, else
// $PODIUM_CONFIG, else opts.DefaultPath if it exists), then the PODIUM_*
// environment variables, then the {DataDir}-derived defaults, and
// validates the result.
//
// Returns EINVALID for a missing or unreadable file that was asked for, a
// syntax error, an unknown section or key, a malformed value or an
// impossible combination; the message lists every problem found, one per
// line, each naming the file or environment variable, the key, the value
// (secrets masked) and what is allowed.
func Load(opts Options) (*Config, error) {
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.DefaultPath == "" {
		opts.DefaultPath = DefaultPath
	}
	if opts.WorkDir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("config: working directory: %w", err)
		}
		opts.WorkDir = wd
	}
	if opts.Hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("config: host name: %w", err)
		}
		opts.Hostname = h
	}
	l := &loader{opts: opts, cfg: Defaults(), keys: keys(), origins: map[string]string{}}

	path, named, err := l.choosePath()
	if err != nil {
		return nil, err
	}
	if path != "" {
		if err := l.readFile(path, named); err != nil {
			return nil, err
		}
	}
	l.readEnv()
	for id, from := range l.origins {
		if from != originDerived {
			if l.cfg.Set == nil {
				l.cfg.Set = map[string]bool{}
			}
			l.cfg.Set[id] = true
		}
	}
	if len(l.errs) == 0 {
		l.derive()
		l.validate()
	}
	if len(l.errs) > 0 {
		return nil, podium.Errorf(podium.EINVALID, "%s", strings.Join(l.errs, "\n"))
	}
	return l.cfg, nil
}

// choosePath returns the absolute path of the file to read, "" for none,
// and how the file was named (for messages).
func (l *loader) choosePath() (path, named string, err error) {
	switch {
	case l.opts.Path != "":
		path, named = l.opts.Path, "--config "+l.opts.Path
	default:
		if p, ok := l.opts.LookupEnv("PODIUM_CONFIG"); ok && p != "" {
			path, named = p, "PODIUM_CONFIG="+p
			break
		}
		_, err := os.Stat(l.opts.DefaultPath)
		if errors.Is(err, fs.ErrNotExist) {
			return "", "", nil
		}
		if err != nil {
			return "", "", podium.Errorf(podium.EINVALID, "config: default file: %w", err)
		}
		path, named = l.opts.DefaultPath, l.opts.DefaultPath
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(l.opts.WorkDir, path)
	}
	return filepath.Clean(path), named, nil
}

// readFile applies the keys of one gcfg file.
func (l *loader) readFile(path, named string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		// The *PathError names the file; named says how it was chosen.
		return podium.Errorf(podium.EINVALID, "config: read %s: %w", named, err)
	}
	l.cfg.Source = path
	// With a file, the data lives in the system location unless the file
	// says otherwise.
	l.cfg.Server.DataDir = DefaultDataDir
	base := filepath.Dir(path)
	seen := map[string]bool{}     // list keys already given in this file
	reported := map[string]bool{} // bad sections already reported
	cb := func(section, sub, name, value string, blank bool) error {
		sec, ok := l.section(section)
		if !ok {
			if !reported[strings.ToLower(section)] {
				reported[strings.ToLower(section)] = true
				l.errs = append(l.errs, fmt.Sprintf("%s: unknown section [%s]: the sections are %s",
					path, section, strings.Join(sections, ", ")))
			}
			return nil
		}
		if sub != "" {
			if id := strings.ToLower(section + " " + sub); !reported[id] {
				reported[id] = true
				l.errs = append(l.errs, fmt.Sprintf("%s: [%s %q]: subsections are not used; write [%s]",
					path, section, sub, sec))
			}
			return nil
		}
		if name == "" { // a section header
			return nil
		}
		k := l.key(sec, name)
		if k == nil {
			l.errs = append(l.errs, fmt.Sprintf("%s: unknown key [%s] %s: the keys of [%s] are %s",
				path, sec, name, sec, strings.Join(l.keyNames(sec), ", ")))
			return nil
		}
		if blank {
			// "Key" without "=": true for a bool, as in git config.
			if _, isBool := k.field(l.cfg).(*bool); !isBool {
				l.errs = append(l.errs, fmt.Sprintf("%s: %s has no value: write %s = value",
					path, k.label(), k.name))
				return nil
			}
			value = "true"
		}
		if err := k.set(l.cfg, value, base, seen[k.id()]); err != nil {
			l.errs = append(l.errs, fmt.Sprintf("%s: %s = %s: %v", path, k.label(), k.shown(value), err))
			return nil
		}
		seen[k.id()] = true
		l.origins[k.id()] = path
		return nil
	}
	if err := gcfg.ReadWithCallback(bytes.NewReader(src), cb); err != nil {
		// gcfg's syntax errors say "line:column: what", without file name
		// and without the value.
		l.errs = append(l.errs, fmt.Sprintf("%s:%v", path, err))
	}
	return nil
}

// readEnv applies the PODIUM_<SECTION>_<KEY> overrides. Relative paths
// resolve against the working directory.
func (l *loader) readEnv() {
	for i := range l.keys {
		k := &l.keys[i]
		value, ok := l.opts.LookupEnv(k.env())
		if !ok {
			continue
		}
		if err := k.set(l.cfg, value, l.opts.WorkDir, false); err != nil {
			l.errs = append(l.errs, fmt.Sprintf("environment %s: %s = %s: %v", k.env(), k.label(), k.shown(value), err))
			continue
		}
		l.origins[k.id()] = "environment " + k.env()
	}
}

// derive fills the defaults computed from others, after all overrides.
func (l *loader) derive() {
	c := &l.cfg.Server
	if c.DataDir == "" {
		l.bad("Server.DataDir", "must not be empty: every other path defaults to a folder in it")
		return
	}
	if !filepath.IsAbs(c.DataDir) {
		// Only the no-file default can still be relative here.
		c.DataDir = filepath.Join(l.opts.WorkDir, c.DataDir)
	}
	fill := func(id string, p *string, elem ...string) {
		if *p == "" {
			*p = filepath.Join(append([]string{c.DataDir}, elem...)...)
			l.origins[id] = originDerived
		}
	}
	fill("Server.StateDir", &c.StateDir, "state", l.opts.Hostname)
	fill("Database.Dir", &l.cfg.Database.Dir, "db")
	// A cluster node drains for the shipped load balancer's checks unless
	// told otherwise; a single node has no peer to take its traffic.
	if _, set := l.origins["Server.DrainDelay"]; !set && l.cfg.HA.Enabled {
		c.DrainDelay = DefaultHADrainDelay
		l.origins["Server.DrainDelay"] = originDerived
	}
	// Metrics data belong to one node (each node claims its DataPath), so
	// the default follows StateDir, not the DataDir that a cluster shares.
	if l.cfg.Metrics.DataPath == "" {
		l.cfg.Metrics.DataPath = filepath.Join(c.StateDir, "metrics")
		l.origins["Metrics.DataPath"] = originDerived
	}
}

// section returns the documented spelling of a section name.
func (l *loader) section(name string) (string, bool) {
	for _, s := range sections {
		if strings.EqualFold(s, name) {
			return s, true
		}
	}
	return "", false
}

// key finds a key by section and name, ignoring case.
func (l *loader) key(section, name string) *key {
	for i := range l.keys {
		if l.keys[i].section == section && strings.EqualFold(l.keys[i].name, name) {
			return &l.keys[i]
		}
	}
	return nil
}

// keyNames lists the keys of one section.
func (l *loader) keyNames(section string) []string {
	var names []string
	for _, k := range l.keys {
		if k.section == section {
			names = append(names, k.name)
		}
	}
	return names
}

// origin says where the current value of a key came from.
func (l *loader) origin(id string) string {
	if o, ok := l.origins[id]; ok {
		return o
	}
	return originDefault
}
