package sqlstore

// This file implements dbprovider.GroupStore, and the deletion of users
// (which must clear the references that do not cascade).

import (
	"context"
	"fmt"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// UserDelete implements dbprovider.AccountStore. The references to a user
// that do not cascade are history (who uploaded a bundle, who started a
// task): they are cleared, the history stays. Content is not history:
// its owner must be changed first. Run it inside a Tx so that a refused
// delete clears nothing.
func (s *Store) UserDelete(ctx context.Context, id int64) error {
	var owned int64
	if err := s.W.QueryRowContext(ctx, `SELECT count(*) FROM content WHERE owner_id = $1`, id).Scan(&owned); err != nil {
		return fmt.Errorf("user delete: %w", s.D.TranslateError(err))
	}
	if owned > 0 {
		return podium.Errorf(podium.EPRECONDITION,
			"user %d owns %d content items: give them another owner or delete them first, or lock the user instead", id, owned)
	}
	for _, q := range []string{
		`UPDATE bundles SET created_by = NULL WHERE created_by = $1`,
		`UPDATE tasks SET user_id = NULL WHERE user_id = $1`,
	} {
		if _, err := s.W.ExecContext(ctx, q, id); err != nil {
			return fmt.Errorf("user delete: %w", s.D.TranslateError(err))
		}
	}
	res, err := s.W.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("user delete: %w", s.D.TranslateError(err))
	}
	return mustAffect(res, "user", fmt.Sprint(id))
}

// SessionListByUser implements dbprovider.AccountStore.
func (s *Store) SessionListByUser(ctx context.Context, userID int64) ([]*dbprovider.Session, error) {
	return nonNil(queryList(ctx, s.R, s.D, "session list", scanSession,
		`SELECT id_hash, user_id, csrf_token, created_at, expires_at FROM sessions
		WHERE user_id = $1 AND expires_at > `+s.D.Now()+` ORDER BY created_at DESC, id_hash`, userID))
}

func scanSession(row scanner) (*dbprovider.Session, error) {
	var ss dbprovider.Session
	if err := row.Scan(&ss.IDHash, &ss.UserID, &ss.CSRFToken, &ss.CreatedAt, &ss.ExpiresAt); err != nil {
		return nil, err
	}
	ss.CreatedAt, ss.ExpiresAt = ss.CreatedAt.UTC(), ss.ExpiresAt.UTC()
	return &ss, nil
}

// UserIdentityGet implements dbprovider.GroupStore.
func (s *Store) UserIdentityGet(ctx context.Context, provider, uniqueID string) (*podium.User, error) {
	u, err := scanUser(s.R.QueryRowContext(ctx, `SELECT `+userColumnsOf("u")+`
	FROM user_identities i JOIN users u ON u.id = i.user_id
	WHERE i.provider = $1 AND i.unique_id = $2`, provider, uniqueID))
	if err != nil {
		return nil, notFoundAs(s.D.TranslateError(err), "user identity get", "no user signed in as %s identity %q", provider, uniqueID)
	}
	return u, nil
}

// UserIdentityPut implements dbprovider.GroupStore.
func (s *Store) UserIdentityPut(ctx context.Context, provider, uniqueID string, userID int64) error {
	_, err := s.W.ExecContext(ctx, `INSERT INTO user_identities (provider, unique_id, user_id, created_at)
	VALUES ($1, $2, $3, `+s.D.Now()+`)
	ON CONFLICT (provider, unique_id) DO UPDATE SET user_id = excluded.user_id`, provider, uniqueID, userID)
	if err != nil {
		return fmt.Errorf("user identity put: %w", s.D.TranslateError(err))
	}
	return nil
}

// UserIdentityList implements dbprovider.GroupStore.
func (s *Store) UserIdentityList(ctx context.Context, userID int64) ([]*dbprovider.UserIdentity, error) {
	return nonNil(queryList(ctx, s.R, s.D, "user identity list", func(row scanner) (*dbprovider.UserIdentity, error) {
		var i dbprovider.UserIdentity
		return &i, row.Scan(&i.Provider, &i.UniqueID, &i.UserID)
	}, `SELECT provider, unique_id, user_id FROM user_identities WHERE user_id = $1 ORDER BY provider, unique_id`, userID))
}

