// Package pgscratch manages scratch databases on a PostgreSQL server for
// the benchmarks (bench/migrate): it creates one afresh, drops it, counts
// its rows, and names the server's process. It connects with the admin
// URL it is given, whose user may create databases; it is not used by a
// node. It lives in dbprovider because it speaks to the driver, which no
// package outside dbprovider imports.
package pgscratch

import (
	"context"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
	"github.com/podiumhq/podium/dbprovider/postgres"
)

// Create drops the database name if it exists (ending its sessions) and
// creates it empty, then returns its URL (admin with name as its
// database). name must be a plain identifier.
func Create(ctx context.Context, admin, name string) (string, error) {
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", postgres.Redact(admin), err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+postgres.QuoteIdent(name)+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := c.Exec(ctx, "CREATE DATABASE "+postgres.QuoteIdent(name)); err != nil {
		return "", err
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// Drop drops the database name if it exists, ending its sessions.
func Drop(ctx context.Context, admin, name string) error {
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, "DROP DATABASE IF EXISTS "+postgres.QuoteIdent(name)+" WITH (FORCE)")
	return err
}

// Checkpoint makes the server write out what is dirty now, so that the
// next timed run does not pay for it. Needs a superuser or pg_checkpoint.
func Checkpoint(ctx context.Context, admin string) error {
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, "CHECKPOINT")
	return err
}

// CountRows returns the number of rows of every table of the database at
// url, system schemas excepted.
func CountRows(ctx context.Context, url string) (int64, error) {
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, `SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`)
	if err != nil {
		return 0, err
	}
	var tables []string
	for rows.Next() {
		var s, t string
		if err := rows.Scan(&s, &t); err != nil {
			rows.Close()
			return 0, err
		}
		tables = append(tables, pgx.Identifier{s, t}.Sanitize())
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	var total int64
	for _, t := range tables {
		var n int64
		if err := c.QueryRow(ctx, "SELECT count(*) FROM "+t).Scan(&n); err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// BackendPID returns the process id of a server process serving a
// connection of admin: its parent is the postmaster.
func BackendPID(ctx context.Context, admin string) (int, error) {
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		return 0, err
	}
	defer c.Close(ctx)
	var pid int
	err = c.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid)
	return pid, err
}

// Lock takes a session advisory lock named name on the server behind
// admin and holds it until the returned function is called (it closes
// the connection). When another session holds it, waiting is called once,
// then Lock waits for it. Benchmarks that share a server's scratch
// databases take one so that two runs do not drop each other's.
func Lock(ctx context.Context, admin, name string, waiting func()) (func(), error) {
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", postgres.Redact(admin), err)
	}
	var ok bool
	if err := c.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext($1))`, name).Scan(&ok); err != nil {
		c.Close(ctx)
		return nil, err
	}
	if !ok {
		if waiting != nil {
			waiting()
		}
		if _, err := c.Exec(ctx, `SELECT pg_advisory_lock(hashtext($1))`, name); err != nil {
			c.Close(ctx)
			return nil, err
		}
	}
	return func() { c.Close(context.Background()) }, nil
}
