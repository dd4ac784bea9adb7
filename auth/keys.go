package auth

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// KeyPrefix starts every API key, so that secret scanners and people
// recognize one.
const KeyPrefix = "pdm_"

// keyRandomBytes is the entropy of a key: 256 bits.
const keyRandomBytes = 32

// keyLen is the length of a well-formed key: the prefix and 32 bytes in
// unpadded base64url.
var keyLen = len(KeyPrefix) + (keyRandomBytes*8+5)/6

// displayPrefixLen is how much of a key is stored in the clear to tell keys
// apart in listings: "pdm_" and 8 characters (48 bits), too few to help
// guess the rest.
const displayPrefixLen = 12

// MaxKeyNameLen bounds a key's name, in characters.
const MaxKeyNameLen = 100

// ValidateKeyName checks an API key's name. Returns EINVALID.
func ValidateKeyName(name string) error {
	if strings.TrimSpace(name) == "" {
		return podium.Errorf(podium.EINVALID, "key name: must not be empty")
	}
	if !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxKeyNameLen {
		return podium.Errorf(podium.EINVALID, "key name: must be valid text of at most %d characters", MaxKeyNameLen)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return podium.Errorf(podium.EINVALID, "key name: must not contain control characters")
		}
	}
	return nil
}

// CreateAPIKey makes a new API key for a user and returns it with its
// stored record. The key itself is returned only here: the database keeps
// its hash. Returns EINVALID for a bad name, ENOTFOUND for an unknown user.
func (s *Service) CreateAPIKey(ctx context.Context, userID int64, name string) (string, *dbprovider.APIKey, error) {
	if err := ValidateKeyName(name); err != nil {
		return "", nil, err
	}
	if _, err := s.db.UserGetByID(ctx, userID); err != nil {
		return "", nil, fmt.Errorf("create api key: %w", err)
	}
	random, err := randomToken(keyRandomBytes)
	if err != nil {
		return "", nil, fmt.Errorf("create api key: %w", err)
	}
	key := KeyPrefix + random
	rec, err := s.db.APIKeyCreate(ctx, &dbprovider.APIKeyCreateParams{
		UserID: userID, Name: name, Hash: tokenHash(key), Prefix: key[:displayPrefixLen],
	})
	if err != nil {
		return "", nil, fmt.Errorf("create api key: %w", err)
	}
	s.log.WithFields(map[string]any{"user_id": userID, "key_id": rec.ID, "key_name": name}).Info("API key created")
	return key, rec, nil
}

// AuthenticateKey returns the user of an API key and the key's record.
// Returns EUNAUTHORIZED for a malformed, unknown or revoked key, or a
// locked user; the message never repeats the key.
func (s *Service) AuthenticateKey(ctx context.Context, key string) (*podium.User, *dbprovider.APIKey, error) {
	invalid := podium.Errorf(podium.EUNAUTHORIZED, "invalid or revoked API key")
	if len(key) != keyLen || !strings.HasPrefix(key, KeyPrefix) {
		return nil, nil, invalid
	}
	rec, u, err := s.db.APIKeyGetByHash(ctx, tokenHash(key))
	if podium.IsCode(err, podium.ENOTFOUND) {
		return nil, nil, invalid
	}
	if err != nil {
		return nil, nil, fmt.Errorf("authenticate key: %w", err)
	}
	if u.Locked {
		return nil, nil, podium.Errorf(podium.EUNAUTHORIZED, "the account of this API key is locked")
	}
	if _, err := s.db.APIKeyTouch(ctxNoCancel(ctx), rec.ID, s.opts.KeyTouchInterval); err != nil {
		// Bookkeeping only: the request goes on.
		s.log.WithError(err).WithField("key_id", rec.ID).Warn("cannot record API key use")
	}
	return u, rec, nil
}

// ListAPIKeys returns a user's unrevoked keys (every user's for userID 0),
// without their secrets.
func (s *Service) ListAPIKeys(ctx context.Context, userID int64) ([]*dbprovider.APIKey, error) {
	keys, err := s.db.APIKeyList(ctx, &dbprovider.APIKeyListParams{UserID: userID})
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return keys, nil
}

// RevokeAPIKey revokes key keyID if it belongs to userID (any user's key
// for userID 0, as an administrator may). Returns ENOTFOUND for an unknown
// or already revoked key and for another user's key, so that a caller
// cannot learn which ids exist.
func (s *Service) RevokeAPIKey(ctx context.Context, userID, keyID int64) error {
	notFound := podium.Errorf(podium.ENOTFOUND, "API key %d not found", keyID)
	rec, err := s.db.APIKeyGetByID(ctx, keyID)
	if podium.IsCode(err, podium.ENOTFOUND) {
		return notFound
	}
	if err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	if (userID != 0 && rec.UserID != userID) || rec.RevokedAt != nil {
		return notFound
	}
	if err := s.db.APIKeyRevoke(ctx, keyID); err != nil {
		if podium.IsCode(err, podium.ENOTFOUND) {
			return notFound
		}
		return fmt.Errorf("revoke api key: %w", err)
	}
	s.log.WithFields(map[string]any{"user_id": rec.UserID, "key_id": keyID, "key_name": rec.Name}).Info("API key revoked")
	return nil
}

// RevokeAPIKeyByName revokes the one unrevoked key of a user with this
// name and returns it. Returns ENOTFOUND when there is none, EINVALID when
// several keys share the name (revoke by id then).
func (s *Service) RevokeAPIKeyByName(ctx context.Context, userID int64, name string) (*dbprovider.APIKey, error) {
	keys, err := s.ListAPIKeys(ctx, userID)
	if err != nil {
		return nil, err
	}
	var match []*dbprovider.APIKey
	for _, k := range keys {
		if k.Name == name {
			match = append(match, k)
		}
	}
	switch len(match) {
	case 0:
		return nil, podium.Errorf(podium.ENOTFOUND, "no active API key named %q", name)
	case 1:
		return match[0], s.RevokeAPIKey(ctx, userID, match[0].ID)
	default:
		return nil, podium.Errorf(podium.EINVALID, "%d active API keys are named %q: revoke one by --id", len(match), name)
	}
}
