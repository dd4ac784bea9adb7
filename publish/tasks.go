package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/startstop"
	"github.com/podiumhq/podium/internal/testsignal"
)

// Output batching: lines are written at most every flushInterval, or
// sooner when maxBatch are waiting.
const (
	flushInterval = 200 * time.Millisecond
	maxBatch      = 200
	maxLineLen    = 16 << 10
)

// TaskLog collects the output lines of a task and writes them to the
// database in small batches. Safe for concurrent use.
type TaskLog struct {
	db   dbprovider.Provider
	id   string
	mu   sync.Mutex
	buf  []string
	next int
	kick chan struct{}
	err  error
	// changed, when set, is called after lines are written, to wake the
	// polls waiting for them (taskwait.go).
	changed func()
	// flusher is the loop that writes the lines, a service on the base:
	// newTaskLog starts it, close stops it.
	flusher startstop.Base
	// flushed, when made (tests), carries the number of lines of each
	// batch written.
	flushed testsignal.Signal[int]
}

func newTaskLog(db dbprovider.Provider, id string, changed func(), flushed testsignal.Signal[int]) *TaskLog {
	l := &TaskLog{db: db, id: id, kick: make(chan struct{}, 1), changed: changed, flushed: flushed}
	// The loop outlives the node's context: output is written even while
	// the node shuts down; close ends it.
	_ = l.flusher.Go(context.Background(), l.loop)
	return l
}

// Line adds one line of output (cleaned as [podium.CleanText] cleans it:
// PostgreSQL text refuses NUL bytes and invalid UTF-8; and cut at
// maxLineLen).
func (l *TaskLog) Line(line string) {
	line = podium.CleanText(line)
	if len(line) > maxLineLen {
		cut := maxLineLen
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		line = line[:cut] + " …"
	}
	l.mu.Lock()
	l.buf = append(l.buf, line)
	full := len(l.buf) >= maxBatch
	l.mu.Unlock()
	if full {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

// Printf adds a formatted line.
func (l *TaskLog) Printf(format string, args ...any) { l.Line(fmt.Sprintf(format, args...)) }

// loop writes the lines every flushInterval, or sooner when maxBatch are
// waiting, until close stops it.
func (l *TaskLog) loop(ctx context.Context) {
	t := time.NewTicker(flushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-l.kick:
		case <-ctx.Done():
			return
		}
		l.flush()
	}
}

func (l *TaskLog) flush() {
	l.mu.Lock()
	lines := l.buf
	l.buf = nil
	first := l.next
	l.next += len(lines)
	l.mu.Unlock()
	if len(lines) == 0 {
		return
	}
	// Output is written even while the node shuts down.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.db.TaskAppendOutput(ctx, &dbprovider.TaskAppendOutputParams{TaskID: l.id, FirstLine: first, Lines: lines}); err != nil {
		l.mu.Lock()
		l.err = err
		l.mu.Unlock()
	} else {
		if l.changed != nil {
			l.changed()
		}
		l.flushed.Signal(len(lines))
	}
}

// close stops the flusher, waits for a write in flight, and writes what
// is left: after close, every line is in the database.
func (l *TaskLog) close() error {
	_ = l.flusher.Stop(context.Background())
	l.flush()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// taskFunc is the body of a task; its result is stored as the task's JSON
// result.
type taskFunc func(ctx context.Context, log *TaskLog) (result any, err error)

// startTask records a task and runs fn in a goroutine on this node. The
// task ends with code 0, or 1 and the user-safe message of fn's error.
func (s *Service) startTask(ctx context.Context, kind string, c *podium.Content, u *podium.User, fn taskFunc) (*podium.Task, error) {
	s.mu.Lock()
	stopped := s.stopped
	if !stopped {
		s.wg.Add(1)
	}
	s.mu.Unlock()
	if stopped {
		return nil, podium.Errorf(podium.EUNAVAILABLE, "this node is shutting down: retry on another node")
	}
	var uid, cid int64
	if u != nil {
		uid = u.ID
	}
	if c != nil {
		cid = c.ID
	}
	t, err := s.db.TaskCreate(ctx, &dbprovider.TaskCreateParams{ID: randomHex(16), Kind: kind, ContentID: cid, UserID: uid, NodeID: s.nodeID})
	if err != nil {
		s.wg.Done()
		return nil, fmt.Errorf("start task: %w", err)
	}
	go func() {
		defer s.wg.Done()
		s.runTask(t, fn)
	}()
	return t, nil
}

func (s *Service) runTask(t *podium.Task, fn taskFunc) {
	log := s.log.WithFields(map[string]any{"task": t.ID, "kind": t.Kind})
	tl := newTaskLog(s.db, t.ID, func() { s.taskChanged(t.ID) }, s.TestSignals.TaskLogFlushed)
	started := time.Now()
	result, err := func() (result any, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("task panicked: %v", r)
			}
		}()
		return fn(s.ctx, tl)
	}()
	p := &dbprovider.TaskFinishParams{ID: t.ID}
	if err != nil {
		err = s.noSpace(err)
		p.Code = 1
		p.Error = podium.ErrorMessage(err)
		if s.ctx.Err() != nil {
			p.Error = "the node stopped before the task finished: " + p.Error
		}
		if podium.ErrorCode(err) == podium.EINTERNAL {
			log.WithError(err).Error("task failed")
		} else {
			log.WithField("error", p.Error).Info("task failed")
		}
		tl.Printf("Error: %s", p.Error)
	} else {
		tl.Printf("Done in %s.", time.Since(started).Round(time.Millisecond))
		log.WithField("duration", time.Since(started).Round(time.Millisecond).String()).Info("task done")
	}
	if result != nil {
		if b, merr := json.Marshal(result); merr == nil {
			p.Result = string(b)
		}
	}
	if lerr := tl.close(); lerr != nil {
		log.WithError(lerr).Warn("task output lost")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if ferr := s.db.TaskFinish(ctx, p); podium.IsCode(ferr, podium.ECONFLICT) {
		// Another node failed the task while this one looked dead (it was
		// stopped, or lost the database, for longer than [HA] NodeTimeout).
		log.WithField("error", podium.ErrorMessage(ferr)).Warn("task end not recorded: another node finished the task meanwhile")
	} else if ferr != nil {
		log.WithError(ferr).Error("cannot record the end of the task")
	}
	s.taskChanged(t.ID)
}

// TaskGet returns a task with its output from line first on. The task
// must have been started by u, or be about content u may edit (admins see
// all); otherwise ENOTFOUND.
func (s *Service) TaskGet(ctx context.Context, u *podium.User, id string, first int) (*podium.Task, error) {
	if u == nil {
		return nil, podium.Errorf(podium.EUNAUTHORIZED, "authentication required")
	}
	t, err := s.db.TaskGet(ctx, id, first)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return nil, podium.Errorf(podium.ENOTFOUND, "task %s not found", id)
	} else if err != nil {
		return nil, err
	}
	if u.IsAdmin() || (t.UserID != nil && *t.UserID == u.ID) {
		return t, nil
	}
	if t.ContentID != nil {
		c, err := s.db.ContentGet(ctx, *t.ContentID)
		if err == nil {
			if a, err := s.AccessOf(ctx, u, c); err == nil && a.Edit {
				return t, nil
			}
		}
	}
	return nil, podium.Errorf(podium.ENOTFOUND, "task %s not found", id)
}
