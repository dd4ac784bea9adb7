package publish

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/podiumhq/podium"
)

// The publishing service as its HTTP handlers (package web) see it: one
// interface per area of endpoints, each the methods of *Service that the
// area's handler holds, so that a handler depends on what it uses and
// tests can give it a fake. The rules (who may see and change what) and
// the error codes are those of the *Service methods.

// TagService is the tag tree and the tags of content (web's tag endpoints).
type TagService interface {
	TagList(ctx context.Context, u *podium.User, r TagListRequest) ([]*podium.Tag, error)
	TagGet(ctx context.Context, u *podium.User, id int64) (*podium.Tag, error)
	TagCreate(ctx context.Context, u *podium.User, name string, parentID int64) (*podium.Tag, error)
	TagUpdate(ctx context.Context, u *podium.User, id int64, r TagUpdateRequest) (*podium.Tag, error)
	TagDelete(ctx context.Context, u *podium.User, id int64) error
	TagContent(ctx context.Context, u *podium.User, id int64) ([]*podium.Content, error)
	ContentTags(ctx context.Context, u *podium.User, guid string) ([]*podium.Tag, error)
	ContentTagAdd(ctx context.Context, u *podium.User, guid string, tagID int64) (*podium.Tag, error)
	ContentTagRemove(ctx context.Context, u *podium.User, guid string, tagID int64) error
}

// VanityService is vanity paths (web's vanity endpoints).
type VanityService interface {
	VanityList(ctx context.Context, u *podium.User) ([]VanityWithContent, error)
	VanityGet(ctx context.Context, u *podium.User, guid string) (*podium.Vanity, error)
	VanitySet(ctx context.Context, u *podium.User, guid, path string, force bool) (*podium.Vanity, error)
	VanityDelete(ctx context.Context, u *podium.User, guid string) error
}

// GitService is git-backed content and the git credentials (web's repository and credential endpoints).
type GitService interface {
	RepositoryGet(ctx context.Context, u *podium.User, guid string) (*podium.Repository, error)
	RepositorySet(ctx context.Context, u *podium.User, guid string, ch RepositoryChange, replace bool) (*podium.Repository, error)
	RepositoryDelete(ctx context.Context, u *podium.User, guid string) error
	GitCredentialList(ctx context.Context, u *podium.User) ([]*podium.GitCredential, error)
	GitCredentialSet(ctx context.Context, u *podium.User, host, username, secret string) (*podium.GitCredential, error)
	GitCredentialDelete(ctx context.Context, u *podium.User, host string) error
}

// ContentService is content, its access list, environment, bundles, deployments, renders and tasks (web's content endpoints under /__api__/v1/).
type ContentService interface {
	ContentList(ctx context.Context, u *podium.User, r ContentListRequest) ([]*podium.Content, error)
	ContentGet(ctx context.Context, u *podium.User, guid string) (*podium.Content, Access, error)
	ContentByID(ctx context.Context, u *podium.User, id int64) (*podium.Content, error)
	ContentCreate(ctx context.Context, u *podium.User, r ContentCreateRequest) (*podium.Content, error)
	ContentUpdate(ctx context.Context, u *podium.User, guid string, r ContentUpdateRequest) (*podium.Content, error)
	ContentDelete(ctx context.Context, u *podium.User, guid string) error
	ContentSandbox(ctx context.Context, contentID int64) (SandboxSettings, error)
	UserByID(ctx context.Context, id int64) (*podium.User, error)
	PermissionsGet(ctx context.Context, u *podium.User, guid string) (*Permissions, error)
	PermissionsSet(ctx context.Context, u *podium.User, guid string, r PermissionsSetRequest) (*Permissions, error)
	EnvNames(ctx context.Context, u *podium.User, guid string) ([]string, error)
	EnvUpdate(ctx context.Context, u *podium.User, guid string, changes []EnvVarSet) ([]string, error)
	BundleList(ctx context.Context, u *podium.User, guid string) ([]*podium.Bundle, error)
	BundleOpen(ctx context.Context, u *podium.User, guid string, bundleID int64) (*os.File, *podium.Bundle, error)
	BundleUploadMetadata(ctx context.Context, u *podium.User, guid string, r io.Reader, metadata string) (*podium.Bundle, error)
	MaxUpload() int64
	DeployBundle(ctx context.Context, u *podium.User, guid string, bundleID int64, activate bool) (*podium.Task, error)
	DeployLatest(ctx context.Context, u *podium.User, guid string, activate bool) (*podium.Task, error)
	RenderTask(ctx context.Context, u *podium.User, guid string) (*podium.Task, error)
	TaskWait(ctx context.Context, u *podium.User, id string, first int, wait time.Duration) (*podium.Task, error)
	Lockfile(ctx context.Context, u *podium.User, guid string) (string, error)
}

// ApplicationService is content by the older Connect API's numeric ids (web's /__api__/applications endpoints).
type ApplicationService interface {
	ContentList(ctx context.Context, u *podium.User, r ContentListRequest) ([]*podium.Content, error)
	ContentGet(ctx context.Context, u *podium.User, guid string) (*podium.Content, Access, error)
	ContentByID(ctx context.Context, u *podium.User, id int64) (*podium.Content, error)
	ContentCreate(ctx context.Context, u *podium.User, r ContentCreateRequest) (*podium.Content, error)
	BundleUpload(ctx context.Context, u *podium.User, guid string, r io.Reader) (*podium.Bundle, error)
	MaxUpload() int64
	Deploy(ctx context.Context, u *podium.User, guid string, bundleID int64) (*podium.Task, error)
	TaskGet(ctx context.Context, u *podium.User, id string, first int) (*podium.Task, error)
}

// ServeService is what content serving needs: the target of a request to content, its draft preview, and vanity paths.
type ServeService interface {
	ServeTarget(ctx context.Context, u *podium.User, guid string) (*Target, error)
	ServeDraftTarget(ctx context.Context, u *podium.User, guid string, bundleID int64) (*Target, error)
	VanityResolve(ctx context.Context, path string) (guid, vanity string, err error)
}

// EditAccess is what the process endpoints of apps need: whether a user
// may manage content (MayEdit: its owner, a collaborator, an
// administrator), who alone sees its processes, logs and settings.
type EditAccess interface {
	MayEdit(ctx context.Context, u *podium.User, guid string) error
}

var (
	_ EditAccess         = (*Service)(nil)
	_ TagService         = (*Service)(nil)
	_ VanityService      = (*Service)(nil)
	_ GitService         = (*Service)(nil)
	_ ContentService     = (*Service)(nil)
	_ ApplicationService = (*Service)(nil)
	_ ServeService       = (*Service)(nil)
)
