package schema

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/podiumhq/podium/dbprovider"
	"github.com/sirupsen/logrus"
)

// ListenEnv names the diagnostic environment variable that, set to "off",
// keeps the watcher from listening for schema notifications on PostgreSQL,
// so that it relies on polling alone (to measure the fallback, or where
// LISTEN cannot work, such as behind PgBouncer in transaction pooling).
const ListenEnv = "PODIUM_SCHEMA_LISTEN"

// ListenEnabled reports whether the value of [ListenEnv] allows LISTEN:
// anything but "off", "0", "false" or "no" does.
func ListenEnabled(value string) bool {
	switch strings.ToLower(strings.TrimSpace(value)) {
	case "off", "0", "false", "no":
		return false
	}
	return true
}

// MaxCheckInterval is the longest interval between two polls of the schema
// version, whatever the configuration says.
const MaxCheckInterval = 30 * time.Second

// ShutdownMessage is what a running node logs when it finds the database
// newer than its binary.
func ShutdownMessage(dbVersion, binVersion int64) string {
	return fmt.Sprintf("database schema version %d is newer than this binary (%d); shutting down: upgrade this node",
		dbVersion, binVersion)
}

// Watcher notices a database that no longer supports this binary while a
// node runs: its compatibility floor ([Floor]) moved above the binary's
// schema (finalize of a rolling upgrade, or a node alone applying every
// migration). A schema merely newer than the binary (expand migrations of
// a rolling upgrade) is not that. It polls the floor and version every Interval with a cheap query that
// takes no migration lock ([dbprovider.Provider.SchemaVersion]) and, where
// the database supports it, also wakes on the notification that the
// version table's trigger sends when a migration commits, so detection is
// near-instant; polling stays the fallback (notifications are lost while
// the listener reconnects).
//
// A database that cannot be reached is not a newer schema: the watcher
// reports the failure through OnCheck and keeps checking.
type Watcher struct {
	// Provider is the database to watch.
	Provider dbprovider.Provider
	// Interval is the time between two polls; 0 or more than
	// MaxCheckInterval means MaxCheckInterval.
	Interval time.Duration
	// NoListen disables LISTEN (polling only).
	NoListen bool
	// Binary is the binary's schema version (default Latest()).
	Binary int64
	// Log receives the watcher's messages (default: discarded).
	Log *logrus.Entry
	// Now is the clock (default time.Now).
	Now func() time.Time
	// OnNewer is called once, from the watcher's goroutine, with the
	// database's version (or its floor, if higher) and the time of
	// detection, when the database's floor is above Binary. Run returns
	// after it.
	OnNewer func(dbVersion int64, detectedAt time.Time)
	// OnCheck, when set, is called after every check with its error (nil
	// when the version was read).
	OnCheck func(dbVersion int64, err error)
}

// Run watches until ctx ends or a newer schema is found (after OnNewer
// returns). It always returns nil once ctx ends or detection happened; its
// goroutines have ended by then.
func (w *Watcher) Run(ctx context.Context) error {
	if w.Provider == nil || w.OnNewer == nil {
		return fmt.Errorf("schema watcher: Provider and OnNewer are required")
	}
	interval := w.Interval
	if interval <= 0 || interval > MaxCheckInterval {
		interval = MaxCheckInterval
	}
	binary := w.Binary
	if binary == 0 {
		binary = Latest()
	}
	now := w.Now
	if now == nil {
		now = time.Now
	}
	log := w.Log
	if log == nil {
		l := logrus.New()
		l.SetOutput(discard{})
		log = logrus.NewEntry(l)
	}

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	wake := make(chan struct{}, 1)
	listening := !w.NoListen && w.Provider.SupportsListenNotify()
	if listening {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Listen reconnects by itself and calls back with "" after each
			// connect, so a commit missed while away is caught at once.
			_ = w.Provider.Listen(ctx, NotifyChannel, func(string) {
				select {
				case wake <- struct{}{}:
				default:
				}
			})
		}()
	}
	log.WithFields(logrus.Fields{"interval": interval.String(), "listen": listening, "binary_schema": binary}).
		Debug("watching the database schema version")

	t := time.NewTimer(0) // check at once: a migration may have committed since start-up
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-wake:
			if !t.Stop() {
				select {
				case <-t.C:
				default:
				}
			}
		}
		cctx, ccancel := context.WithTimeout(ctx, min(interval, 5*time.Second)+time.Second)
		floor, v, err := Floor(cctx, w.Provider)
		ccancel()
		if ctx.Err() != nil {
			return nil
		}
		if w.OnCheck != nil {
			w.OnCheck(v, err)
		}
		switch {
		case err != nil:
			if !failing {
				log.WithError(err).Warn("cannot read the database schema version: will keep checking")
			}
			failing = true
		case floor > binary:
			// Not v > binary: during a rolling upgrade the schema is ahead
			// of this binary (expand migrations) and it still serves; it
			// retires when the floor passes it.
			w.OnNewer(max(v, floor), now())
			return nil
		default:
			if failing {
				log.WithField("db_schema", v).Info("database schema version readable again")
			}
			failing = false
		}
		t.Reset(interval)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
