package publish

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/runtimes"
)

// BundleUpload stores a gzip tar bundle read from r for content u may
// edit. The bundle is checked whole (bundle.Unpack's rules and limits)
// before anything is recorded: a bad upload leaves neither a row nor a
// file. The manifest is not validated here but at deployment.
//
// Returns ETOOLARGE over MaxUpload, EINVALID for a malformed or unsafe
// archive, ENOTFOUND/EFORBIDDEN per access.
func (s *Service) BundleUpload(ctx context.Context, u *podium.User, guid string, r io.Reader) (*podium.Bundle, error) {
	return s.BundleUploadMetadata(ctx, u, guid, r, "")
}

// BundleUploadMetadata is BundleUpload that also records metadata, the
// JSON object a Connect client sends beside the archive (source,
// source_repo, source_commit, ...); "" records {}. The caller checks it is
// a JSON object.
func (s *Service) BundleUploadMetadata(ctx context.Context, u *podium.User, guid string, r io.Reader, metadata string) (*podium.Bundle, error) {
	c, _, err := s.contentFor(ctx, u, guid, canEdit)
	if err != nil {
		return nil, err
	}
	b, err := s.storeBundle(ctx, c, u.ID, r, metadata, s.db.BundleCreate)
	if err == nil {
		s.log.WithFields(map[string]any{"guid": c.GUID, "bundle": b.ID, "size": b.Size, "user": u.Username}).Info("bundle uploaded")
	}
	return b, err
}

// storeBundle receives a gzip tar bundle of c from r, checks it whole,
// records it with create (which may record more in the same transaction)
// and moves it into place.
func (s *Service) storeBundle(ctx context.Context, c *podium.Content, createdBy int64, r io.Reader, metadata string,
	create func(context.Context, *dbprovider.BundleCreateParams) (*podium.Bundle, error)) (_ *podium.Bundle, err error) {
	defer func() { err = s.noSpace(err) }()
	dir := s.bundlesDir(c.GUID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bundle upload: %w", err)
	}
	// Received and checked in the node's scratch directory (swept after a
	// crash), then renamed into place.
	tmpArchive, err := s.scratchPath("upload")
	if err != nil {
		return nil, fmt.Errorf("bundle upload: %w", err)
	}
	tmpArchive += ".tar.gz"
	f, err := os.OpenFile(tmpArchive, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("bundle upload: %w", err)
	}
	tmpDir := tmpArchive + ".d"
	ok := false
	defer func() {
		_ = f.Close()
		if !ok {
			_ = os.Remove(tmpArchive)
			_ = os.RemoveAll(tmpDir)
		}
	}()

	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, s.maxBody+1))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, podium.Errorf(podium.ETOOLARGE, "bundle is larger than %d bytes", mbe.Limit)
	case err != nil:
		return nil, podium.Errorf(podium.EINVALID, "bundle upload interrupted: %w", err)
	case n > s.maxBody:
		return nil, podium.Errorf(podium.ETOOLARGE, "bundle is larger than %d bytes", s.maxBody)
	case n == 0:
		return nil, podium.Errorf(podium.EINVALID, "empty bundle: send a gzip-compressed tar archive")
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("bundle upload: %w", err)
	}
	if _, err := bundle.Unpack(ctx, f, tmpDir, s.limits()); err != nil {
		return nil, fmt.Errorf("bundle upload: %w", err)
	}
	manifest := readManifestJSON(tmpDir)
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("bundle upload: %w", err)
	}

	b, err := create(ctx, &dbprovider.BundleCreateParams{
		ContentID: c.ID, Size: n, SHA256: h.Sum(nil), Manifest: manifest, CreatedBy: createdBy, Metadata: metadata,
	})
	if err != nil {
		return nil, fmt.Errorf("bundle upload: %w", err)
	}
	if err := os.Rename(tmpArchive, s.bundleArchive(c.GUID, b.ID)); err != nil {
		_ = s.db.BundleDelete(context.WithoutCancel(ctx), b.ID)
		return nil, fmt.Errorf("bundle upload: %w", err)
	}
	// The unpacked tree saves the deployment an unpack; if it cannot be
	// moved, the deployment unpacks the archive again.
	if err := os.Rename(tmpDir, s.bundleDir(c.GUID, b.ID)); err != nil {
		_ = os.RemoveAll(tmpDir)
	}
	ok = true
	return b, nil
}

func (s *Service) limits() bundle.Limits {
	return bundle.Limits{MaxBytes: s.apps.MaxBundleSize}
}

// readManifestJSON returns the bundle's manifest re-encoded as JSON, or
// "{}" when it is missing or does not parse (deployment reports why).
func readManifestJSON(dir string) string {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "{}"
	}
	defer root.Close()
	f, err := root.Open(bundle.ManifestName)
	if err != nil {
		return "{}"
	}
	defer f.Close()
	m, err := bundle.ParseManifest(f)
	if err != nil {
		return "{}"
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "{}"
	}
	return string(b)
}

