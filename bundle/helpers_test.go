package bundle_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium"
)

// entry is one tar entry for MustTar: a header and, for regular files, a
// body (Size is set from it unless the header sets it).
type entry struct {
	tar.Header
	Body string
}

func file(name, body string) entry {
	return entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644}, Body: body}
}

func dir(name string) entry {
	return entry{Header: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755}}
}

func symlink(name, target string) entry {
	return entry{Header: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}}
}

var testTime = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// MustTar builds an uncompressed tar archive of entries.
func MustTar(tb testing.TB, entries ...entry) []byte {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.Header
		if h.Typeflag == tar.TypeReg && h.Size == 0 {
			h.Size = int64(len(e.Body))
		}
		if h.ModTime.IsZero() && h.Typeflag != tar.TypeXGlobalHeader {
			h.ModTime = testTime
		}
		if err := tw.WriteHeader(&h); err != nil {
			tb.Fatalf("tar header %q: %v", h.Name, err)
		}
		if e.Body != "" {
			if _, err := tw.Write([]byte(e.Body)); err != nil {
				tb.Fatalf("tar body %q: %v", h.Name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// MustGzip compresses b.
func MustGzip(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	gw := gzip.NewWriter(&buf)
	if _, err := gw.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := gw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// MustBundle builds a gzip'd tar of entries.
func MustBundle(tb testing.TB, entries ...entry) []byte {
	tb.Helper()
	return MustGzip(tb, MustTar(tb, entries...))
}

// setupDest returns a fresh parent directory, holding a decoy file that an
// escape could overwrite, and the path of a dest inside it that does not
// exist yet.
func setupDest(tb testing.TB) (parent, dest string) {
	tb.Helper()
	parent = tb.TempDir()
	if err := os.WriteFile(filepath.Join(parent, "decoy"), []byte("untouched"), 0o644); err != nil {
		tb.Fatal(err)
	}
	return parent, filepath.Join(parent, "dest")
}

// checkContained fails unless everything under parent is either the decoy
// (unchanged) or inside dest, and every symlink under dest resolves inside
// dest.
func checkContained(tb testing.TB, parent, dest string) {
	tb.Helper()
	err := filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case p == parent || p == dest:
			return nil
		case p == filepath.Join(parent, "decoy"):
			b, err := os.ReadFile(p)
			if err != nil || string(b) != "untouched" {
				tb.Errorf("decoy outside dest changed: %q, %v", b, err)
			}
			return nil
		case !strings.HasPrefix(p, dest+string(filepath.Separator)):
			tb.Errorf("%s was written outside dest", p)
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 {
			tb.Errorf("%s has mode %v", p, fi.Mode())
		}
		if fi.Mode()&fs.ModeType&^(fs.ModeDir|fs.ModeSymlink) != 0 {
			tb.Errorf("%s is a %v", p, fi.Mode().Type())
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if resolved, err := filepath.EvalSymlinks(p); err == nil {
				realDest, _ := filepath.EvalSymlinks(dest)
				if resolved != realDest && !strings.HasPrefix(resolved, realDest+string(filepath.Separator)) {
					tb.Errorf("symlink %s resolves outside dest, to %s", p, resolved)
				}
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// checkErr fails unless err is a *podium.Error with code whose message
// contains every one of want.
func checkErr(tb testing.TB, err error, code string, want ...string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("err = nil, want %s error", code)
	}
	if got := podium.ErrorCode(err); got != code {
		tb.Fatalf("code = %q, want %q (err: %v)", got, code, err)
	}
	for _, w := range want {
		if !strings.Contains(podium.ErrorMessage(err), w) {
			tb.Errorf("message %q does not contain %q", podium.ErrorMessage(err), w)
		}
	}
}

// listTree returns "path mode" lines for everything under dir, and the
// content of regular files, keyed by slash path.
func listTree(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[filepath.ToSlash(rel)] = fi.Mode().String() + " " + string(b)
		case fi.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[filepath.ToSlash(rel)] = "L -> " + t
		default:
			out[filepath.ToSlash(rel)] = fi.Mode().String()
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
