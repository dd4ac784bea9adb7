package startstop_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/startstop"
	"github.com/podiumhq/podium/internal/testsignal"
	"github.com/podiumhq/podium/internal/testutil"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// loop is a service on the base: it counts its runs and ends when its
// context ends, after release is closed (if set).
type loop struct {
	startstop.Base
	runs    atomic.Int32
	release chan struct{}
	// cancelled: the run saw its context end; ended: the run returns,
	// with its context's error.
	cancelled testsignal.Signal[struct{}]
	ended     testsignal.Signal[error]
}

var _ startstop.Service = (*loop)(nil)

func (l *loop) Start(ctx context.Context) error {
	return l.Go(ctx, func(ctx context.Context) {
		l.runs.Add(1)
		<-ctx.Done()
		l.cancelled.Signal(struct{}{})
		if l.release != nil {
			<-l.release
		}
		l.ended.Signal(ctx.Err())
	})
}

func setup(t *testing.T) *loop {
	l := &loop{}
	l.ended.Init()
	l.cancelled.Init()
	t.Cleanup(func() { _ = l.Stop(context.Background()) })
	return l
}

// wait fails the test unless ch is closed within the (scaled) timeout.
func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(testutil.Timeout(5 * time.Second)):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestStartStop(t *testing.T) {
	t.Parallel()
	l := setup(t)
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	wait(t, l.Started(), "started")
	if !l.Running() {
		t.Fatal("Running() = false after Started")
	}
	if err := l.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !closed(l.Stopped()) {
		t.Fatal("Stop returned before Stopped was closed")
	}
	if got := l.ended.WaitOrTimeout(t); !errors.Is(got, context.Canceled) {
		t.Fatalf("run ended with %v, want context.Canceled", got)
	}
	if l.Running() {
		t.Fatal("Running() = true after Stop")
	}
}

