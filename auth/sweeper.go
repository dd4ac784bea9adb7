package auth

import (
	"context"
	"time"

	"github.com/podiumhq/podium/internal/startstop"
	"github.com/podiumhq/podium/internal/testsignal"
	"github.com/sirupsen/logrus"
)

// Sweeper deletes expired sessions and stale failed-login records now and
// then (Service.Sweep); expired ones are refused anyway, this only keeps
// the tables small. On a cluster every node sweeps: the DELETE is
// idempotent and cheap. It is a background service on startstop.Base.
type Sweeper struct {
	startstop.Base
	svc   *Service
	every time.Duration
	log   *logrus.Entry
	// Swept signals the end of each sweep (tests: Init it first).
	Swept testsignal.Signal[struct{}]
}

// NewSweeper returns the sweeper of svc's tables, every interval.
func NewSweeper(svc *Service, every time.Duration, log *logrus.Entry) *Sweeper {
	return &Sweeper{svc: svc, every: every, log: log}
}

// Name names the service in logs.
func (s *Sweeper) Name() string { return "session sweeper" }

// Start sweeps every interval (the first sweep after one interval), until
// Stop.
func (s *Sweeper) Start(ctx context.Context) error {
	return s.GoEvery(ctx, s.every, false, func(ctx context.Context) {
		s.SweepOnce(ctx)
		s.Swept.Signal(struct{}{})
	})
}

// SweepOnce runs one sweep and logs its failure: a database that refuses
// the DELETE lets the tables grow, which an administrator should hear
// about.
func (s *Sweeper) SweepOnce(ctx context.Context) {
	sessions, attempts, err := s.svc.Sweep(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.WithError(err).Warn("cannot delete expired sessions and stale failed logins: will retry at the next sweep")
	case err == nil && sessions+attempts > 0:
		s.log.WithFields(logrus.Fields{"sessions": sessions, "failed_logins": attempts}).Debug("swept expired sessions")
	}
}
