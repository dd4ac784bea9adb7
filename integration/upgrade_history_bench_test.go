package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/migrate/migratetest"
	"github.com/podiumhq/podium/schema"
)

// BenchmarkSchemaUpgrade measures the schema upgrade of a SQLite database
// of the release of 2026-11-26 (schema 30) holding PODIUM_BENCH_ROWS
// history rows (default 1,000,000: jobs, attempts, renders and task output
// in the proportions, about 2% of the attempt logs with NUL or invalid
// UTF-8), by "podium migrate schema up" of the current binary: its time
// and the peak growth of the database's files (db, -wal, -shm, sampled
// every 10 ms), per million history rows. The peer, in the same run, on a
// copy of the same file (its own data cleaned first, or it could not run):
// goose applying the same SQL migrations the way releases before this one
// did, each in one transaction, without row checks. Goal: under 15 s per
// million rows. Beside the wall clock it prints each side's CPU time (the
// child's rusage; the peer runs in this process) and the load average, since
// the machine it runs on is shared, and the time of each step of the
// upgrade (from its log). Run it with "make bench-upgrade".
func BenchmarkSchemaUpgrade(b *testing.B) {
	rows := 1_000_000
	if s := os.Getenv("PODIUM_BENCH_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1000 {
			b.Fatalf("PODIUM_BENCH_ROWS=%q: want an integer of at least 1000", s)
		}
		rows = n
	}
	bin := nodetest.Binary(b)
	for range b.N {
		// 3.25 history rows per job: the job, its attempt, its render, a
		// quarter of a task output line.
		jobs := int(float64(rows) / 3.25)
		src := b.TempDir()
		history := schema30WithHistory(b, src, jobs)
		size := dirSize(b, filepath.Join(src, "db"))

		ours := filepath.Join(b.TempDir(), "data")
		peer := filepath.Join(b.TempDir(), "data")
		copyDB(b, filepath.Join(src, "db"), filepath.Join(ours, "db"))
		copyDB(b, filepath.Join(src, "db"), filepath.Join(peer, "db"))

		conf := nodetest.WriteConfig(b, &nodetest.Options{DataDir: ours})
		var took, cpu time.Duration
		var steps []string
		growth := peakGrowth(b, filepath.Join(ours, "db"), func() {
			// Not nodetest.Run: its bound of a minute is too short here.
			cmd := exec.Command(bin, "--config", conf, "--log-format", "json", "migrate", "schema", "up")
			t0 := time.Now()
			out, err := cmd.CombinedOutput()
			if err != nil {
				b.Fatalf("migrate schema up: %v\n%s", err, out)
			}
			took = time.Since(t0)
			cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			steps = upgradeSteps(out)
		})

		p, err := sqlite.Open(context.Background(), sqlite.Options{Dir: filepath.Join(peer, "db"), Exclusive: true, Purpose: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := schema.RepairOwnData(context.Background(), p, false, nil); err != nil {
			b.Fatal(err)
		}
		var peerTook, peerCPU time.Duration
		peerGrowth := peakGrowth(b, filepath.Join(peer, "db"), func() {
			gp, err := schema.NewGoose(p, schema.Options{})
			if err != nil {
				b.Fatal(err)
			}
			t0, c0 := time.Now(), selfCPU(b)
			if _, err := gp.Up(context.Background()); err != nil {
				b.Fatal(err)
			}
			peerTook, peerCPU = time.Since(t0), selfCPU(b)-c0
			_ = gp.Close()
		})
		_ = p.Close()

		perM := func(d time.Duration) float64 { return d.Seconds() / (float64(history) / 1e6) }
		mbPerM := func(n int64) float64 { return float64(n) / (1 << 20) / (float64(history) / 1e6) }
		fmt.Printf("bench-upgrade history rows=%d (file %.0f MB) schema 30 -> %d\n", history, float64(size)/(1<<20), schema.Latest())
		fmt.Printf("bench-upgrade load average %s\n", loadAverage())
		fmt.Printf("bench-upgrade podium migrate schema up: %6.2f s (%5.2f s per million rows, goal < 15), CPU %6.2f s (%5.2f s per million rows)  peak disk growth %6.1f MB (%5.1f MB per million rows)\n",
			took.Seconds(), perM(took), cpu.Seconds(), perM(cpu), float64(growth)/(1<<20), mbPerM(growth))
		for _, s := range steps {
			fmt.Printf("bench-upgrade   step %s\n", s)
		}
		fmt.Printf("bench-upgrade goose, one transaction per migration, no row checks (peer): %6.2f s (%5.2f s per million rows), CPU %6.2f s (%5.2f s per million rows)  peak disk growth %6.1f MB (%5.1f MB per million rows)\n",
			peerTook.Seconds(), perM(peerTook), peerCPU.Seconds(), perM(peerCPU), float64(peerGrowth)/(1<<20), mbPerM(peerGrowth))
		fmt.Printf("bench-upgrade ratio podium/peer: time %.2f, CPU %.2f, peak disk growth %.2f\n", took.Seconds()/peerTook.Seconds(),
			cpu.Seconds()/peerCPU.Seconds(), float64(growth)/float64(max(peerGrowth, 1)))
		b.ReportMetric(perM(took), "s/Mrows")
		b.ReportMetric(mbPerM(growth), "MB/Mrows")
		b.ReportMetric(perM(cpu), "cpu-s/Mrows")
	}
}

// loadAverage is the first three fields of /proc/loadavg ("?" elsewhere).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

// upgradeSteps picks, from the JSON log of "podium migrate schema up",
// each line that carries a duration (the row checks, the cleaning, each
// migration): the time per step.
func upgradeSteps(out []byte) []string {
	var steps []string
	for _, line := range strings.Split(string(out), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) != nil {
			continue
		}
		d, ok := e["duration"]
		if !ok || e["msg"] == "schema migrated" { // a sum of the lines before
			continue
		}
		name := fmt.Sprint(e["msg"])
		if m, ok := e["migration"]; ok {
			name = fmt.Sprint(m)
		}
		steps = append(steps, fmt.Sprintf("%-40s %v", name, d))
	}
	return steps
}

