package sandbox

import (
	"path/filepath"
	"slices"
	"strings"
)

// systemDirs are the host's directories every sandbox shows read-only
// (systemArgs, with a few more of their own): what lies below them needs
// no binding of its own, and what Podium keeps there must be hidden.
var systemDirs = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt"}

// underSystem reports whether p is a system directory or lies below one.
func underSystem(p string) bool {
	for _, d := range systemDirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// HiddenDirs returns the directories among dirs that every sandbox must
// show empty ([Config.Hide]): Podium's own files (its configuration's
// directory, data, state and database directories) when an administrator
// put them below a system directory (/etc/podium, /opt/podium/data),
// which sandboxes show read-only. Relative and empty paths are skipped.
func HiddenDirs(dirs ...string) []string {
	var out []string
	for _, d := range dirs {
		if d == "" || d == "." || !filepath.IsAbs(d) {
			continue
		}
		d = filepath.Clean(d)
		if underSystem(d) && !slices.Contains(systemDirs, d) && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// InstallPrefixes returns the installations of the interpreters exes
// that every sandbox must show read-only ([Config.ReadOnly]): for each
// executable, once its links are resolved, the directory above its bin
// (…/bin/python3 → …: a pyenv, an R built under /home) when it lies
// outside the system directories, which sandboxes show anyway. An
// executable that does not resolve is skipped.
func InstallPrefixes(exes []string) []string {
	var out []string
	for _, exe := range exes {
		real, err := filepath.EvalSymlinks(exe)
		if err != nil {
			continue
		}
		prefix := filepath.Dir(filepath.Dir(real))
		if !underSystem(real) && prefix != "/" && !slices.Contains(out, prefix) {
			out = append(out, prefix)
		}
	}
	return out
}
