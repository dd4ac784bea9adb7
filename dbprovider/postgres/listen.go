package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listen implements dbprovider.Provider on a dedicated connection (LISTEN
// is per session, so it cannot live in the pool). After each connect it
// calls fn("") so the caller re-checks anything sent while it was away.
func (p *Provider) Listen(ctx context.Context, channel string, fn func(payload string)) error {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := p.listenOnce(ctx, channel, fn)
		if ctx.Err() != nil {
			break
		}
		if err == nil {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
	return nil
}

func (p *Provider) listenOnce(ctx context.Context, channel string, fn func(string)) error {
	cfg := p.cfg.ConnConfig.Copy()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	fn("")
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		fn(n.Payload)
	}
}
