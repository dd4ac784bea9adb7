package rlang

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/podiumhq/podium"
)

// Installation is one R offered by the node.
type Installation struct {
	// Path is the R executable, absolute ([R] Executable).
	Path string `json:"path"`
	// Version is the version R reports, such as "4.2.2".
	Version string `json:"version"`
}

// ProbeTimeout bounds one R's version probe.
const ProbeTimeout = 60 * time.Second

// Probe runs each executable to learn its version. A path that is not
// absolute, or an R that does not run, is refused with a message naming
// [R] Executable.
func Probe(ctx context.Context, paths []string) ([]Installation, error) {
	var out []Installation
	seen := map[string]bool{}
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			return nil, podium.Errorf(podium.EINVALID, "[R] Executable %q must be an absolute path", p)
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		v, err := probeVersion(ctx, p)
		if err != nil {
			return nil, podium.Errorf(podium.EINVALID, "[R] Executable %q: %v", p, err)
		}
		out = append(out, Installation{Path: p, Version: v})
	}
	return out, nil
}

var versionRE = regexp.MustCompile(`^\d+\.\d+(\.\d+)?$`)

func probeVersion(ctx context.Context, path string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "--vanilla", "--slave", "-e", `cat(as.character(getRversion()))`)
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"}
	out, err := cmd.Output()
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
			msg += ": " + strings.TrimSpace(string(ee.Stderr))
		}
		return "", fmt.Errorf("cannot run it to learn its version: %s", msg)
	}
	v := strings.TrimSpace(string(out))
	if !versionRE.MatchString(v) {
		return "", fmt.Errorf("reported version %q, not a version such as 4.2.2", v)
	}
	return v, nil
}

// Choose picks the installation for a bundle made with R version want
// (the manifest's platform):
//
//  1. the first installation whose version is exactly want;
//  2. else, among those with want's major.minor, the highest patch;
//  3. else, among those with want's major version and a higher minor, the
//     lowest such minor (its highest patch): the nearest newer R;
//  4. else the bundle is refused, naming the installations offered.
//
// An empty want takes the first configured installation. R packages are
// binary-compatible within a major.minor, which is why rule 2 comes before
// any newer release. Returns EINVALID when nothing matches.
func Choose(insts []Installation, want string) (Installation, error) {
	if len(insts) == 0 {
		return Installation{}, podium.Errorf(podium.EINVALID, "this node offers no R: set [R] Executable to the absolute path of an R executable (such as /usr/bin/R)")
	}
	want = strings.TrimSpace(want)
	if want == "" {
		return insts[0], nil
	}
	w, ok := parseVersion(want)
	if !ok {
		return Installation{}, podium.Errorf(podium.EINVALID, "platform %q is not an R version such as 4.2.2", want)
	}
	for _, in := range insts {
		if v, _ := parseVersion(in.Version); v == w {
			return in, nil
		}
	}
	best, found := Installation{}, false
	var bv [3]int
	for _, in := range insts {
		v, ok := parseVersion(in.Version)
		if !ok || v[0] != w[0] || v[1] != w[1] {
			continue
		}
		if !found || v[2] > bv[2] {
			best, bv, found = in, v, true
		}
	}
	if found {
		return best, nil
	}
	for _, in := range insts {
		v, ok := parseVersion(in.Version)
		if !ok || v[0] != w[0] || v[1] <= w[1] {
			continue
		}
		if !found || v[1] < bv[1] || (v[1] == bv[1] && v[2] > bv[2]) {
			best, bv, found = in, v, true
		}
	}
	if found {
		return best, nil
	}
	offered := make([]string, len(insts))
	for i, in := range insts {
		offered[i] = in.Version + " (" + in.Path + ")"
	}
	return Installation{}, podium.Errorf(podium.EINVALID,
		"no R on this node matches platform %s: it offers %s; add a matching R with [R] Executable", want, strings.Join(offered, ", "))
}

// parseVersion reads "4.2" or "4.2.2".
func parseVersion(s string) ([3]int, bool) {
	var v [3]int
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) < 2 || len(parts) > 3 {
		return v, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return v, false
		}
		v[i] = n
	}
	return v, true
}
