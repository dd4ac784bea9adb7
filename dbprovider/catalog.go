package dbprovider

import (
	"context"

	"github.com/podiumhq/podium"
)

// CatalogStore holds the store methods of the tag tree, the tags of
// content and vanity URLs.
type CatalogStore interface {
	// TagCreate inserts a tag. Returns ECONFLICT when its parent already
	// has a child of that name, or is unknown.
	TagCreate(ctx context.Context, p *TagParams) (*podium.Tag, error)
	// TagGet returns a tag. Returns ENOTFOUND.
	TagGet(ctx context.Context, id int64) (*podium.Tag, error)
	// TagList returns every tag, by id.
	TagList(ctx context.Context) ([]*podium.Tag, error)
	// TagUpdate renames or moves a tag (p.ID). Returns ENOTFOUND,
	// ECONFLICT as TagCreate. The caller keeps the tree a tree (a tag is
	// never moved under itself or a descendant).
	TagUpdate(ctx context.Context, p *TagParams) (*podium.Tag, error)
	// TagDelete deletes a tag with its descendants and their taggings.
	// Returns ENOTFOUND.
	TagDelete(ctx context.Context, id int64) error

	// ContentTagAdd tags content (nothing changes if it is tagged
	// already). Returns ECONFLICT for an unknown tag or content.
	ContentTagAdd(ctx context.Context, contentID, tagID int64) error
	// ContentTagRemove untags content. Returns ENOTFOUND when the content
	// does not have the tag.
	ContentTagRemove(ctx context.Context, contentID, tagID int64) error
	// ContentTagList returns the tags of content, by id.
	ContentTagList(ctx context.Context, contentID int64) ([]*podium.Tag, error)

	// VanitySet sets the vanity path of content, replacing its earlier
	// one. Returns ECONFLICT when other content has the path.
	VanitySet(ctx context.Context, contentID int64, path string) (*podium.Vanity, error)
	// VanityGet returns the vanity of content. Returns ENOTFOUND.
	VanityGet(ctx context.Context, contentID int64) (*podium.Vanity, error)
	// VanityDelete removes the vanity of content. Returns ENOTFOUND.
	VanityDelete(ctx context.Context, contentID int64) error
	// VanityList returns every vanity, by path.
	VanityList(ctx context.Context) ([]*podium.Vanity, error)
	// VanityMatch returns the vanity whose path is the longest of paths
	// (candidate prefixes of a request path). Returns ENOTFOUND when none
	// is.
	VanityMatch(ctx context.Context, paths []string) (*podium.Vanity, error)
}

// TagParams creates or changes a tag.
type TagParams struct {
	ID       int64 // TagUpdate only
	Name     string
	ParentID int64 // 0: the root
}
