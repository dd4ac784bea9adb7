package auth

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// ExternalIdentity is a user as an external identity provider (LDAP,
// OpenID Connect, SAML, an authenticating proxy) vouches for them, after
// the provider's own checks. SignInExternal turns it into a Podium user.
type ExternalIdentity struct {
	// Provider names the provider: "ldap", "oidc", "saml" or "proxy".
	Provider string
	// UniqueID is the provider's stable id for the user (an LDAP
	// entryUUID or objectGUID, an OpenID Connect "sub", a SAML NameID):
	// later sign-ins find the user by it, so a renamed username keeps the
	// same user and their content. "" falls back to Username.
	UniqueID string
	// Username is the login name; it is lower-cased, and characters a
	// Podium username may not hold become '_' (see NormalizeUsername).
	Username string
	// Name and Email are shown in the dashboard and the API; "" leaves
	// what is stored.
	Name  string
	Email string
	// Groups are the user's group names in the provider; the user's
	// groups of this provider are set to exactly these at each sign-in
	// (groups are created as needed).
	Groups []string
	// Role is the role the provider asserts (a claim, an attribute or a
	// header configured for it); "" derives it from Groups through the
	// role mapping (Options.Roles), or the default role.
	Role string
}

// PasswordAuthenticator checks a username and password against an
// external directory (package auth/ldapauth).
type PasswordAuthenticator interface {
	// Authenticate returns the identity the directory vouches for.
	// Returns EUNAUTHORIZED for an unknown user or a wrong password,
	// EUNAVAILABLE when the directory cannot be reached or refuses the
	// service account (the administrator's problem: the message says
	// so without detail; the log has it).
	Authenticate(ctx context.Context, username, password string) (ExternalIdentity, error)
}

// RoleMapping derives the role of users signed in by an external provider
// ([Authorization] in the configuration).
type RoleMapping struct {
	// Default is the role of a new user whose groups match no mapping.
	// Default podium.RoleViewer.
	Default string
	// Admin, Publisher and Viewer list provider group names (compared
	// without regard to case); a member of one gets that role at every
	// sign-in, the most powerful when several match.
	Admin, Publisher, Viewer []string
}

// Mapped reports whether any group mapping is configured.
func (m RoleMapping) Mapped() bool {
	return len(m.Admin)+len(m.Publisher)+len(m.Viewer) > 0
}

// Role returns the role the mapping gives a member of groups, and whether
// a mapping matched.
func (m RoleMapping) Role(groups []string) (string, bool) {
	in := func(list []string) bool {
		for _, g := range groups {
			if slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, g) }) {
				return true
			}
		}
		return false
	}
	switch {
	case in(m.Admin):
		return podium.RoleAdmin, true
	case in(m.Publisher):
		return podium.RolePublisher, true
	case in(m.Viewer):
		return podium.RoleViewer, true
	}
	return m.Default, false
}

// NormalizeUsername turns a provider's login name into a Podium username:
// lower case, every run of characters other than a-z, 0-9, '.', '_' and
// '-' replaced by '_', leading '.', '_' and '-' removed, at most 64
// characters. "Alice.Smith" stays "alice.smith"; "ada@example.com"
// becomes "ada_example.com". Returns EINVALID when nothing is left.
func NormalizeUsername(name string) (string, error) {
	var b strings.Builder
	prevBad := false
	for _, r := range strings.ToLower(strings.TrimSpace(name)) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '.' || r == '_' || r == '-' {
			b.WriteRune(r)
			prevBad = false
		} else if !prevBad {
			b.WriteByte('_')
			prevBad = true
		}
	}
	out := strings.TrimLeft(b.String(), "._-")
	if len(out) > 64 {
		out = out[:64]
	}
	if err := ValidateUsername(out); err != nil {
		return "", podium.Errorf(podium.EINVALID, "the identity provider sent the username %q, which holds no letter or digit: check the provider's username attribute or claim", name)
	}
	return out, nil
}