func TestStartTwice(t *testing.T) {
	t.Parallel()
	l := setup(t)
	for range 3 {
		if err := l.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	wait(t, l.Started(), "started")
	if err := l.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := l.runs.Load(); n != 1 {
		t.Fatalf("three Starts ran the goroutine %d times, want 1", n)
	}
}

func TestStopBeforeStart(t *testing.T) {
	t.Parallel()
	l := setup(t)
	if err := l.Stop(context.Background()); err != nil {
		t.Fatalf("Stop before Start: %v", err)
	}
	if closed(l.Started()) || closed(l.Stopped()) {
		t.Fatal("channels closed before any Start")
	}
	// The channels asked for before Start are the run's.
	started, stopped := l.Started(), l.Stopped()
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	wait(t, started, "the started channel taken before Start")
	if err := l.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	wait(t, stopped, "the stopped channel taken before Start")
}

func TestStopWaitsForTheGoroutine(t *testing.T) {
	t.Parallel()
	l := setup(t)
	l.release = make(chan struct{})
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	wait(t, l.Started(), "started")
	stopErr := make(chan error, 1)
	go func() { stopErr <- l.Stop(context.Background()) }()
	// The run's context is cancelled, but the goroutine still holds on:
	// Stop must not return.
	l.cancelled.WaitOrTimeout(t)
	select {
	case err := <-stopErr:
		t.Fatalf("Stop returned (%v) while the goroutine was running", err)
	default:
	}
	l.ended.RequireEmpty(t)
	if closed(l.Stopped()) {
		t.Fatal("Stopped closed while the goroutine was held")
	}
	close(l.release)
	if err := <-stopErr; err != nil {
		t.Fatal(err)
	}
	if got := l.ended.WaitOrTimeout(t); !errors.Is(got, context.Canceled) {
		t.Fatalf("run ended with %v, want context.Canceled", got)
	}
}

func TestStopTimeout(t *testing.T) {
	t.Parallel()
	l := setup(t)
	l.release = make(chan struct{})
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	wait(t, l.Started(), "started")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Stop(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Stop with an ended context = %v, want context.Canceled", err)
	}
	if closed(l.Stopped()) {
		t.Fatal("Stopped closed while the goroutine was held")
	}
	close(l.release)
	wait(t, l.Stopped(), "stopped after release")
}

func TestContextCancel(t *testing.T) {
	t.Parallel()
	l := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	wait(t, l.Started(), "started")
	cancel()
	wait(t, l.Stopped(), "stopped after the start context ended")
	if got := l.ended.WaitOrTimeout(t); !errors.Is(got, context.Canceled) {
		t.Fatalf("run ended with %v, want context.Canceled", got)
	}
	if l.Running() {
		t.Fatal("Running() = true after the goroutine ended")
	}
	if err := l.Stop(context.Background()); err != nil {
		t.Fatalf("Stop after the goroutine ended: %v", err)
	}
}

func TestRestart(t *testing.T) {
	t.Parallel()
	l := setup(t)
	var last <-chan struct{}
	for i := range 3 {
		if err := l.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		wait(t, l.Started(), "started")
		stopped := l.Stopped()
		if stopped == last {
			t.Fatalf("run %d has the last run's stopped channel", i)
		}
		if err := l.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		wait(t, stopped, "stopped")
		if !closed(l.Stopped()) {
			t.Fatalf("after run %d, Stopped() is not the closed channel of the run", i)
		}
		last = stopped
	}
	if n := l.runs.Load(); n != 3 {
		t.Fatalf("runs = %d, want 3", n)
	}
}

// TestConcurrentStartStop runs Start and Stop from many goroutines (with
// -race): whatever the order, the service ends up stopped with no leak.
func TestConcurrentStartStop(t *testing.T) {
	t.Parallel()
	l := setup(t)
	done := make(chan struct{})
	for i := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 50 {
				if i%2 == 0 {
					_ = l.Start(context.Background())
				} else {
					_ = l.Stop(context.Background())
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
	if err := l.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if l.Running() {
		t.Fatal("Running() = true after the last Stop")
	}
}

// TestStartedBeforeRun checks that a goroutine that ends without calling
// started still closes Started (a Stop waiter must not hang on it).
func TestStartedBeforeRun(t *testing.T) {
	t.Parallel()
	var b startstop.Base
	_, ok, _, stopped := b.StartInit(context.Background())
	if !ok {
		t.Fatal("StartInit on a new base: shouldStart = false")
	}
	if _, again, _, _ := b.StartInit(context.Background()); again {
		t.Fatal("StartInit on a running base: shouldStart = true")
	}
	stopped()
	if !closed(b.Started()) || !closed(b.Stopped()) {
		t.Fatal("stopped() left Started or Stopped open")
	}
}

// TestStopAll: every service's goroutine is cancelled before StopAll waits
// for any: two services that each hold until the other's context ends
// both stop.
func TestStopAll(t *testing.T) {
	t.Parallel()
	a, b := setup(t), setup(t)
	a.release, b.release = make(chan struct{}), make(chan struct{})
	for _, l := range []*loop{a, b} {
		if err := l.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		wait(t, l.Started(), "started")
	}
	var both atomic.Bool
	go func() {
		// Both are released once both saw their context end, or after
		// the timeout (StopAll then waited for one before cancelling the
		// other, which the test reports).
		timeout := time.After(testutil.Timeout(5 * time.Second))
		select {
		case <-a.cancelled:
			select {
			case <-b.cancelled:
				both.Store(true)
			case <-timeout:
			}
		case <-timeout:
		}
		close(a.release)
		close(b.release)
	}()
	if err := startstop.StopAll(context.Background(), a, b); err != nil {
		t.Fatal(err)
	}
	if !both.Load() {
		t.Fatal("StopAll did not cancel both services before waiting")
	}
	if !closed(a.Stopped()) || !closed(b.Stopped()) {
		t.Fatal("StopAll returned before both goroutines ended")
	}
	if err := startstop.StopAll(context.Background(), a, b); err != nil {
		t.Fatalf("StopAll of stopped services: %v", err)
	}
}

// periodic is a service whose Start is GoEvery: it signals each run.
type periodic struct {
	startstop.Base
	every   time.Duration
	atStart bool
	ran     testsignal.Signal[struct{}]
}

func (p *periodic) Start(ctx context.Context) error {
	return p.GoEvery(ctx, p.every, p.atStart, func(context.Context) { p.ran.Signal(struct{}{}) })
}

// TestGoEveryAtStart: with atStart the first run comes at once, not after
// the interval (an hour here, which the test would never see pass).
func TestGoEveryAtStart(t *testing.T) {
	p := &periodic{every: time.Hour, atStart: true}
	p.ran.Init()
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.ran.WaitOrTimeout(t)
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.ran.RequireEmpty(t)
}

// TestGoEveryRepeats: without atStart the runs come one per interval,
// again and again, and Stop returns once the goroutine has ended.
func TestGoEveryRepeats(t *testing.T) {
	p := &periodic{every: time.Millisecond}
	p.ran.Init()
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		p.ran.WaitOrTimeout(t)
	}
	startstop.StopForTest(t, context.Background(), p)
}

// TestGoEveryNoRunBeforeInterval: without atStart nothing runs before the
// first interval has passed.
func TestGoEveryNoRunBeforeInterval(t *testing.T) {
	p := &periodic{every: time.Hour}
	p.ran.Init()
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-p.Started()
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.ran.RequireEmpty(t)
}

// recordTB records StopForTest's failures instead of failing the test.
type recordTB struct{ failed []string }

func (r *recordTB) Helper() {}
func (r *recordTB) Fatalf(format string, args ...any) {
	r.failed = append(r.failed, fmt.Sprintf(format, args...))
}

// stuck is a Service whose Stop returns err and whose goroutine never
// ends.
type stuck struct{ err error }

func (s stuck) Start(context.Context) error { return nil }
func (s stuck) Stop(context.Context) error  { return s.err }
func (s stuck) Started() <-chan struct{}    { return nil }
func (s stuck) Stopped() <-chan struct{}    { return make(chan struct{}) }

// TestStopForTestFails: StopForTest fails the test when Stop fails and
// when Stop returns before the goroutine has ended.
func TestStopForTestFails(t *testing.T) {
	for _, s := range []stuck{{err: errors.New("refused")}, {}} {
		var tb recordTB
		startstop.StopForTest(&tb, context.Background(), s)
		if len(tb.failed) == 0 {
			t.Errorf("StopForTest(%+v) did not fail", s)
		}
	}
}