const groupColumns = `id, name, provider, created_at, updated_at`

func groupColumnsOf(alias string) string {
	return alias + ".id, " + alias + ".name, " + alias + ".provider, " + alias + ".created_at, " + alias + ".updated_at"
}

func scanGroup(row scanner) (*podium.Group, error) {
	var g podium.Group
	if err := row.Scan(&g.ID, &g.Name, &g.Provider, &g.CreatedAt, &g.UpdatedAt); err != nil {
		return nil, err
	}
	g.CreatedAt, g.UpdatedAt = g.CreatedAt.UTC(), g.UpdatedAt.UTC()
	return &g, nil
}

// GroupCreate implements dbprovider.GroupStore.
func (s *Store) GroupCreate(ctx context.Context, p *dbprovider.GroupCreateParams) (*podium.Group, error) {
	g, err := scanGroup(s.W.QueryRowContext(ctx, `INSERT INTO groups (name, provider, created_at, updated_at)
	VALUES ($1, $2, `+s.D.Now()+`, `+s.D.Now()+`) RETURNING `+groupColumns, p.Name, p.Provider))
	if err != nil {
		err = s.D.TranslateError(err)
		if podium.IsCode(err, podium.ECONFLICT) {
			if p.Provider == "" {
				return nil, podium.Errorf(podium.ECONFLICT, "group %q already exists", p.Name)
			}
			return nil, podium.Errorf(podium.ECONFLICT, "%s group %q already exists", p.Provider, p.Name)
		}
		return nil, fmt.Errorf("group create: %w", err)
	}
	return g, nil
}

// GroupGet implements dbprovider.GroupStore.
func (s *Store) GroupGet(ctx context.Context, id int64) (*podium.Group, error) {
	g, err := scanGroup(s.R.QueryRowContext(ctx, `SELECT `+groupColumns+` FROM groups WHERE id = $1`, id))
	if err != nil {
		return nil, notFoundAs(s.D.TranslateError(err), "group get", "group %d not found", id)
	}
	return g, nil
}

// GroupGetByName implements dbprovider.GroupStore.
func (s *Store) GroupGetByName(ctx context.Context, provider, name string) (*podium.Group, error) {
	g, err := scanGroup(s.R.QueryRowContext(ctx, `SELECT `+groupColumns+` FROM groups WHERE provider = $1 AND name = $2`, provider, name))
	if err != nil {
		return nil, notFoundAs(s.D.TranslateError(err), "group get", "group %q not found", name)
	}
	return g, nil
}

// GroupList implements dbprovider.GroupStore.
func (s *Store) GroupList(ctx context.Context) ([]*podium.Group, error) {
	return nonNil(queryList(ctx, s.R, s.D, "group list", scanGroup, `SELECT `+groupColumns+` FROM groups ORDER BY name, provider`))
}

// GroupDelete implements dbprovider.GroupStore.
func (s *Store) GroupDelete(ctx context.Context, id int64) error {
	res, err := s.W.ExecContext(ctx, `DELETE FROM groups WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("group delete: %w", s.D.TranslateError(err))
	}
	return mustAffect(res, "group", fmt.Sprint(id))
}

// GroupMemberAdd implements dbprovider.GroupStore. The INSERT selects the
// group and the user, so an unknown one inserts nothing instead of
// failing on a foreign key, and the second query tells which it was.
func (s *Store) GroupMemberAdd(ctx context.Context, groupID, userID int64) error {
	res, err := s.W.ExecContext(ctx, `INSERT INTO group_members (group_id, user_id, created_at)
	SELECT g.id, u.id, `+s.D.Now()+` FROM groups g, users u WHERE g.id = $1 AND u.id = $2
	ON CONFLICT (group_id, user_id) DO NOTHING`, groupID, userID)
	if err != nil {
		return fmt.Errorf("group member add: %w", s.D.TranslateError(err))
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	var groups, users int
	if err := s.W.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM groups WHERE id = $1), (SELECT count(*) FROM users WHERE id = $2)`,
		groupID, userID).Scan(&groups, &users); err != nil {
		return fmt.Errorf("group member add: %w", s.D.TranslateError(err))
	}
	switch {
	case groups == 0:
		return podium.Errorf(podium.ENOTFOUND, "group %d not found", groupID)
	case users == 0:
		return podium.Errorf(podium.ENOTFOUND, "user %d not found", userID)
	}
	return nil // already a member
}

