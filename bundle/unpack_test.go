package bundle_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/bundle"
)

func TestUnpack(t *testing.T) {
	t.Parallel()

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		parent, dest := setupDest(t)
		exe := file("bin/run.sh", "#!/bin/sh\n")
		exe.Mode = 0o4755 // setuid: dropped
		private := file("secret.txt", "s")
		private.Mode = 0o600
		data := MustBundle(t,
			dir("./"),
			file("./index.html", "<h1>hi</h1>"),
			dir("css/"),
			file("css/site.css", "body{}"),
			exe,
			private,
			file("deep/er/still/x.txt", "x"), // parents created implicitly
			dir("deep/"),                     // explicit after implicit: fine
			symlink("home.html", "index.html"),
			symlink("css/up", ".."),
			symlink("deep/er/still/css", "../../../css/./site.css"),
			entry{Header: tar.Header{Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": "hi"}}},
		)
		st, err := bundle.Unpack(t.Context(), bytes.NewReader(data), dest, bundle.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"index.html":          "-rw-r--r-- <h1>hi</h1>",
			"css":                 "drwxr-xr-x",
			"css/site.css":        "-rw-r--r-- body{}",
			"css/up":              "L -> ..",
			"bin":                 "drwxr-xr-x",
			"bin/run.sh":          "-rwxr-xr-x #!/bin/sh\n",
			"secret.txt":          "-rw-r--r-- s",
			"deep":                "drwxr-xr-x",
			"deep/er":             "drwxr-xr-x",
			"deep/er/still":       "drwxr-xr-x",
			"deep/er/still/x.txt": "-rw-r--r-- x",
			"deep/er/still/css":   "L -> ../../../css/site.css",
			"home.html":           "L -> index.html",
		}
		if got := listTree(t, dest); !maps.Equal(got, want) {
			t.Errorf("tree:\n got %v\nwant %v", got, want)
		}
		if want := (bundle.Stats{Files: 5, Dirs: 5, Symlinks: 3, Bytes: 11 + 6 + 10 + 1 + 1}); st != want {
			t.Errorf("stats = %+v, want %+v", st, want)
		}
		fi, err := os.Stat(filepath.Join(dest, "index.html"))
		if err != nil || !fi.ModTime().Equal(testTime) {
			t.Errorf("index.html mtime = %v, %v; want %v", fi.ModTime(), err, testTime)
		}
		checkContained(t, parent, dest)
	})

	t.Run("OKSymlinkStoredClean", func(t *testing.T) {
		t.Parallel()
		// Followed by the OS, a/b/../../decoy would climb a/b -> .. and
		// reach the decoy outside dest; Unpack stores the lexically clean
		// target, which stays inside.
		parent, dest := setupDest(t)
		data := MustBundle(t, symlink("a/b", ".."), symlink("x", "a/b/../../decoy"))
		if _, err := bundle.Unpack(t.Context(), bytes.NewReader(data), dest, bundle.Limits{}); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"a": "drwxr-xr-x", "a/b": "L -> ..", "x": "L -> decoy"}
		if got := listTree(t, dest); !maps.Equal(got, want) {
			t.Errorf("tree = %v, want %v", got, want)
		}
		checkContained(t, parent, dest)
	})

	t.Run("OKExistingEmptyDest", func(t *testing.T) {
		t.Parallel()
		parent, dest := setupDest(t)
		if err := os.Mkdir(dest, 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := bundle.Unpack(t.Context(), bytes.NewReader(MustBundle(t, file("a", "1"))), dest, bundle.Limits{}); err != nil {
			t.Fatal(err)
		}
		if got := listTree(t, dest); !maps.Equal(got, map[string]string{"a": "-rw-r--r-- 1"}) {
			t.Errorf("tree = %v", got)
		}
		checkContained(t, parent, dest)
	})

	t.Run("ErrDestNotEmpty", func(t *testing.T) {
		t.Parallel()
		_, dest := setupDest(t)
		if err := os.Mkdir(dest, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dest, "keep"), []byte("k"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := bundle.Unpack(t.Context(), bytes.NewReader(MustBundle(t, file("a", "1"))), dest, bundle.Limits{})
		if err == nil || !strings.Contains(err.Error(), "not empty") {
			t.Fatalf("err = %v, want 'not empty'", err)
		}
		if got := listTree(t, dest); !maps.Equal(got, map[string]string{"keep": "-rw-r--r-- k"}) {
			t.Errorf("dest changed: %v", got)
		}
	})

	t.Run("ErrCleansExistingDest", func(t *testing.T) {
		t.Parallel()
		parent, dest := setupDest(t)
		if err := os.Mkdir(dest, 0o755); err != nil {
			t.Fatal(err)
		}
		data := MustBundle(t, file("a/b/c", "1"), file("d", "2"), file("../x", "3"))
		_, err := bundle.Unpack(t.Context(), bytes.NewReader(data), dest, bundle.Limits{})
		checkErr(t, err, podium.EINVALID, `"../x"`)
		if got := listTree(t, dest); len(got) != 0 {
			t.Errorf("dest not cleaned: %v", got)
		}
		checkContained(t, parent, dest)
	})
}

// TestUnpackHostile feeds bundles built to escape dest or exhaust the
// server, and checks each is refused with the right code and message, that
// nothing stays in dest and nothing is written outside it.
func TestUnpackHostile(t *testing.T) {
	t.Parallel()
	hardlink := entry{Header: tar.Header{Typeflag: tar.TypeLink, Name: "hard", Linkname: "index.html"}}
	char := entry{Header: tar.Header{Typeflag: tar.TypeChar, Name: "null", Devmajor: 1, Devminor: 3}}
	block := entry{Header: tar.Header{Typeflag: tar.TypeBlock, Name: "sda", Devmajor: 8}}
	fifo := entry{Header: tar.Header{Typeflag: tar.TypeFifo, Name: "pipe"}}
	small := bundle.Limits{MaxBytes: 150, MaxFiles: 10, MaxFileBytes: 100}

	tests := []struct {
		name string
		data []byte
		lim  bundle.Limits
		code string
		want []string
	}{
		{"ErrDotDot", MustBundle(t, file("../x", "evil")), bundle.Limits{}, podium.EINVALID, []string{`"../x"`, `".." element`}},
		{"ErrAbsolute", MustBundle(t, file("/etc/x", "evil")), bundle.Limits{}, podium.EINVALID, []string{`"/etc/x"`, "absolute"}},
		{"ErrDotDotInside", MustBundle(t, file("a/../../x", "evil")), bundle.Limits{}, podium.EINVALID, []string{`"a/../../x"`, `".."`}},
		{"ErrDotDotAfterOK", MustBundle(t, file("ok", "1"), dir("a/"), file("a/../../../x", "evil")), bundle.Limits{}, podium.EINVALID, []string{`".." element`}},
		{"ErrBackslash", MustBundle(t, file(`..\x`, "evil")), bundle.Limits{}, podium.EINVALID, []string{"backslash"}},
		{"ErrDriveLetter", MustBundle(t, file("C:/x", "evil")), bundle.Limits{}, podium.EINVALID, []string{"drive letter"}},
		{"ErrLongElement", MustBundle(t, file(strings.Repeat("a", 256), "x")), bundle.Limits{}, podium.EINVALID, []string{"longer than 255"}},
		{"ErrRootAsFile", MustBundle(t, file(".", "x")), bundle.Limits{}, podium.EINVALID, []string{"bundle root"}},
		{"ErrSymlinkAbsolute", MustBundle(t, symlink("link", "/etc")), bundle.Limits{}, podium.EINVALID, []string{`"link"`, "absolute", `"/etc"`}},
		{"ErrSymlinkAbsoluteThenFile", MustBundle(t, symlink("link", "/etc"), file("link/passwd", "root::0:0")), bundle.Limits{}, podium.EINVALID, []string{`"link"`, "absolute"}},
		{"ErrSymlinkUpUp", MustBundle(t, symlink("link", "../..")), bundle.Limits{}, podium.EINVALID, []string{"outside the bundle"}},
		{"ErrSymlinkUp", MustBundle(t, symlink("link", "..")), bundle.Limits{}, podium.EINVALID, []string{"outside the bundle"}},
		{"ErrSymlinkDeepUp", MustBundle(t, symlink("a/b/link", "../../../decoy")), bundle.Limits{}, podium.EINVALID, []string{"outside the bundle"}},
		{"ErrSymlinkDriveLetter", MustBundle(t, symlink("link", "C:/Windows")), bundle.Limits{}, podium.EINVALID, []string{"drive letter"}},
		{"ErrSymlinkBackslash", MustBundle(t, symlink("link", `..\..\x`)), bundle.Limits{}, podium.EINVALID, []string{"backslash"}},
		{"ErrSymlinkEmpty", MustBundle(t, symlink("link", "")), bundle.Limits{}, podium.EINVALID, []string{"empty"}},
		{"ErrWriteThroughSymlink", MustBundle(t, dir("sub/"), symlink("link", "sub"), file("link/passwd", "x")), bundle.Limits{}, podium.EINVALID, []string{`"link/passwd"`, `parent "link" is a symlink`}},
		{"ErrDirThroughSymlink", MustBundle(t, symlink("link", "."), dir("link/d/")), bundle.Limits{}, podium.EINVALID, []string{`parent "link" is a symlink`}},
		{"ErrSymlinkOverFile", MustBundle(t, file("index.html", "x"), symlink("index.html", "/etc/passwd")), bundle.Limits{}, podium.EINVALID, []string{"duplicate", "regular file"}},
		{"ErrFileOverSymlink", MustBundle(t, symlink("index.html", "other"), file("index.html", "x")), bundle.Limits{}, podium.EINVALID, []string{"duplicate", "symlink"}},
		{"ErrParentIsFile", MustBundle(t, file("a", "x"), file("a/b", "y")), bundle.Limits{}, podium.EINVALID, []string{`parent "a" is a regular file`}},
		{"ErrHardLink", MustBundle(t, file("index.html", "x"), hardlink), bundle.Limits{}, podium.EINVALID, []string{`"hard"`, "hard links are not allowed"}},
		{"ErrCharDevice", MustBundle(t, char), bundle.Limits{}, podium.EINVALID, []string{`"null"`, "device files"}},
		{"ErrBlockDevice", MustBundle(t, block), bundle.Limits{}, podium.EINVALID, []string{"device files"}},
		{"ErrFIFO", MustBundle(t, fifo), bundle.Limits{}, podium.EINVALID, []string{`"pipe"`, "FIFO"}},
		{"ErrDuplicateFile", MustBundle(t, file("a", "1"), file("./a", "2")), bundle.Limits{}, podium.EINVALID, []string{`"./a"`, "duplicate"}},
		{"ErrDuplicateDir", MustBundle(t, dir("a/"), dir("a/")), bundle.Limits{}, podium.EINVALID, []string{"duplicate"}},
		{"ErrTooManyFiles", MustBundle(t, manyFiles(11)...), small, podium.ETOOLARGE, []string{"more than 10 files"}},
		{"ErrTooManyImplicitDirs", MustBundle(t, file("a/b/c/d/e/f/g/h/i/j/k", "")), small, podium.ETOOLARGE, []string{"more than 10 files"}},
		{"ErrTooManyHeaders", MustBundle(t, manyGlobalHeaders(30)...), small, podium.ETOOLARGE, []string{"tar entries"}},
		{"ErrFileTooLarge", MustBundle(t, file("big", strings.Repeat("x", 101))), small, podium.ETOOLARGE, []string{`"big"`, "100-byte limit per file"}},
		{"ErrBundleTooLarge", MustBundle(t, file("a", strings.Repeat("x", 100)), file("b", strings.Repeat("x", 51))), small, podium.ETOOLARGE, []string{`"b"`, "150-byte limit per bundle"}},
		{"ErrNotGzip", MustTar(t, file("a", "1")), bundle.Limits{}, podium.EINVALID, []string{"bundle is not gzip-compressed"}},
		{"ErrEmpty", nil, bundle.Limits{}, podium.EINVALID, []string{"not gzip-compressed"}},
		{"ErrTruncatedGzip", truncate(MustBundle(t, file("a", strings.Repeat("abc", 5000)))), bundle.Limits{}, podium.EINVALID, []string{"truncated"}},
		{"ErrMissingGzipFooter", MustBundle(t, file("a", "1"))[:len(MustBundle(t, file("a", "1")))-4], bundle.Limits{}, podium.EINVALID, []string{"truncated"}},
		{"ErrGzipChecksum", corruptCRC(MustBundle(t, file("a", "1"))), bundle.Limits{}, podium.EINVALID, []string{"not a valid gzip-compressed tar", "checksum"}},
		{"ErrMalformedTar", MustGzip(t, bytes.Repeat([]byte("not a tar header "), 64)), bundle.Limits{}, podium.EINVALID, []string{"not a valid gzip-compressed tar", "at its start"}},
		{"ErrTruncatedTar", MustGzip(t, MustTar(t, file("a", strings.Repeat("x", 2000)))[:1024]), bundle.Limits{}, podium.EINVALID, []string{"truncated", `"a"`}},
		{"ErrGarbageAfterGzip", append(MustBundle(t, file("a", "1")), "garbage"...), bundle.Limits{}, podium.EINVALID, []string{"data after the end of its gzip stream"}},
		{"ErrTrailerBomb", MustGzip(t, append(MustTar(t, file("a", "1")), make([]byte, 8<<20)...)), bundle.Limits{}, podium.ETOOLARGE, []string{"after the end of the tar archive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parent, dest := setupDest(t)
			st, err := bundle.Unpack(t.Context(), bytes.NewReader(tt.data), dest, tt.lim)
			checkErr(t, err, tt.code, tt.want...)
			if st != (bundle.Stats{}) {
				t.Errorf("stats = %+v on error, want zero", st)
			}
			if _, err := os.Lstat(dest); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("dest left behind after error: %v", err)
			}
			checkContained(t, parent, dest)
		})
	}
}

