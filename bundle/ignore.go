package bundle

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/podiumhq/podium"
)

// IgnoreFile is the name of the file, at the root of the directory given to
// Pack, that lists what to leave out of the bundle. It is never bundled
// itself.
const IgnoreFile = ".podiumignore"

// Ignore is a parsed .podiumignore: a subset of .gitignore.
//
//   - Blank lines and lines starting with # are skipped; trailing spaces
//     are trimmed.
//   - A pattern without a slash ("*.log", "node_modules") matches a file or
//     directory of that name at any depth.
//   - A pattern with a leading or inner slash ("/build", "docs/*.tmp") is
//     anchored: it is matched against the whole path from the root.
//   - A trailing slash ("cache/") makes a pattern match directories only.
//   - "*", "?", "[...]" and "\" escapes work as in path.Match; "*" does not
//     cross a slash.
//   - What a directory pattern matches is left out with all its content.
//
// Negation ("!pattern") and "**" are not supported and make ParseIgnore
// fail rather than silently match something else.
type Ignore struct {
	rules []ignoreRule
}

type ignoreRule struct {
	pattern  string
	anchored bool
	dirOnly  bool
}

// ParseIgnore reads .podiumignore rules. Returns EINVALID, naming the line,
// for a pattern it cannot use.
func ParseIgnore(r io.Reader) (*Ignore, error) {
	ig := &Ignore{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \t\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		bad := func(why string) error {
			return podium.Errorf(podium.EINVALID, "%s line %d (%q): %s", IgnoreFile, n, line, why)
		}
		if strings.HasPrefix(line, "!") {
			return nil, bad("negation (!) is not supported")
		}
		if strings.Contains(line, "**") {
			return nil, bad("** is not supported; a pattern without a slash already matches at any depth")
		}
		var rule ignoreRule
		p := line
		if strings.HasSuffix(p, "/") {
			rule.dirOnly = true
			p = strings.TrimSuffix(p, "/")
		}
		if strings.HasPrefix(p, "/") {
			rule.anchored = true
			p = strings.TrimPrefix(p, "/")
		}
		if strings.Contains(p, "/") {
			rule.anchored = true
		}
		if p == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//") {
			return nil, bad("the pattern is empty or has extra slashes")
		}
		if _, err := path.Match(p, ""); err != nil {
			return nil, bad("malformed pattern")
		}
		rule.pattern = p
		ig.rules = append(ig.rules, rule)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", IgnoreFile, err)
	}
	return ig, nil
}

// Match reports whether the slash-separated path rel (relative to the root
// of the directory being packed; isDir says whether it is a directory) is
// ignored, by a rule matching it or one of its parent directories.
func (ig *Ignore) Match(rel string, isDir bool) bool {
	if ig == nil {
		return false
	}
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' && ig.matchOne(rel[:i], true) {
			return true
		}
	}
	return ig.matchOne(rel, isDir)
}

func (ig *Ignore) matchOne(rel string, isDir bool) bool {
	for _, r := range ig.rules {
		if r.dirOnly && !isDir {
			continue
		}
		subject := rel
		if !r.anchored {
			subject = path.Base(rel)
		}
		if ok, _ := path.Match(r.pattern, subject); ok {
			return true
		}
	}
	return false
}
