package bundle

import (
	"path"
	"strings"
)

// Bounds on names inside a bundle. Real file systems refuse longer ones
// anyway; checking first gives a clear message instead of an OS error.
const (
	maxNameBytes      = 4096
	maxComponentBytes = 255
)

// cleanEntryName validates the name of a tar entry and returns it as a
// clean relative slash path ("" for the bundle root itself). The returned
// rule, when not empty, says why the name is refused.
func cleanEntryName(name string) (rel string, rule string) {
	switch {
	case name == "":
		return "", "the name is empty"
	case len(name) > maxNameBytes:
		return "", "the name is longer than 4096 bytes"
	case strings.ContainsRune(name, 0):
		return "", "the name contains a NUL byte"
	case strings.ContainsRune(name, '\\'):
		return "", `the name contains a backslash (\), which Windows reads as a path separator`
	case strings.HasPrefix(name, "/"):
		return "", "the path is absolute"
	case hasDriveLetter(name):
		return "", "the path starts with a Windows drive letter"
	}
	parts := make([]string, 0, strings.Count(name, "/")+1)
	for _, p := range strings.Split(name, "/") {
		switch {
		case p == "" || p == ".":
			continue
		case p == "..":
			return "", `the path has a ".." element`
		case len(p) > maxComponentBytes:
			return "", "a path element is longer than 255 bytes"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "/"), ""
}

// cleanSymlinkTarget validates the target of a symlink stored at linkRel (a
// clean relative slash path) and returns the cleaned target to create.
//
// A target is accepted when it is relative and, read lexically from the
// link's own directory, stays inside the bundle. Storing the cleaned form
// leaves ".." elements only at its start, where they climb real
// directories (Unpack never lets a symlink be the parent of an entry); so
// following the link, even through other such links, never leaves the
// bundle.
func cleanSymlinkTarget(linkRel, target string) (clean string, rule string) {
	switch {
	case target == "":
		return "", "the symlink target is empty"
	case len(target) > maxNameBytes:
		return "", "the symlink target is longer than 4096 bytes"
	case strings.ContainsRune(target, 0):
		return "", "the symlink target contains a NUL byte"
	case strings.ContainsRune(target, '\\'):
		return "", `the symlink target contains a backslash (\)`
	case strings.HasPrefix(target, "/"):
		return "", "the symlink target is an absolute path"
	case hasDriveLetter(target):
		return "", "the symlink target starts with a Windows drive letter"
	}
	clean = path.Clean(target)
	ups := 0
	for rest := clean; rest == ".." || strings.HasPrefix(rest, "../"); rest = strings.TrimPrefix(rest[2:], "/") {
		ups++
	}
	depth := 0
	if dir := path.Dir(linkRel); dir != "." {
		depth = strings.Count(dir, "/") + 1
	}
	if ups > depth {
		return "", "the symlink target points outside the bundle"
	}
	return clean, ""
}

func hasDriveLetter(s string) bool {
	if len(s) < 2 || s[1] != ':' {
		return false
	}
	c := s[0] | 0x20
	return 'a' <= c && c <= 'z'
}