// TestUnpackGzipBomb checks that a small upload that expands hugely is
// refused after reading only its start.
func TestUnpackGzipBomb(t *testing.T) {
	t.Parallel()
	lim := bundle.Limits{MaxBytes: 1 << 20, MaxFiles: 100, MaxFileBytes: 1 << 20}

	t.Run("ErrOneHugeFile", func(t *testing.T) {
		t.Parallel()
		parent, dest := setupDest(t)
		data := MustBundle(t, file("zeros", strings.Repeat("\x00", 64<<20)))
		src := &countingReader{r: bytes.NewReader(data)}
		_, err := bundle.Unpack(t.Context(), src, dest, lim)
		checkErr(t, err, podium.ETOOLARGE, `"zeros"`, "limit per file")
		if src.n > int64(len(data))/4 {
			t.Errorf("read %d of %d compressed bytes before refusing", src.n, len(data))
		}
		checkContained(t, parent, dest)
	})

	t.Run("ErrHugeHeaders", func(t *testing.T) {
		t.Parallel()
		// Entries whose PAX records are near archive/tar's 1 MiB cap: little
		// content, but much to decompress.
		var entries []entry
		for i := range 40 {
			e := dir("d" + strings.Repeat("x", i) + "/")
			e.PAXRecords = map[string]string{"comment": strings.Repeat("z", 900<<10)}
			entries = append(entries, e)
		}
		parent, dest := setupDest(t)
		_, err := bundle.Unpack(t.Context(), bytes.NewReader(MustBundle(t, entries...)), dest, bundle.Limits{MaxBytes: 1 << 20, MaxFiles: 100, MaxFileBytes: 1 << 20})
		checkErr(t, err, podium.ETOOLARGE, "expands to more than")
		checkContained(t, parent, dest)
	})
}