// BundleList returns the bundles of content u may edit, newest first.
func (s *Service) BundleList(ctx context.Context, u *podium.User, guid string) ([]*podium.Bundle, error) {
	c, _, err := s.contentFor(ctx, u, guid, canEdit)
	if err != nil {
		return nil, err
	}
	return s.db.BundleList(ctx, c.ID)
}

// ensureUnpacked returns the unpacked directory of a bundle, unpacking
// the stored archive into a temporary directory and renaming it into
// place when it is not there yet. Unpack never writes outside that
// temporary directory.
func (s *Service) ensureUnpacked(ctx context.Context, c *podium.Content, b *podium.Bundle) (string, error) {
	final := s.bundleDir(c.GUID, b.ID)
	if fi, err := os.Stat(final); err == nil && fi.IsDir() {
		return final, nil
	}
	f, err := os.Open(s.bundleArchive(c.GUID, b.ID))
	if errors.Is(err, fs.ErrNotExist) {
		return "", podium.Errorf(podium.EPRECONDITION, "the archive of bundle %d is missing from the data directory", b.ID)
	} else if err != nil {
		return "", fmt.Errorf("unpack bundle %d: %w", b.ID, err)
	}
	defer f.Close()
	if err := os.MkdirAll(s.bundlesDir(c.GUID), 0o755); err != nil {
		return "", fmt.Errorf("unpack bundle %d: %w", b.ID, err)
	}
	tmp, err := s.scratchPath("unpack")
	if err != nil {
		return "", fmt.Errorf("unpack bundle %d: %w", b.ID, err)
	}
	if _, err := bundle.Unpack(ctx, f, tmp, s.limits()); err != nil {
		_ = os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		_ = os.RemoveAll(tmp)
		// Another node may have won the same rename.
		if fi, serr := os.Stat(final); serr == nil && fi.IsDir() {
			return final, nil
		}
		return "", fmt.Errorf("unpack bundle %d: %w", b.ID, err)
	}
	return filepath.Clean(final), nil
}

// contentBundle returns bundle bundleID of content c: ENOTFOUND when
// there is no such bundle or it belongs to other content.
func (s *Service) contentBundle(ctx context.Context, c *podium.Content, bundleID int64) (*podium.Bundle, error) {
	b, err := s.db.BundleGet(ctx, bundleID)
	if podium.IsCode(err, podium.ENOTFOUND) || (err == nil && b.ContentID != c.ID) {
		return nil, podium.Errorf(podium.ENOTFOUND, "bundle %d of content %s not found", bundleID, c.GUID)
	}
	return b, err
}

// BundleOpen opens the stored archive of a bundle of content u may edit,
// for download. The caller closes it.
// Returns ENOTFOUND for an unknown bundle or one of other content.
func (s *Service) BundleOpen(ctx context.Context, u *podium.User, guid string, bundleID int64) (*os.File, *podium.Bundle, error) {
	c, _, err := s.contentFor(ctx, u, guid, canEdit)
	if err != nil {
		return nil, nil, err
	}
	b, err := s.contentBundle(ctx, c, bundleID)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.Open(s.bundleArchive(c.GUID, b.ID))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, podium.Errorf(podium.EPRECONDITION, "the archive of bundle %d is missing from the data directory", b.ID)
	} else if err != nil {
		return nil, nil, fmt.Errorf("bundle open: %w", err)
	}
	return f, b, nil
}

// ContentByID returns content u may see by its numeric id (the v0 lookup
// Connect clients make). Returns ENOTFOUND otherwise, with the same
// message whether the content does not exist or u may not see it: the
// answer names only the id asked for, never the content's GUID.
func (s *Service) ContentByID(ctx context.Context, u *podium.User, id int64) (*podium.Content, error) {
	notFound := podium.Errorf(podium.ENOTFOUND, "content %d not found", id)
	c, err := s.db.ContentGet(ctx, id)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	c, _, err = s.contentFor(ctx, u, c.GUID, canView)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return nil, notFound
	}
	return c, err
}

// Lockfile returns the requirements.txt.lock of the Python environment
// the active bundle of content u may edit was built in.
//
// Returns ENOTFOUND for unknown content, content never deployed, and
// content whose active bundle has no Python environment (saying which),
// EFORBIDDEN when u may only view it.
func (s *Service) Lockfile(ctx context.Context, u *podium.User, guid string) (string, error) {
	c, _, err := s.contentFor(ctx, u, guid, canEdit)
	if err != nil {
		return "", err
	}
	if c.ActiveBundleID == nil {
		return "", podium.Errorf(podium.ENOTFOUND, "content %s has no lockfile: it was never deployed", guid)
	}
	b, err := s.contentBundle(ctx, c, *c.ActiveBundleID)
	if err != nil {
		return "", err
	}
	if b.Environment.Lockfile == "" {
		why := "its active bundle (appmode " + c.AppMode + ") has no Python environment"
		if runtimes.IsPython(c.AppMode) {
			why = "its active bundle was built before Podium recorded lockfiles: deploy it again"
		}
		return "", podium.Errorf(podium.ENOTFOUND, "content %s has no lockfile: %s", guid, why)
	}
	return b.Environment.Lockfile, nil
}
