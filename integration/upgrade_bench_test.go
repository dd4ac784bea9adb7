package integration

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/nodetest"
	"github.com/podiumhq/podium/schema"
)

// BenchmarkSchemaWatcher measures, over PODIUM_BENCH_TRIALS trials (default
// 20) per mode, how long a node of version N takes to notice an N+1
// migration applied by "podium migrate schema finalize --retire-old" with
// the N+1 binary (the floor raised past it), and to exit: detection latency (commit to detection) and commit to exit. The
// commit time is when the benchmark's own LISTEN connection receives the
// schema notification. Modes: "listen" (the default: notification plus
// polling) and "polling" (PODIUM_SCHEMA_LISTEN=off), both with the default
// SchemaCheckInterval of 5s (in polling mode the migrations are spread
// evenly over the poll period, so the median is the typical case and the
// max the worst). Run it with "make bench-watcher"; each trial
// uses a fresh database and a fresh node.
func BenchmarkSchemaWatcher(b *testing.B) {
	trials := 20
	if s := os.Getenv("PODIUM_BENCH_TRIALS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("PODIUM_BENCH_TRIALS=%q: want a positive integer", s)
		}
		trials = n
	}
	binN := nodetest.Binary(b)
	binN1 := nodetest.BinaryWithTags(b, tagNPlus1)
	for _, mode := range []struct {
		name string
		env  []string
	}{
		{"listen", nil},
		{"polling", []string{schema.ListenEnv + "=off"}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			for range b.N {
				var detect, exit []time.Duration
				for i := range trials {
					// Polling detects at the next tick: spread the
					// migration evenly over the 5s poll period, or every
					// trial would land at the same phase (just after the
					// node's first check, the worst case).
					var phase time.Duration
					if mode.env != nil {
						phase = 5 * time.Second * time.Duration(i) / time.Duration(trials)
					}
					d, e := watcherTrial(b, binN, binN1, mode.env, i, phase)
					detect = append(detect, d)
					exit = append(exit, e)
				}
				md, mx := median(detect), maxDuration(detect)
				me, mxe := median(exit), maxDuration(exit)
				fmt.Printf("bench-watcher %-7s trials=%d interval=5s  detection: median %s max %s   commit->exit: median %s max %s\n",
					mode.name, trials, md.Round(time.Millisecond), mx.Round(time.Millisecond), me.Round(time.Millisecond), mxe.Round(time.Millisecond))
				b.ReportMetric(float64(md)/float64(time.Millisecond), "detect-median-ms")
				b.ReportMetric(float64(mx)/float64(time.Millisecond), "detect-max-ms")
				b.ReportMetric(float64(me)/float64(time.Millisecond), "exit-median-ms")
				b.ReportMetric(float64(mxe)/float64(time.Millisecond), "exit-max-ms")
			}
		})
	}
}

// watcherTrial runs one trial and returns commit->detection and
// commit->exit.
func watcherTrial(b *testing.B, binN, binN1 string, env []string, i int, phase time.Duration) (detect, exit time.Duration) {
	b.Helper()
	url := pgtest.NewDatabase(b)
	node := nodetest.StartNode(b, nodetest.Options{Binary: binN, Name: fmt.Sprintf("trial%d", i), Postgres: url, Env: env,
		Config: "[Database]\nSchemaCheckInterval = 5s\n"})
	commits := listenCommit(b, url)
	ex := watchExit(node)
	conf := nodetest.WriteConfig(b, &nodetest.Options{Postgres: url})
	time.Sleep(phase)
	// The N+1 migration is contract: with the N node live it is applied by
	// finalize --retire-old, which first raises the floor (the commit the
	// node must notice).
	if _, stderr, code := nodetest.Run(b, binN1, nil, "--config", conf, "migrate", "schema", "finalize", "--retire-old"); code != 0 {
		b.Fatalf("migrate schema finalize --retire-old: exit %d\n%s", code, stderr)
	}
	commitAt := waitPayload(b, commits, floorPayload, 30*time.Second)
	select {
	case <-ex.done:
	case <-time.After(maxDetectionToExit + 10*time.Second):
		b.Fatalf("trial %d: node still running\n%s", i, node.Log())
	}
	if code, _ := node.Exited(); code != 3 {
		b.Fatalf("trial %d: exit %d, want 3\n%s", i, code, node.Log())
	}
	exit = ex.at.Sub(commitAt)
	sd, ok := sinceDetection(node.Log())
	if !ok {
		b.Fatalf("trial %d: no since_detection_ms in the log\n%s", i, node.Log())
	}
	return max(exit-sd, 0), exit
}
