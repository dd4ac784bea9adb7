package sandbox

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// ttyHelperEnv makes the test binary the node of TestTerminal (ttyHelper)
// instead of running tests.
const ttyHelperEnv = "PODIUM_SANDBOX_TTY_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(ttyHelperEnv) != "" {
		os.Exit(ttyHelper())
	}
	os.Exit(m.Run())
}

// ttyProbe is what content tries with the terminal of its node: open it
// (/dev/tty, the controlling terminal) and push a character into its input
// (TIOCSTI), which the operator's shell would read as typed. It prints
// "injected" or "refused: …".
const ttyProbe = `import fcntl, os, termios
try:
    fd = os.open("/dev/tty", os.O_RDWR)
except OSError as e:
    print("refused: open /dev/tty: " + e.strerror)
    raise SystemExit
try:
    fcntl.ioctl(fd, termios.TIOCSTI, b"#")
    print("injected")
except OSError as e:
    print("refused: TIOCSTI: " + e.strerror)
`

// ttyHelper is a node started by TestTerminal, with or without a
// controlling terminal: it runs ttyProbe in a sandbox and, for contrast,
// as a plain child, and prints what each got and whether bwrap was asked
// for a new session.
func ttyHelper() int {
	sb, err := New(Config{UIDFirst: 200000, UIDLast: 299999, Network: NetworkIsolated, TmpSize: 1 << 20})
	if err != nil {
		fmt.Println("helper:", err)
		return 1
	}
	defer sb.Close()
	cred := &syscall.Credential{Uid: 200001, Gid: 200001, Groups: []uint32{}}
	p, err := sb.Command(&Spec{Cred: cred}, "/usr/bin/python3", "-c", ttyProbe)
	if err != nil {
		fmt.Println("helper:", err)
		return 1
	}
	var out bytes.Buffer
	p.Cmd.Stdout, p.Cmd.Stderr, p.Cmd.Dir = &out, &out, "/"
	if err := p.Start(); err != nil {
		fmt.Println("helper:", err)
		return 1
	}
	_ = p.Wait()
	fmt.Printf("sandboxed: %s\n", strings.TrimSpace(out.String()))
	fmt.Printf("new-session: %t\n", slices.Contains(p.Cmd.Args, "--new-session"))
	plain := exec.Command("/usr/bin/python3", "-c", ttyProbe)
	plain.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	b, _ := plain.CombinedOutput()
	fmt.Printf("plain: %s\n", strings.TrimSpace(string(b)))
	return 0
}

// TestTerminal: content cannot reach its node's terminal. A node started
// from a shell has a controlling terminal, which its children share: a
// plain child can inject input into it (TIOCSTI), a sandboxed process
// cannot even open it (bwrap gives it a session of its own). A node
// without a terminal (a service) starts content in its own session: there
// is no terminal to reach, and no session (a scheduling group of the
// kernel's autogroup) apart from the node's.
func TestTerminal(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the sandbox runs as root: run this test as root (CI does)")
	}
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		t.Fatalf("the probe needs /usr/bin/python3: %v", err)
	}
	// run starts the helper as a session leader, with the slave of a new
	// pseudo-terminal as its controlling terminal when tty, and returns
	// its report.
	run := func(t *testing.T, tty bool) map[string]string {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), ttyHelperEnv+"=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if tty {
			master, slave := openPTY(t)
			go func() { _, _ = io.Copy(io.Discard, master) }() // the terminal's echo
			cmd.Stdin = slave
			cmd.SysProcAttr.Setctty = true
			cmd.SysProcAttr.Ctty = 0
		}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("helper: %v\n%s", err, out)
		}
		rep := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			k, v, _ := strings.Cut(l, ": ")
			rep[k] = v
		}
		t.Logf("terminal %t: %q", tty, rep)
		return rep
	}
	t.Run("NodeWithTerminal", func(t *testing.T) {
		rep := run(t, true)
		if rep["plain"] != "injected" {
			t.Errorf("a plain child of the node: %q, want injected (else this test proves nothing)", rep["plain"])
		}
		if !strings.HasPrefix(rep["sandboxed"], "refused: open /dev/tty") {
			t.Errorf("sandboxed: %q, want refused: open /dev/tty", rep["sandboxed"])
		}
		if rep["new-session"] != "true" {
			t.Errorf("bwrap without --new-session on a node with a terminal")
		}
	})
	t.Run("NodeWithoutTerminal", func(t *testing.T) {
		rep := run(t, false)
		if !strings.HasPrefix(rep["sandboxed"], "refused: open /dev/tty") || !strings.HasPrefix(rep["plain"], "refused: open /dev/tty") {
			t.Errorf("without a terminal: sandboxed %q, plain %q, want both refused: open /dev/tty", rep["sandboxed"], rep["plain"])
		}
		if rep["new-session"] != "false" {
			t.Errorf("bwrap with --new-session on a node without a terminal: the content gets a scheduling group apart from its node's")
		}
	})
}

// openPTY returns the master and slave of a new pseudo-terminal, closed
// when the test ends.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("a pseudo-terminal (/dev/ptmx): %v", err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetUint32(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("the pseudo-terminal's slave: %v", err)
	}
	t.Cleanup(func() { slave.Close() })
	return master, slave
}
