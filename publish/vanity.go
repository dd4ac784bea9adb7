package publish

import (
	"context"
	"regexp"
	"strings"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// Vanity path rules. A vanity path is one or more segments of lower-case
// letters, digits, '.', '_' and '-' (starting with a letter or digit),
// between slashes: "/sales/q3-report/".
const (
	// MaxVanityLen bounds a vanity path, in bytes.
	MaxVanityLen = 512
	// MaxVanitySegments bounds the segments of a vanity path (and the
	// prefixes a request path is looked up by).
	MaxVanitySegments = 16
)

var vanitySegment = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,99}$`)

// reservedVanity are the first segments of Podium's own paths, besides
// every segment that starts with "__" (/__api__, /__ping__, /__login__,
// /__logout__, /__dashboard__, /__content-auth__, ...), which are all
// refused: a vanity must never shadow them.
var reservedVanity = []string{"content", "metrics"}

// NormalizeVanity returns path in its stored form: lower case, with a
// leading and a trailing slash.
//
// Returns EINVALID naming the rule path breaks.
func NormalizeVanity(path string) (string, error) {
	p := strings.ToLower(strings.TrimSpace(path))
	p = "/" + strings.Trim(p, "/") + "/"
	if p == "//" {
		return "", podium.Errorf(podium.EINVALID, "a vanity path needs at least one segment, such as /sales/report/")
	}
	if len(p) > MaxVanityLen {
		return "", podium.Errorf(podium.EINVALID, "vanity path %q is longer than %d bytes", path, MaxVanityLen)
	}
	segs := strings.Split(strings.Trim(p, "/"), "/")
	if len(segs) > MaxVanitySegments {
		return "", podium.Errorf(podium.EINVALID, "vanity path %q has more than %d segments", path, MaxVanitySegments)
	}
	if first := segs[0]; strings.HasPrefix(first, "__") || containsString(reservedVanity, first) {
		return "", podium.Errorf(podium.ECONFLICT, "vanity path %q would shadow Podium's own /%s/ paths: pick another first segment", path, first)
	}
	for _, s := range segs {
		if !vanitySegment.MatchString(s) {
			return "", podium.Errorf(podium.EINVALID, "vanity path %q: segment %q must be 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit (no empty segments)", path, s)
		}
	}
	return p, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// VanityCandidates returns the vanity paths that could serve a request
// path: each of its prefixes that ends at a segment boundary, in lower
// case, the path itself with a trailing slash included (so that
// "/sales/report" finds "/sales/report/"). Nil when the path cannot be a
// vanity's.
func VanityCandidates(path string) []string {
	p := VanityLower(path)
	if !strings.HasPrefix(p, "/") || len(p) > MaxVanityLen+4096 {
		return nil
	}
	var out []string
	for i := 1; i < len(p) && len(out) < MaxVanitySegments; i++ {
		if p[i] == '/' {
			out = append(out, p[:i+1])
		}
	}
	if !strings.HasSuffix(p, "/") && len(out) < MaxVanitySegments {
		out = append(out, p+"/")
	}
	return out
}

// VanityLower lower-cases the ASCII letters of a request path and leaves
// every other byte as it is, so that a candidate is a byte-for-byte
// prefix of the path: strings.ToLower would turn the Kelvin sign (3 bytes)
// into "k" (1 byte), match the vanity /k…/ and then cut the rest of the
// path at the wrong byte. Vanity paths are ASCII (NormalizeVanity).
func VanityLower(path string) string {
	b := []byte(path)
	for i, ch := range b {
		if 'A' <= ch && ch <= 'Z' {
			b[i] = ch + ('a' - 'A')
		}
	}
	return string(b)
}

// mayManageVanity checks that u may set or remove the vanity of content
// a describes: administrators, and with [Authorization]
// PublishersCanManageVanities those who may change the content.
func (s *Service) mayManageVanity(u *podium.User, a Access) error {
	if u.IsAdmin() {
		return nil
	}
	if !s.publishersVanities {
		return podium.Errorf(podium.EFORBIDDEN, "only administrators may set vanity URLs ([Authorization] PublishersCanManageVanities lets publishers)")
	}
	if !a.Edit || !u.CanPublish() {
		return podium.Errorf(podium.EFORBIDDEN, "only those who may change this content may set its vanity URL")
	}
	return nil
}

// VanityGet returns the vanity of content u may see. Returns ENOTFOUND
// (also when it has none).
func (s *Service) VanityGet(ctx context.Context, u *podium.User, guid string) (*podium.Vanity, error) {
	c, _, err := s.contentFor(ctx, u, guid, canView)
	if err != nil {
		return nil, err
	}
	v, err := s.db.VanityGet(ctx, c.ID)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return nil, podium.Errorf(podium.ENOTFOUND, "content %s has no vanity URL", guid)
	}
	return v, err
}

// VanitySet gives content a vanity path (replacing its earlier one).
// force takes the path from other content that has it (administrators
// only).
//
// Returns EINVALID for a malformed path, ECONFLICT for a path that would
// shadow Podium's own paths, another vanity (the same path without force,
// a prefix of it, or one it is a prefix of), EFORBIDDEN.
func (s *Service) VanitySet(ctx context.Context, u *podium.User, guid, path string, force bool) (*podium.Vanity, error) {
	c, a, err := s.contentFor(ctx, u, guid, canView)
	if err != nil {
		return nil, err
	}
	if err := s.mayManageVanity(u, a); err != nil {
		return nil, err
	}
	p, err := NormalizeVanity(path)
	if err != nil {
		return nil, err
	}
	if force && !u.IsAdmin() {
		return nil, podium.Errorf(podium.EFORBIDDEN, "only administrators may take a vanity path from other content (force)")
	}
	var v *podium.Vanity
	err = dbprovider.RunTx(ctx, s.db, func(tx dbprovider.Tx) error {
		// Every vanity change writes this setting first: its row lock
		// serializes them across nodes, so the prefix check below sees
		// the change committed before it (PostgreSQL, read committed; on
		// SQLite the single writer serializes anyway).
		if err := tx.SettingPut(ctx, "vanity.serial", guid); err != nil {
			return err
		}
		list, err := tx.VanityList(ctx)
		if err != nil {
			return err
		}
		for _, o := range list {
			if o.ContentID == c.ID {
				continue
			}
			switch {
			case o.Path == p && force:
				if err := tx.VanityDelete(ctx, o.ContentID); err != nil {
					return err
				}
			case o.Path == p:
				return podium.Errorf(podium.ECONFLICT, "vanity path %s is taken by other content (an administrator may take it with \"force\": true)", p)
			case strings.HasPrefix(o.Path, p):
				return podium.Errorf(podium.ECONFLICT, "vanity path %s is a prefix of the vanity path %s of other content: pick another", p, o.Path)
			case strings.HasPrefix(p, o.Path):
				return podium.Errorf(podium.ECONFLICT, "vanity path %s is under the vanity path %s of other content: pick another", p, o.Path)
			}
		}
		v, err = tx.VanitySet(ctx, c.ID, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// VanityDelete removes the vanity of content. Returns ENOTFOUND (also
// when it has none), EFORBIDDEN.
func (s *Service) VanityDelete(ctx context.Context, u *podium.User, guid string) error {
	c, a, err := s.contentFor(ctx, u, guid, canView)
	if err != nil {
		return err
	}
	if err := s.mayManageVanity(u, a); err != nil {
		return err
	}
	err = dbprovider.RunTx(ctx, s.db, func(tx dbprovider.Tx) error {
		if err := tx.SettingPut(ctx, "vanity.serial", guid); err != nil {
			return err
		}
		return tx.VanityDelete(ctx, c.ID)
	})
	if podium.IsCode(err, podium.ENOTFOUND) {
		return podium.Errorf(podium.ENOTFOUND, "content %s has no vanity URL", guid)
	}
	return err
}

// VanityWithContent is a vanity with the GUID of its content.
type VanityWithContent struct {
	*podium.Vanity
	ContentGUID string
}

// VanityList returns the vanities of the content u may see, by path.
func (s *Service) VanityList(ctx context.Context, u *podium.User) ([]VanityWithContent, error) {
	if err := requireUser(u); err != nil {
		return nil, err
	}
	list, err := s.ContentList(ctx, u, ContentListRequest{})
	if err != nil {
		return nil, err
	}
	guids := make(map[int64]string, len(list))
	for _, c := range list {
		guids[c.ID] = c.GUID
	}
	all, err := s.db.VanityList(ctx)
	if err != nil {
		return nil, err
	}
	out := []VanityWithContent{}
	for _, v := range all {
		if g, ok := guids[v.ContentID]; ok {
			out = append(out, VanityWithContent{Vanity: v, ContentGUID: g})
		}
	}
	return out, nil
}

// VanityResolve returns the content GUID and vanity path that serve a
// request path, read from the database on every call (so that every node
// serves a change at once). Access is checked when the content is served,
// not here. Returns ENOTFOUND when no vanity matches.
func (s *Service) VanityResolve(ctx context.Context, path string) (guid, vanity string, err error) {
	cands := VanityCandidates(path)
	if len(cands) > 0 {
		// Podium's own paths (an unknown API path) are never a vanity's:
		// no need to ask the database.
		first := strings.Trim(cands[0], "/")
		if strings.HasPrefix(first, "__") || containsString(reservedVanity, first) {
			cands = nil
		}
	}
	if len(cands) == 0 {
		return "", "", podium.Errorf(podium.ENOTFOUND, "%s not found", path)
	}
	v, err := s.db.VanityMatch(ctx, cands)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return "", "", podium.Errorf(podium.ENOTFOUND, "%s not found", path)
	} else if err != nil {
		return "", "", err
	}
	c, err := s.db.ContentGet(ctx, v.ContentID)
	if err != nil {
		return "", "", err
	}
	return c.GUID, v.Path, nil
}
