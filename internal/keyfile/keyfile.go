// Package keyfile keeps a secret key that the nodes of a cluster share in
// a file of their shared data directory ([Server] DataDir): the first node
// that needs it creates it, the others read it.
//
// It imports only the standard library.
package keyfile

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Size is the length in bytes of the keys ReadOrCreate creates.
const Size = 32

// ErrMalformed is wrapped by ReadOrCreate's error for a file that holds
// no base64 key.
var ErrMalformed = errors.New("not a base64 key")

// ReadOrCreate returns the key kept in path (standard base64 on one
// line), creating a random key of Size bytes there first when the file
// does not exist. The creation is atomic: the key is written to a
// temporary file and linked into place, so of several nodes starting at
// once the first wins and the others read its key. The caller checks the
// length it needs.
func ReadOrCreate(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		data, err = create(path)
	}
	if err != nil {
		return nil, err
	}
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return k, nil
}

// create writes a new random key to path unless another node did first,
// and returns the file's content.
func create(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	k := make([]byte, Size)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return os.ReadFile(path)
}