func TestUnpackCanceled(t *testing.T) {
	t.Parallel()

	t.Run("ErrBeforeStart", func(t *testing.T) {
		t.Parallel()
		parent, dest := setupDest(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := bundle.Unpack(ctx, bytes.NewReader(MustBundle(t, file("a", "1"))), dest, bundle.Limits{})
		checkErr(t, err, podium.ECANCELED, "canceled")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want it to wrap context.Canceled", err)
		}
		checkContained(t, parent, dest)
	})

	t.Run("ErrMidway", func(t *testing.T) {
		t.Parallel()
		parent, dest := setupDest(t)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		// Incompressible files, read 64 bytes at a time: many reads.
		rnd := rand.New(rand.NewPCG(1, 2))
		var entries []entry
		for i := range 50 {
			body := make([]byte, 4096)
			for j := range body {
				body[j] = byte(rnd.Uint32())
			}
			entries = append(entries, file("f"+strconv.Itoa(i), string(body)))
		}
		data := MustBundle(t, entries...)
		// Cancel once the first file has been written.
		src := &hookReader{r: bytes.NewReader(data), hook: func() {
			if _, err := os.Lstat(filepath.Join(dest, "f0")); err == nil {
				cancel()
			}
		}}
		_, err := bundle.Unpack(ctx, src, dest, bundle.Limits{})
		checkErr(t, err, podium.ECANCELED)
		if _, err := os.Lstat(dest); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("dest left behind: %v", err)
		}
		checkContained(t, parent, dest)
	})
}