// GroupMemberRemove implements dbprovider.GroupStore.
func (s *Store) GroupMemberRemove(ctx context.Context, groupID, userID int64) error {
	res, err := s.W.ExecContext(ctx, `DELETE FROM group_members WHERE group_id = $1 AND user_id = $2`, groupID, userID)
	if err != nil {
		return fmt.Errorf("group member remove: %w", s.D.TranslateError(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return podium.Errorf(podium.ENOTFOUND, "user %d is not a member of group %d", userID, groupID)
	}
	return nil
}

// GroupMemberList implements dbprovider.GroupStore.
func (s *Store) GroupMemberList(ctx context.Context, groupID int64) ([]*podium.User, error) {
	return nonNil(queryList(ctx, s.R, s.D, "group member list", scanUser, `SELECT `+userColumnsOf("u")+`
	FROM group_members m JOIN users u ON u.id = m.user_id WHERE m.group_id = $1 ORDER BY u.username`, groupID))
}

// GroupListByUser implements dbprovider.GroupStore.
func (s *Store) GroupListByUser(ctx context.Context, userID int64) ([]*podium.Group, error) {
	return nonNil(queryList(ctx, s.R, s.D, "group list by user", scanGroup, `SELECT `+groupColumnsOf("g")+`
	FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.user_id = $1 ORDER BY g.name, g.provider`, userID))
}

// ContentGroupACLPut implements dbprovider.GroupStore.
func (s *Store) ContentGroupACLPut(ctx context.Context, contentID, groupID int64, role string) error {
	res, err := s.W.ExecContext(ctx, `INSERT INTO content_group_acl (content_id, group_id, role)
	SELECT c.id, g.id, $3 FROM content c, groups g WHERE c.id = $1 AND g.id = $2
	ON CONFLICT (content_id, group_id) DO UPDATE SET role = excluded.role`, contentID, groupID, role)
	if err != nil {
		return fmt.Errorf("content group acl put: %w", s.D.TranslateError(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return podium.Errorf(podium.ENOTFOUND, "content %d or group %d not found", contentID, groupID)
	}
	return nil
}

// ContentGroupACLDelete implements dbprovider.GroupStore.
func (s *Store) ContentGroupACLDelete(ctx context.Context, contentID, groupID int64) error {
	res, err := s.W.ExecContext(ctx, `DELETE FROM content_group_acl WHERE content_id = $1 AND group_id = $2`, contentID, groupID)
	if err != nil {
		return fmt.Errorf("content group acl delete: %w", s.D.TranslateError(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return podium.Errorf(podium.ENOTFOUND, "group %d has no grant on content %d", groupID, contentID)
	}
	return nil
}

// ContentGroupACLList implements dbprovider.GroupStore.
func (s *Store) ContentGroupACLList(ctx context.Context, contentID int64) ([]*podium.ContentGroupACLEntry, error) {
	return nonNil(queryList(ctx, s.R, s.D, "content group acl list", func(row scanner) (*podium.ContentGroupACLEntry, error) {
		var e podium.ContentGroupACLEntry
		return &e, row.Scan(&e.GroupID, &e.Name, &e.Provider, &e.Role)
	}, `SELECT a.group_id, g.name, g.provider, a.role FROM content_group_acl a
	JOIN groups g ON g.id = a.group_id WHERE a.content_id = $1 ORDER BY g.name, g.provider`, contentID))
}

// aclRoleExpr is an SQL expression for the best role a user has on
// content, directly or through a group: "collaborator" before "viewer",
// NULL for none. content and user are SQL expressions (a column or a
// parameter).
func aclRoleExpr(content, user string) string {
	return `(SELECT r.role FROM (
		SELECT a.role FROM content_acl a WHERE a.content_id = ` + content + ` AND a.user_id = ` + user + `
		UNION ALL
		SELECT ga.role FROM content_group_acl ga JOIN group_members gm ON gm.group_id = ga.group_id
		WHERE ga.content_id = ` + content + ` AND gm.user_id = ` + user + `
	) r ORDER BY CASE r.role WHEN 'collaborator' THEN 0 ELSE 1 END LIMIT 1)`
}
