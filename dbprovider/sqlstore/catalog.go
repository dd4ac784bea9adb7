package sqlstore

// This file implements dbprovider.CatalogStore: tags and vanity URLs.

import (
	"context"
	"fmt"
	"strings"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

const tagColumns = `id, name, parent_id, created_at, updated_at`

func scanTag(row scanner) (*podium.Tag, error) {
	var t podium.Tag
	if err := row.Scan(&t.ID, &t.Name, &t.ParentID, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return &t, nil
}

// TagCreate implements dbprovider.CatalogStore.
func (s *Store) TagCreate(ctx context.Context, p *dbprovider.TagParams) (*podium.Tag, error) {
	q := `INSERT INTO tags (name, parent_id, parent_key, created_at, updated_at)
	VALUES ($1, $2, $3, ` + s.D.Now() + `, ` + s.D.Now() + `) RETURNING ` + tagColumns
	t, err := scanTag(s.W.QueryRowContext(ctx, q, p.Name, idOrNull(p.ParentID), p.ParentID))
	if err != nil {
		return nil, fmt.Errorf("tag create %q: %w", p.Name, s.D.TranslateError(err))
	}
	return t, nil
}

// TagGet implements dbprovider.CatalogStore.
func (s *Store) TagGet(ctx context.Context, id int64) (*podium.Tag, error) {
	t, err := scanTag(s.R.QueryRowContext(ctx, `SELECT `+tagColumns+` FROM tags WHERE id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("tag get %d: %w", id, s.D.TranslateError(err))
	}
	return t, nil
}

// TagList implements dbprovider.CatalogStore.
func (s *Store) TagList(ctx context.Context) ([]*podium.Tag, error) {
	return nonNil(queryList(ctx, s.R, s.D, "tag list", scanTag, `SELECT `+tagColumns+` FROM tags ORDER BY id`))
}

// TagUpdate implements dbprovider.CatalogStore.
func (s *Store) TagUpdate(ctx context.Context, p *dbprovider.TagParams) (*podium.Tag, error) {
	q := `UPDATE tags SET name = $2, parent_id = $3, parent_key = $4, updated_at = ` + s.D.Now() + `
	WHERE id = $1 RETURNING ` + tagColumns
	t, err := scanTag(s.W.QueryRowContext(ctx, q, p.ID, p.Name, idOrNull(p.ParentID), p.ParentID))
	if err != nil {
		return nil, fmt.Errorf("tag update %d: %w", p.ID, s.D.TranslateError(err))
	}
	return t, nil
}

// TagDelete implements dbprovider.CatalogStore. The descendants go by
// ON DELETE CASCADE on parent_id, their taggings by the one on tag_id.
func (s *Store) TagDelete(ctx context.Context, id int64) error {
	res, err := s.W.ExecContext(ctx, `DELETE FROM tags WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("tag delete %d: %w", id, s.D.TranslateError(err))
	}
	return mustAffect(res, "tag", fmt.Sprint(id))
}

// ContentTagAdd implements dbprovider.CatalogStore.
func (s *Store) ContentTagAdd(ctx context.Context, contentID, tagID int64) error {
	q := `INSERT INTO content_tags (content_id, tag_id, created_at) VALUES ($1, $2, ` + s.D.Now() + `)
	ON CONFLICT (content_id, tag_id) DO NOTHING`
	if _, err := s.W.ExecContext(ctx, q, contentID, tagID); err != nil {
		return fmt.Errorf("content %d tag add %d: %w", contentID, tagID, s.D.TranslateError(err))
	}
	return nil
}

// ContentTagRemove implements dbprovider.CatalogStore.
func (s *Store) ContentTagRemove(ctx context.Context, contentID, tagID int64) error {
	res, err := s.W.ExecContext(ctx, `DELETE FROM content_tags WHERE content_id = $1 AND tag_id = $2`, contentID, tagID)
	if err != nil {
		return fmt.Errorf("content %d tag remove %d: %w", contentID, tagID, s.D.TranslateError(err))
	}
	return mustAffect(res, "tag of content", fmt.Sprint(tagID))
}

// ContentTagList implements dbprovider.CatalogStore.
func (s *Store) ContentTagList(ctx context.Context, contentID int64) ([]*podium.Tag, error) {
	q := `SELECT t.id, t.name, t.parent_id, t.created_at, t.updated_at FROM tags t
	JOIN content_tags ct ON ct.tag_id = t.id WHERE ct.content_id = $1 ORDER BY t.id`
	return nonNil(queryList(ctx, s.R, s.D, "content tag list", scanTag, q, contentID))
}

const vanityColumns = `content_id, path, created_at`

func scanVanity(row scanner) (*podium.Vanity, error) {
	var v podium.Vanity
	if err := row.Scan(&v.ContentID, &v.Path, &v.CreatedAt); err != nil {
		return nil, err
	}
	v.CreatedAt = v.CreatedAt.UTC()
	return &v, nil
}

// VanitySet implements dbprovider.CatalogStore.
func (s *Store) VanitySet(ctx context.Context, contentID int64, path string) (*podium.Vanity, error) {
	q := `INSERT INTO vanities (content_id, path, created_at) VALUES ($1, $2, ` + s.D.Now() + `)
	ON CONFLICT (content_id) DO UPDATE SET path = excluded.path, created_at = excluded.created_at
	RETURNING ` + vanityColumns
	v, err := scanVanity(s.W.QueryRowContext(ctx, q, contentID, path))
	if err != nil {
		return nil, fmt.Errorf("vanity set %q: %w", path, s.D.TranslateError(err))
	}
	return v, nil
}

// VanityGet implements dbprovider.CatalogStore.
func (s *Store) VanityGet(ctx context.Context, contentID int64) (*podium.Vanity, error) {
	v, err := scanVanity(s.R.QueryRowContext(ctx, `SELECT `+vanityColumns+` FROM vanities WHERE content_id = $1`, contentID))
	if err != nil {
		return nil, fmt.Errorf("vanity get %d: %w", contentID, s.D.TranslateError(err))
	}
	return v, nil
}

// VanityDelete implements dbprovider.CatalogStore.
func (s *Store) VanityDelete(ctx context.Context, contentID int64) error {
	res, err := s.W.ExecContext(ctx, `DELETE FROM vanities WHERE content_id = $1`, contentID)
	if err != nil {
		return fmt.Errorf("vanity delete %d: %w", contentID, s.D.TranslateError(err))
	}
	return mustAffect(res, "vanity of content", fmt.Sprint(contentID))
}

// VanityList implements dbprovider.CatalogStore.
func (s *Store) VanityList(ctx context.Context) ([]*podium.Vanity, error) {
	return nonNil(queryList(ctx, s.R, s.D, "vanity list", scanVanity, `SELECT `+vanityColumns+` FROM vanities ORDER BY path`))
}

// VanityMatch implements dbprovider.CatalogStore: one indexed lookup of
// the candidate paths (a request path has a handful of prefixes).
func (s *Store) VanityMatch(ctx context.Context, paths []string) (*podium.Vanity, error) {
	if len(paths) == 0 {
		return nil, podium.Errorf(podium.ENOTFOUND, "no vanity path")
	}
	marks := make([]string, len(paths))
	args := make([]any, len(paths))
	for i, p := range paths {
		marks[i] = fmt.Sprintf("$%d", i+1)
		args[i] = p
	}
	q := `SELECT ` + vanityColumns + ` FROM vanities WHERE path IN (` + strings.Join(marks, ", ") + `)
	ORDER BY length(path) DESC LIMIT 1`
	v, err := scanVanity(s.R.QueryRowContext(ctx, q, args...))
	if err != nil {
		return nil, fmt.Errorf("vanity match: %w", s.D.TranslateError(err))
	}
	return v, nil
}
