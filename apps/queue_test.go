package apps

import "testing"

// TestWaitersTakeTurns: a release wakes the first waiting request only,
// in the order they queued; a turn given is counted until taken up (the
// room is that request's); a request that leaves with a turn it did not
// use passes it on, so a freed connection is never lost while others
// wait; a request whose turn found no room goes back to the front.
func TestWaitersTakeTurns(t *testing.T) {
	pl := &pool{}
	a, b, c := make(chan struct{}, 1), make(chan struct{}, 1), make(chan struct{}, 1)
	pl.wait(a, false)
	pl.wait(b, false)
	pl.wait(c, false)
	pl.wait(a, true) // already queued: keeps its place
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
	if pl.granted != 1 {
		t.Fatalf("a turn given: granted %d, want 1", pl.granted)
	}
	if w := woken(); w != "a" {
		t.Fatalf("first release woke %q, want a", w)
	}
	pl.granted-- // a takes its turn up (acquire does this under the lock)
	pl.wakeOne()
	pl.leave(b) // b leaves (a timeout) holding its unused turn: c gets it
	if pl.granted != 1 {
		t.Fatalf("b's unused turn passed to c: granted %d, want 1", pl.granted)
	}
	if w := woken(); w != "c" {
		t.Fatalf("after b left with its turn, woken %q, want c", w)
	}
	pl.granted--
	if len(pl.waiters) != 0 {
		t.Fatalf("waiters left: %d", len(pl.waiters))
	}
	pl.wakeOne() // nobody waits: nothing happens
	if w := woken(); w != "" {
		t.Fatalf("woken %q with nobody waiting", w)
	}
	pl.wait(a, false)
	pl.wait(b, false)
	pl.leave(a) // a leaves without a turn: b stays first, and unwoken
	if w := woken(); w != "" || len(pl.waiters) != 1 || pl.waiters[0] != b || pl.granted != 0 {
		t.Fatalf("after a left: woken %q, waiters %d, granted %d", w, len(pl.waiters), pl.granted)
	}
	pl.wait(c, true) // c's turn found no room: it goes before b
	if len(pl.waiters) != 2 || pl.waiters[0] != c || pl.waiters[1] != b {
		t.Fatal("a request whose turn found no room is not first again")
	}
}
