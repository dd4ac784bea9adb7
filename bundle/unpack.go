package bundle

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/podiumhq/podium"
)

// Limits bounds what Unpack accepts. A field that is zero or negative takes
// its value from DefaultLimits.
type Limits struct {
	// MaxBytes bounds the total size of the files' content, uncompressed.
	MaxBytes int64
	// MaxFiles bounds the number of entries: files, directories (including
	// the ones created implicitly as parents) and symlinks.
	MaxFiles int
	// MaxFileBytes bounds the size of any one file.
	MaxFileBytes int64
}

// DefaultLimits are the bounds used for any field of Limits left at zero.
var DefaultLimits = Limits{
	MaxBytes:     1 << 30,   // 1 GiB
	MaxFiles:     50_000,    // a large node_modules fits
	MaxFileBytes: 512 << 20, // 512 MiB
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = DefaultLimits.MaxFiles
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = DefaultLimits.MaxFileBytes
	}
	return l
}

// Bounds on what a bundle may hold besides file content. Tar headers (PAX
// records, long names) are allowed headerAllowance bytes per entry on
// average, and at most maxTrailerBytes may follow the end of the archive
// (tar writers pad to a 10 KiB record); with MaxBytes these bound how much
// the gzip stream may expand, so a gzip bomb stops early.
const (
	headerAllowance = 16 << 10
	maxTrailerBytes = 1 << 20
)

// Stats describes what Unpack extracted.
type Stats struct {
	Files    int   // regular files
	Dirs     int   // directories, including implicit parents
	Symlinks int   // symbolic links
	Bytes    int64 // total size of the regular files
}

// Unpack extracts the gzip-compressed tar bundle read from r into dest.
//
// dest must be an empty directory or not exist yet (its parent must); the
// usual pattern is to unpack into a new temporary directory and rename it
// into place once the bundle and its manifest check out. On any error
// Unpack removes everything it created under dest (and dest itself if it
// created it), and it never creates or changes anything outside dest.
//
// Unpack accepts only directories, regular files and symlinks whose target
// is relative and stays inside the bundle. It refuses absolute paths, ".."
// elements, backslashes and drive letters in names, entries that would go
// through a symlink or a file, duplicate entries, hard links, devices,
// FIFOs and sparse files. Files get mode 0644, or 0755 when any executable
// bit is set; directories get 0755; owners, setuid, setgid and sticky bits
// are dropped. Sizes and counts are checked against lim (see Limits) on the
// bytes actually written, and decompression stops as soon as a bound is
// passed.
//
// Returns EINVALID for a malformed or unsafe bundle and ETOOLARGE for one
// over lim, each with a message naming the entry and the rule; ECANCELED
// when ctx is done; and an internal error when reading r or writing dest
// fails.
func Unpack(ctx context.Context, r io.Reader, dest string, lim Limits) (st Stats, err error) {
	lim = lim.withDefaults()
	createdDest, err := prepareDest(dest)
	if err != nil {
		return Stats{}, err
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		if createdDest {
			_ = os.Remove(dest)
		}
		return Stats{}, fmt.Errorf("unpack: %w", err)
	}
	u := &unpacker{
		ctx:     ctx,
		root:    root,
		lim:     lim,
		entries: make(map[string]entryKind),
	}
	defer func() {
		if err == nil {
			err = root.Close()
			if err != nil {
				err = fmt.Errorf("unpack: %w", err)
			}
		}
		if err != nil {
			st = Stats{}
			if cerr := u.cleanup(dest, createdDest); cerr != nil {
				err = fmt.Errorf("%w (cleaning up %s: %v)", err, dest, cerr)
			}
		}
	}()
	if err := u.run(r); err != nil {
		return Stats{}, err
	}
	return u.stats, nil
}

// prepareDest makes sure dest is an empty directory, creating it when it
// does not exist, and reports whether it did.
func prepareDest(dest string) (created bool, err error) {
	fi, err := os.Lstat(dest)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.Mkdir(dest, 0o755); err != nil {
			return false, fmt.Errorf("unpack: %w", err)
		}
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("unpack: %w", err)
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("unpack: %s is not a directory", dest)
	}
	d, err := os.Open(dest)
	if err != nil {
		return false, fmt.Errorf("unpack: %w", err)
	}
	defer d.Close()
	if names, _ := d.Readdirnames(1); len(names) > 0 {
		return false, fmt.Errorf("unpack: destination %s is not empty", dest)
	}
	return false, nil
}