// SignInExternal signs in a user an external provider vouched for, and
// returns the user; the caller then opens a session with CreateSession.
//
// The user is found by (Provider, UniqueID). At the first sign-in, a user
// of the same username who has no identity of this provider yet is taken
// over (so that an installation moving from passwords to a provider keeps
// each user's content, docs/accounts.md); otherwise a user is created,
// without a password. At every sign-in the username, name and email
// follow the provider's (a username taken by another user is kept as it
// was, and the log says so), the user's groups of this provider become
// exactly id.Groups, and the role becomes id.Role, or the role mapping's
// when mappings are configured (the default role when none matches). A
// new user with neither gets the default role; an existing one keeps
// theirs. A role change ends the user's other sessions.
//
// Returns EUNAUTHORIZED for a locked user, EINVALID for an identity
// without provider or username or with an unknown role.
func (s *Service) SignInExternal(ctx context.Context, id ExternalIdentity) (*podium.User, error) {
	if id.Provider == "" {
		return nil, podium.Errorf(podium.EINVALID, "external sign-in without a provider name")
	}
	username, err := NormalizeUsername(id.Username)
	if err != nil {
		return nil, err
	}
	id.Username = username
	if id.UniqueID == "" {
		id.UniqueID = username
	}
	if len(id.UniqueID) > 1024 {
		return nil, podium.Errorf(podium.EINVALID, "the identity provider's unique id for %q is over 1024 bytes: map a shorter attribute", username)
	}
	if id.Role != "" {
		id.Role = strings.ToLower(strings.TrimSpace(id.Role))
		if err := ValidateRole(id.Role); err != nil {
			return nil, podium.Errorf(podium.EINVALID, "the identity provider sent role %q for %q: must be admin, publisher or viewer", id.Role, username)
		}
	}
	id.Groups = cleanGroups(id.Groups)

	// Two first sign-ins of one user at once (two nodes, two tabs) race to
	// create the user or the identity: the loser sees ECONFLICT and tries
	// again, finding the winner's user.
	var (
		u       *podium.User
		oldRole string
	)
	for attempt := 0; ; attempt++ {
		u, oldRole, err = s.signInExternalTx(ctx, id)
		if podium.IsCode(err, podium.ECONFLICT) && attempt < 2 {
			continue
		}
		break
	}
	if err != nil {
		return nil, err
	}
	if oldRole != "" && oldRole != u.Role {
		s.log.WithFields(map[string]any{"user": u.Username, "user_id": u.ID, "role": u.Role, "old_role": oldRole, "provider": id.Provider}).
			Info("user role changed by the identity provider")
		if err := s.endSessions(ctx, u, "role changed"); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// cleanGroups trims, drops empty and over-long names, and removes
// duplicates, keeping the order.
func cleanGroups(groups []string) []string {
	var out []string
	for _, g := range groups {
		g = strings.TrimSpace(g)
		if g == "" || len(g) > 255 || slices.Contains(out, g) {
			continue
		}
		out = append(out, g)
	}
	return out
}

// signInExternalTx is one attempt of SignInExternal, in one transaction.
// oldRole is the role the user had, "" for a new user.
func (s *Service) signInExternalTx(ctx context.Context, id ExternalIdentity) (_ *podium.User, oldRole string, err error) {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("external sign-in: %w", err)
	}
	defer func() { _ = tx.Rollback() }()

	role, mapped := id.Role, id.Role != ""
	if !mapped && s.opts.Roles.Mapped() {
		// With mappings, no match means the default role.
		role, _ = s.opts.Roles.Role(id.Groups)
		mapped = true
	}
	if role == "" {
		role = s.opts.Roles.Default
	}
	log := s.log.WithFields(map[string]any{"provider": id.Provider, "user": id.Username})

	u, err := tx.UserIdentityGet(ctx, id.Provider, id.UniqueID)
	switch {
	case err == nil:
	case podium.IsCode(err, podium.ENOTFOUND):
		u, err = s.adoptOrCreate(ctx, tx, id, role)
		if err != nil {
			return nil, "", err
		}
		if err := tx.UserIdentityPut(ctx, id.Provider, id.UniqueID, u.ID); err != nil {
			return nil, "", fmt.Errorf("external sign-in: %w", err)
		}
	default:
		return nil, "", fmt.Errorf("external sign-in: %w", err)
	}
	if u.Locked {
		log.WithField("user_id", u.ID).Info("external sign-in refused: user is locked")
		return nil, "", podium.Errorf(podium.EUNAUTHORIZED, "user %q is locked: ask an administrator", u.Username)
	}
	oldRole = u.Role

	upd := dbprovider.UserUpdateParams{ID: u.ID}
	changed := false
	if id.Username != u.Username {
		other, err := tx.UserGetByName(ctx, id.Username)
		switch {
		case podium.IsCode(err, podium.ENOTFOUND):
			upd.Username, changed = &id.Username, true
			log.WithFields(map[string]any{"user_id": u.ID, "old_username": u.Username}).Info("username changed by the identity provider")
		case err != nil:
			return nil, "", fmt.Errorf("external sign-in: %w", err)
		default:
			log.WithFields(map[string]any{"user_id": u.ID, "kept_username": u.Username, "other_user_id": other.ID}).
				Warn("the identity provider renamed a user to a username another user has: kept the old username")
		}
	}
	if id.Name != "" && id.Name != u.Name {
		upd.Name, changed = &id.Name, true
	}
	if id.Email != "" && id.Email != u.Email {
		upd.Email, changed = &id.Email, true
	}
	if mapped && role != u.Role {
		upd.Role, changed = &role, true
	}
	if changed {
		if u, err = tx.UserUpdate(ctx, &upd); err != nil {
			return nil, "", fmt.Errorf("external sign-in: %w", err)
		}
	}
	if err := syncGroups(ctx, tx, u.ID, id.Provider, id.Groups); err != nil {
		return nil, "", err
	}
	if err := tx.Commit(); err != nil {
		return nil, "", fmt.Errorf("external sign-in: %w", err)
	}
	return u, oldRole, nil
}

// adoptOrCreate finds the user a first external sign-in belongs to: the
// user of that username if they have no identity of this provider yet and
// Options.LinkExistingUsers is on (an installation moving from
// passwords), else a new user. An existing username without
// LinkExistingUsers is ECONFLICT.
func (s *Service) adoptOrCreate(ctx context.Context, tx dbprovider.Tx, id ExternalIdentity, role string) (*podium.User, error) {
	log := s.log.WithFields(map[string]any{"provider": id.Provider, "user": id.Username})
	u, err := tx.UserGetByName(ctx, id.Username)
	switch {
	case err == nil:
		ids, err := tx.UserIdentityList(ctx, u.ID)
		if err != nil {
			return nil, fmt.Errorf("external sign-in: %w", err)
		}
		if !slices.ContainsFunc(ids, func(x *dbprovider.UserIdentity) bool { return x.Provider == id.Provider }) {
			if !s.opts.LinkExistingUsers {
				// Linking by username hands the account to whoever the
				// provider calls by that name: only when the
				// administrator says usernames match (the move from
				// passwords).
				log.WithField("user_id", u.ID).Warn("first external sign-in refused: the username belongs to an existing user and [Authentication] LinkExistingUsers is off")
				return nil, podium.Errorf(podium.ECONFLICT,
					"username %q belongs to an existing Podium user who has not signed in through %s before: an administrator links the two with [Authentication] LinkExistingUsers = true (see docs/accounts.md, moving a password installation), or renames that user",
					id.Username, id.Provider)
			}
			log.WithField("user_id", u.ID).Info("first external sign-in of an existing user: linked by username")
			return u, nil
		}
		// The username belongs to another identity of this provider (a
		// user the provider renamed, whose old name came back): this is
		// someone else.
		return nil, podium.Errorf(podium.ECONFLICT,
			"username %q belongs to another %s identity: an administrator must rename or delete that user", id.Username, id.Provider)
	case podium.IsCode(err, podium.ENOTFOUND):
	default:
		return nil, fmt.Errorf("external sign-in: %w", err)
	}
	u, err = tx.UserCreate(ctx, &dbprovider.UserCreateParams{Username: id.Username, Role: role})
	if err != nil {
		return nil, fmt.Errorf("external sign-in: %w", err)
	}
	log.WithFields(map[string]any{"user_id": u.ID, "role": u.Role}).Info("user created at first sign-in")
	return u, nil
}

// syncGroups makes the user's groups of provider exactly names, creating
// the groups that do not exist yet. Local groups and other providers'
// groups are left alone.
func syncGroups(ctx context.Context, tx dbprovider.Tx, userID int64, provider string, names []string) error {
	have, err := tx.GroupListByUser(ctx, userID)
	if err != nil {
		return fmt.Errorf("sync groups: %w", err)
	}
	for _, g := range have {
		if g.Provider == provider && !slices.Contains(names, g.Name) {
			if err := tx.GroupMemberRemove(ctx, g.ID, userID); err != nil {
				return fmt.Errorf("sync groups: %w", err)
			}
		}
	}
	for _, name := range names {
		if slices.ContainsFunc(have, func(g *podium.Group) bool { return g.Provider == provider && g.Name == name }) {
			continue
		}
		g, err := tx.GroupGetByName(ctx, provider, name)
		if podium.IsCode(err, podium.ENOTFOUND) {
			g, err = tx.GroupCreate(ctx, &dbprovider.GroupCreateParams{Name: name, Provider: provider})
		}
		if err != nil {
			return fmt.Errorf("sync groups: %w", err)
		}
		if err := tx.GroupMemberAdd(ctx, g.ID, userID); err != nil {
			return fmt.Errorf("sync groups: %w", err)
		}
	}
	return nil
}
