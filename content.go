package podium

import "time"

// Access types of content: who may read it besides its owner, its access
// list and administrators.
const (
	AccessACL      = "acl"       // only the owner, the access list and admins
	AccessLoggedIn = "logged_in" // any authenticated user
	AccessAll      = "all"       // anyone, including anonymous visitors
)

// Access list roles.
const (
	ACLViewer       = "viewer"       // may read the content
	ACLCollaborator = "collaborator" // may also upload, deploy and render it
)

// Render statuses.
const (
	RenderRunning = "running"
	RenderOK      = "ok"
	RenderFailed  = "failed"
)

// Task kinds.
const (
	TaskDeploy = "deploy"
	TaskRender = "render"
)

// Content is one published item: a static site, a report, an API or an app.
type Content struct {
	ID          int64  `json:"id"`
	GUID        string `json:"guid"`
	Name        string `json:"name"`
	Title       string `json:"title"`
	Description string `json:"description"`
	OwnerID     int64  `json:"owner_id"`
	// AppMode is the app mode of the active bundle, "" before the first
	// deployment.
	AppMode    string `json:"app_mode"`
	AccessType string `json:"access_type"`
	// ActiveBundleID is the bundle readers see; nil before the first
	// deployment.
	ActiveBundleID *int64    `json:"bundle_id"`
	CreatedAt      time.Time `json:"created_time"`
	UpdatedAt      time.Time `json:"updated_time"`
	// LastDeployedAt is when a bundle was last activated; nil before the
	// first deployment.
	LastDeployedAt *time.Time `json:"last_deployed_time"`
	// PyVersion, RVersion and QuartoVersion are the versions of the
	// runtimes the active bundle's environment was built with (Connect's
	// py_version, r_version, quarto_version); nil when it uses none, or
	// before the first deployment.
	PyVersion     *string `json:"py_version"`
	RVersion      *string `json:"r_version"`
	QuartoVersion *string `json:"quarto_version"`
}

// ContentACLEntry grants one user a role on one content.
type ContentACLEntry struct {
	UserID   int64  `json:"user_id"`
	Username string `json:"username"`
	Role     string `json:"role"`
}

// ContentGroupACLEntry is a group's grant on content: its members get
// Role ("viewer" or "collaborator").
type ContentGroupACLEntry struct {
	GroupID  int64  `json:"group_id"`
	Name     string `json:"name"`
	Provider string `json:"provider"`
	Role     string `json:"role"`
}

// Bundle is one uploaded archive of a content's files.
type Bundle struct {
	ID        int64  `json:"id"`
	ContentID int64  `json:"content_id"`
	Size      int64  `json:"size"`
	SHA256    []byte `json:"-"`
	Manifest  string `json:"-"` // the manifest.json document, "{}" when unreadable
	// Metadata is the JSON object a client sent with the upload ("{}").
	Metadata  string    `json:"-"`
	CreatedBy *int64    `json:"created_by"`
	CreatedAt time.Time `json:"created_time"`
	// Environment is what the bundle's deployment built it with (set
	// once its environment is ready; empty before).
	Environment BundleEnvironment `json:"-"`
}

// BundleEnvironment is the environment a bundle was built in: the
// versions of the runtimes its environment uses ("" for a runtime it does
// not use) and the lockfile of its Python packages ("" when it has no
// Python environment).
type BundleEnvironment struct {
	PyVersion     string
	RVersion      string
	QuartoVersion string
	// Lockfile is the requirements.txt.lock of the Python environment:
	// one "name==version" line per installed distribution, after comment
	// lines that name the interpreter.
	Lockfile string
}

// Task is a unit of background work started by an API call (a deployment,
// an ad-hoc render), whose output lines are stored for any node to answer
// polls.
type Task struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	ContentID  *int64     `json:"-"`
	UserID     *int64     `json:"-"`
	NodeID     string     `json:"node_id"`
	CreatedAt  time.Time  `json:"created_time"`
	FinishedAt *time.Time `json:"finished_time"`
	Finished   bool       `json:"finished"`
	Code       int        `json:"code"`
	Error      string     `json:"error"`
	Result     string     `json:"-"` // JSON document, "" when none
	// Output holds the lines from the requested index on; Last is the
	// index to ask from next time.
	Output []string `json:"output"`
	Last   int      `json:"last"`
}

// Render is one run of a report's render command.
type Render struct {
	ID         int64      `json:"id"`
	ContentID  int64      `json:"content_id"`
	BundleID   int64      `json:"bundle_id"`
	TaskID     string     `json:"task_id,omitempty"`
	JobID      *int64     `json:"job_id,omitempty"`
	NodeID     string     `json:"node_id"`
	Status     string     `json:"status"`
	StartedAt  time.Time  `json:"started_time"`
	FinishedAt *time.Time `json:"finished_time"`
}
