package runtimes

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/podiumhq/podium"
)

// Interpreter is one Python installation a node offers.
type Interpreter struct {
	// Path is the absolute path of the executable, as configured.
	Path string `json:"path"`
	// Version is what the interpreter reported at start, e.g. "3.11.7".
	Version string `json:"version"`
}

// ProbeTimeout bounds one interpreter's version probe.
const ProbeTimeout = 20 * time.Second

// Probe runs each executable (absolute paths; never looked up through
// PATH) and asks it for its version.
//
// Returns EINVALID naming the path and the [Python] Executable key when a
// path is relative, missing or does not answer like a Python 3.
func Probe(ctx context.Context, paths []string) ([]Interpreter, error) {
	var out []Interpreter
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			return nil, podium.Errorf(podium.EINVALID, "[Python] Executable %q must be an absolute path such as /usr/bin/python3", p)
		}
		pctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
		cmd := exec.CommandContext(pctx, p, "-I", "-c", "import platform; print(platform.python_version())")
		cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
		b, err := cmd.Output()
		cancel()
		if err != nil {
			return nil, podium.Errorf(podium.EINVALID, "[Python] Executable %s: cannot run it to read its version: %v", p, err)
		}
		v := strings.TrimSpace(string(b))
		if _, err := parseVersion(v); err != nil || !strings.HasPrefix(v, "3.") {
			return nil, podium.Errorf(podium.EINVALID, "[Python] Executable %s: reported version %q, want a Python 3", p, v)
		}
		if slices.ContainsFunc(out, func(i Interpreter) bool { return i.Path == p }) {
			continue
		}
		out = append(out, Interpreter{Path: p, Version: v})
	}
	return out, nil
}

// Choose picks the interpreter for a bundle. The rule (docs/runtimes.md):
//
//   - requires (environment.python.requires, PEP 440 specifiers such as
//     ">=3.9, <3.13", "~=3.11" or "==3.11.*") set: the highest version
//     that satisfies every specifier;
//   - else version (python.version, e.g. "3.11.4") set: an interpreter of
//     the same major.minor, the exact version if offered, else the highest
//     patch of that major.minor;
//   - else the first configured interpreter.
//
// Returns EPRECONDITION naming what was asked, what the node offers and
// [Python] Executable when nothing matches or nothing is configured, and
// EINVALID for a malformed version or specifier.
func Choose(offered []Interpreter, version, requires string) (Interpreter, error) {
	if len(offered) == 0 {
		return Interpreter{}, podium.Errorf(podium.EPRECONDITION,
			"this node offers no Python interpreter: set [Python] Executable to the absolute path of one (for example /usr/bin/python3)")
	}
	type cand struct {
		i Interpreter
		v []int
	}
	var cands []cand
	for _, i := range offered {
		v, err := parseVersion(i.Version)
		if err == nil {
			cands = append(cands, cand{i, v})
		}
	}
	// Highest version first; the configured order breaks ties.
	slices.SortStableFunc(cands, func(a, b cand) int { return -compareVersions(a.v, b.v) })
	switch {
	case strings.TrimSpace(requires) != "":
		specs, err := parseSpecifiers(requires)
		if err != nil {
			return Interpreter{}, err
		}
		for _, c := range cands {
			if specs.match(c.v) {
				return c.i, nil
			}
		}
		return Interpreter{}, podium.Errorf(podium.EPRECONDITION,
			"environment.python.requires %q matches no Python on this node (offered: %s): add one with [Python] Executable", requires, versions(offered))
	case strings.TrimSpace(version) != "":
		want, err := parseVersion(strings.TrimSpace(version))
		if err != nil || len(want) < 2 {
			return Interpreter{}, podium.Errorf(podium.EINVALID, "python.version %q is not a version such as \"3.11.4\"", version)
		}
		for _, c := range cands {
			if compareVersions(c.v, want) == 0 {
				return c.i, nil
			}
		}
		for _, c := range cands {
			if len(c.v) >= 2 && c.v[0] == want[0] && c.v[1] == want[1] {
				return c.i, nil
			}
		}
		return Interpreter{}, podium.Errorf(podium.EPRECONDITION,
			"python.version %s: this node offers no Python %d.%d (offered: %s): add one with [Python] Executable", version, want[0], want[1], versions(offered))
	default:
		return offered[0], nil
	}
}

