package publish

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// Access is what one user may do with one content.
type Access struct {
	View   bool // read the content and its metadata
	Edit   bool // change it: update, upload, deploy, render
	Manage bool // delete it and change its access list (owner and admins)
}

// AccessOf returns what u (nil for anonymous) may do with c.
func (s *Service) AccessOf(ctx context.Context, u *podium.User, c *podium.Content) (Access, error) {
	switch {
	case u.IsAdmin(), u != nil && u.ID == c.OwnerID:
		return Access{View: true, Edit: true, Manage: true}, nil
	case u == nil:
		return Access{View: c.AccessType == podium.AccessAll}, nil
	}
	role, err := s.db.ContentACLRole(ctx, c.ID, u.ID)
	if err != nil {
		return Access{}, fmt.Errorf("access: %w", err)
	}
	a := Access{View: role != "" || c.AccessType == podium.AccessAll || c.AccessType == podium.AccessLoggedIn}
	a.Edit = role == podium.ACLCollaborator && u.CanPublish()
	return a, nil
}

// MayEdit returns nil when u may change content guid (its owner, a
// collaborator who may publish, an administrator): what other parts of the
// node (an app's processes) allow only to those who may redeploy it.
// Returns EUNAUTHORIZED for anonymous, ENOTFOUND when u may not see the
// content, EFORBIDDEN when u sees it but may not change it.
func (s *Service) MayEdit(ctx context.Context, u *podium.User, guid string) error {
	if u == nil {
		return podium.Errorf(podium.EUNAUTHORIZED, "authentication required: send \"Authorization: Key <api key>\" or log in")
	}
	_, _, err := s.contentFor(ctx, u, guid, canEdit)
	return err
}

// ContentAccess checks, by the rule of every content endpoint, that u may
// read (write false) or change (write true) content guid, and returns the
// content: what other services (the scheduler) ask before they touch a
// content item's data. Returns EUNAUTHORIZED for anonymous, ENOTFOUND when
// u may not see the content, EFORBIDDEN when u sees it but may not change
// it.
func (s *Service) ContentAccess(ctx context.Context, u *podium.User, guid string, write bool) (*podium.Content, error) {
	if u == nil {
		return nil, podium.Errorf(podium.EUNAUTHORIZED, "authentication required: send \"Authorization: Key <api key>\" or log in")
	}
	need := canView
	if write {
		need = canEdit
	}
	c, _, err := s.contentFor(ctx, u, guid, need)
	return c, err
}

// contentFor loads content by GUID and checks the caller's access. Content
// the caller may not see is ENOTFOUND, as unknown content is; content it
// sees but may not change in the way asked is EFORBIDDEN.
func (s *Service) contentFor(ctx context.Context, u *podium.User, guid string, need func(Access) bool) (*podium.Content, Access, error) {
	if !validGUID(guid) {
		return nil, Access{}, notFound(guid)
	}
	c, err := s.db.ContentGetByGUID(ctx, guid)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return nil, Access{}, notFound(guid)
	} else if err != nil {
		return nil, Access{}, err
	}
	a, err := s.AccessOf(ctx, u, c)
	if err != nil {
		return nil, Access{}, err
	}
	if !a.View {
		return nil, Access{}, notFound(guid)
	}
	if !need(a) {
		return nil, a, podium.Errorf(podium.EFORBIDDEN, "you may not do this with content %s", guid)
	}
	return c, a, nil
}

func canView(a Access) bool   { return a.View }
func canEdit(a Access) bool   { return a.Edit }
func canManage(a Access) bool { return a.Manage }

// ContentCreateRequest is the input of ContentCreate.
type ContentCreateRequest struct {
	Name        string
	Title       string
	Description string
	AccessType  string
}

func checkFields(name, title, description, access *string) error {
	if name != nil && !namePattern.MatchString(*name) {
		return podium.Errorf(podium.EINVALID, "name %q must be 1 to 64 letters, digits, '.', '_' or '-', not starting with '.' or '-'", *name)
	}
	if title != nil && len(*title) > MaxTitleLen {
		return podium.Errorf(podium.EINVALID, "title is longer than %d bytes", MaxTitleLen)
	}
	if description != nil && len(*description) > MaxDescriptionLen {
		return podium.Errorf(podium.EINVALID, "description is longer than %d bytes", MaxDescriptionLen)
	}
	if access != nil {
		switch *access {
		case podium.AccessACL, podium.AccessLoggedIn, podium.AccessAll:
		default:
			return podium.Errorf(podium.EINVALID, "access_type %q is not one of acl, logged_in, all", *access)
		}
	}
	for _, s := range []*string{name, title, description} {
		if s != nil && strings.ContainsRune(*s, 0) {
			return podium.Errorf(podium.EINVALID, "text fields must not contain NUL bytes")
		}
	}
	return nil
}

