package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/podiumhq/podium/dbprovider/pgscratch"
)

// pinPostgres pins the PostgreSQL server behind admin (its postmaster and
// every process it has forked, all threads; backends forked later inherit
// the postmaster's mask) to CPU 0, and this process, whose children are the
// tools, to the other CPUs: a stand-in for a database on its own host. It
// returns the function that puts every mask back as it was. It needs
// taskset (util-linux) and the right to change the server's processes
// (root, or the server's user).
func pinPostgres(ctx context.Context, admin string) (func(), error) {
	if _, err := exec.LookPath("taskset"); err != nil {
		return nil, fmt.Errorf("taskset is not installed (util-linux)")
	}
	backend, err := pgscratch.BackendPID(ctx, admin)
	if err != nil {
		return nil, err
	}
	postmaster, err := parentPID(backend)
	if err != nil {
		return nil, err
	}
	pids := append([]int{postmaster}, childPIDs(postmaster)...)
	var restore []func()
	undo := func() {
		for i := len(restore) - 1; i >= 0; i-- {
			restore[i]()
		}
	}
	set := func(pid int, mask string) error {
		out, err := exec.Command("taskset", "-p", strconv.Itoa(pid)).Output()
		if err != nil {
			return fmt.Errorf("taskset -p %d: %w", pid, err)
		}
		f := strings.Fields(string(out))
		old := f[len(f)-1]
		if out, err := exec.Command("taskset", "-a", "-p", mask, strconv.Itoa(pid)).CombinedOutput(); err != nil {
			return fmt.Errorf("taskset -a -p %s %d: %w: %s", mask, pid, err, out)
		}
		restore = append(restore, func() { _ = exec.Command("taskset", "-a", "-p", old, strconv.Itoa(pid)).Run() })
		return nil
	}
	for _, pid := range pids {
		if err := set(pid, "0x1"); err != nil {
			if _, serr := os.Stat(fmt.Sprintf("/proc/%d", pid)); serr != nil {
				continue // a backend that ended meanwhile
			}
			undo()
			return nil, err
		}
	}
	if err := set(os.Getpid(), fmt.Sprintf("%#x", ^uint64(1)&allCPUs())); err != nil {
		undo()
		return nil, err
	}
	// Backends forked before the postmaster was pinned and still alive
	// were pinned above; ones forked later inherit its mask. Put every
	// backend alive at the end back too.
	return func() {
		undo()
		for _, pid := range childPIDs(postmaster) {
			_ = exec.Command("taskset", "-a", "-p", fmt.Sprintf("%#x", allCPUs()), strconv.Itoa(pid)).Run()
		}
	}, nil
}

func allCPUs() uint64 {
	n := min(nproc(), 64)
	if n == 64 {
		return ^uint64(0)
	}
	return 1<<n - 1
}

func nproc() int {
	out, err := exec.Command("nproc", "--all").Output()
	if err != nil {
		return 1
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return max(n, 1)
}

func parentPID(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("the PostgreSQL server is not on this machine (or not visible): %w", err)
	}
	// pid (comm) state ppid ...: comm may hold spaces, so cut at the last ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return strconv.Atoi(f[1])
}

func childPIDs(parent int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, err := parentPID(pid); err == nil && pp == parent {
			out = append(out, pid)
		}
	}
	return out
}
