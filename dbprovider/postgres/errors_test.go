package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider/pgtest"
	"github.com/podiumhq/podium/internal/testutil"
)

func TestTranslate(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout(30*time.Second))
	defer cancel()

	// Real errors from a real server.
	conn, err := pgx.Connect(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `CREATE TABLE parent (id int PRIMARY KEY, name text UNIQUE NOT NULL CHECK (name <> 'bad'));
		CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parent(id));
		INSERT INTO parent VALUES (1, 'a')`); err != nil {
		t.Fatal(err)
	}
	_, unique := conn.Exec(ctx, `INSERT INTO parent VALUES (2, 'a')`)
	_, fk := conn.Exec(ctx, `INSERT INTO child VALUES (1, 99)`)
	_, check := conn.Exec(ctx, `INSERT INTO parent VALUES (3, 'bad')`)
	var s string
	noRows := conn.QueryRow(ctx, `SELECT name FROM parent WHERE id = 42`).Scan(&s)
	_, syntax := conn.Exec(ctx, `SELEKT 1`)
	_, undefined := conn.Exec(ctx, `SELECT * FROM no_such_table`)

	// Connection refused: nothing listens on a port that was free a moment ago.
	port := testutil.FreePort(t)
	_, refused := pgx.Connect(ctx, "postgres://postgres@127.0.0.1:"+strconv.Itoa(port)+"/x?sslmode=disable&connect_timeout=2")

	canceled, cancelNow := context.WithCancel(ctx)
	cancelNow()
	_, canceledErr := conn.Exec(canceled, `SELECT 1`)

	podiumErr := podium.Errorf(podium.EINVALID, "already translated")
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"UniqueViolationIsConflict", unique, podium.ECONFLICT},
		{"ForeignKeyViolationIsConflict", fk, podium.ECONFLICT},
		{"CheckViolationIsInvalid", check, podium.EINVALID},
		{"NoRowsIsNotFound", noRows, podium.ENOTFOUND},
		{"SQLNoRowsIsNotFound", fmt.Errorf("get: %w", sql.ErrNoRows), podium.ENOTFOUND},
		{"ConnectionRefusedIsUnavailable", refused, podium.EUNAVAILABLE},
		{"CanceledIsCanceled", canceledErr, podium.ECANCELED},
		{"SyntaxErrorIsInternal", syntax, podium.EINTERNAL},
		{"UndefinedTableIsInternal", undefined, podium.EINTERNAL},
		{"SerializationFailureIsConflict", &pgconn.PgError{Code: codeSerialization}, podium.ECONFLICT},
		{"DeadlockIsConflict", &pgconn.PgError{Code: codeDeadlock}, podium.ECONFLICT},
		{"ConnectionClassIsUnavailable", &pgconn.PgError{Code: "08006"}, podium.EUNAVAILABLE},
		{"AdminShutdownIsUnavailable", &pgconn.PgError{Code: codeAdminShutdown}, podium.EUNAVAILABLE},
		{"DiskFullIsNoSpace", &pgconn.PgError{Code: codeDiskFull}, podium.ENOSPACE},
		{"UnknownErrorIsInternal", errors.New("something else"), podium.EINTERNAL},
		{"PodiumErrorUnchanged", podiumErr, podium.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("the case's error was not provoked (nil)")
			}
			got := translate(tc.err)
			if got == nil {
				t.Fatalf("translate(%v) = nil", tc.err)
			}
			if code := podium.ErrorCode(got); code != tc.want {
				t.Fatalf("translate(%v) code = %s, want %s", tc.err, code, tc.want)
			}
			if !errors.Is(got, tc.err) {
				t.Errorf("translate(%v) = %v does not wrap the original", tc.err, got)
			}
		})
	}
	t.Run("NilIsNil", func(t *testing.T) {
		if err := translate(nil); err != nil {
			t.Fatalf("translate(nil) = %v", err)
		}
	})
}

// TestOpenUnavailable: a server that does not answer is EUNAVAILABLE, and
// the message never holds the password.
func TestOpenUnavailable(t *testing.T) {
	t.Parallel()
	port := testutil.FreePort(t)
	url := "postgres://podium:hunter2@127.0.0.1:" + strconv.Itoa(port) + "/podium?sslmode=disable"
	_, err := Open(context.Background(), Options{URL: podium.Secret(url), ConnectTimeout: 2 * time.Second})
	if podium.ErrorCode(err) != podium.EUNAVAILABLE {
		t.Fatalf("Open on a closed port: %v (code %s), want EUNAVAILABLE", err, podium.ErrorCode(err))
	}
	if msg := err.Error() + podium.ErrorMessage(err); strings.Contains(msg, "hunter2") {
		t.Fatalf("error text holds the password: %s", msg)
	}
}
