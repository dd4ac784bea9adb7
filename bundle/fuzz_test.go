package bundle_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podiumhq/podium/bundle"
)

// FuzzUnpack checks that Unpack never panics and never writes outside
// dest: it either succeeds with everything under dest (symlinks resolving
// inside it, file sizes adding up to Stats.Bytes) or fails and leaves no
// dest behind.
//
// The first byte of the input picks its form: even means the rest is a tar
// archive to gzip first (so mutations explore tar parsing), odd means the
// rest is passed to Unpack as is (so they explore gzip handling).
//
//	go test -run='^$' -fuzz=FuzzUnpack -fuzztime=20s ./bundle
func FuzzUnpack(f *testing.F) {
	for _, tarball := range fuzzSeeds(f) {
		f.Add(append([]byte{0}, tarball...))
		f.Add(append([]byte{1}, MustGzip(f, tarball)...))
	}
	f.Add([]byte{1})
	f.Add([]byte{1, 0x1f, 0x8b})

	lim := bundle.Limits{MaxBytes: 1 << 20, MaxFiles: 64, MaxFileBytes: 256 << 10}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		in := data[1:]
		if data[0]%2 == 0 {
			in = MustGzip(t, in)
		}
		parent, dest := setupDest(t)
		st, err := bundle.Unpack(t.Context(), bytes.NewReader(in), dest, lim)
		checkContained(t, parent, dest)
		if err != nil {
			if _, serr := os.Lstat(dest); !errors.Is(serr, fs.ErrNotExist) {
				t.Errorf("Unpack failed (%v) but left dest behind: %v", err, serr)
			}
			return
		}
		var total int64
		var files int
		werr := filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				fi, err := d.Info()
				if err != nil {
					return err
				}
				total += fi.Size()
				files++
			}
			return nil
		})
		if werr != nil {
			t.Fatal(werr)
		}
		if total != st.Bytes || files != st.Files {
			t.Errorf("stats %+v, but dest holds %d files of %d bytes", st, files, total)
		}
		if total > lim.MaxBytes {
			t.Errorf("dest holds %d bytes, over the %d limit", total, lim.MaxBytes)
		}
	})
}

// fuzzSeeds returns uncompressed tar archives: well-formed bundles and the
// hostile ones of TestUnpackHostile.
func fuzzSeeds(tb testing.TB) [][]byte {
	exe := file("bin/run", "#!/bin/sh\n")
	exe.Mode = 0o6755
	return [][]byte{
		MustTar(tb, dir("./"), file("index.html", "<h1>hi</h1>"), dir("css/"), file("css/a.css", "x"), exe, symlink("home.html", "index.html")),
		MustTar(tb, file("a/b/c", "1"), symlink("a/up", ".."), symlink("a/b/l", "../../a/b/c")),
		MustTar(tb, file("../x", "evil")),
		MustTar(tb, file("/etc/x", "evil")),
		MustTar(tb, file("a/../../x", "evil")),
		MustTar(tb, file(`..\x`, "evil")),
		MustTar(tb, file("C:/x", "evil")),
		MustTar(tb, symlink("link", "/etc"), file("link/passwd", "x")),
		MustTar(tb, symlink("link", "../..")),
		MustTar(tb, symlink("link", "../decoy")),
		MustTar(tb, dir("sub/"), symlink("link", "sub"), file("link/passwd", "x")),
		MustTar(tb, symlink("a/b", ".."), symlink("x", "a/b/../../decoy")),
		MustTar(tb, symlink("index.html", "other"), file("index.html", "x")),
		MustTar(tb, file("index.html", "x"), entry{Header: tar.Header{Typeflag: tar.TypeLink, Name: "hard", Linkname: "index.html"}}),
		MustTar(tb, entry{Header: tar.Header{Typeflag: tar.TypeChar, Name: "null", Devmajor: 1, Devminor: 3}}),
		MustTar(tb, entry{Header: tar.Header{Typeflag: tar.TypeFifo, Name: "pipe"}}),
		MustTar(tb, file("a", "1"), file("a", "2")),
		MustTar(tb, file("a", "x"), file("a/b", "y")),
		MustTar(tb, manyFiles(70)...),
		MustTar(tb, file("big", strings.Repeat("\x00", 300<<10))),
		MustTar(tb, manyGlobalHeaders(5)...),
		MustTar(tb, file("a", strings.Repeat("x", 2000)))[:1024],
		append(MustTar(tb, file("a", "1")), make([]byte, 4096)...),
	}
}
