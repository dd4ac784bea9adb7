package migrate

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/migrate/migratetest"
)

// The fault tests run "podium migrate db" built with the test hooks
// (pause_testhooks.go): PODIUM_TEST_MIGRATE_PAUSE stops the first worker
// to reach a phase, which the test sees on stderr, so that a kill or a
// server restart lands in that phase and not merely near it.

// faultBulk rows are added to the small data set's audit_log, so that the
// copy lasts a moment and fills a small disk.
const faultBulk = 150000

func newFaultSetup(t *testing.T) *cmdSetup {
	t.Helper()
	s := newCmdSetup(t, migratetest.Small())
	s.bin = nodetest.BinaryWithTags(t, "podium_testhooks")
	sqliteExec(t, s.dbDir, fmt.Sprintf(`INSERT INTO audit_log (id, at, action, object, detail)
		WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < %d)
		SELECT 100000 + x, '2026-01-01 00:00:00.123456+00:00', 'bulk', printf('content:%%d', x), '{"n": ' || x || ', "pad": "' || hex(randomblob(40)) || '"}' FROM n`, faultBulk))
	return s
}

// pausedRun is the command started with a pause at a phase.
type pausedRun struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    strings.Builder
	paused chan struct{}
	done   chan struct{}
}

func (p *pausedRun) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// startPaused starts the command against url with a pause at phase (and
// release file, if not empty) and returns once it is paused there.
func (s *cmdSetup) startPaused(t *testing.T, url, phase, release string, args ...string) *pausedRun {
	t.Helper()
	pause := phase
	if release != "" {
		pause += ":" + release
	}
	cmd := exec.Command(s.bin, append([]string{"--config", s.config, "migrate", "db", "--log-level", "debug"}, args...)...)
	cmd.Env = append(os.Environ(), "PODIUM_POSTGRES_URL="+url, "PODIUM_TEST_MIGRATE_PAUSE="+pause)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &pausedRun{cmd: cmd, paused: make(chan struct{}), done: make(chan struct{})}
	cmd.Stdout = &lockedWriter{p: p}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.out.WriteString(line + "\n")
			p.mu.Unlock()
			if line == "migrate db: test pause at "+phase {
				once.Do(func() { close(p.paused) })
			}
		}
		_ = cmd.Wait()
		close(p.done)
	}()
	select {
	case <-p.paused:
	case <-p.done:
		t.Fatalf("the command ended before the %s phase:\n%s", phase, p.output())
	case <-time.After(testutil.Timeout(90 * time.Second)):
		t.Fatalf("the command did not reach the %s phase:\n%s", phase, p.output())
	}
	return p
}

type lockedWriter struct{ p *pausedRun }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.out.Write(b)
}

// waitExit waits for the command to end and returns its exit code (-1:
// killed by a signal).
func (p *pausedRun) waitExit(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(testutil.Timeout(90 * time.Second)):
		t.Fatalf("the command did not end:\n%s", p.output())
	}
	ws, _ := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return -1
	}
	return ws.ExitStatus()
}

// expectUntouched checks that the target shows nothing of the run to a
// node: no table in its schema.
func expectUntouched(t *testing.T, url, when string) {
	t.Helper()
	if tables := pgTables(t, url); len(tables) != 0 {
		t.Fatalf("%s: the target's schema has tables %v, want none", when, tables)
	}
}

