package apps

import "testing"

// TestWaitersTakeTurns: a release wakes the first waiting request only,
// in the order they queued; a request that leaves with a turn it did not
// use passes it on, so a freed connection is never lost while others
// wait.
func TestWaitersTakeTurns(t *testing.T) {
	pl := &pool{}
	a, b, c := make(chan struct{}, 1), make(chan struct{}, 1), make(chan struct{}, 1)
	pl.wait(a)
	pl.wait(b)
	pl.wait(c)
	pl.wait(a) // already queued: keeps its place
	woken := func() string {
		s := ""
		for name, ch := range map[string]chan struct{}{"a": a, "b": b, "c": c} {
			select {
			case <-ch:
				s += name
			default:
			}
		}
		return s
	}
	pl.wakeOne()
	if w := woken(); w != "a" {
		t.Fatalf("first release woke %q, want a", w)
	}
	pl.wakeOne()
	pl.leave(b) // b leaves (a timeout) holding its unused turn: c gets it
	if w := woken(); w != "c" {
		t.Fatalf("after b left with its turn, woken %q, want c", w)
	}
	if len(pl.waiters) != 0 {
		t.Fatalf("waiters left: %d", len(pl.waiters))
	}
	pl.wakeOne() // nobody waits: nothing happens
	if w := woken(); w != "" {
		t.Fatalf("woken %q with nobody waiting", w)
	}
	pl.wait(a)
	pl.wait(b)
	pl.leave(a) // a leaves without a turn: b stays first, and unwoken
	if w := woken(); w != "" || len(pl.waiters) != 1 || pl.waiters[0] != b {
		t.Fatalf("after a left: woken %q, waiters %d", w, len(pl.waiters))
	}
}
