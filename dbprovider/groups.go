package dbprovider

import (
	"context"

	"github.com/podiumhq/podium"
)

// GroupStore holds the store methods for external identities, groups,
// their members and the groups of content access lists.
type GroupStore interface {
	// UserIdentityGet returns the user an external identity (provider and
	// the provider's unique id for the user) signed in before. Returns
	// ENOTFOUND.
	UserIdentityGet(ctx context.Context, provider, uniqueID string) (*podium.User, error)
	// UserIdentityPut links an external identity to a user (replacing the
	// user it pointed at, if any).
	UserIdentityPut(ctx context.Context, provider, uniqueID string, userID int64) error
	// UserIdentityList returns the providers that signed a user in, by
	// provider.
	UserIdentityList(ctx context.Context, userID int64) ([]*UserIdentity, error)

	// GroupCreate inserts a group. Returns ECONFLICT if the provider has a
	// group of that name.
	GroupCreate(ctx context.Context, p *GroupCreateParams) (*podium.Group, error)
	// GroupGet returns one group. Returns ENOTFOUND.
	GroupGet(ctx context.Context, id int64) (*podium.Group, error)
	// GroupGetByName returns a provider's group ("" for local) by name.
	// Returns ENOTFOUND.
	GroupGetByName(ctx context.Context, provider, name string) (*podium.Group, error)
	// GroupList returns every group, by name then provider.
	GroupList(ctx context.Context) ([]*podium.Group, error)
	// GroupDelete deletes a group, its memberships and its grants.
	// Returns ENOTFOUND.
	GroupDelete(ctx context.Context, id int64) error

	// GroupMemberAdd adds a user to a group; a member already in it is not
	// an error. Returns ENOTFOUND for an unknown group or user.
	GroupMemberAdd(ctx context.Context, groupID, userID int64) error
	// GroupMemberRemove removes a user from a group. Returns ENOTFOUND
	// when the user is not a member.
	GroupMemberRemove(ctx context.Context, groupID, userID int64) error
	// GroupMemberList returns the members of a group, by username.
	GroupMemberList(ctx context.Context, groupID int64) ([]*podium.User, error)
	// GroupListByUser returns the groups of a user, by name.
	GroupListByUser(ctx context.Context, userID int64) ([]*podium.Group, error)

	// ContentGroupACLPut grants a group a role ("viewer" or
	// "collaborator") on content, replacing the role it had. Returns
	// ENOTFOUND for unknown content or group.
	ContentGroupACLPut(ctx context.Context, contentID, groupID int64, role string) error
	// ContentGroupACLDelete removes a group's grant. Returns ENOTFOUND
	// when the group has none.
	ContentGroupACLDelete(ctx context.Context, contentID, groupID int64) error
	// ContentGroupACLList returns the groups granted on content, by name.
	ContentGroupACLList(ctx context.Context, contentID int64) ([]*podium.ContentGroupACLEntry, error)
}

// UserIdentity is one external identity of a user.
type UserIdentity struct {
	Provider string
	UniqueID string
	UserID   int64
}

// GroupCreateParams creates a group.
type GroupCreateParams struct {
	Name string
	// Provider is "" for a local group, else the provider it mirrors.
	Provider string
}