// expectComplete reruns the command (no pause) and checks that it copies
// every row and leaves no staging schema.
func (s *cmdSetup) expectComplete(t *testing.T, url string) {
	t.Helper()
	stdout, stderr, code := nodetest.Run(t, s.bin, []string{"PODIUM_POSTGRES_URL=" + url},
		"--config", s.config, "migrate", "db", "--json")
	var res Result
	if code != 0 || json.Unmarshal([]byte(stdout), &res) != nil || res.Rows != int64(migratetest.Small().Total()+faultBulk) {
		t.Fatalf("rerun: exit %d rows %d\n%s\n%s", code, res.Rows, stdout, stderr)
	}
	for _, tr := range res.Tables {
		if !tr.Verified {
			t.Errorf("rerun: table %s not verified", tr.Name)
		}
	}
	var n int
	if err := pgConn(t, url).QueryRow(t.Context(), `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, stagingSchema).Scan(&n); err != nil || n != 0 {
		t.Errorf("rerun: the staging schema remains (%d, %v)", n, err)
	}
	if got := len(pgTables(t, url)); got != podiumTables(t, s.dbDir)+1 {
		t.Errorf("rerun: %d tables in the target, want the %d of the source and goose's", got, podiumTables(t, s.dbDir))
	}
}

// TestCommandSIGKILLInEachPhase kills the command in each phase of the
// run: the target's schema stays empty (the staged tables are in a schema
// no node looks at, and the switch is one transaction), and a rerun starts
// clean and completes.
func TestCommandSIGKILLInEachPhase(t *testing.T) {
	t.Parallel()
	s := newFaultSetup(t)
	for _, phase := range []string{PhaseCopy, PhaseIndex, PhaseVerify, PhaseKeys, PhaseSwitch} {
		t.Run(phase, func(t *testing.T) {
			url := pgtest.NewDatabase(t)
			p := s.startPaused(t, url, phase, "")
			if phase == PhaseSwitch {
				// The tables have moved, inside the switch's transaction.
				c := pgConn(t, url)
				var moving int
				if err := c.QueryRow(t.Context(), `SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
					WHERE a.application_name = 'podium/migrate-db' AND l.mode = 'AccessExclusiveLock' AND l.locktype = 'relation'`).Scan(&moving); err != nil || moving == 0 {
					t.Errorf("paused in the switch, but it holds no table locks (%d, %v)", moving, err)
				}
			}
			if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			if code := p.waitExit(t); code != -1 {
				t.Fatalf("the command was not killed in the %s phase (exit %d):\n%s", phase, code, p.output())
			}
			// PostgreSQL rolls back the dead connections' transactions.
			c := pgConn(t, url)
			testutil.WaitFor(t, testutil.Timeout(20*time.Second), "the killed command's connections to end", func() bool {
				var n int
				_ = c.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'podium/migrate-db'`).Scan(&n)
				return n == 0
			})
			expectUntouched(t, url, "after SIGKILL in the "+phase+" phase")
			s.expectComplete(t, url)
		})
	}
}

// TestCommandPostgresRestartMidCopy restarts PostgreSQL while COPY runs:
// the command fails saying the connection was lost and to run it again,
// the target is untouched, and the rerun completes.
func TestCommandPostgresRestartMidCopy(t *testing.T) {
	t.Parallel()
	s := newFaultSetup(t)
	cl := pgtest.StartCluster(t)
	url := cl.CreateDatabase(t, "target")
	release := filepath.Join(t.TempDir(), "release")
	p := s.startPaused(t, url, PhaseCopy, release)
	cl.Stop(t)
	cl.Start(t)
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code := p.waitExit(t)
	out := p.output()
	if code != 1 || !strings.Contains(out, "connection to PostgreSQL was lost") || !strings.Contains(out, "run this command again") ||
		!strings.Contains(out, "was left as it was") {
		t.Fatalf("exit %d, want 1 and a message saying the connection was lost, the target is untouched and to run again:\n%s", code, out)
	}
	expectUntouched(t, url, "after a restart mid-copy")
	s.expectComplete(t, url)
}

// TestCommandFullTargetDisk loads into a database whose tablespace is a
// small tmpfs: the server runs out of space mid-load, the command says so
// and what to do, the target is untouched and the space is given back.
func TestCommandFullTargetDisk(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Fatalf("this test mounts a small tmpfs for the target's tablespace and needs root (CI runs as root)")
	}
	s := newFaultSetup(t)
	dir := testutil.OpenTempDir(t, 0o755)
	mounted := false
	// Registered before the cluster starts, so it runs after the cluster
	// is removed (cleanups run last first).
	t.Cleanup(func() {
		if !mounted {
			return
		}
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	cl := pgtest.StartCluster(t)
	// The tablespace directory must belong to the server's user.
	var st syscall.Stat_t
	if err := syscall.Stat(fmt.Sprintf("/proc/%d", cl.PID()), &st); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o",
		fmt.Sprintf("size=24m,mode=0700,uid=%d,gid=%d", st.Uid, st.Gid), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs on %s: %v: %s", dir, err, out)
	}
	mounted = true
	admin := pgConn(t, cl.URL("postgres"))
	if _, err := admin.Exec(t.Context(), fmt.Sprintf(`CREATE TABLESPACE tiny LOCATION '%s'`, dir)); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(t.Context(), `CREATE DATABASE target TABLESPACE tiny`); err != nil {
		t.Fatal(err)
	}
	url := cl.URL("target")
	stdout, stderr, code := nodetest.Run(t, s.bin, []string{"PODIUM_POSTGRES_URL=" + url}, "--config", s.config, "migrate", "db", "--log-level", "debug")
	if code != 1 || !strings.Contains(stderr, "ran out of disk space") || !strings.Contains(stderr, "free space on the server") ||
		!strings.Contains(stderr, "was left as it was") {
		t.Fatalf("exit %d, want 1 and a message saying the disk is full, what to do and that the target is untouched:\n%s\n%s", code, stdout, stderr)
	}
	expectUntouched(t, url, "after a full disk")
	var n int
	if err := pgConn(t, url).QueryRow(t.Context(), `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, stagingSchema).Scan(&n); err != nil || n != 0 {
		t.Errorf("the staging schema remains after the failure (%d, %v): its space is not given back\n%s", n, err, stderr)
	}
}
