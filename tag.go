package podium

import "time"

// Tag is one node of the tag tree (Posit Connect's tags): a name unique
// among its siblings, under a parent or at the root. Content is tagged
// with any tag of the tree.
type Tag struct {
	ID   int64
	Name string
	// ParentID is the parent tag; nil at the root.
	ParentID  *int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Vanity is the vanity URL of one content item: a path of its own under
// which it is served besides /content/{guid}/, such as "/sales/report/".
type Vanity struct {
	ContentID int64
	Path      string
	CreatedAt time.Time
}