// ContentCreate creates content owned by u. Returns EUNAUTHORIZED for an
// anonymous caller, EFORBIDDEN for a user who may not publish, EINVALID
// for bad fields.
func (s *Service) ContentCreate(ctx context.Context, u *podium.User, r ContentCreateRequest) (*podium.Content, error) {
	if u == nil {
		return nil, podium.Errorf(podium.EUNAUTHORIZED, "authentication required")
	}
	if !u.CanPublish() {
		return nil, podium.Errorf(podium.EFORBIDDEN, "only publishers and administrators may create content")
	}
	if r.AccessType == "" {
		r.AccessType = podium.AccessACL
	}
	if err := checkFields(&r.Name, &r.Title, &r.Description, &r.AccessType); err != nil {
		return nil, err
	}
	c, err := s.db.ContentCreate(ctx, &dbprovider.ContentCreateParams{
		GUID: newGUID(), Name: r.Name, Title: r.Title, Description: r.Description, OwnerID: u.ID, AccessType: r.AccessType,
	})
	if podium.IsCode(err, podium.ECONFLICT) {
		return nil, nameTaken(r.Name)
	} else if err != nil {
		return nil, fmt.Errorf("content create: %w", err)
	}
	s.log.WithFields(map[string]any{"guid": c.GUID, "user": u.Username}).Info("content created")
	return c, nil
}

// ContentGet returns content u may see. Returns ENOTFOUND otherwise.
func (s *Service) ContentGet(ctx context.Context, u *podium.User, guid string) (*podium.Content, Access, error) {
	return s.contentFor(ctx, u, guid, canView)
}

// ContentListRequest filters ContentList.
type ContentListRequest struct {
	Name    string
	OwnerID int64
	// TagID, when not 0, keeps the content tagged with it.
	TagID int64
}

// ContentList returns the content u may see.
func (s *Service) ContentList(ctx context.Context, u *podium.User, r ContentListRequest) ([]*podium.Content, error) {
	p := &dbprovider.ContentListParams{Name: r.Name, OwnerID: r.OwnerID, TagID: r.TagID, All: u.IsAdmin()}
	if u != nil {
		p.ViewerID = u.ID
	}
	list, err := s.db.ContentList(ctx, p)
	if err != nil {
		return nil, err
	}
	if list == nil {
		list = []*podium.Content{}
	}
	return list, nil
}

// ContentUpdateRequest changes content; nil fields stay.
type ContentUpdateRequest struct {
	Name        *string
	Title       *string
	Description *string
	AccessType  *string
	// Sandbox changes the content's SandboxSettings (administrators
	// only).
	Sandbox SandboxPatch
}

// ContentUpdate changes content u may edit; a change of access_type needs
// the owner or an admin, a change of its SandboxSettings an admin (they
// apply from each process's next start). Returns ENOTFOUND, EFORBIDDEN,
// EINVALID.
func (s *Service) ContentUpdate(ctx context.Context, u *podium.User, guid string, r ContentUpdateRequest) (*podium.Content, error) {
	need := canEdit
	if r.AccessType != nil {
		need = canManage
	}
	c, _, err := s.contentFor(ctx, u, guid, need)
	if err != nil {
		return nil, err
	}
	if err := checkFields(r.Name, r.Title, r.Description, r.AccessType); err != nil {
		return nil, err
	}
	if !r.Sandbox.empty() && !u.IsAdmin() {
		// A client that sends back what it read (run_as null on
		// content with no run_as) changes nothing and is not refused.
		same, err := s.sandboxUnchanged(ctx, c.ID, r.Sandbox)
		if err != nil {
			return nil, err
		}
		if !same {
			return nil, podium.Errorf(podium.EFORBIDDEN, "only administrators may set run_as, memory_limit, cpu_shares, process_limit and open_file_limit of content %s", guid)
		}
		r.Sandbox = SandboxPatch{}
	}
	if !r.Sandbox.empty() {
		// Refuse a bad value before anything changes.
		if _, err := r.Sandbox.apply(SandboxSettings{}, s.checkRunAs()); err != nil {
			return nil, err
		}
	}
	if r.Name != nil || r.Title != nil || r.Description != nil || r.AccessType != nil || r.Sandbox.empty() {
		c, err = s.db.ContentUpdate(ctx, &dbprovider.ContentUpdateParams{
			ID: c.ID, Name: r.Name, Title: r.Title, Description: r.Description, AccessType: r.AccessType,
		})
		if podium.IsCode(err, podium.ECONFLICT) && r.Name != nil {
			return nil, nameTaken(*r.Name)
		}
		if err != nil {
			return nil, err
		}
	}
	if !r.Sandbox.empty() {
		if _, err := s.updateSandbox(ctx, c.ID, r.Sandbox); err != nil {
			return nil, err
		}
		s.log.WithFields(map[string]any{"guid": c.GUID, "user": u.Username}).Info("content sandbox settings changed")
	}
	return c, nil
}

