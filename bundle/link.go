package bundle

import (
	"io/fs"
	"os"
	"path/filepath"
)

// LinkTree recreates the directories of src under dst (which must not
// exist), 0755, and hard-links every regular file of src into them;
// symlinks are recreated as links. It costs one mkdir per directory and
// one link per file, whatever the files' sizes. src and dst must be on one
// filesystem. The files are shared with src: src's files must be read-only
// to whoever uses dst (see ReadOnlyTree), while dst's directories stay
// writable, so a process may still create, replace or remove files in dst
// without touching src.
func LinkTree(src, dst string) error {
	return walkTree(src, dst, true, func(_ *os.Root, rel, target string) error {
		return os.Link(filepath.Join(src, filepath.FromSlash(rel)), target)
	})
}

// ReadOnlyTree removes the write bits of every file under dir (0444, or
// 0555 when executable by anyone) and of its directories (0555), so that
// hard links to its files cannot be written through by another user.
// MakeWritable undoes it before a removal.
func ReadOnlyTree(dir string) error {
	return chmodTree(dir, func(d fs.DirEntry, mode fs.FileMode) fs.FileMode {
		if d.IsDir() || mode&0o111 != 0 {
			return 0o555
		}
		return 0o444
	})
}

// MakeWritable gives the owner write access to every directory under dir,
// so that os.RemoveAll can remove a tree made read-only by ReadOnlyTree.
func MakeWritable(dir string) error {
	return chmodTree(dir, func(d fs.DirEntry, mode fs.FileMode) fs.FileMode {
		if d.IsDir() {
			return 0o755
		}
		return mode
	})
}

func chmodTree(dir string, mode func(fs.DirEntry, fs.FileMode) fs.FileMode) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return os.Chmod(p, mode(d, fi.Mode().Perm()))
	})
}