func versions(list []Interpreter) string {
	var s []string
	for _, i := range list {
		s = append(s, i.Version+" ("+i.Path+")")
	}
	return strings.Join(s, ", ")
}

// parseVersion reads "3", "3.11" or "3.11.4" (a pre-release or local
// suffix on the last part is ignored: "3.12.0rc1" is 3.12.0).
func parseVersion(s string) ([]int, error) {
	if s == "" {
		return nil, fmt.Errorf("empty version")
	}
	var out []int
	for part := range strings.SplitSeq(s, ".") {
		end := 0
		for end < len(part) && part[end] >= '0' && part[end] <= '9' {
			end++
		}
		if end == 0 {
			return nil, fmt.Errorf("version %q: %q is not a number", s, part)
		}
		n, err := strconv.Atoi(part[:end])
		if err != nil {
			return nil, fmt.Errorf("version %q: %w", s, err)
		}
		out = append(out, n)
		if end < len(part) {
			break
		}
	}
	return out, nil
}

// compareVersions compares release segments, missing ones counting as 0.
func compareVersions(a, b []int) int {
	for i := range max(len(a), len(b)) {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// specifier is one PEP 440 version clause.
type specifier struct {
	op       string
	v        []int
	wildcard bool // "==3.11.*" or "!=3.10.*"
}

type specifiers []specifier

// parseSpecifiers reads comma-separated PEP 440 clauses with the
// operators ==, !=, >=, <=, >, <, ~= and === (taken as ==).
func parseSpecifiers(s string) (specifiers, error) {
	var out specifiers
	for clause := range strings.SplitSeq(s, ",") {
		clause = strings.TrimSpace(clause)
		if clause == "" {
			continue
		}
		var sp specifier
		for _, op := range []string{"===", "~=", "==", "!=", ">=", "<=", ">", "<"} {
			if rest, ok := strings.CutPrefix(clause, op); ok {
				sp.op, clause = op, strings.TrimSpace(rest)
				break
			}
		}
		if sp.op == "" {
			return nil, podium.Errorf(podium.EINVALID, "environment.python.requires %q: %q has no operator (==, !=, >=, <=, >, <, ~=)", s, clause)
		}
		if sp.op == "===" {
			sp.op = "=="
		}
		if v, ok := strings.CutSuffix(clause, ".*"); ok && (sp.op == "==" || sp.op == "!=") {
			sp.wildcard, clause = true, v
		}
		v, err := parseVersion(clause)
		if err != nil || (sp.op == "~=" && len(v) < 2) {
			return nil, podium.Errorf(podium.EINVALID, "environment.python.requires %q: %q is not a version", s, clause)
		}
		sp.v = v
		out = append(out, sp)
	}
	if len(out) == 0 {
		return nil, podium.Errorf(podium.EINVALID, "environment.python.requires %q holds no specifier", s)
	}
	return out, nil
}

func (ss specifiers) match(v []int) bool {
	for _, s := range ss {
		if !s.match(v) {
			return false
		}
	}
	return true
}

func (s specifier) match(v []int) bool {
	prefixEq := func(n int) bool {
		for i := range n {
			var x int
			if i < len(v) {
				x = v[i]
			}
			if x != s.v[i] {
				return false
			}
		}
		return true
	}
	c := compareVersions(v, s.v)
	switch s.op {
	case "==":
		if s.wildcard {
			return prefixEq(len(s.v))
		}
		return c == 0
	case "!=":
		if s.wildcard {
			return !prefixEq(len(s.v))
		}
		return c != 0
	case ">=":
		return c >= 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case "<":
		return c < 0
	case "~=":
		// ~=3.11 means >=3.11, ==3.*; ~=3.11.2 means >=3.11.2, ==3.11.*.
		return c >= 0 && prefixEq(len(s.v)-1)
	}
	return false
}
