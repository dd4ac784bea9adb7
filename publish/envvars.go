package publish

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/config"
	"github.com/podiumhq/podium/dbprovider"
)

// Environment variables of content (PATCH /__api__/v1/content/{guid}/environment)
// are write-only: the API returns their names, never their values, and
// nothing logs them. Values are stored encrypted with AES-256-GCM under the
// administrator's key ([Applications] EnvironmentKey, else the key file
// {DataDir}/secrets/environment.key, which every node of a cluster reads
// from the shared data directory). A stored value is
//
//	0x01 | key id (4 bytes: SHA-256 of the key) | nonce (12) | ciphertext+tag
//
// and the content id and variable name are the additional data, so a value
// cannot be moved to another variable or content. Rotation: set the new key,
// put the old one in EnvironmentPreviousKeys, and values are read with
// either; each value is re-encrypted with the new key when it is next set.

// EnvKeyFile is the key file used when [Applications] EnvironmentKey is
// not set, relative to DataDir.
const EnvKeyFile = "secrets/environment.key"

// Bounds of environment variables.
const (
	MaxEnvVars     = 512
	MaxEnvValueLen = 64 << 10
)

// envReserved are names the server sets itself for renders and processes.
var envReserved = []string{"PATH", "HOME", "LANG", "PORT", "PODIUM_OUTPUT_DIR", "PODIUM_CONTENT_GUID", "PODIUM_BASE_PATH"}

const envFormat = 1

// envCipher encrypts and decrypts environment values.
type envCipher struct {
	mu       sync.Mutex
	dataDir  string
	key      []byte   // nil until loaded
	previous [][]byte // decrypt only
}

func keyID(k []byte) []byte { s := sha256.Sum256(k); return s[:4] }

// current returns the encryption key, reading or creating the key file
// when no key was configured.
func (e *envCipher) current() ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.key != nil {
		return e.key, nil
	}
	path := filepath.Join(e.dataDir, EnvKeyFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		data, err = createKeyFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("environment key file %s: %w", path, err)
	}
	k, err := config.ParseEnvironmentKey(string(data))
	if err != nil {
		return nil, podium.Errorf(podium.EPRECONDITION, "environment key file %s %s", path, err)
	}
	e.key = k
	return k, nil
}

// createKeyFile writes a new random key to path unless another node got
// there first (link refuses to replace), and returns the file's content.
func createKeyFile(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".environment.key-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(base64.StdEncoding.EncodeToString(k) + "\n"); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return os.ReadFile(path)
}

func aad(contentID int64, name string) []byte { return fmt.Appendf(nil, "%d\x00%s", contentID, name) }

func (e *envCipher) seal(contentID int64, name, value string) ([]byte, error) {
	k, err := e.current()
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	out := append([]byte{envFormat}, keyID(k)...)
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out = append(out, nonce...)
	return gcm.Seal(out, nonce, []byte(value), aad(contentID, name)), nil
}

func (e *envCipher) open(contentID int64, name string, stored []byte) (string, error) {
	k, err := e.current()
	if err != nil {
		return "", err
	}
	if len(stored) < 1+4+12 || stored[0] != envFormat {
		return "", podium.Errorf(podium.EINTERNAL, "environment variable %s: stored value has an unknown format", name)
	}
	id := stored[1:5]
	for _, key := range append([][]byte{k}, e.previous...) {
		if string(keyID(key)) != string(id) {
			continue
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return "", err
		}
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			return "", err
		}
		plain, err := gcm.Open(nil, stored[5:17], stored[17:], aad(contentID, name))
		if err != nil {
			return "", podium.Errorf(podium.EPRECONDITION, "environment variable %s does not decrypt with its key: the value or key was altered", name)
		}
		return string(plain), nil
	}
	return "", podium.Errorf(podium.EPRECONDITION, "environment variable %s was encrypted with a key this node does not have: set [Applications] EnvironmentKey (or EnvironmentPreviousKeys) to the key used when it was set, on every node", name)
}

// EnvVarSet is one change of PATCH …/environment: Value nil deletes.
type EnvVarSet struct {
	Name  string
	Value *string
}

func checkEnvName(i int, name string) error {
	if !validEnvName(name) {
		return podium.Errorf(podium.EINVALID, "environment[%d].name %q must be letters, digits and _, not starting with a digit, at most 255 bytes", i, name)
	}
	if slices.Contains(envReserved, name) {
		return podium.Errorf(podium.EINVALID, "environment[%d].name %q is set by the server and cannot be changed", i, name)
	}
	return nil
}

func validEnvName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// EnvNames returns the names of the environment variables of content u
// may edit, sorted. Values are never returned.
func (s *Service) EnvNames(ctx context.Context, u *podium.User, guid string) ([]string, error) {
	c, _, err := s.contentFor(ctx, u, guid, canEdit)
	if err != nil {
		return nil, err
	}
	list, err := s.db.ContentEnvList(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(list))
	for _, v := range list {
		names = append(names, v.Name)
	}
	return names, nil
}

// EnvUpdate sets (Value not nil) and deletes (Value nil) environment
// variables of content u may edit, all or none, and returns the names
// after the change. Returns EINVALID naming the entry at fault.
func (s *Service) EnvUpdate(ctx context.Context, u *podium.User, guid string, changes []EnvVarSet) ([]string, error) {
	c, _, err := s.contentFor(ctx, u, guid, canEdit)
	if err != nil {
		return nil, err
	}
	p := &dbprovider.ContentEnvSetParams{ContentID: c.ID}
	seen := map[string]bool{}
	for i, ch := range changes {
		if err := checkEnvName(i, ch.Name); err != nil {
			return nil, err
		}
		if seen[ch.Name] {
			return nil, podium.Errorf(podium.EINVALID, "environment[%d]: %s is listed twice", i, ch.Name)
		}
		seen[ch.Name] = true
		if ch.Value == nil {
			p.Delete = append(p.Delete, ch.Name)
			continue
		}
		if len(*ch.Value) > MaxEnvValueLen || strings.ContainsRune(*ch.Value, 0) {
			return nil, podium.Errorf(podium.EINVALID, "environment[%d] (%s): the value must be at most %d bytes, without NUL bytes", i, ch.Name, MaxEnvValueLen)
		}
		sealed, err := s.env.seal(c.ID, ch.Name, *ch.Value)
		if err != nil {
			return nil, fmt.Errorf("environment: %w", err)
		}
		p.Set = append(p.Set, dbprovider.ContentEnvVar{Name: ch.Name, Value: sealed})
	}
	var list []*dbprovider.ContentEnvVar
	err = dbprovider.RunTx(ctx, s.db, func(tx dbprovider.Tx) error {
		if err := tx.ContentEnvSet(ctx, p); err != nil {
			return err
		}
		var err error
		if list, err = tx.ContentEnvList(ctx, c.ID); err != nil {
			return err
		}
		if len(list) > MaxEnvVars {
			return podium.Errorf(podium.EINVALID, "content may have at most %d environment variables", MaxEnvVars)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(list))
	for _, v := range list {
		names = append(names, v.Name)
	}
	s.log.WithFields(map[string]any{"guid": c.GUID, "user": u.Username, "set": len(p.Set), "deleted": len(p.Delete)}).Info("environment changed")
	return names, nil
}

// ContentEnv returns the environment variables of content as NAME=value
// entries, decrypted, for its renders and processes. Never log them.
func (s *Service) ContentEnv(ctx context.Context, contentID int64) ([]string, error) {
	list, err := s.db.ContentEnvList(ctx, contentID)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		plain, err := s.env.open(contentID, v.Name, v.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, v.Name+"="+plain)
	}
	return out, nil
}