type entryKind uint8

const (
	kindImplicitDir entryKind = iota // created as the parent of an entry
	kindDir
	kindFile
	kindSymlink
)

func (k entryKind) String() string {
	switch k {
	case kindImplicitDir, kindDir:
		return "a directory"
	case kindFile:
		return "a regular file"
	default:
		return "a symlink"
	}
}

type unpacker struct {
	ctx     context.Context
	root    *os.Root
	lim     Limits
	entries map[string]entryKind // every path created, by clean relative name
	top     []string             // top-level names created, in order, for cleanup
	count   int                  // entries seen, including PAX global headers
	stats   Stats

	src     *sourceReader
	limited *expansionReader
	last    string // name of the last entry read, for error messages
}

func (u *unpacker) run(r io.Reader) error {
	u.src = &sourceReader{ctx: u.ctx, r: r}
	br := bufio.NewReader(u.src)
	if magic, err := br.Peek(2); err != nil || magic[0] != 0x1f || magic[1] != 0x8b {
		if err != nil && !errors.Is(err, io.EOF) {
			return u.readError(err)
		}
		return podium.Errorf(podium.EINVALID, "bundle is not gzip-compressed (upload a .tar.gz)")
	}
	gz, err := gzip.NewReader(br)
	if err != nil {
		return u.readError(err)
	}
	defer gz.Close()
	// One gzip member only: anything after it is refused below rather
	// than read as another member.
	gz.Multistream(false)
	// Everything decompressed passes through here, headers and padding
	// included, so a gzip bomb is cut off however it is dressed up.
	u.limited = &expansionReader{
		r:     gz,
		limit: u.lim.MaxBytes + int64(u.lim.MaxFiles+1)*headerAllowance + maxTrailerBytes,
	}
	tr := tar.NewReader(u.limited)
	for {
		if err := u.ctx.Err(); err != nil {
			return canceled(err)
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !(errors.Is(err, tar.ErrInsecurePath) && hdr != nil) {
			// ErrInsecurePath comes with the header only under
			// GODEBUG=tarinsecurepath=0; entry() refuses such names
			// itself, with a better message.
			return u.readError(err)
		}
		if err := u.entry(hdr, tr); err != nil {
			return err
		}
	}
	// Read the rest of the gzip stream, so a truncated or corrupt bundle
	// is caught by its checksum, but only so much of it.
	n, err := io.Copy(io.Discard, io.LimitReader(u.limited, maxTrailerBytes+1))
	if err != nil {
		return u.readError(err)
	}
	if n > maxTrailerBytes {
		return podium.Errorf(podium.ETOOLARGE, "bundle has more than %d bytes after the end of the tar archive", maxTrailerBytes)
	}
	if _, err := br.ReadByte(); err == nil {
		return podium.Errorf(podium.EINVALID, "bundle has data after the end of its gzip stream")
	} else if !errors.Is(err, io.EOF) {
		return u.readError(err)
	}
	return nil
}

// entry checks and extracts one tar entry.
func (u *unpacker) entry(hdr *tar.Header, tr io.Reader) error {
	u.last = hdr.Name
	// Entries that create nothing (PAX global headers, the root, a
	// directory already made as a parent) still cost time: bound them too.
	u.count++
	if u.count > 2*u.lim.MaxFiles+1 {
		return podium.Errorf(podium.ETOOLARGE, "bundle has more than %d tar entries (at entry %q)", 2*u.lim.MaxFiles+1, hdr.Name)
	}
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil // PAX defaults for later entries: nothing to extract
	}
	rel, rule := cleanEntryName(hdr.Name)
	if rule != "" {
		return entryErr(hdr.Name, "%s", rule)
	}

	kind, rule := kindOf(hdr)
	if rule != "" {
		return entryErr(hdr.Name, "%s", rule)
	}
	if rel == "" {
		if kind != kindDir {
			return entryErr(hdr.Name, "it names the bundle root but is not a directory")
		}
		return nil
	}
	if kind == kindFile && strings.HasSuffix(hdr.Name, "/") {
		return entryErr(hdr.Name, "a regular file's name ends with /")
	}
	if err := u.parents(hdr.Name, rel); err != nil {
		return err
	}
	if prev, ok := u.entries[rel]; ok {
		if prev == kindImplicitDir && kind == kindDir {
			u.entries[rel] = kindDir
			return nil
		}
		return entryErr(hdr.Name, "it is a duplicate: the bundle already has %s at this path", prev)
	}
	if err := u.countCheck(hdr.Name); err != nil {
		return err
	}

	switch kind {
	case kindDir:
		if err := u.mkdir(rel); err != nil {
			return u.fsError(hdr.Name, err)
		}
		u.created(rel, kindDir)
	case kindSymlink:
		target, rule := cleanSymlinkTarget(rel, hdr.Linkname)
		if rule != "" {
			return entryErr(hdr.Name, "%s (target %q)", rule, hdr.Linkname)
		}
		if err := u.root.Symlink(target, rel); err != nil {
			return u.fsError(hdr.Name, err)
		}
		u.created(rel, kindSymlink)
		u.stats.Symlinks++
	case kindFile:
		return u.file(hdr, rel, tr)
	}
	return nil
}

