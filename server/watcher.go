package server

import (
	"context"
	"sync"
	"time"

	"github.com/podiumhq/podium/schema"
)

// schemaWatcher polls the database's schema version every [Database]
// SchemaCheckInterval (and, on PostgreSQL, wakes on the notification a
// committed migration sends) and tells Run when the schema is newer than
// the binary. An unreachable database is not a newer schema: the heartbeat
// reports it, and the watcher keeps checking.
type schemaWatcher struct {
	node *Node
	wg   sync.WaitGroup
}

func (w *schemaWatcher) Name() string { return "schema-watcher" }

func (w *schemaWatcher) Start(ctx context.Context) error {
	wake := make(chan struct{}, 1)
	n := w.node
	if n.db.SupportsListenNotify() {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			_ = n.db.Listen(ctx, schema.NotifyChannel, func(string) {
				select {
				case wake <- struct{}{}:
				default:
				}
			})
		}()
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.loop(ctx, wake)
	}()
	return nil
}

func (w *schemaWatcher) Stop(ctx context.Context) error {
	w.wg.Wait()
	return nil
}

func (w *schemaWatcher) loop(ctx context.Context, wake <-chan struct{}) {
	n := w.node
	t := time.NewTicker(n.Config.Database.SchemaCheckInterval)
	defer t.Stop()
	latest := schema.Latest()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		v, err := n.db.SchemaVersion(cctx)
		cancel()
		if err != nil {
			continue
		}
		if v > latest {
			select {
			case n.newerSchema <- v:
			default:
			}
			return
		}
	}
}
