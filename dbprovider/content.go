package dbprovider

import (
	"context"

	"github.com/podiumhq/podium"
)

// ContentStore holds the store methods for content, access lists, bundles,
// tasks and their output, and renders.
type ContentStore interface {
	// ContentCreate inserts content. Returns ECONFLICT for a duplicate GUID.
	ContentCreate(ctx context.Context, p *ContentCreateParams) (*podium.Content, error)
	// ContentGet returns content by id. Returns ENOTFOUND.
	ContentGet(ctx context.Context, id int64) (*podium.Content, error)
	// ContentGetByGUID returns content by GUID. Returns ENOTFOUND.
	ContentGetByGUID(ctx context.Context, guid string) (*podium.Content, error)
	// ContentList returns the content a viewer may see, oldest first.
	ContentList(ctx context.Context, p *ContentListParams) ([]*podium.Content, error)
	// ContentUpdate changes the fields set in p and returns the row.
	// Returns ENOTFOUND.
	ContentUpdate(ctx context.Context, p *ContentUpdateParams) (*podium.Content, error)
	// ContentActivate points content at a deployed bundle (the one atomic
	// step of a deployment). Returns ENOTFOUND.
	ContentActivate(ctx context.Context, p *ContentActivateParams) (*podium.Content, error)
	// ContentDelete deletes content with its access list, bundles, tasks
	// and renders. Returns ENOTFOUND.
	ContentDelete(ctx context.Context, id int64) error

	// ContentACLSet replaces the access list of content. Returns EINVALID
	// naming an unknown user. Run it inside a Tx so the list never shows
	// half replaced.
	ContentACLSet(ctx context.Context, p *ContentACLSetParams) error
	// ContentACLList returns the access list of content, by username.
	ContentACLList(ctx context.Context, contentID int64) ([]*podium.ContentACLEntry, error)
	// ContentACLRole returns the role of a user on content, "" for none.
	ContentACLRole(ctx context.Context, contentID, userID int64) (string, error)

	// BundleCreate records an uploaded bundle.
	BundleCreate(ctx context.Context, p *BundleCreateParams) (*podium.Bundle, error)
	// BundleGet returns a bundle. Returns ENOTFOUND.
	BundleGet(ctx context.Context, id int64) (*podium.Bundle, error)
	// BundleList returns the bundles of content, newest first.
	BundleList(ctx context.Context, contentID int64) ([]*podium.Bundle, error)
	// BundleDelete deletes a bundle record. Returns ENOTFOUND.
	BundleDelete(ctx context.Context, id int64) error

	// TaskCreate records a new, unfinished task.
	TaskCreate(ctx context.Context, p *TaskCreateParams) (*podium.Task, error)
	// TaskAppendOutput stores output lines numbered from p.FirstLine.
	TaskAppendOutput(ctx context.Context, p *TaskAppendOutputParams) error
	// TaskFinish marks a task finished. Returns ENOTFOUND.
	TaskFinish(ctx context.Context, p *TaskFinishParams) error
	// TaskGet returns a task with its output lines from index first on
	// (at most MaxTaskLines of them) and Last set to the next index to
	// ask for. Returns ENOTFOUND.
	TaskGet(ctx context.Context, id string, first int) (*podium.Task, error)

	// RenderCreate records a render that starts now, status running.
	RenderCreate(ctx context.Context, p *RenderCreateParams) (*podium.Render, error)
	// RenderFinish records the end of a render. Returns ENOTFOUND.
	RenderFinish(ctx context.Context, id int64, status string) error
	// RenderGet returns a render. Returns ENOTFOUND.
	RenderGet(ctx context.Context, id int64) (*podium.Render, error)
	// ContentSettingsGet returns the settings document of content (a JSON
	// object, "{}" when none). Returns ENOTFOUND.
	ContentSettingsGet(ctx context.Context, contentID int64) ([]byte, error)
	// ContentSettingsSwap replaces the settings document of content by
	// next if it still equals old (as ContentSettingsGet returned it), and
	// reports whether it did: a compare-and-set, so that two nodes
	// updating the settings at once never lose one update. next must be
	// a JSON object. Returns ENOTFOUND.
	ContentSettingsSwap(ctx context.Context, contentID int64, old, next []byte) (bool, error)
	// RenderList returns the renders of content, newest first.
	RenderList(ctx context.Context, contentID int64) ([]*podium.Render, error)
	// RenderListRecent returns the newest limit renders of content, newest
	// first.
	RenderListRecent(ctx context.Context, contentID int64, limit int) ([]*podium.Render, error)
	// TaskList returns the newest limit tasks of content (deployments and
	// renders), newest first, each with its first output lines (at most
	// MaxTaskLines) and Last set as TaskGet(id, 0) would.
	TaskList(ctx context.Context, contentID int64, limit int) ([]*podium.Task, error)
	// RenderGetLatestGood returns the newest successful render of a
	// bundle of content. Returns ENOTFOUND when there is none.
	RenderGetLatestGood(ctx context.Context, contentID, bundleID int64) (*podium.Render, error)
}

// MaxTaskLines bounds the output lines one TaskGet returns.
const MaxTaskLines = 5000

// ContentCreateParams creates content.
type ContentCreateParams struct {
	GUID        string
	Name        string
	Title       string
	Description string
	OwnerID     int64
	AccessType  string // "" means podium.AccessACL
}

// ContentListParams filters ContentList.
type ContentListParams struct {
	// ViewerID is the user asking; 0 is anonymous (sees only AccessAll).
	ViewerID int64
	// All lists everything (administrators).
	All bool
	// OwnerID, when not 0, keeps the content of one owner.
	OwnerID int64
	// Name, when not "", keeps the content of that name.
	Name string
}

// ContentUpdateParams changes content; nil fields stay.
type ContentUpdateParams struct {
	ID          int64
	Name        *string
	Title       *string
	Description *string
	AccessType  *string
}

// ContentActivateParams activates a bundle.
type ContentActivateParams struct {
	ID       int64
	BundleID int64
	AppMode  string
}

// ContentACLSetParams replaces an access list.
type ContentACLSetParams struct {
	ContentID int64
	Entries   []ContentACLEntryParams
}

// ContentACLEntryParams is one entry of an access list, by username.
type ContentACLEntryParams struct {
	Username string
	Role     string
}

// BundleCreateParams records a bundle.
type BundleCreateParams struct {
	ContentID int64
	Size      int64
	SHA256    []byte
	Manifest  string // JSON document; "" means "{}"
	CreatedBy int64  // 0 for none
}

// TaskCreateParams creates a task.
type TaskCreateParams struct {
	ID        string
	Kind      string
	ContentID int64 // 0 for none
	UserID    int64 // 0 for none
	NodeID    string
}

// TaskAppendOutputParams appends task output.
type TaskAppendOutputParams struct {
	TaskID    string
	FirstLine int
	Lines     []string
}

// TaskFinishParams finishes a task.
type TaskFinishParams struct {
	ID     string
	Code   int
	Error  string
	Result string // JSON document, "" for none
}

// RenderCreateParams records a render.
type RenderCreateParams struct {
	ContentID int64
	BundleID  int64
	TaskID    string // "" for none
	JobID     int64  // 0 for none
	NodeID    string
}