// kindOf says what an entry will become, or why its type is refused.
func kindOf(hdr *tar.Header) (entryKind, string) {
	switch hdr.Typeflag {
	case tar.TypeDir:
		return kindDir, ""
	case tar.TypeReg, '\x00': // '\x00' is the pre-POSIX regular file (tar.TypeRegA)
		return kindFile, ""
	case tar.TypeSymlink:
		return kindSymlink, ""
	case tar.TypeLink:
		return 0, fmt.Sprintf("hard links are not allowed (link to %q); store a copy or a relative symlink", hdr.Linkname)
	case tar.TypeChar, tar.TypeBlock:
		return 0, "device files are not allowed"
	case tar.TypeFifo:
		return 0, "FIFOs (named pipes) are not allowed"
	case tar.TypeGNUSparse:
		return 0, "sparse files are not supported"
	default:
		return 0, fmt.Sprintf("entry type %q is not supported (only directories, regular files and symlinks)", hdr.Typeflag)
	}
}

// parents makes sure every ancestor of rel is a directory, creating the
// missing ones. An ancestor that is a symlink or a file is refused: Unpack
// never writes through a link.
func (u *unpacker) parents(name, rel string) error {
	for i := 0; i < len(rel); i++ {
		if rel[i] != '/' {
			continue
		}
		dir := rel[:i]
		kind, ok := u.entries[dir]
		switch {
		case !ok:
			if err := u.countCheck(name); err != nil {
				return err
			}
			if err := u.mkdir(dir); err != nil {
				return u.fsError(name, err)
			}
			u.created(dir, kindImplicitDir)
		case kind == kindSymlink:
			return entryErr(name, "its parent %q is a symlink, and nothing is written through a symlink", dir)
		case kind == kindFile:
			return entryErr(name, "its parent %q is a regular file", dir)
		}
	}
	return nil
}

// countCheck returns ETOOLARGE when creating one more path would pass
// MaxFiles.
func (u *unpacker) countCheck(name string) error {
	if len(u.entries) >= u.lim.MaxFiles {
		return podium.Errorf(podium.ETOOLARGE, "bundle has more than %d files, directories and symlinks (at entry %q)", u.lim.MaxFiles, name)
	}
	return nil
}

func (u *unpacker) mkdir(rel string) error {
	if err := u.root.Mkdir(rel, 0o755); err != nil {
		return err
	}
	return u.root.Chmod(rel, 0o755) // whatever the umask
}

func (u *unpacker) created(rel string, kind entryKind) {
	u.entries[rel] = kind
	if !strings.Contains(rel, "/") {
		u.top = append(u.top, rel)
	}
	if kind == kindDir || kind == kindImplicitDir {
		u.stats.Dirs++
	}
}

