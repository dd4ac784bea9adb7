package publish

import (
	"context"
	"sync"
	"time"

	"github.com/podiumhq/podium"
)

// TaskNotifyChannel is the PostgreSQL notification channel on which a node
// announces new output or the end of a task (payload: the task id), so a
// poll held on another node answers at once.
const TaskNotifyChannel = "podium_tasks"

// MaxTaskWait caps the wait of a task poll (GET /__api__/v1/tasks/{id}?wait=S):
// below the usual load-balancer and proxy timeouts (60 s).
const MaxTaskWait = 20 * time.Second

// taskWaiters wakes the polls held on this node when a task changes.
type taskWaiters struct {
	mu sync.Mutex
	m  map[string]map[chan struct{}]struct{}
}

// watch registers a waiter for task id; cancel removes it. Registering
// before reading the task means a change between the read and the wait is
// not missed.
func (w *taskWaiters) watch(id string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	if w.m == nil {
		w.m = map[string]map[chan struct{}]struct{}{}
	}
	if w.m[id] == nil {
		w.m[id] = map[chan struct{}]struct{}{}
	}
	w.m[id][ch] = struct{}{}
	w.mu.Unlock()
	return ch, func() {
		w.mu.Lock()
		delete(w.m[id], ch)
		if len(w.m[id]) == 0 {
			delete(w.m, id)
		}
		w.mu.Unlock()
	}
}

// HeldPolls returns how many polls of task id (TaskWait) wait on this
// node now: a test signal, so that a test wakes a poll it knows is held.
func (s *Service) HeldPolls(id string) int {
	s.waiters.mu.Lock()
	defer s.waiters.mu.Unlock()
	return len(s.waiters.m[id])
}

// wake signals the waiters of task id, or of every task when id is ""
// (after the listener reconnected and may have missed notifications).
func (w *taskWaiters) wake(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for tid, set := range w.m {
		if id != "" && tid != id {
			continue
		}
		for ch := range set {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

// taskChanged tells the polls waiting on task id, on this node and (on
// PostgreSQL) on the others, that it has new output or has finished.
func (s *Service) taskChanged(id string) {
	s.waiters.wake(id)
	if s.db.SupportsListenNotify() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.db.Notify(ctx, TaskNotifyChannel, id); err != nil {
			s.log.WithError(err).Debug("task notification not sent; remote polls answer at their deadline")
		}
	}
}

// listenTasks relays the task notifications of other nodes to the polls
// held here, until ctx ends.
func (s *Service) listenTasks(ctx context.Context) {
	if !s.db.SupportsListenNotify() {
		return
	}
	_ = s.db.Listen(ctx, TaskNotifyChannel, s.waiters.wake)
}

// TaskWait is TaskGet that, when the task has no output from line first on
// and has not finished, holds the request up to wait (capped at
// MaxTaskWait) until it has or does. It does not poll the database: it
// waits for a signal from the node running the task (in-process, or a
// PostgreSQL notification from another node), then reads once more. A
// signal lost while a listener reconnects costs at most the wait.
func (s *Service) TaskWait(ctx context.Context, u *podium.User, id string, first int, wait time.Duration) (*podium.Task, error) {
	wait = min(wait, MaxTaskWait)
	deadline := time.Now().Add(wait)
	for {
		ch, cancel := s.waiters.watch(id)
		t, err := s.TaskGet(ctx, u, id, first)
		remaining := time.Until(deadline)
		if err != nil || t.Finished || len(t.Output) > 0 || remaining <= 0 {
			cancel()
			return t, err
		}
		timer := time.NewTimer(remaining)
		select {
		case <-ch:
		case <-timer.C:
		case <-ctx.Done():
		}
		timer.Stop()
		cancel()
		if ctx.Err() != nil {
			return t, nil
		}
		if time.Now().After(deadline) {
			return s.TaskGet(ctx, u, id, first)
		}
	}
}
