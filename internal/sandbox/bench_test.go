package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"
)

// BenchmarkStart measures what the sandbox adds to the start of a content
// process: /bin/true started as a plain child (with a credential, as
// podium did before) and in an app's sandbox (namespaces, network
// namespace, cgroups, uid, rlimits), from Start to exit, in alternating
// runs so that the shared machine's load hits both alike. It prints the
// medians and their difference (goal: under 50 ms). Needs root.
func BenchmarkStart(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Fatal("BenchmarkStart needs root (the sandbox switches uids)")
	}
	sb, err := New(Config{UIDFirst: 200000, UIDLast: 299999, Network: NetworkIsolated, TmpSize: 64 << 20, Node: "bench-start",
		Limits: Limits{Memory: 1 << 30, Processes: 1024, OpenFiles: 4096, CPUShares: 1024}})
	if err != nil {
		b.Fatal(err)
	}
	defer sb.Close()
	cred := &syscall.Credential{Uid: 200001, Gid: 200001, Groups: []uint32{}}
	plain := func() time.Duration {
		cmd := exec.Command("/bin/true")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
		t0 := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	boxed := func() time.Duration {
		p, err := sb.Command(&Spec{Name: "bench", Cred: cred, Net: true, ReadOnly: []string{"/tmp"}}, "/bin/true")
		if err != nil {
			b.Fatal(err)
		}
		p.Cmd.Dir = "/"
		t0 := time.Now()
		if err := p.Start(); err != nil {
			b.Fatal(err)
		}
		if err := p.Wait(); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	runs := 30
	var a, c []time.Duration
	for range runs {
		a = append(a, plain())
		c = append(c, boxed())
	}
	slices.Sort(a)
	slices.Sort(c)
	pa, pc := a[runs/2], c[runs/2]
	fmt.Printf("sandbox start (/bin/true, %d alternating runs): plain %s, sandboxed %s (p90 %s): +%s (goal < 50ms)\n",
		runs, pa.Round(100*time.Microsecond), pc.Round(100*time.Microsecond), c[runs*9/10].Round(100*time.Microsecond), (pc - pa).Round(100*time.Microsecond))
	b.ReportMetric(float64(pa.Microseconds())/1e3, "plain-ms")
	b.ReportMetric(float64(pc.Microseconds())/1e3, "sandboxed-ms")
	b.ReportMetric(float64((pc-pa).Microseconds())/1e3, "added-ms")
	_, _ = sb.Sweep()
}
