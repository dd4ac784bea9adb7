package metrics

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Point is one value of a series at a time.
type Point struct {
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
}

// Archive is one resolution of a round-robin series: Slots values, one per
// Step. Values written within one step are averaged.
type Archive struct {
	Step  time.Duration
	Slots int
}

// DefaultArchives keep a day at the sampling interval (at most 1440
// slots) and a month of hourly averages.
func DefaultArchives(interval time.Duration) []Archive {
	if interval <= 0 {
		interval = time.Minute
	}
	fine := int(24 * time.Hour / interval)
	fine = min(max(fine, 60), 1440*4)
	return []Archive{{Step: interval, Slots: fine}, {Step: time.Hour, Slots: 31 * 24}}
}

// The file format of one series (all integers little-endian):
//
//	header: magic "PODRRD1\n", uint32 archive count, then per archive
//	        int64 step (ns) and uint32 slots
//	slots:  per archive, slots × (int64 bucket start unix ns, float64 sum,
//	        float64 count); a zero bucket start is an empty slot
//
// A value at time t goes to slot (t / step) mod slots of every archive; a
// slot holding an older bucket is overwritten, so the file never grows.
const (
	storeMagic = "PODRRD1\n"
	slotSize   = 24
	fileExt    = ".rrd"
)

// Store is a node's round-robin metrics store: one fixed-size file per
// series in a folder. It is safe for concurrent use by one process; the
// folder's Claim keeps other nodes out.
type Store struct {
	dir      string
	archives []Archive
	now      func() time.Time

	mu sync.Mutex
}

// OpenStore returns the store in dir (created if missing). archives apply
// to series created from now on; existing files keep their own layout. now
// is the clock Series uses to pick an archive (nil: time.Now).
func OpenStore(dir string, archives []Archive, now func() time.Time) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("metrics store: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	return &Store{dir: dir, archives: archives, now: now}, nil
}

// Dir returns the store's folder.
func (s *Store) Dir() string { return s.dir }

// fileName maps a series name ("cpu.percent") to its file; names keep
// letters, digits, '.', '_' and '-'.
func (s *Store) fileName(name string) string {
	return filepath.Join(s.dir, SanitizeName(name)+fileExt)
}

// SanitizeName replaces every character of name that is not a letter,
// digit, '.', '_' or '-' by '_' (series names become file names and
// Graphite paths).
func SanitizeName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '_'
	}, name)
}

// Write records the values of one sample at time t.
func (s *Store) Write(t time.Time, values map[string]float64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for name, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if err := s.write(name, t, v); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Store) write(name string, t time.Time, v float64) error {
	f, archives, err := s.open(name, true)
	if err != nil {
		return err
	}
	defer f.Close()
	off := int64(headerSize(len(archives)))
	buf := make([]byte, slotSize)
	for _, a := range archives {
		bucket := t.Truncate(a.Step)
		idx := (bucket.UnixNano() / int64(a.Step)) % int64(a.Slots)
		pos := off + idx*slotSize
		if _, err := f.ReadAt(buf, pos); err != nil {
			return fmt.Errorf("metrics store: %s: %w", name, err)
		}
		start := int64(binary.LittleEndian.Uint64(buf[0:]))
		sum := math.Float64frombits(binary.LittleEndian.Uint64(buf[8:]))
		count := math.Float64frombits(binary.LittleEndian.Uint64(buf[16:]))
		if start != bucket.UnixNano() {
			sum, count = 0, 0
		}
		binary.LittleEndian.PutUint64(buf[0:], uint64(bucket.UnixNano()))
		binary.LittleEndian.PutUint64(buf[8:], math.Float64bits(sum+v))
		binary.LittleEndian.PutUint64(buf[16:], math.Float64bits(count+1))
		if _, err := f.WriteAt(buf, pos); err != nil {
			return fmt.Errorf("metrics store: %s: %w", name, err)
		}
		off += int64(a.Slots) * slotSize
	}
	return nil
}

func headerSize(archives int) int { return len(storeMagic) + 4 + archives*12 }

