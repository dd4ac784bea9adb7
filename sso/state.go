package sso

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Flow is the state of one sign-in in progress, kept by the browser in a
// sealed cookie between the redirect to the provider and the return.
type Flow struct {
	// Protocol is "oidc" or "saml": a cookie of one is refused by the
	// other.
	Protocol string `json:"p"`
	// State is the OIDC state parameter (compared with the callback's).
	State string `json:"s,omitempty"`
	// Nonce is the OIDC nonce (compared with the ID token's).
	Nonce string `json:"n,omitempty"`
	// Verifier is the PKCE code verifier.
	Verifier string `json:"v,omitempty"`
	// RequestID is the SAML AuthnRequest's id (the response's
	// InResponseTo).
	RequestID string `json:"r,omitempty"`
	// Next is where the user was going (a local path).
	Next string `json:"x,omitempty"`
	// Expires is when the sign-in must have come back (Unix seconds).
	Expires int64 `json:"e"`
}

// FlowTTL is how long a sign-in may take at the provider (typing a
// password, a second factor).
const FlowTTL = 10 * time.Minute

// Sealer seals Flows with AES-256-GCM under a key that every node of a
// cluster shares: the cookie can be neither read nor changed by the
// browser, and any node opens it.
type Sealer struct {
	aead cipher.AEAD
	now  func() time.Time
}

// NewSealer returns a Sealer for a 32-byte key. now is the clock (nil:
// time.Now).
func NewSealer(key []byte, now func() time.Time) (*Sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("sso: state key must be 32 bytes, not %d", len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Sealer{aead: a, now: now}, nil
}

// sealAAD binds a sealed value to its use.
var sealAAD = []byte("podium sign-in state v1")

// Seal returns f sealed, base64url, with Expires set FlowTTL from now.
func (s *Sealer) Seal(f Flow) (string, error) {
	f.Expires = s.now().Add(FlowTTL).Unix()
	b, err := json.Marshal(f)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, b, sealAAD)), nil
}

// Open returns the Flow sealed in v for protocol; a KindExpired *Error
// when v is missing, forged, for another protocol or expired.
func (s *Sealer) Open(v, protocol string) (*Flow, error) {
	expired := func(err error) error {
		return fail(KindExpired, "This sign-in expired or was started in another browser. Please sign in again.", err)
	}
	if v == "" {
		return nil, expired(errors.New("no sign-in state cookie: the browser did not start this sign-in, or the cookie expired"))
	}
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(raw) < s.aead.NonceSize() || len(v) > 8192 {
		return nil, expired(errors.New("sign-in state cookie is malformed"))
	}
	b, err := s.aead.Open(nil, raw[:s.aead.NonceSize()], raw[s.aead.NonceSize():], sealAAD)
	if err != nil {
		return nil, expired(errors.New("sign-in state cookie does not open with the cluster's key (forged, or sealed with another key)"))
	}
	var f Flow
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, expired(fmt.Errorf("sign-in state cookie: %w", err))
	}
	if f.Protocol != protocol {
		return nil, expired(fmt.Errorf("sign-in state cookie is for %q, not %q", f.Protocol, protocol))
	}
	if !s.now().Before(time.Unix(f.Expires, 0)) {
		return nil, expired(errors.New("sign-in state cookie expired"))
	}
	return &f, nil
}

// randomString returns n random bytes, base64url.
func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
