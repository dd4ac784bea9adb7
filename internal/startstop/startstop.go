// Package startstop is the one start/stop base of Podium's background
// services (sweepers, pruners, probes, the heartbeat, the scheduler's
// loops), after river's rivershared/startstop: a service embeds [Base],
// whose [Base.StartInit] (or [Base.Go]) gives it a context that [Base.Stop]
// cancels, and whose Started and Stopped channels let a caller (a test)
// wait for the goroutine instead of sleeping.
//
// The methods match the node's service interface (server.Service): Start
// with the node's context, Stop with a context that bounds the wait.
//
// It imports only the standard library and must stay that way.
package startstop

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Service is what a service built on [Base] offers: Start and Stop as the
// node calls them, and the channels that say when its goroutine started
// and ended.
type Service interface {
	// Start starts the service's goroutine, which ends when ctx ends or
	// Stop is called. Starting a running service does nothing.
	Start(ctx context.Context) error
	// Stop cancels the goroutine and waits, within ctx, for it to end.
	// Stopping a service that is not running does nothing.
	Stop(ctx context.Context) error
	// Started is closed once the goroutine of the current run is running.
	Started() <-chan struct{}
	// Stopped is closed once the goroutine of the current run has ended.
	Stopped() <-chan struct{}
}

// Base is embedded by a service to make it a [Service]: the service
// writes Start with [Base.StartInit] or [Base.Go], and gets Stop, Started
// and Stopped from Base. The zero value is ready; a Base must not be
// copied after first use. A stopped service may be started again.
type Base struct {
	mu      sync.Mutex
	running bool // between StartInit and the end of the goroutine
	cancel  context.CancelFunc
	// The channels of the current run, of the last one (closed), or,
	// when fresh, of the next one (asked for before Start).
	started, stopped chan struct{}
	fresh            bool
}

// channels makes the channels of the next run if there are none; b.mu is
// held.
func (b *Base) channels() {
	if b.started == nil {
		b.started, b.stopped, b.fresh = make(chan struct{}), make(chan struct{}), true
	}
}

// StartInit prepares a run, to be called at the top of the service's
// Start. When the service is already running it returns shouldStart false
// and the service's Start returns at once. Otherwise it returns a context
// derived from ctx that Stop cancels, and the two functions the service's
// goroutine must call: started as it begins, stopped (deferred) as it ends.
func (b *Base) StartInit(ctx context.Context) (runCtx context.Context, shouldStart bool, started, stopped func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.running {
		return ctx, false, func() {}, func() {}
	}
	b.running = true
	if !b.fresh {
		b.started = nil // the last run's, closed
	}
	b.channels()
	b.fresh = false
	runCtx, cancel := context.WithCancel(ctx)
	b.cancel = cancel
	startedCh, stoppedCh := b.started, b.stopped
	var startOnce sync.Once
	started = func() { startOnce.Do(func() { close(startedCh) }) }
	stopped = func() {
		started() // a goroutine that ends before it said so has still run
		cancel()
		b.mu.Lock()
		b.running, b.cancel = false, nil
		close(stoppedCh)
		b.mu.Unlock()
	}
	return runCtx, true, started, stopped
}

// Go starts run in the service's goroutine, the common shape of a Start:
// run gets the context Stop cancels and should return when it ends. Go does
// nothing when the service is already running.
func (b *Base) Go(ctx context.Context, run func(ctx context.Context)) error {
	ctx, shouldStart, started, stopped := b.StartInit(ctx)
	if !shouldStart {
		return nil
	}
	go func() {
		started()
		defer stopped()
		run(ctx)
	}()
	return nil
}

// GoEvery starts the service's goroutine as [Base.Go] does, running fn
// every interval until Stop: first at once when atStart is true, else
// after one interval. It is the loop every periodic service (a sweeper, a
// pruner, a probe) would otherwise write out itself. A run of fn that
// outlasts the interval delays the next one; ticks are not queued.
func (b *Base) GoEvery(ctx context.Context, every time.Duration, atStart bool, fn func(ctx context.Context)) error {
	return b.Go(ctx, func(ctx context.Context) {
		t := time.NewTicker(every)
		defer t.Stop()
		if atStart {
			fn(ctx)
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fn(ctx)
			}
		}
	})
}

// Stop cancels the running goroutine's context and waits for it to end,
// or for ctx to end (then it returns ctx's error and the goroutine ends
// later). A service that is not running returns nil at once.
func (b *Base) Stop(ctx context.Context) error {
	b.mu.Lock()
	if !b.running {
		b.mu.Unlock()
		return nil
	}
	cancel, stopped := b.cancel, b.stopped
	b.mu.Unlock()
	cancel()
	select {
	case <-stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Started returns a channel closed once the current run's goroutine is
// running; before the first Start, the channel of the next run; between
// runs, the last run's (closed).
func (b *Base) Started() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.channels()
	return b.started
}

// Stopped returns a channel closed once the current run's goroutine has
// ended; before the first Start, the channel of the next run; between
// runs, the last run's (closed).
func (b *Base) Stopped() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.channels()
	return b.stopped
}

// Running reports whether a run has started and its goroutine not yet
// ended.
func (b *Base) Running() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.running
}

// StopAll stops every service at once (each goroutine is cancelled
// before any is waited for, as one shared cancel would) and waits for
// them all, within ctx. It returns their errors joined.
func StopAll(ctx context.Context, services ...Service) error {
	errs := make([]error, len(services))
	var wg sync.WaitGroup
	for i, s := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Stop(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// TB is the part of testing.TB that [StopForTest] uses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// StopForTest stops s and fails tb unless the service's goroutine has
// ended by the time Stop returns: the last check of every service's test.
func StopForTest(tb TB, ctx context.Context, s Service) {
	tb.Helper()
	if err := s.Stop(ctx); err != nil {
		tb.Fatalf("Stop: %v", err)
	}
	select {
	case <-s.Stopped():
	default:
		tb.Fatalf("Stop returned before the goroutine ended")
	}
}
