package keyfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestReadOrCreate: the first call creates a key of Size bytes (mode
// 0600, in a directory it makes), later calls read the same; of nodes
// creating it at once, all get the one that was linked first; a file
// that is not base64 is refused with ErrMalformed, not replaced.
func TestReadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets", "k.key")
	k, err := ReadOrCreate(path)
	if err != nil || len(k) != Size {
		t.Fatalf("created %d bytes, %v", len(k), err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v, want mode 0600", fi, err)
	}
	if again, err := ReadOrCreate(path); err != nil || !bytes.Equal(again, k) {
		t.Fatalf("read back %x, %v; want %x", again, err, k)
	}

	race := filepath.Join(t.TempDir(), "race.key")
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys[i], _ = ReadOrCreate(race)
		}()
	}
	wg.Wait()
	for i, k := range keys {
		if len(k) != Size || !bytes.Equal(k, keys[0]) {
			t.Fatalf("creator %d got %x, creator 0 %x: every node must get one key", i, k, keys[0])
		}
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(race), ".race.key-*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}

	bad := filepath.Join(t.TempDir(), "bad.key")
	if err := os.WriteFile(bad, []byte("not base64!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadOrCreate(bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a file that is not base64: %v, want ErrMalformed", err)
	}
	if b, _ := os.ReadFile(bad); string(b) != "not base64!\n" {
		t.Fatalf("the malformed file was replaced: %q", b)
	}
}
