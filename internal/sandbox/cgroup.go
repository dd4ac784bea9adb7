package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroupRoot is where the cgroup hierarchies are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// cgroups are this node's cgroups (v1): <controller>/podium/<node>/<name>
// for the memory, pids and cpu controllers (cpu only for content with a
// CPU share). cgroup v2 alone (a unified
// hierarchy with no v1 controllers) is not used: limits then fall back to
// rlimits.
type cgroups struct {
	node        string
	controllers []string // those whose podium/<node> directory podium could create
}

// openCgroups returns this node's cgroups, or nil when the host does not
// let podium create any.
func openCgroups(node string) *cgroups {
	cg := &cgroups{node: node}
	for _, c := range []string{"memory", "pids", "cpu"} {
		dir := filepath.Join(cgroupRoot, c, "podium", node)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			continue
		}
		cg.controllers = append(cg.controllers, c)
	}
	if len(cg.controllers) == 0 {
		return nil
	}
	return cg
}

func (cg *cgroups) dir(controller, name string) string {
	return filepath.Join(cgroupRoot, controller, "podium", cg.node, name)
}

// prepare creates (or updates) the cgroups of name with limits l and
// returns their cgroup.procs files.
func (cg *cgroups) prepare(name string, l Limits) (procs []string, err error) {
	if strings.ContainsAny(name, "/.") || name == "" {
		return nil, fmt.Errorf("bad cgroup name %q", name)
	}
	for _, c := range cg.controllers {
		if c == "cpu" && l.CPUShares <= 0 {
			// No CPU share set: the content stays in its node's
			// scheduling group. In a group of its own, apart from the
			// node that hands it each request, a cheap app lost up to
			// half its throughput on a busy host (bench-proxy, see
			// docs/security.md).
			continue
		}
		d := cg.dir(c, name)
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		switch c {
		case "memory":
			v := "-1"
			if l.Memory > 0 {
				v = strconv.FormatInt(l.Memory, 10)
			}
			if err := write(d, "memory.limit_in_bytes", v); err != nil {
				return nil, err
			}
			// With swap accounting, swap counts too (not an error
			// without it).
			_ = write(d, "memory.memsw.limit_in_bytes", v)
		case "pids":
			v := "max"
			if l.Processes > 0 {
				v = strconv.Itoa(l.Processes)
			}
			if err := write(d, "pids.max", v); err != nil {
				return nil, err
			}
		case "cpu":
			if err := write(d, "cpu.shares", strconv.Itoa(l.CPUShares)); err != nil {
				return nil, err
			}
		}
		procs = append(procs, filepath.Join(d, "cgroup.procs"))
	}
	return procs, nil
}

func write(dir, file, v string) error {
	if err := os.WriteFile(filepath.Join(dir, file), []byte(v), 0); err != nil {
		return fmt.Errorf("%s = %s: %w", file, v, err)
	}
	return nil
}

// oomKills returns the OOM kills the memory cgroup of name has counted
// (memory.oom_control's oom_kill).
func (cg *cgroups) oomKills(name string) (int64, bool) {
	return readCount(filepath.Join(cg.dir("memory", name), "memory.oom_control"), "oom_kill")
}

// pidsRefused returns the forks the pids cgroup of name has refused for
// reaching pids.max (pids.events' max).
func (cg *cgroups) pidsRefused(name string) (int64, bool) {
	return readCount(filepath.Join(cg.dir("pids", name), "pids.events"), "max")
}

// readCount returns the value of the line "key N" of file.
func readCount(file, key string) (int64, bool) {
	f, err := os.Open(file)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+" "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// Sweep kills every process left in this node's cgroups by an earlier run
// of the node (killed before it could stop them), and removes the empty
// cgroups. It returns how many processes it killed. Without cgroups it
// does nothing: processes then end with their node through
// PR_SET_PDEATHSIG alone.
func (s *Sandbox) Sweep() (int, error) {
	if s.cg == nil {
		return 0, nil
	}
	killed := 0
	var errs []error
	for _, c := range s.cg.controllers {
		base := filepath.Join(cgroupRoot, c, "podium", s.cg.node)
		ents, err := os.ReadDir(base)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range ents {
			if !e.IsDir() {
				continue
			}
			d := filepath.Join(base, e.Name())
			killed += killAll(d)
			_ = syscall.Rmdir(d) // fails while a process lingers; it is reused
		}
	}
	return killed, errors.Join(errs...)
}

// killAll sends SIGKILL to every process in the cgroup dir, until it is
// empty (or for at most 5 seconds), and returns how many it signalled.
func killAll(dir string) int {
	n := 0
	seen := map[int]bool{}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if err != nil {
			return n
		}
		pids := strings.Fields(string(b))
		if len(pids) == 0 {
			return n
		}
		for _, f := range pids {
			pid, err := strconv.Atoi(f)
			if err != nil || pid <= 1 {
				continue
			}
			if !seen[pid] {
				seen[pid] = true
				n++
			}
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return n
}

// Release removes this node's cgroups that are empty (every content
// process has ended), and the node's own cgroup directories when nothing
// is left in them: a stopped node leaves nothing under podium/.
func (s *Sandbox) Release() {
	if s.cg == nil {
		return
	}
	for _, c := range s.cg.controllers {
		base := filepath.Join(cgroupRoot, c, "podium", s.cg.node)
		ents, _ := os.ReadDir(base)
		for _, e := range ents {
			if e.IsDir() {
				_ = syscall.Rmdir(filepath.Join(base, e.Name()))
			}
		}
		_ = syscall.Rmdir(base)
	}
}