// file extracts a regular file, counting the bytes actually written.
func (u *unpacker) file(hdr *tar.Header, rel string, tr io.Reader) error {
	allowed := min(u.lim.MaxFileBytes, u.lim.MaxBytes-u.stats.Bytes)
	if hdr.Size < 0 {
		return entryErr(hdr.Name, "its size is negative")
	}
	if err := u.sizeCheck(hdr.Name, hdr.Size, allowed); err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if hdr.Mode&0o111 != 0 {
		mode = 0o755
	}
	// O_EXCL with the O_NOFOLLOW os.Root adds: never open an existing
	// file or a symlink planted at this name.
	f, err := u.root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return u.fsError(hdr.Name, err)
	}
	u.created(rel, kindFile)
	src := &trackingReader{r: io.LimitReader(tr, allowed+1)}
	n, err := io.Copy(f, src)
	if err != nil {
		f.Close()
		if src.err != nil {
			return u.readError(err)
		}
		return fmt.Errorf("unpack %s: %w", rel, err)
	}
	if err := u.sizeCheck(hdr.Name, n, allowed); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil { // whatever the umask
		f.Close()
		return fmt.Errorf("unpack %s: %w", rel, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("unpack %s: %w", rel, err)
	}
	if !hdr.ModTime.IsZero() {
		if err := u.root.Chtimes(rel, hdr.ModTime, hdr.ModTime); err != nil {
			return fmt.Errorf("unpack %s: %w", rel, err)
		}
	}
	u.stats.Files++
	u.stats.Bytes += n
	return nil
}

// sizeCheck returns ETOOLARGE when an entry of size bytes does not fit in
// allowed, naming the bound that is passed.
func (u *unpacker) sizeCheck(name string, size, allowed int64) error {
	if size <= allowed {
		return nil
	}
	if size > u.lim.MaxFileBytes {
		return podium.Errorf(podium.ETOOLARGE, "bundle entry %q: the file is larger than the %d-byte limit per file", name, u.lim.MaxFileBytes)
	}
	return podium.Errorf(podium.ETOOLARGE, "bundle entry %q: the files add up to more than the %d-byte limit per bundle", name, u.lim.MaxBytes)
}

// readError classifies an error met while reading the bundle.
func (u *unpacker) readError(err error) error {
	if u.limited != nil && u.limited.over {
		return podium.Errorf(podium.ETOOLARGE, "bundle expands to more than %d bytes when decompressed", u.limited.limit)
	}
	if cerr := u.ctx.Err(); cerr != nil {
		return canceled(cerr)
	}
	if u.src != nil && u.src.err != nil {
		return fmt.Errorf("unpack: read bundle: %w", u.src.err)
	}
	where := "at its start"
	if u.last != "" {
		where = fmt.Sprintf("after entry %q", u.last)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return podium.Errorf(podium.EINVALID, "bundle is truncated (the data ends %s)", where)
	}
	msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "archive/tar: "), "gzip: ")
	return podium.Errorf(podium.EINVALID, "bundle is not a valid gzip-compressed tar archive (%s): %s", where, msg)
}

// fsError reports a failure to create an entry. An entry that already
// exists can only be a duplicate the file system saw and the name check
// did not (a case-insensitive file system): the publisher's problem.
func (u *unpacker) fsError(name string, err error) error {
	if errors.Is(err, fs.ErrExist) {
		return entryErr(name, "it is a duplicate: another entry already created this path")
	}
	return fmt.Errorf("unpack %q: %w", name, err)
}

// cleanup removes what Unpack created.
func (u *unpacker) cleanup(dest string, createdDest bool) error {
	_ = u.root.Close()
	if createdDest {
		return os.RemoveAll(dest)
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return err
	}
	defer root.Close()
	var errs []error
	for _, name := range u.top {
		if err := root.RemoveAll(name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func entryErr(name, format string, args ...any) error {
	return podium.Errorf(podium.EINVALID, "bundle entry %q: "+format, append([]any{name}, args...)...)
}

func canceled(err error) error {
	return podium.Errorf(podium.ECANCELED, "unpack canceled: %w", err)
}

// sourceReader reads the upload, stops when ctx is done, and remembers the
// first error of the underlying reader so it is not blamed on the bundle.
type sourceReader struct {
	ctx context.Context
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := s.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && s.err == nil {
		s.err = err
	}
	return n, err
}

// expansionReader fails once more than limit bytes have been read.
type expansionReader struct {
	r     io.Reader
	limit int64
	n     int64
	over  bool
}

var errExpansion = errors.New("bundle expands past its bound")

func (e *expansionReader) Read(p []byte) (int, error) {
	if e.over {
		return 0, errExpansion
	}
	if rest := e.limit - e.n + 1; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := e.r.Read(p)
	e.n += int64(n)
	if e.n > e.limit {
		e.over = true
		return n, errExpansion
	}
	return n, err
}

// trackingReader remembers whether an error came from the reading side of
// an io.Copy.
type trackingReader struct {
	r   io.Reader
	err error
}

func (t *trackingReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		t.err = err
	}
	return n, err
}
