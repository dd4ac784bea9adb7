package bundle

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/podiumhq/podium"
)

// PackStats describes what Pack put in a bundle.
type PackStats struct {
	Files    int   // regular files
	Dirs     int   // directories
	Symlinks int   // symbolic links
	Bytes    int64 // total size of the regular files
	Ignored  int   // files and directories left out (a directory counts once)
}

// Pack writes a gzip-compressed tar bundle of the directory srcDir to w, in
// the form Unpack accepts, for the `podium deploy` client.
//
// Entries have relative slash-separated names and come in lexical order;
// files get mode 0755 when any executable bit is set and 0644 otherwise,
// directories 0755, owner 0 and no user or group names, and modification
// times rounded down to the second. Pack leaves out any .git directory or
// file, the IgnoreFile at the root, and whatever that file matches (see
// Ignore). Symlinks are stored as symlinks when their target is relative
// and stays inside srcDir.
//
// Returns EINVALID for a malformed IgnoreFile, a symlink that points
// outside srcDir, or a socket, FIFO or device in the tree (the message
// suggests ignoring it); ECANCELED when ctx is done.
func Pack(ctx context.Context, srcDir string, w io.Writer) (PackStats, error) {
	var st PackStats
	// A srcDir that is itself a symlink (a "current" link to a release
	// directory) means the directory it points to.
	if resolved, err := filepath.EvalSymlinks(srcDir); err == nil {
		srcDir = resolved
	}
	ig, err := loadIgnore(srcDir)
	if err != nil {
		return PackStats{}, err
	}
	gw := gzip.NewWriter(w)
	tw := tar.NewWriter(gw)
	walkErr := filepath.WalkDir(srcDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("pack: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return podium.Errorf(podium.ECANCELED, "pack canceled: %w", err)
		}
		rel, err := filepath.Rel(srcDir, p)
		if err != nil {
			return fmt.Errorf("pack: %w", err)
		}
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if d.Name() == ".git" || rel == IgnoreFile || ig.Match(rel, d.IsDir()) {
			st.Ignored++
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if _, rule := cleanEntryName(rel); rule != "" {
			return podium.Errorf(podium.EINVALID, "pack %q: %s; rename it or add it to %s", rel, rule, IgnoreFile)
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("pack: %w", err)
		}
		hdr := &tar.Header{
			Name:    rel,
			ModTime: info.ModTime().Truncate(time.Second),
			Format:  tar.FormatPAX,
		}
		switch mode := info.Mode(); {
		case mode.IsDir():
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, rel+"/", 0o755
			st.Dirs++
		case mode.IsRegular():
			hdr.Typeflag, hdr.Size, hdr.Mode = tar.TypeReg, info.Size(), 0o644
			if mode&0o111 != 0 {
				hdr.Mode = 0o755
			}
		case mode&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return fmt.Errorf("pack: %w", err)
			}
			clean, rule := cleanSymlinkTarget(rel, filepath.ToSlash(target))
			if filepath.IsAbs(target) {
				rule = "the symlink target is an absolute path"
			}
			if rule != "" {
				return podium.Errorf(podium.EINVALID, "pack %q: %s (target %q); replace it with a copy or add it to %s", rel, rule, target, IgnoreFile)
			}
			hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, clean, 0o777
			st.Symlinks++
		default:
			return podium.Errorf(podium.EINVALID, "pack %q: %s is not a regular file, directory or symlink; add it to %s", rel, mode.Type(), IgnoreFile)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("pack %s: %w", rel, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if err := copyFile(tw, p, hdr.Size); err != nil {
				return fmt.Errorf("pack %s: %w", rel, err)
			}
			st.Files++
			st.Bytes += hdr.Size
		}
		return nil
	})
	if walkErr != nil {
		return PackStats{}, walkErr
	}
	if err := tw.Close(); err != nil {
		return PackStats{}, fmt.Errorf("pack: %w", err)
	}
	if err := gw.Close(); err != nil {
		return PackStats{}, fmt.Errorf("pack: %w", err)
	}
	return st, nil
}

// copyFile copies exactly size bytes of the file at p; a file that changed
// size since it was listed is an error rather than a corrupt bundle.
func copyFile(w io.Writer, p string, size int64) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.CopyN(w, f, size); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("the file shrank while it was being packed")
		}
		return err
	}
	return nil
}

func loadIgnore(srcDir string) (*Ignore, error) {
	f, err := os.Open(filepath.Join(srcDir, IgnoreFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pack: %w", err)
	}
	defer f.Close()
	return ParseIgnore(f)
}
