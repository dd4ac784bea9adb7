package usage_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/usage"
)

// discard is a Store that takes every batch and keeps nothing: the
// recorder's own cost, without a database.
type discard struct{}

func (discard) UsageVisitInsert(context.Context, []*podium.Visit) error        { return nil }
func (discard) UsageSessionInsert(context.Context, []*podium.AppSession) error { return nil }

// BenchmarkRecorderVisit measures what recording one visit costs the
// node: the request's call of Visit plus its share of the batch write
// (every BatchSize visits, as under load), on the default batch size.
// "memory" is the recorder alone; "sqlite" adds the embedded database's
// INSERT, which runs in the node's own process; "postgres" adds what the
// node does to send the batch (the INSERT itself is the database server's
// work, in another process, not counted). ns/op, cpu-ns/op (the CPU time of the whole
// test process, which on a loaded machine is steadier than ns/op) and
// allocs/op are per visit.
func BenchmarkRecorderVisit(b *testing.B) {
	for _, bc := range []struct {
		name  string
		store func(b *testing.B) usage.Store
	}{
		{"memory", func(*testing.B) usage.Store { return discard{} }},
		{"sqlite", func(b *testing.B) usage.Store { return openDB(b) }},
		{"postgres", func(b *testing.B) usage.Store { return openPostgres(b) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			store := bc.store(b)
			visitInBatches(b, usage.New(usage.Options{Store: store, NodeID: "node-1", FlushInterval: time.Hour}), 500)
		})
	}
}

// BenchmarkRecorderVisitBatches is BenchmarkRecorderVisit/sqlite with
// batches of other sizes than the default's 500: what a flush costs per
// visit when the interval, not a full batch, starts it (a quiet node, or
// the remainder after a burst), or when [Usage] BatchSize is set. Each
// run records b.N visits in batches of the sub-benchmark's size.
func BenchmarkRecorderVisitBatches(b *testing.B) {
	for _, size := range []int{1, 37, 137, 499, 500, 1000} {
		b.Run(fmt.Sprintf("sqlite/batch=%d", size), func(b *testing.B) {
			visitInBatches(b, usage.New(usage.Options{Store: openDB(b), NodeID: "node-1", BatchSize: size, FlushInterval: time.Hour}), size)
		})
	}
}

// visitInBatches records b.N visits through r, half of them a user's,
// flushing after every batch of size, and reports the CPU per visit.
func visitInBatches(b *testing.B, r *usage.Recorder, size int) {
	ctx := context.Background()
	user, bundle := int64(3), int64(9)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime(b)
	for i := range b.N {
		v := &podium.Visit{ContentID: 1, ContentGUID: "3f2b6c1e-8f0a-4c6e-9d2b-7a1e5c4d3b2a", BundleID: &bundle, Path: "/small"}
		if i%2 == 0 {
			v.UserID = &user
		}
		r.Visit(v)
		if (i+1)%size == 0 {
			if err := r.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := r.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkRecorderVisitStarted is BenchmarkRecorderVisit as a node
// runs it: the recorder's own loop writes the batches (woken by a full
// batch) while requests on every CPU record visits, and Stop writes what
// is left. ns/op, cpu-ns/op and allocs/op are per visit, all included.
func BenchmarkRecorderVisitStarted(b *testing.B) {
	for _, bc := range []struct {
		name  string
		store func(b *testing.B) usage.Store
	}{
		{"sqlite", func(b *testing.B) usage.Store { return openDB(b) }},
		{"postgres", func(b *testing.B) usage.Store { return openPostgres(b) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			store := bc.store(b)
			// MaxPending above b.N: no visit is dropped, however far the
			// writes fall behind.
			r := usage.New(usage.Options{Store: store, NodeID: "node-1", FlushInterval: time.Hour, MaxPending: b.N + 1})
			if err := r.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			user, bundle := int64(3), int64(9)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime(b)
			b.RunParallel(func(pb *testing.PB) {
				for i := 0; pb.Next(); i++ {
					v := &podium.Visit{ContentID: 1, ContentGUID: "3f2b6c1e-8f0a-4c6e-9d2b-7a1e5c4d3b2a", BundleID: &bundle, Path: "/small"}
					if i%2 == 0 {
						v.UserID = &user
					}
					r.Visit(v)
				}
			})
			if err := r.Stop(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
