package pgtest

import (
	"context"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
)

// server is a PostgreSQL server on which pgtest creates and drops
// databases, reached through its maintenance database.
type server struct {
	admin *url.URL
}

// newServer parses the URL of a server's maintenance database.
func newServer(adminURL string) (*server, error) {
	u, err := url.Parse(adminURL)
	if err != nil {
		return nil, fmt.Errorf("parse server URL: %w", err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("server URL %s: want a postgres:// URL", u.Redacted())
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/postgres"
	}
	return &server{admin: u}, nil
}

func (s *server) adminURL() string { return s.admin.String() }

func (s *server) databaseURL(db string) string { return withDatabase(s.admin, db).String() }

func (s *server) createDatabase(ctx context.Context, name string) error {
	if err := s.exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

func (s *server) dropDatabase(ctx context.Context, name string) error {
	if err := s.exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// exec runs one statement on a connection of its own to the maintenance
// database. CREATE and DROP DATABASE cannot run in a transaction, and a
// connection per call keeps parallel tests independent.
func (s *server) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, s.admin.String())
	if err != nil {
		return fmt.Errorf("connect to %s: %w", s.admin.Redacted(), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, sql); err != nil {
		return err
	}
	return nil
}