func TestUnpackSourceError(t *testing.T) {
	t.Parallel()
	parent, dest := setupDest(t)
	data := MustBundle(t, file("a", strings.Repeat("abc", 100000)))
	boom := errors.New("connection reset")
	r := io.MultiReader(bytes.NewReader(data[:len(data)/2]), &errReader{err: boom})
	_, err := bundle.Unpack(t.Context(), r, dest, bundle.Limits{})
	if !errors.Is(err, boom) || podium.ErrorCode(err) != podium.EINTERNAL {
		t.Fatalf("err = %v (code %q), want internal error wrapping %v", err, podium.ErrorCode(err), boom)
	}
	checkContained(t, parent, dest)
}

func manyFiles(n int) []entry {
	var es []entry
	for i := range n {
		es = append(es, file("f"+strconv.Itoa(i), "x"))
	}
	return es
}

func manyGlobalHeaders(n int) []entry {
	var es []entry
	for range n {
		es = append(es, entry{Header: tar.Header{Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": "x"}}})
	}
	return es
}

func truncate(b []byte) []byte { return slices.Clone(b[:len(b)/2]) }

// corruptCRC flips a bit of the CRC-32 in the gzip footer.
func corruptCRC(b []byte) []byte {
	b = slices.Clone(b)
	b[len(b)-8] ^= 1
	return b
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type hookReader struct {
	r    io.Reader
	hook func()
}

func (h *hookReader) Read(p []byte) (int, error) {
	h.hook()
	if len(p) > 64 {
		p = p[:64]
	}
	return h.r.Read(p)
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }
