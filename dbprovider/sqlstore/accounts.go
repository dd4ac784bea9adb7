package sqlstore

// This file implements dbprovider.AccountStore.

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

const userColumns = `id, username, role, locked, created_at, updated_at, name, email`

// userColumnsOf is userColumns qualified by a table alias, for joins.
func userColumnsOf(alias string) string {
	cols := strings.Split(userColumns, ", ")
	for i, c := range cols {
		cols[i] = alias + "." + c
	}
	return strings.Join(cols, ", ")
}

// userDest returns the scan destinations of userColumns.
func userDest(u *podium.User) []any {
	return []any{&u.ID, &u.Username, &u.Role, &u.Locked, &u.CreatedAt, &u.UpdatedAt, &u.Name, &u.Email}
}

func scanUser(row scanner) (*podium.User, error) {
	var u podium.User
	if err := row.Scan(userDest(&u)...); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return &u, nil
}

// UserCreate implements dbprovider.AccountStore.
func (s *Store) UserCreate(ctx context.Context, p *dbprovider.UserCreateParams) (*podium.User, error) {
	q := `INSERT INTO users (username, role, password_hash, locked, created_at, updated_at)
	VALUES ($1, $2, $3, false, ` + s.D.Now() + `, ` + s.D.Now() + `)
	RETURNING ` + userColumns
	u, err := scanUser(s.W.QueryRowContext(ctx, q, p.Username, p.Role, p.PasswordHash))
	if err != nil {
		err = s.D.TranslateError(err)
		if podium.IsCode(err, podium.ECONFLICT) {
			return nil, podium.Errorf(podium.ECONFLICT, "user %q already exists", p.Username)
		}
		return nil, fmt.Errorf("user create: %w", err)
	}
	return u, nil
}

// UserGetByID implements dbprovider.AccountStore.
func (s *Store) UserGetByID(ctx context.Context, id int64) (*podium.User, error) {
	u, err := scanUser(s.R.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return nil, notFoundAs(s.D.TranslateError(err), "user get", "user %d not found", id)
	}
	return u, nil
}

// UserGetByName implements dbprovider.AccountStore.
func (s *Store) UserGetByName(ctx context.Context, username string) (*podium.User, error) {
	u, err := scanUser(s.R.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE username = $1`, username))
	if err != nil {
		return nil, notFoundAs(s.D.TranslateError(err), "user get", "user %q not found", username)
	}
	return u, nil
}

// UserGetPasswordHash implements dbprovider.AccountStore.
func (s *Store) UserGetPasswordHash(ctx context.Context, id int64) (string, error) {
	var h string
	if err := s.R.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = $1`, id).Scan(&h); err != nil {
		return "", notFoundAs(s.D.TranslateError(err), "user password hash", "user %d not found", id)
	}
	return h, nil
}

// UserList implements dbprovider.AccountStore.
func (s *Store) UserList(ctx context.Context) ([]*podium.User, error) {
	return queryList(ctx, s.R, s.D, "user list", scanUser, `SELECT `+userColumns+` FROM users ORDER BY username`)
}

// UserUpdate implements dbprovider.AccountStore. COALESCE keeps the columns
// whose parameter is NULL.
func (s *Store) UserUpdate(ctx context.Context, p *dbprovider.UserUpdateParams) (*podium.User, error) {
	str := func(v *string) any {
		if v == nil {
			return nil
		}
		return *v
	}
	var locked any
	if p.Locked != nil {
		locked = *p.Locked
	}
	// The casts give PostgreSQL the parameter types it cannot infer from a
	// bare NULL inside COALESCE; SQLite accepts and ignores them.
	q := `UPDATE users SET role = COALESCE(CAST($2 AS TEXT), role),
		password_hash = COALESCE(CAST($3 AS TEXT), password_hash),
		locked = COALESCE(CAST($4 AS BOOLEAN), locked),
		username = COALESCE(CAST($5 AS TEXT), username),
		name = COALESCE(CAST($6 AS TEXT), name),
		email = COALESCE(CAST($7 AS TEXT), email),
		updated_at = ` + s.D.Now() + `
	WHERE id = $1 RETURNING ` + userColumns
	u, err := scanUser(s.W.QueryRowContext(ctx, q, p.ID, str(p.Role), str(p.PasswordHash), locked,
		str(p.Username), str(p.Name), str(p.Email)))
	if err != nil {
		err = s.D.TranslateError(err)
		if podium.IsCode(err, podium.ECONFLICT) && p.Username != nil {
			return nil, podium.Errorf(podium.ECONFLICT, "user %q already exists", *p.Username)
		}
		return nil, notFoundAs(err, "user update", "user %d not found", p.ID)
	}
	return u, nil
}

const apiKeyColumns = `id, user_id, name, key_hash, prefix, created_at, last_used_at, revoked_at`

func apiKeyColumnsOf(alias string) string {
	cols := strings.Split(apiKeyColumns, ", ")
	for i, c := range cols {
		cols[i] = alias + "." + c
	}
	return strings.Join(cols, ", ")
}

func apiKeyDest(k *dbprovider.APIKey, used, revoked *sql.NullTime) []any {
	return []any{&k.ID, &k.UserID, &k.Name, &k.Hash, &k.Prefix, &k.CreatedAt, used, revoked}
}

func finishAPIKey(k *dbprovider.APIKey, used, revoked sql.NullTime) {
	k.CreatedAt = k.CreatedAt.UTC()
	if used.Valid {
		t := used.Time.UTC()
		k.LastUsedAt = &t
	}
	if revoked.Valid {
		t := revoked.Time.UTC()
		k.RevokedAt = &t
	}
}

func scanAPIKey(row scanner) (*dbprovider.APIKey, error) {
	var (
		k             dbprovider.APIKey
		used, revoked sql.NullTime
	)
	if err := row.Scan(apiKeyDest(&k, &used, &revoked)...); err != nil {
		return nil, err
	}
	finishAPIKey(&k, used, revoked)
	return &k, nil
}

// APIKeyCreate implements dbprovider.AccountStore.
func (s *Store) APIKeyCreate(ctx context.Context, p *dbprovider.APIKeyCreateParams) (*dbprovider.APIKey, error) {
	q := `INSERT INTO api_keys (user_id, name, key_hash, prefix, created_at)
	VALUES ($1, $2, $3, $4, ` + s.D.Now() + `) RETURNING ` + apiKeyColumns
	k, err := scanAPIKey(s.W.QueryRowContext(ctx, q, p.UserID, p.Name, p.Hash, p.Prefix))
	if err != nil {
		return nil, fmt.Errorf("api key create: %w", s.D.TranslateError(err))
	}
	return k, nil
}

// APIKeyGetByHash implements dbprovider.AccountStore.
func (s *Store) APIKeyGetByHash(ctx context.Context, hash []byte) (*dbprovider.APIKey, *podium.User, error) {
	q := `SELECT ` + apiKeyColumnsOf("k") + `, ` + userColumnsOf("u") + `
	FROM api_keys k JOIN users u ON u.id = k.user_id
	WHERE k.key_hash = $1 AND k.revoked_at IS NULL`
	var (
		k             dbprovider.APIKey
		u             podium.User
		used, revoked sql.NullTime
	)
	dest := append(apiKeyDest(&k, &used, &revoked), userDest(&u)...)
	if err := s.R.QueryRowContext(ctx, q, hash).Scan(dest...); err != nil {
		return nil, nil, notFoundAs(s.D.TranslateError(err), "api key get", "no such API key")
	}
	finishAPIKey(&k, used, revoked)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return &k, &u, nil
}