// open opens a series file, creating it (full size, zero slots) when
// create is set, and returns its archives.
func (s *Store) open(name string, create bool) (*os.File, []Archive, error) {
	path := s.fileName(name)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) && create {
		return s.create(path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("metrics store: %w", err)
	}
	hdr := make([]byte, len(storeMagic)+4)
	if _, err := f.ReadAt(hdr, 0); err != nil || string(hdr[:len(storeMagic)]) != storeMagic {
		f.Close()
		return nil, nil, fmt.Errorf("metrics store: %s: not a podium round-robin file", path)
	}
	n := int(binary.LittleEndian.Uint32(hdr[len(storeMagic):]))
	if n < 1 || n > 16 {
		f.Close()
		return nil, nil, fmt.Errorf("metrics store: %s: bad archive count %d", path, n)
	}
	ab := make([]byte, n*12)
	if _, err := f.ReadAt(ab, int64(len(hdr))); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("metrics store: %s: %w", path, err)
	}
	archives := make([]Archive, n)
	for i := range archives {
		archives[i].Step = time.Duration(binary.LittleEndian.Uint64(ab[i*12:]))
		archives[i].Slots = int(binary.LittleEndian.Uint32(ab[i*12+8:]))
		if archives[i].Step <= 0 || archives[i].Slots <= 0 {
			f.Close()
			return nil, nil, fmt.Errorf("metrics store: %s: bad archive %d", path, i)
		}
	}
	return f, archives, nil
}

func (s *Store) create(path string) (*os.File, []Archive, error) {
	hdr := []byte(storeMagic)
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(len(s.archives)))
	size := int64(headerSize(len(s.archives)))
	for _, a := range s.archives {
		hdr = binary.LittleEndian.AppendUint64(hdr, uint64(a.Step))
		hdr = binary.LittleEndian.AppendUint32(hdr, uint32(a.Slots))
		size += int64(a.Slots) * slotSize
	}
	// Write to a temporary file and rename, so a crash never leaves a
	// half-made series.
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return nil, nil, fmt.Errorf("metrics store: %w", err)
	}
	// err, not a new variable: a failed write or truncate must stop the
	// rename (staticcheck SA4006 found the shadowing that let it through).
	if _, err = f.Write(hdr); err == nil {
		err = f.Truncate(size)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, nil, fmt.Errorf("metrics store: %w", err)
	}
	return f, append([]Archive(nil), s.archives...), nil
}

// Names returns the names of the stored series, sorted.
func (s *Store) Names() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("metrics store: %w", err)
	}
	var out []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), fileExt); ok && e.Type().IsRegular() {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Series returns the values of series name between from and to, oldest
// first, from the finest archive that still covers from (older ranges come
// from the hourly averages). A series never written returns no points and
// no error.
func (s *Store) Series(name string, from, to time.Time) ([]Point, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, archives, err := s.open(name, false)
	if errors.Is(err, fs.ErrNotExist) || (err != nil && errors.Is(errors.Unwrap(err), fs.ErrNotExist)) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	now := s.now()
	pick, off := len(archives)-1, int64(headerSize(len(archives)))
	offsets := make([]int64, len(archives))
	for i, a := range archives {
		offsets[i] = off
		off += int64(a.Slots) * slotSize
	}
	for i, a := range archives {
		if !from.Before(now.Add(-time.Duration(a.Slots) * a.Step)) {
			pick = i
			break
		}
	}
	a := archives[pick]
	buf := make([]byte, a.Slots*slotSize)
	if _, err := f.ReadAt(buf, offsets[pick]); err != nil {
		return nil, fmt.Errorf("metrics store: %s: %w", name, err)
	}
	oldest := now.Add(-time.Duration(a.Slots) * a.Step)
	var out []Point
	for i := 0; i < a.Slots; i++ {
		b := buf[i*slotSize:]
		start := int64(binary.LittleEndian.Uint64(b[0:]))
		if start == 0 {
			continue
		}
		t := time.Unix(0, start)
		count := math.Float64frombits(binary.LittleEndian.Uint64(b[16:]))
		if count == 0 || t.Before(from) || t.After(to) || !t.After(oldest) {
			continue
		}
		out = append(out, Point{Time: t, Value: math.Float64frombits(binary.LittleEndian.Uint64(b[8:])) / count})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

// InfoPath is the key of a node's [Metrics] DataPath in the info it
// publishes in the node registry (NodeInfo), which OpenNodeStore reads.
const InfoPath = "metrics_path"

// NodeInfo is what a node publishes of its metrics in the node registry:
// where its store is, and whether it sends to Graphite and serves
// Prometheus.
func NodeInfo(dataPath string, graphite bool, prometheusListen string) map[string]any {
	return map[string]any{InfoPath: dataPath, "graphite_enabled": graphite, "prometheus_listen": prometheusListen}
}

// OpenNodeStore opens, for reading, the store of another node from the
// info it published in the registry (NodeInfo), when its DataPath is a
// directory this node can read (nodes on one machine); nil otherwise:
// metrics stay on the machine of their node.
func OpenNodeStore(info map[string]any, now func() time.Time) *Store {
	path, _ := info[InfoPath].(string)
	if path == "" {
		return nil
	}
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		return nil
	}
	st, err := OpenStore(path, nil, now)
	if err != nil {
		return nil
	}
	return st
}
