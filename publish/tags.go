package publish

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// MaxTagNameLen bounds a tag's name, in bytes.
const MaxTagNameLen = 255

// TagListRequest filters TagList (Connect's query names: name,
// parent_id).
type TagListRequest struct {
	Name string
	// ParentID keeps the children of a tag; with HasParent false every
	// tag is kept, with ParentID 0 the root tags.
	ParentID  int64
	HasParent bool
}

// TagList returns the tags of the tree, by id. Any authenticated user may
// read the tree.
func (s *Service) TagList(ctx context.Context, u *podium.User, r TagListRequest) ([]*podium.Tag, error) {
	if err := requireUser(u); err != nil {
		return nil, err
	}
	all, err := s.db.TagList(ctx)
	if err != nil {
		return nil, err
	}
	out := []*podium.Tag{}
	for _, t := range all {
		if r.Name != "" && t.Name != r.Name {
			continue
		}
		if r.HasParent && parentOf(t) != r.ParentID {
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

func parentOf(t *podium.Tag) int64 {
	if t.ParentID == nil {
		return 0
	}
	return *t.ParentID
}

func requireUser(u *podium.User) error {
	if u == nil {
		return podium.Errorf(podium.EUNAUTHORIZED, "authentication required: send \"Authorization: Key <api key>\" or log in")
	}
	return nil
}

func requireAdmin(u *podium.User, what string) error {
	if err := requireUser(u); err != nil {
		return err
	}
	if !u.IsAdmin() {
		return podium.Errorf(podium.EFORBIDDEN, "only administrators may %s", what)
	}
	return nil
}

// TagGet returns one tag. Returns ENOTFOUND.
func (s *Service) TagGet(ctx context.Context, u *podium.User, id int64) (*podium.Tag, error) {
	if err := requireUser(u); err != nil {
		return nil, err
	}
	return s.tag(ctx, s.db, id)
}

func (s *Service) tag(ctx context.Context, db dbprovider.Executor, id int64) (*podium.Tag, error) {
	t, err := db.TagGet(ctx, id)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return nil, podium.Errorf(podium.ENOTFOUND, "tag %d not found", id)
	}
	return t, err
}

// checkTagName refuses an empty or overlong name, or one with control
// characters or surrounding spaces.
func checkTagName(name string) error {
	switch {
	case name == "":
		return podium.Errorf(podium.EINVALID, "a tag needs a name")
	case len(name) > MaxTagNameLen:
		return podium.Errorf(podium.EINVALID, "tag name is longer than %d bytes", MaxTagNameLen)
	case !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0:
		return podium.Errorf(podium.EINVALID, "tag name %q must be text without control characters", name)
	case strings.TrimSpace(name) != name:
		return podium.Errorf(podium.EINVALID, "tag name %q must not start or end with spaces", name)
	}
	return nil
}

// TagCreate creates a tag under parentID (0: at the root). Only
// administrators manage the tree, as in Connect.
//
// Returns EFORBIDDEN, EINVALID (name, unknown parent), ECONFLICT when the
// parent has a child of that name.
func (s *Service) TagCreate(ctx context.Context, u *podium.User, name string, parentID int64) (*podium.Tag, error) {
	if err := requireAdmin(u, "create tags"); err != nil {
		return nil, err
	}
	if err := checkTagName(name); err != nil {
		return nil, err
	}
	var t *podium.Tag
	err := dbprovider.RunTx(ctx, s.db, func(tx dbprovider.Tx) error {
		if err := s.checkParent(ctx, tx, parentID, 0); err != nil {
			return err
		}
		var err error
		t, err = tx.TagCreate(ctx, &dbprovider.TagParams{Name: name, ParentID: parentID})
		return err
	})
	if podium.IsCode(err, podium.ECONFLICT) {
		return nil, siblingTaken(name, parentID)
	}
	return t, err
}

func siblingTaken(name string, parentID int64) error {
	if parentID == 0 {
		return podium.Errorf(podium.ECONFLICT, "a tag named %q is already at the root: pick another name or parent", name)
	}
	return podium.Errorf(podium.ECONFLICT, "tag %d already has a child named %q: pick another name or parent", parentID, name)
}

// checkParent checks that parentID (0: the root) is a tag, and, when a tag
// id is being moved, that the parent is not id itself nor one of its
// descendants (the tree stays a tree).
func (s *Service) checkParent(ctx context.Context, tx dbprovider.Executor, parentID, id int64) error {
	if parentID == 0 {
		return nil
	}
	all, err := tx.TagList(ctx)
	if err != nil {
		return err
	}
	parent := map[int64]int64{}
	for _, t := range all {
		parent[t.ID] = parentOf(t)
	}
	if _, ok := parent[parentID]; !ok {
		return podium.Errorf(podium.EINVALID, "parent_id %d is not a tag", parentID)
	}
	for p, n := parentID, 0; p != 0 && n <= len(all); p, n = parent[p], n+1 {
		if p == id {
			return podium.Errorf(podium.EINVALID, "tag %d cannot be moved under itself or one of its descendants (%d)", id, parentID)
		}
	}
	return nil
}

// TagUpdateRequest changes a tag; nil fields stay. ParentID 0 moves the
// tag to the root.
type TagUpdateRequest struct {
	Name     *string
	ParentID *int64
}

// TagUpdate renames or moves a tag (administrators only).
//
// Returns EFORBIDDEN, ENOTFOUND, EINVALID (name, unknown parent, a move
// under itself), ECONFLICT (a sibling of that name).
func (s *Service) TagUpdate(ctx context.Context, u *podium.User, id int64, r TagUpdateRequest) (*podium.Tag, error) {
	if err := requireAdmin(u, "change tags"); err != nil {
		return nil, err
	}
	if r.Name != nil {
		if err := checkTagName(*r.Name); err != nil {
			return nil, err
		}
	}
	var t *podium.Tag
	var p dbprovider.TagParams
	err := dbprovider.RunTx(ctx, s.db, func(tx dbprovider.Tx) error {
		cur, err := s.tag(ctx, tx, id)
		if err != nil {
			return err
		}
		p = dbprovider.TagParams{ID: id, Name: cur.Name, ParentID: parentOf(cur)}
		if r.Name != nil {
			p.Name = *r.Name
		}
		if r.ParentID != nil {
			p.ParentID = *r.ParentID
			if err := s.checkParent(ctx, tx, p.ParentID, id); err != nil {
				return err
			}
		}
		t, err = tx.TagUpdate(ctx, &p)
		return err
	})
	if podium.IsCode(err, podium.ECONFLICT) && !podium.IsCode(err, podium.ENOTFOUND) {
		return nil, siblingTaken(p.Name, p.ParentID)
	}
	return t, err
}

// TagDelete deletes a tag, its descendants and their taggings
// (administrators only). Returns EFORBIDDEN, ENOTFOUND.
func (s *Service) TagDelete(ctx context.Context, u *podium.User, id int64) error {
	if err := requireAdmin(u, "delete tags"); err != nil {
		return err
	}
	err := s.db.TagDelete(ctx, id)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return podium.Errorf(podium.ENOTFOUND, "tag %d not found", id)
	}
	return err
}

// TagContent returns the content tagged with tag id that u may see.
// Returns ENOTFOUND for an unknown tag.
func (s *Service) TagContent(ctx context.Context, u *podium.User, id int64) ([]*podium.Content, error) {
	if _, err := s.TagGet(ctx, u, id); err != nil {
		return nil, err
	}
	return s.ContentList(ctx, u, ContentListRequest{TagID: id})
}

// ContentTags returns the tags of content u may see.
func (s *Service) ContentTags(ctx context.Context, u *podium.User, guid string) ([]*podium.Tag, error) {
	c, _, err := s.contentFor(ctx, u, guid, canView)
	if err != nil {
		return nil, err
	}
	return s.db.ContentTagList(ctx, c.ID)
}

// ContentTagAdd tags content u may change with an existing tag (adding a
// tag it has changes nothing). Returns ENOTFOUND, EFORBIDDEN, EINVALID for
// an unknown tag.
func (s *Service) ContentTagAdd(ctx context.Context, u *podium.User, guid string, tagID int64) (*podium.Tag, error) {
	c, _, err := s.contentFor(ctx, u, guid, canEdit)
	if err != nil {
		return nil, err
	}
	t, err := s.db.TagGet(ctx, tagID)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return nil, podium.Errorf(podium.EINVALID, "tag_id %d is not a tag: an administrator creates tags (POST /__api__/v1/tags)", tagID)
	} else if err != nil {
		return nil, err
	}
	if err := s.db.ContentTagAdd(ctx, c.ID, tagID); podium.IsCode(err, podium.ECONFLICT) {
		return nil, podium.Errorf(podium.EINVALID, "tag %d was deleted meanwhile", tagID)
	} else if err != nil {
		return nil, err
	}
	return t, nil
}

// ContentTagRemove untags content u may change. Returns ENOTFOUND (also
// when the content does not have the tag), EFORBIDDEN.
func (s *Service) ContentTagRemove(ctx context.Context, u *podium.User, guid string, tagID int64) error {
	c, _, err := s.contentFor(ctx, u, guid, canEdit)
	if err != nil {
		return err
	}
	err = s.db.ContentTagRemove(ctx, c.ID, tagID)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return podium.Errorf(podium.ENOTFOUND, "content %s does not have tag %d", guid, tagID)
	}
	return err
}