// APIKeyGetByID implements dbprovider.AccountStore.
func (s *Store) APIKeyGetByID(ctx context.Context, id int64) (*dbprovider.APIKey, error) {
	k, err := scanAPIKey(s.R.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = $1`, id))
	if err != nil {
		return nil, notFoundAs(s.D.TranslateError(err), "api key get", "API key %d not found", id)
	}
	return k, nil
}

// APIKeyList implements dbprovider.AccountStore.
func (s *Store) APIKeyList(ctx context.Context, p *dbprovider.APIKeyListParams) ([]*dbprovider.APIKey, error) {
	q := `SELECT ` + apiKeyColumns + ` FROM api_keys
	WHERE (CAST($1 AS BIGINT) = 0 OR user_id = CAST($1 AS BIGINT)) AND (CAST($2 AS BOOLEAN) OR revoked_at IS NULL)
	ORDER BY created_at, id`
	return queryList(ctx, s.R, s.D, "api key list", scanAPIKey, q, p.UserID, p.IncludeRevoked)
}

// APIKeyRevoke implements dbprovider.AccountStore.
func (s *Store) APIKeyRevoke(ctx context.Context, id int64) error {
	res, err := s.W.ExecContext(ctx, `UPDATE api_keys SET revoked_at = `+s.D.Now()+`
	WHERE id = $1 AND revoked_at IS NULL`, id)
	if err != nil {
		return fmt.Errorf("api key revoke: %w", s.D.TranslateError(err))
	}
	return mustAffect(res, "API key", strconv.FormatInt(id, 10))
}

// APIKeyTouch implements dbprovider.AccountStore.
func (s *Store) APIKeyTouch(ctx context.Context, id int64, minInterval time.Duration) (bool, error) {
	res, err := s.W.ExecContext(ctx, `UPDATE api_keys SET last_used_at = `+s.D.Now()+`
	WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < `+s.D.Ago("$2")+`)`, id, minInterval.Milliseconds())
	if err != nil {
		return false, fmt.Errorf("api key touch: %w", s.D.TranslateError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("api key touch: %w", s.D.TranslateError(err))
	}
	return n > 0, nil
}

// SessionCreate implements dbprovider.AccountStore.
func (s *Store) SessionCreate(ctx context.Context, p *dbprovider.SessionCreateParams) (*dbprovider.Session, error) {
	q := `INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at)
	VALUES ($1, $2, $3, ` + s.D.Now() + `, $4) RETURNING id_hash, user_id, csrf_token, created_at, expires_at`
	var ss dbprovider.Session
	err := s.W.QueryRowContext(ctx, q, p.IDHash, p.UserID, p.CSRFToken, UTC(p.ExpiresAt)).
		Scan(&ss.IDHash, &ss.UserID, &ss.CSRFToken, &ss.CreatedAt, &ss.ExpiresAt)
	if err != nil {
		return nil, fmt.Errorf("session create: %w", s.D.TranslateError(err))
	}
	ss.CreatedAt, ss.ExpiresAt = ss.CreatedAt.UTC(), ss.ExpiresAt.UTC()
	return &ss, nil
}

// SessionGet implements dbprovider.AccountStore.
func (s *Store) SessionGet(ctx context.Context, idHash []byte) (*dbprovider.Session, *podium.User, error) {
	q := `SELECT s.id_hash, s.user_id, s.csrf_token, s.created_at, s.expires_at, ` + userColumnsOf("u") + `
	FROM sessions s JOIN users u ON u.id = s.user_id
	WHERE s.id_hash = $1 AND s.expires_at > ` + s.D.Now()
	var (
		ss dbprovider.Session
		u  podium.User
	)
	err := s.R.QueryRowContext(ctx, q, idHash).Scan(append([]any{&ss.IDHash, &ss.UserID, &ss.CSRFToken, &ss.CreatedAt, &ss.ExpiresAt},
		userDest(&u)...)...)
	if err != nil {
		return nil, nil, notFoundAs(s.D.TranslateError(err), "session get", "no such session")
	}
	ss.CreatedAt, ss.ExpiresAt = ss.CreatedAt.UTC(), ss.ExpiresAt.UTC()
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return &ss, &u, nil
}

// SessionDelete implements dbprovider.AccountStore.
func (s *Store) SessionDelete(ctx context.Context, idHash []byte) error {
	if _, err := s.W.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash); err != nil {
		return fmt.Errorf("session delete: %w", s.D.TranslateError(err))
	}
	return nil
}

// SessionDeleteByUser implements dbprovider.AccountStore.
func (s *Store) SessionDeleteByUser(ctx context.Context, userID int64) (int64, error) {
	res, err := s.W.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	if err != nil {
		return 0, fmt.Errorf("session delete by user: %w", s.D.TranslateError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("session delete by user: %w", s.D.TranslateError(err))
	}
	return n, nil
}

// SessionExtend implements dbprovider.AccountStore.
func (s *Store) SessionExtend(ctx context.Context, idHash []byte, expiresAt time.Time) (bool, error) {
	t := UTC(expiresAt)
	res, err := s.W.ExecContext(ctx, `UPDATE sessions SET expires_at = $2 WHERE id_hash = $1 AND expires_at < $2`, idHash, t)
	if err != nil {
		return false, fmt.Errorf("session extend: %w", s.D.TranslateError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("session extend: %w", s.D.TranslateError(err))
	}
	return n > 0, nil
}

// SessionDeleteExpired implements dbprovider.AccountStore.
func (s *Store) SessionDeleteExpired(ctx context.Context) (int64, error) {
	res, err := s.W.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= `+s.D.Now())
	if err != nil {
		return 0, fmt.Errorf("session delete expired: %w", s.D.TranslateError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("session delete expired: %w", s.D.TranslateError(err))
	}
	return n, nil
}

