package dbprovider

import (
	"context"
	"time"

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
	// step of a deployment), with the runtime versions the bundle's
	// environment recorded (BundleSetEnvironment). Returns ENOTFOUND.
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
	// ContentACLRole returns the best role of a user on content, granted
	// to the user or to one of the user's groups, "" for none.
	ContentACLRole(ctx context.Context, contentID, userID int64) (string, error)

	// ContentEnvList returns the environment variables of content, by
	// name, with their stored (encrypted) values.
	ContentEnvList(ctx context.Context, contentID int64) ([]*ContentEnvVar, error)
	// ContentEnvSet deletes the names of p.Delete and inserts or replaces
	// p.Set.
	ContentEnvSet(ctx context.Context, p *ContentEnvSetParams) error

	// BundleCreate records an uploaded bundle.
	BundleCreate(ctx context.Context, p *BundleCreateParams) (*podium.Bundle, error)
	// BundleGet returns a bundle. Returns ENOTFOUND.
	BundleGet(ctx context.Context, id int64) (*podium.Bundle, error)
	// BundleList returns the bundles of content, newest first.
	BundleList(ctx context.Context, contentID int64) ([]*podium.Bundle, error)
	// BundleSetEnvironment records the environment a bundle was built in
	// (replacing what an earlier build recorded). ContentActivate copies
	// its versions to the content. Returns ENOTFOUND.
	BundleSetEnvironment(ctx context.Context, bundleID int64, env *podium.BundleEnvironment) error
	// BundleDelete deletes a bundle record. Returns ENOTFOUND.
	BundleDelete(ctx context.Context, id int64) error

	// TaskCreate records a new, unfinished task.
	TaskCreate(ctx context.Context, p *TaskCreateParams) (*podium.Task, error)
	// TaskAppendOutput stores output lines numbered from p.FirstLine.
	TaskAppendOutput(ctx context.Context, p *TaskAppendOutputParams) error
	// TaskFinish marks a task finished. Returns ENOTFOUND, and ECONFLICT
	// when the task is finished already (another node failed it because
	// its node was taken for dead): a late end never overwrites that.
	TaskFinish(ctx context.Context, p *TaskFinishParams) error
	// TaskHold checks that a task is unfinished and, inside a Tx, keeps it
	// so until the Tx ends (the row is locked): a task's writes (a render
	// recorded good, a bundle activated) commit only while the task is
	// still its node's. Returns ECONFLICT when the task is finished
	// already, ENOTFOUND.
	TaskHold(ctx context.Context, id string) error
	// TaskFailOrphaned finishes as failed (code 1) the unfinished tasks
	// whose node is dead: it stopped heartbeating for longer than
	// p.NodeTimeout, stopped, left the registry, or restarted (registered
	// again after the task began). The error, also appended to the task's
	// output, says which, with the node and its last heartbeat. Only the
	// restart rule applies to p.NodeID's own tasks.
	TaskFailOrphaned(ctx context.Context, p *OrphanedParams) ([]*OrphanedTask, error)
	// TaskGet returns a task with its output lines from index first on
	// (at most MaxTaskLines of them) and Last set to the next index to
	// ask for. Returns ENOTFOUND.
	TaskGet(ctx context.Context, id string, first int) (*podium.Task, error)

	// RenderCreate records a render that starts now, status running.
	RenderCreate(ctx context.Context, p *RenderCreateParams) (*podium.Render, error)
	// RenderFinish records the end of a running render. Returns
	// ENOTFOUND, and ECONFLICT when the render is finished already (failed
	// because its node was taken for dead). Fence a good render by calling
	// it in a Tx after JobHeartbeat or TaskHold.
	RenderFinish(ctx context.Context, id int64, status string) error
	// RenderFailOrphaned records as failed the running renders whose node
	// is dead, by the rules of TaskFailOrphaned, and returns their ids.
	RenderFailOrphaned(ctx context.Context, p *OrphanedParams) ([]int64, error)
	// RenderGet returns a render. Returns ENOTFOUND.
	RenderGet(ctx context.Context, id int64) (*podium.Render, error)
	// RenderList returns one page of the renders of content, newest
	// first.
	RenderList(ctx context.Context, p *RenderListParams) ([]*podium.Render, error)
	// RenderListUnpruned returns the successful renders of a bundle whose
	// output has not been pruned, newest first, except the newest keep of
	// them and the render 'except', at most limit: the outputs to prune.
	// Its cost follows the rows it returns, not the history.
	RenderListUnpruned(ctx context.Context, p *RenderPruneParams) ([]*podium.Render, error)
	// RenderMarkPruned records that the output of these renders is gone.
	RenderMarkPruned(ctx context.Context, ids []int64) error
	// RenderHistoryPrune deletes at most limit render rows that started
	// before 'before' and keep no output (failed, or output pruned),
	// oldest first, and returns how many it deleted.
	RenderHistoryPrune(ctx context.Context, before time.Time, limit int) (int, error)
	// RenderHistoryCount returns how many renders RenderHistoryPrune would
	// delete for 'before', without a limit.
	RenderHistoryCount(ctx context.Context, before time.Time) (int64, error)
	// ContentSettingsGet returns the settings document of content (a JSON
	// object, "{}" when none). Returns ENOTFOUND.
	ContentSettingsGet(ctx context.Context, contentID int64) ([]byte, error)
	// ContentSettingsSwap replaces the settings document of content by
	// next if it still equals old (as ContentSettingsGet returned it), and
	// reports whether it did: a compare-and-set, so that two nodes
	// updating the settings at once never lose one update. next must be
	// a JSON object. Returns ENOTFOUND.
	ContentSettingsSwap(ctx context.Context, contentID int64, old, next []byte) (bool, error)
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
	// TagID, when not 0, keeps the content tagged with that tag.
	TagID int64
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

// ContentEnvVar is one environment variable of content; Value is what is
// stored (the caller encrypts and decrypts it).
type ContentEnvVar struct {
	Name  string
	Value []byte
}

// ContentEnvSetParams changes the environment variables of content.
type ContentEnvSetParams struct {
	ContentID int64
	Set       []ContentEnvVar
	Delete    []string
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
	Metadata  string // JSON object sent with the upload; "" means "{}"
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

// OrphanedParams select the work of dead nodes.
type OrphanedParams struct {
	// NodeID is the node asking: it is alive, whatever its heartbeat
	// says, so only the restart rule applies to its own work.
	NodeID string
	// NodeTimeout is [HA] NodeTimeout: a node whose heartbeat is older is
	// dead.
	NodeTimeout time.Duration
}

// OrphanedTask is a task TaskFailOrphaned finished, with the reason.
type OrphanedTask struct {
	ID     string
	NodeID string
	Reason string
}

// RenderListParams selects one page of a report's renders.
type RenderListParams struct {
	ContentID int64
	// Before is the id of the last render of the previous page; 0 means
	// the first page.
	Before int64
	Limit  int // 0: 100
}

// RenderPruneParams selects the render outputs to prune.
type RenderPruneParams struct {
	ContentID, BundleID int64
	Keep                int   // newest successful outputs to keep
	Except              int64 // a render never to return (the one just done)
	Limit               int
}

// RenderCreateParams records a render.
type RenderCreateParams struct {
	ContentID int64
	BundleID  int64
	TaskID    string // "" for none
	JobID     int64  // 0 for none
	NodeID    string
}
