// Running claimed jobs: each in its own goroutine with its heartbeat,
// finished with its result, or released when the node stops first.

package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/internal/startstop"
	"github.com/sirupsen/logrus"
)

// start runs a claimed job in its own goroutine. Its context does not
// derive from the loops' context: a stop request must not kill running
// renders (Stop decides).
func (s *Service) start(ctx context.Context, job *podium.Job) {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r := &run{job: job, cancel: cancel}
	s.mu.Lock()
	s.running[job.ID] = r
	s.mu.Unlock()
	s.jobs.Add(1)
	go func() {
		defer s.jobs.Done()
		defer cancel()
		s.execute(runCtx, r)
		s.mu.Lock()
		delete(s.running, job.ID)
		if len(s.running) == 0 && s.idle != nil {
			close(s.idle)
			s.idle = nil
		}
		s.mu.Unlock()
		// Look again only if work may be waiting: the node was full when
		// work was announced or found. Otherwise new work wakes it.
		if s.missed.Swap(false) {
			s.wakeUp()
		}
		s.TestSignals.Finished.Signal(job.ID)
	}()
}

func (s *Service) execute(ctx context.Context, r *run) {
	job := r.job
	log := s.log.WithFields(logrus.Fields{"job": job.ID, "content": job.ContentGUID, "queue": job.Queue, "attempt": job.Attempts})
	log.Info("job started")
	started := s.opts.Now()

	hb := &jobHeartbeat{s: s, r: r, log: log}
	_ = hb.Start(ctx)

	var (
		code int
		out  string
		err  error
	)
	switch job.Queue {
	case podium.QueueNoop:
	default:
		if s.opts.Runner == nil {
			code, err = -1, errors.New("no runner for scheduled renders on this node")
		} else {
			code, out, err = s.opts.Runner.RunJob(ctx, job)
		}
	}
	_ = hb.Stop(context.Background())
	elapsed := s.opts.Now().Sub(started)
	if r.released.Load() {
		log.WithField("duration", elapsed.Round(time.Millisecond).String()).Info("job stopped: released for another node")
		return
	}

	// Cleaned as captured output always is: a log that the database
	// refuses (a NUL byte) would leave the attempt unrecorded and the job
	// running again and again.
	p := &dbprovider.JobFinishParams{ID: job.ID, Token: job.ClaimToken, Status: podium.JobSucceeded, ExitCode: code, Log: podium.CleanText(out)}
	if err != nil || code != 0 {
		p.Status = podium.JobFailed
		if err != nil {
			p.Error = podium.CleanText(err.Error())
		} else {
			p.Error = fmt.Sprintf("exit code %d", code)
		}
	}
	finishCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, ferr := s.db.JobFinish(finishCtx, p)
	switch {
	case podium.IsCode(ferr, podium.ECONFLICT):
		s.counters.rejected.Add(1)
		log.WithField("lost_during_run", hb.lost.Load()).Warn("completion rejected: the claim was lost, the job's record is the newer run's")
		return
	case ferr != nil:
		log.WithError(ferr).Error("cannot record job result: another node reruns it after the heartbeat timeout")
		return
	}
	s.counters.observe(job.Queue, p.Status, elapsed)
	log.WithFields(logrus.Fields{"status": p.Status, "exit_code": code,
		"duration": elapsed.Round(time.Millisecond).String()}).Info("job finished")
}

// jobHeartbeat heartbeats one running job every HeartbeatInterval, a
// service on the base that execute starts and stops around the run. When
// the database says the claim is lost (another node took the job over) it
// stops the run.
type jobHeartbeat struct {
	startstop.Base
	s    *Service
	r    *run
	log  *logrus.Entry
	lost atomic.Bool // the claim was lost while the job ran
}

func (h *jobHeartbeat) Start(ctx context.Context) error { return h.Go(ctx, h.loop) }

func (h *jobHeartbeat) loop(ctx context.Context) {
	job := h.r.job
	t := time.NewTicker(h.s.opts.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := h.s.db.JobHeartbeat(ctx, job.ID, job.ClaimToken)
		switch {
		case podium.IsCode(err, podium.ECONFLICT):
			if !h.r.released.Load() {
				h.lost.Store(true)
				h.log.Warn("claim lost: another node took the job over; stopping this run")
			}
			h.r.cancel()
			return
		case err != nil && ctx.Err() == nil:
			h.log.WithError(err).Warn("cannot heartbeat job")
		}
	}
}

// releaseAll gives every running job back and stops its run.
func (s *Service) releaseAll(ctx context.Context) {
	s.mu.Lock()
	runs := make([]*run, 0, len(s.running))
	for _, r := range s.running {
		runs = append(runs, r)
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	released := 0
	for _, r := range runs {
		r.released.Store(true)
		err := s.db.JobRelease(ctx, r.job.ID, r.job.ClaimToken, "released: node "+s.opts.NodeID+" stopped before the job finished")
		r.cancel()
		if err != nil {
			s.log.WithError(err).WithField("job", r.job.ID).Warn("cannot release job: another node takes it after the heartbeat timeout")
			continue
		}
		released++
		s.counters.released.Add(1)
		s.log.WithFields(logrus.Fields{"job": r.job.ID, "content": r.job.ContentGUID}).Info("released unfinished job for another node")
	}
	if released > 0 {
		_ = s.db.Notify(ctx, Channel, "released")
	}
}