// nameTaken is the error for a content name its owner already uses: names
// are unique per owner, as in Connect.
func nameTaken(name string) error {
	return podium.Errorf(podium.ECONFLICT, "you already own content named %q: choose another name (names are unique per owner)", name)
}

// ContentDelete deletes content (owner or admin) with its files.
func (s *Service) ContentDelete(ctx context.Context, u *podium.User, guid string) error {
	c, _, err := s.contentFor(ctx, u, guid, canManage)
	if err != nil {
		return err
	}
	if err := s.db.ContentDelete(ctx, c.ID); err != nil {
		return err
	}
	if err := os.RemoveAll(s.ContentDir(c.GUID)); err != nil {
		s.log.WithError(err).WithField("guid", c.GUID).Warn("content deleted; its files could not all be removed")
	}
	s.log.WithFields(map[string]any{"guid": c.GUID, "user": u.Username}).Info("content deleted")
	return nil
}

// Permissions is the access of content: its access type and access list
// (users, and groups whose members get the role).
type Permissions struct {
	AccessType string                         `json:"access_type"`
	Entries    []*podium.ContentACLEntry      `json:"permissions"`
	Groups     []*podium.ContentGroupACLEntry `json:"group_permissions"`
}

// GroupGrant is a group's entry in PermissionsSetRequest: the group by id
// (when not 0) or by name (a local group first, else the one provider
// group of that name).
type GroupGrant struct {
	GroupID int64
	Name    string
	Role    string
}

