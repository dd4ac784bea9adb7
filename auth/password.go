package auth

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/podiumhq/podium"
	"golang.org/x/crypto/argon2"
)

// HashParams are the argon2id cost parameters of new password hashes. Each
// hash records its own parameters (PHC string format), so changing them
// affects only passwords set afterwards; old hashes still verify.
type HashParams struct {
	// Memory is the memory cost in KiB.
	Memory uint32
	// Time is the number of passes.
	Time uint32
	// Threads is the degree of parallelism.
	Threads uint8
	// SaltLen and KeyLen are in bytes.
	SaltLen uint32
	KeyLen  uint32
}

// DefaultHashParams is the production cost: RFC 9106's second recommended
// option (64 MiB, 3 passes, 4 lanes), about 0.1 s on a current server core.
// Service bounds how many hashes run at once so that a burst of logins
// cannot exhaust memory.
var DefaultHashParams = HashParams{Memory: 64 * 1024, Time: 3, Threads: 4, SaltLen: 16, KeyLen: 32}

// CheapHashParams is a deliberately weak cost for tests only: it keeps test
// suites fast. Never use it for real accounts.
var CheapHashParams = HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Password length bounds. DefaultMinPasswordLen (in characters) is the
// default of PasswordPolicy.MinimumLength; MaxPasswordLen (in bytes) keeps
// a request from making the server hash megabytes.
const (
	DefaultMinPasswordLen = 10
	MaxPasswordLen        = 1024
)

// PasswordPolicy is what a new password must be.
type PasswordPolicy struct {
	// MinimumLength in characters. Default DefaultMinPasswordLen.
	MinimumLength int
}

// commonPasswordsText is the list of the commonest passwords refused by
// every policy (see the header of the file for its source and licence).
//
//go:embed commonpasswords.txt
var commonPasswordsText string

var (
	commonOnce sync.Once
	common     map[string]struct{}
)

// isCommonPassword reports whether pw, ignoring case, is on the list.
func isCommonPassword(pw string) bool {
	commonOnce.Do(func() {
		common = make(map[string]struct{}, 10000)
		sc := bufio.NewScanner(strings.NewReader(commonPasswordsText))
		for sc.Scan() {
			if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
				common[line] = struct{}{}
			}
		}
	})
	_, ok := common[strings.ToLower(pw)]
	return ok
}

// repeatsShortPattern reports whether pw is one short pattern (up to 3
// characters) over and over: "aaaaaaaaaa", "abababababab", "123123123123".
func repeatsShortPattern(pw string) bool {
	r := []rune(strings.ToLower(pw))
	for n := 1; n <= 3 && n < len(r); n++ {
		same := true
		for i := n; i < len(r); i++ {
			if r[i] != r[i-n] {
				same = false
				break
			}
		}
		if same {
			return true
		}
	}
	return false
}

// Check returns why password is not acceptable for username under p, as
// an EINVALID error whose message never repeats the password; nil if it
// is. It refuses a password shorter than MinimumLength characters or
// longer than MaxPasswordLen bytes, the username itself, the username
// with a few characters added (without the username, fewer than half of
// MinimumLength characters remain), one of the 10,000 commonest
// passwords, and one short pattern repeated.
func (p PasswordPolicy) Check(username, password string) error {
	minLen := p.MinimumLength
	if minLen <= 0 {
		minLen = DefaultMinPasswordLen
	}
	lower, user := strings.ToLower(password), strings.ToLower(username)
	switch {
	case utf8.RuneCountInString(password) < minLen:
		return podium.Errorf(podium.EINVALID, "password: must be at least %d characters", minLen)
	case len(password) > MaxPasswordLen:
		return podium.Errorf(podium.EINVALID, "password: must be at most %d bytes", MaxPasswordLen)
	case user != "" && (lower == user || len(user) >= 3 && utf8.RuneCountInString(strings.ReplaceAll(lower, user, "")) < (minLen+1)/2):
		return podium.Errorf(podium.EINVALID, "password: must not be the username, nor the username with a few characters added")
	case isCommonPassword(password):
		return podium.Errorf(podium.EINVALID, "password: is one of the most common passwords: choose another (a few random words make a good one)")
	case repeatsShortPattern(password):
		return podium.Errorf(podium.EINVALID, "password: must not be one character or short pattern repeated")
	}
	return nil
}

var b64 = base64.RawStdEncoding

// hashPassword returns the PHC-format argon2id hash of password:
// $argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>.
func hashPassword(password string, p HashParams) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verifyPassword reports whether password matches encoded, in constant
// time. A malformed hash is an error (EINTERNAL), never a match.
func verifyPassword(password, encoded string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, fmt.Errorf("verify password: not an argon2id hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, fmt.Errorf("verify password: unsupported argon2 version %q", parts[2])
	}
	var p HashParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false, fmt.Errorf("verify password: parameters %q: %w", parts[3], err)
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("verify password: salt: %w", err)
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, fmt.Errorf("verify password: hash: bad encoding")
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// ValidatePassword checks a new password of username against the
// service's policy (Options.Password). Returns EINVALID.
func (s *Service) ValidatePassword(username, password string) error {
	return s.opts.Password.Check(username, password)
}

// hash runs hashPassword under the service's bound on concurrent hashes.
func (s *Service) hash(ctx context.Context, password string) (string, error) {
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer s.release()
	return hashPassword(password, s.opts.Hash)
}

// verify runs verifyPassword under the service's bound on concurrent hashes.
func (s *Service) verify(ctx context.Context, password, encoded string) (bool, error) {
	if err := s.acquire(ctx); err != nil {
		return false, err
	}
	defer s.release()
	return verifyPassword(password, encoded)
}

func (s *Service) acquire(ctx context.Context) error {
	select {
	case s.hashSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return podium.Errorf(podium.ECANCELED, "password hashing: %w", ctx.Err())
	}
}

func (s *Service) release() { <-s.hashSem }
