package auth

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// ValidateGroupName checks the name of a local group: 1 to 255
// characters, printable, without leading or trailing space. Returns
// EINVALID.
func ValidateGroupName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > 255 || strings.TrimSpace(name) != name || !utf8.ValidString(name) ||
		strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return podium.Errorf(podium.EINVALID, "group name %q: must be 1 to 255 printable characters, without leading or trailing spaces", name)
	}
	return nil
}

// CreateGroup creates a local group. Returns EINVALID, ECONFLICT if a
// local group has the name.
func (s *Service) CreateGroup(ctx context.Context, name string) (*podium.Group, error) {
	if err := ValidateGroupName(name); err != nil {
		return nil, err
	}
	g, err := s.db.GroupCreate(ctx, &dbprovider.GroupCreateParams{Name: name})
	if err != nil {
		return nil, err
	}
	s.log.WithFields(map[string]any{"group": g.Name, "group_id": g.ID}).Info("group created")
	return g, nil
}

// GetGroup returns a group. Returns ENOTFOUND.
func (s *Service) GetGroup(ctx context.Context, id int64) (*podium.Group, error) {
	return s.db.GroupGet(ctx, id)
}

// ListGroups returns every group, local and from providers, by name.
func (s *Service) ListGroups(ctx context.Context) ([]*podium.Group, error) {
	return s.db.GroupList(ctx)
}

// DeleteGroup deletes a group with its memberships and its grants on
// content. A provider's group comes back at its members' next sign-in
// (without its grants). Returns ENOTFOUND.
func (s *Service) DeleteGroup(ctx context.Context, id int64) error {
	g, err := s.db.GroupGet(ctx, id)
	if err != nil {
		return err
	}
	if err := s.db.GroupDelete(ctx, id); err != nil {
		return err
	}
	s.log.WithFields(map[string]any{"group": g.Name, "group_id": g.ID, "provider": g.Provider}).Info("group deleted")
	return nil
}

// localGroup returns a group whose members may be changed in Podium.
// Returns ENOTFOUND, and EPRECONDITION for a provider's group (its members
// come from the provider at each sign-in).
func (s *Service) localGroup(ctx context.Context, id int64) (*podium.Group, error) {
	g, err := s.db.GroupGet(ctx, id)
	if err != nil {
		return nil, err
	}
	if g.Provider != "" {
		return nil, podium.Errorf(podium.EPRECONDITION,
			"group %q comes from the %s provider: its members are set at each sign-in; change them in the provider", g.Name, g.Provider)
	}
	return g, nil
}

// AddGroupMember adds a user to a local group (a member already in it is
// fine). Returns ENOTFOUND, EPRECONDITION for a provider's group.
func (s *Service) AddGroupMember(ctx context.Context, groupID, userID int64) error {
	if _, err := s.localGroup(ctx, groupID); err != nil {
		return err
	}
	return s.db.GroupMemberAdd(ctx, groupID, userID)
}

// RemoveGroupMember removes a user from a local group. Returns ENOTFOUND,
// EPRECONDITION for a provider's group.
func (s *Service) RemoveGroupMember(ctx context.Context, groupID, userID int64) error {
	if _, err := s.localGroup(ctx, groupID); err != nil {
		return err
	}
	return s.db.GroupMemberRemove(ctx, groupID, userID)
}

// ListGroupMembers returns the members of a group. Returns ENOTFOUND.
func (s *Service) ListGroupMembers(ctx context.Context, groupID int64) ([]*podium.User, error) {
	if _, err := s.db.GroupGet(ctx, groupID); err != nil {
		return nil, err
	}
	return s.db.GroupMemberList(ctx, groupID)
}

// UserGroups returns the groups of a user.
func (s *Service) UserGroups(ctx context.Context, userID int64) ([]*podium.Group, error) {
	gs, err := s.db.GroupListByUser(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("user groups: %w", err)
	}
	return gs, nil
}