// permissions reads the access lists of c.
func (s *Service) permissions(ctx context.Context, db dbprovider.Executor, c *podium.Content) (*Permissions, error) {
	list, err := db.ContentACLList(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	groups, err := db.ContentGroupACLList(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	return &Permissions{AccessType: c.AccessType, Entries: list, Groups: groups}, nil
}

// replaceGroupGrants makes the groups' grants on content exactly grants.
func replaceGroupGrants(ctx context.Context, tx dbprovider.Tx, contentID int64, grants []GroupGrant) error {
	keep := map[int64]bool{}
	for _, g := range grants {
		keep[g.GroupID] = true
	}
	old, err := tx.ContentGroupACLList(ctx, contentID)
	if err != nil {
		return err
	}
	for _, g := range old {
		if !keep[g.GroupID] {
			if err := tx.ContentGroupACLDelete(ctx, contentID, g.GroupID); err != nil {
				return err
			}
		}
	}
	for _, g := range grants {
		if err := tx.ContentGroupACLPut(ctx, contentID, g.GroupID, g.Role); err != nil {
			return err
		}
	}
	return nil
}

// resolveGroups turns group grants into group ids. Returns EINVALID for
// an unknown or ambiguous group.
func resolveGroups(ctx context.Context, db dbprovider.Executor, grants []GroupGrant) error {
	var all []*podium.Group
	for i := range grants {
		g := &grants[i]
		if g.GroupID != 0 {
			if _, err := db.GroupGet(ctx, g.GroupID); podium.IsCode(err, podium.ENOTFOUND) {
				return podium.Errorf(podium.EINVALID, "group permissions[%d]: no group %d", i, g.GroupID)
			} else if err != nil {
				return err
			}
			continue
		}
		if g.Name == "" {
			return podium.Errorf(podium.EINVALID, "group permissions[%d]: the group's principal_guid or name is required", i)
		}
		if all == nil {
			var err error
			if all, err = db.GroupList(ctx); err != nil {
				return err
			}
		}
		var local, other []*podium.Group
		for _, x := range all {
			if x.Name == g.Name {
				if x.Provider == "" {
					local = append(local, x)
				} else {
					other = append(other, x)
				}
			}
		}
		switch {
		case len(local) == 1:
			g.GroupID = local[0].ID
		case len(other) == 1:
			g.GroupID = other[0].ID
		case len(other) > 1:
			return podium.Errorf(podium.EINVALID, "group permissions[%d]: several providers have a group %q: name it by principal_guid", i, g.Name)
		default:
			return podium.Errorf(podium.EINVALID, "group permissions[%d]: no group named %q", i, g.Name)
		}
	}
	return nil
}

// PermissionsGet returns the access of content u may edit.
func (s *Service) PermissionsGet(ctx context.Context, u *podium.User, guid string) (*Permissions, error) {
	c, _, err := s.contentFor(ctx, u, guid, canEdit)
	if err != nil {
		return nil, err
	}
	return s.permissions(ctx, s.db, c)
}

// PermissionsSetRequest replaces the access of content. A nil AccessType
// keeps it.
type PermissionsSetRequest struct {
	AccessType *string
	Entries    []dbprovider.ContentACLEntryParams
	// Groups replaces the groups' grants when ReplaceGroups is set (an
	// empty list removes them); without it they stay, so that a client
	// that knows only users does not drop them.
	Groups        []GroupGrant
	ReplaceGroups bool
}

// MaxACLEntries bounds an access list.
const MaxACLEntries = 1000

// PermissionsSet replaces the access list (and optionally the access type)
// of content; owner or admin only. Returns EINVALID for an unknown user or
// role.
func (s *Service) PermissionsSet(ctx context.Context, u *podium.User, guid string, r PermissionsSetRequest) (*Permissions, error) {
	c, _, err := s.contentFor(ctx, u, guid, canManage)
	if err != nil {
		return nil, err
	}
	if err := checkFields(nil, nil, nil, r.AccessType); err != nil {
		return nil, err
	}
	if len(r.Entries)+len(r.Groups) > MaxACLEntries {
		return nil, podium.Errorf(podium.EINVALID, "at most %d permissions", MaxACLEntries)
	}
	seen := map[string]bool{}
	for i, e := range r.Entries {
		if e.Role == "" {
			r.Entries[i].Role = podium.ACLViewer
		} else if e.Role != podium.ACLViewer && e.Role != podium.ACLCollaborator {
			return nil, podium.Errorf(podium.EINVALID, "permissions[%d].role %q is not viewer or collaborator", i, e.Role)
		}
		if e.Username == "" {
			return nil, podium.Errorf(podium.EINVALID, "permissions[%d].username is required", i)
		}
		if seen[e.Username] {
			return nil, podium.Errorf(podium.EINVALID, "permissions[%d]: user %q is listed twice", i, e.Username)
		}
		seen[e.Username] = true
	}
	for i, g := range r.Groups {
		if g.Role == "" {
			r.Groups[i].Role = podium.ACLViewer
		} else if g.Role != podium.ACLViewer && g.Role != podium.ACLCollaborator {
			return nil, podium.Errorf(podium.EINVALID, "group permissions[%d].role %q is not viewer or collaborator", i, g.Role)
		}
	}
	if err := resolveGroups(ctx, s.db, r.Groups); err != nil {
		return nil, err
	}
	seenGroup := map[int64]bool{}
	for i, g := range r.Groups {
		if seenGroup[g.GroupID] {
			return nil, podium.Errorf(podium.EINVALID, "group permissions[%d]: group %d is listed twice", i, g.GroupID)
		}
		seenGroup[g.GroupID] = true
	}
	err = dbprovider.RunTx(ctx, s.db, func(tx dbprovider.Tx) error {
		if err := tx.ContentACLSet(ctx, &dbprovider.ContentACLSetParams{ContentID: c.ID, Entries: r.Entries}); err != nil {
			return err
		}
		if r.ReplaceGroups {
			if err := replaceGroupGrants(ctx, tx, c.ID, r.Groups); err != nil {
				return err
			}
		}
		if r.AccessType != nil {
			updated, err := tx.ContentUpdate(ctx, &dbprovider.ContentUpdateParams{ID: c.ID, AccessType: r.AccessType})
			if err != nil {
				return err
			}
			c = updated
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.permissions(ctx, s.db, c)
}

// UserByID returns a user (to resolve a principal_guid). Returns
// ENOTFOUND.
func (s *Service) UserByID(ctx context.Context, id int64) (*podium.User, error) {
	return s.db.UserGetByID(ctx, id)
}