const loginAttemptColumns = `key, failures, last_at, locked_until`

func scanLoginAttempt(row scanner) (*dbprovider.LoginAttempt, error) {
	var (
		a      dbprovider.LoginAttempt
		locked sql.NullTime
	)
	if err := row.Scan(&a.Key, &a.Failures, &a.LastAt, &locked); err != nil {
		return nil, err
	}
	a.LastAt = a.LastAt.UTC()
	if locked.Valid {
		t := locked.Time.UTC()
		a.LockedUntil = &t
	}
	return &a, nil
}

// LoginAttemptGet implements dbprovider.AccountStore.
func (s *Store) LoginAttemptGet(ctx context.Context, key string) (*dbprovider.LoginAttempt, error) {
	a, err := scanLoginAttempt(s.R.QueryRowContext(ctx, `SELECT `+loginAttemptColumns+` FROM login_attempts WHERE key = $1`, key))
	if err != nil {
		return nil, notFoundAs(s.D.TranslateError(err), "login attempt get", "no failed logins")
	}
	return a, nil
}

// LoginAttemptRecordFailure implements dbprovider.AccountStore. One
// statement, so that concurrent failures on several nodes all count.
func (s *Store) LoginAttemptRecordFailure(ctx context.Context, p *dbprovider.LoginAttemptRecordFailureParams) (*dbprovider.LoginAttempt, error) {
	q := `INSERT INTO login_attempts (key, failures, last_at, locked_until) VALUES ($1, 1, $2, NULL)
	ON CONFLICT (key) DO UPDATE SET
		failures = CASE WHEN login_attempts.last_at < $3 THEN 1 ELSE login_attempts.failures + 1 END,
		locked_until = CASE WHEN login_attempts.last_at < $3 THEN NULL ELSE login_attempts.locked_until END,
		last_at = excluded.last_at
	RETURNING ` + loginAttemptColumns
	a, err := scanLoginAttempt(s.W.QueryRowContext(ctx, q, p.Key, UTC(p.At), UTC(p.ForgetBefore)))
	if err != nil {
		return nil, fmt.Errorf("login attempt record failure: %w", s.D.TranslateError(err))
	}
	return a, nil
}

// LoginAttemptLock implements dbprovider.AccountStore.
func (s *Store) LoginAttemptLock(ctx context.Context, key string, until time.Time) error {
	res, err := s.W.ExecContext(ctx, `UPDATE login_attempts SET locked_until = $2 WHERE key = $1`, key, UTC(until))
	if err != nil {
		return fmt.Errorf("login attempt lock: %w", s.D.TranslateError(err))
	}
	return mustAffect(res, "login attempt", key)
}

// LoginAttemptReset implements dbprovider.AccountStore.
func (s *Store) LoginAttemptReset(ctx context.Context, key string) error {
	if _, err := s.W.ExecContext(ctx, `DELETE FROM login_attempts WHERE key = $1`, key); err != nil {
		return fmt.Errorf("login attempt reset: %w", s.D.TranslateError(err))
	}
	return nil
}

// LoginAttemptDeleteStale implements dbprovider.AccountStore.
func (s *Store) LoginAttemptDeleteStale(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.W.ExecContext(ctx, `DELETE FROM login_attempts
	WHERE last_at < $1 AND (locked_until IS NULL OR locked_until < $1)`, UTC(before))
	if err != nil {
		return 0, fmt.Errorf("login attempt delete stale: %w", s.D.TranslateError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("login attempt delete stale: %w", s.D.TranslateError(err))
	}
	return n, nil
}

// notFoundAs gives ENOTFOUND errors a precise message and wraps others
// with prefix.
func notFoundAs(err error, prefix, format string, args ...any) error {
	if podium.IsCode(err, podium.ENOTFOUND) {
		return &podium.Error{Code: podium.ENOTFOUND, Message: fmt.Sprintf(format, args...), Err: err}
	}
	return fmt.Errorf("%s: %w", prefix, err)
}