// schema30WithHistory writes, in dataDir/db, a database at schema 30 with
// the small fixture and jobs finished jobs of history (growHistory), and
// returns the number of history rows (jobs, attempts, renders, task
// output).
func schema30WithHistory(tb testing.TB, dataDir string, jobs int) int64 {
	tb.Helper()
	ctx := context.Background()
	p, err := sqlite.Open(ctx, sqlite.Options{Dir: filepath.Join(dataDir, "db"), Exclusive: true, Purpose: "bench"})
	if err != nil {
		tb.Fatal(err)
	}
	gp, err := schema.NewGoose(p, schema.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := gp.UpTo(ctx, 30); err != nil {
		tb.Fatal(err)
	}
	if err := migratetest.Fill(ctx, p.DB(), migratetest.Small(), 1); err != nil {
		tb.Fatal(err)
	}
	_ = p.Close()
	raw := rawSQLite(tb, dataDir)
	var bundleID int64
	var taskID string
	if err := raw.QueryRow(`SELECT id FROM bundles WHERE content_id = 1 LIMIT 1`).Scan(&bundleID); err != nil {
		tb.Fatal(err)
	}
	if err := raw.QueryRow(`SELECT id FROM tasks LIMIT 1`).Scan(&taskID); err != nil {
		tb.Fatal(err)
	}
	growHistory(tb, raw, 1, bundleID, taskID, jobs)
	c := tableCounts(tb, raw)
	if _, err := raw.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		tb.Fatal(err)
	}
	_ = raw.Close()
	return c["jobs"] + c["job_attempts"] + c["renders"] + c["task_output"]
}

func copyDB(tb testing.TB, from, to string) {
	tb.Helper()
	if err := os.MkdirAll(to, 0o750); err != nil {
		tb.Fatal(err)
	}
	for _, name := range []string{sqlite.FileName, sqlite.FileName + "-wal"} {
		src, err := os.Open(filepath.Join(from, name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			tb.Fatal(err)
		}
		dst, err := os.Create(filepath.Join(to, name))
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := io.Copy(dst, src); err != nil {
			tb.Fatal(err)
		}
		src.Close()
		if err := dst.Close(); err != nil {
			tb.Fatal(err)
		}
	}
}

// dirSize is the size of the database's files in dir.
func dirSize(tb testing.TB, dir string) int64 {
	tb.Helper()
	var n int64
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if fi, err := os.Stat(filepath.Join(dir, sqlite.FileName+suffix)); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// peakGrowth runs fn while sampling the size of the database's files in
// dir every 10 ms, and returns the largest growth over the size before.
func peakGrowth(tb testing.TB, dir string, fn func()) int64 {
	tb.Helper()
	start := dirSize(tb, dir)
	var peak atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			if g := dirSize(tb, dir) - start; g > peak.Load() {
				peak.Store(g)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	if g := dirSize(tb, dir) - start; g > peak.Load() {
		peak.Store(g)
	}
	return peak.Load()
}
