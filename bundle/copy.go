package bundle

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// CopyTree copies the directories and regular files under src to dst
// (which must not exist). Symlinks are copied as links when keepLinks (a
// bundle, whose links Unpack checked) and skipped otherwise (a render's
// output, written by an untrusted process). Files are opened through an
// os.Root of src, so nothing outside src is ever read. Directories are
// created 0755 and files 0644, or 0755 when executable by anyone.
func CopyTree(src, dst string, keepLinks bool) error {
	return walkTree(src, dst, keepLinks, copyRegular)
}

// walkTree recreates src's directories under dst (0755), its symlinks as
// links when keepLinks, and calls file for each regular file, with src
// opened as an os.Root (nothing outside src is read) and target the
// file's path under dst. Other kinds of files are skipped.
func walkTree(src, dst string, keepLinks bool, file func(root *os.Root, rel, target string) error) error {
	root, err := os.OpenRoot(src)
	if err != nil {
		return err
	}
	defer root.Close()
	return fs.WalkDir(root.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dst, filepath.FromSlash(rel))
		switch {
		case d.IsDir():
			return os.Mkdir(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			if !keepLinks {
				return nil
			}
			link, err := root.Readlink(rel)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			return file(root, rel, target)
		default:
			return nil
		}
	})
}

func copyRegular(root *os.Root, rel, target string) error {
	in, err := root.Open(rel)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	mode := os.FileMode(0o644)
	if fi.Mode()&0o111 != 0 {
		mode = 0o755
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, in); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
