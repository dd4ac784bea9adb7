package sso

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
)

// SAMLOptions configure a SAML service provider ([SAML]).
type SAMLOptions struct {
	// MetadataURL or MetadataPath locate the identity provider's
	// metadata (one of them).
	MetadataURL  string
	MetadataPath string
	// EntityID is this service provider's entity id ("": BaseURL's
	// metadata URL).
	EntityID string
	// BaseURL is Podium's public URL ([Server] Address): the assertion
	// consumer service is {BaseURL}/__login__/saml/acs and the metadata
	// {BaseURL}/__login__/saml/metadata.
	BaseURL string
	// Certificate and Key (optional) sign the authentication requests and
	// let the identity provider encrypt assertions to this SP.
	Certificate *x509.Certificate
	Key         crypto.Signer
	Attributes  ClaimNames
	HTTPClient  *http.Client
}

// Paths of the SAML service provider under the login path.
const (
	SAMLMetadataPath = "/saml/metadata"
	SAMLACSPath      = "/saml/acs"
)

// SAML is a SAML 2.0 service provider. The identity provider's metadata is
// read at the first sign-in, and again after a failure.
type SAML struct {
	opts SAMLOptions
	base saml.ServiceProvider // without IDPMetadata

	mu sync.Mutex
	sp *saml.ServiceProvider
}

// NewSAML returns a service provider for opts; loginPath is where the
// login pages are ("/__login__").
func NewSAML(opts SAMLOptions, loginPath string) (*SAML, error) {
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	base, err := url.Parse(opts.BaseURL)
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("sso: SAML needs Podium's public URL ([Server] Address), not %q", opts.BaseURL)
	}
	md := *base
	md.Path = base.Path + loginPath + SAMLMetadataPath
	acs := *base
	acs.Path = base.Path + loginPath + SAMLACSPath
	s := &SAML{opts: opts}
	s.base = saml.ServiceProvider{
		EntityID:    opts.EntityID,
		Key:         opts.Key,
		Certificate: opts.Certificate,
		HTTPClient:  opts.HTTPClient,
		MetadataURL: md,
		AcsURL:      acs,
		// Only the SP starts a sign-in: an unsolicited response could
		// be one stolen from another SP's sign-in.
		AllowIDPInitiated: false,
		// A response is accepted once on this node. (Another node would
		// need the same browser's state cookie as well, which the sign-in
		// clears.)
		ReplayCache:             samlsp.NewMemoryReplayCache(10000),
		RejectSHA1Signatures:    true,
		RejectUnknownConditions: false,
	}
	// The NameID is the user's unique id unless an attribute is named
	// for it: ask for a persistent one (crewjam's default, transient,
	// would change at every sign-in and make a new user each time).
	s.base.AuthnNameIDFormat = saml.PersistentNameIDFormat
	if opts.Attributes.UniqueID != "" {
		s.base.AuthnNameIDFormat = saml.UnspecifiedNameIDFormat
	}
	if opts.Key != nil {
		s.base.SignatureMethod = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	}
	return s, nil
}

// Metadata returns the service provider's metadata document.
func (s *SAML) Metadata() ([]byte, error) {
	sp := s.base
	b, err := xml.MarshalIndent(sp.Metadata(), "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), b...), nil
}

// FetchIdPMetadata reads the identity provider's metadata from its URL or
// file ("podium ha check" uses it to check that the IdP is reachable).
func (s *SAML) FetchIdPMetadata(ctx context.Context) (*saml.EntityDescriptor, error) {
	if s.opts.MetadataPath != "" {
		b, err := os.ReadFile(s.opts.MetadataPath)
		if err != nil {
			return nil, fmt.Errorf("[SAML] IdPMetaDataPath: %w", err)
		}
		md, err := samlsp.ParseMetadata(b)
		if err != nil {
			return nil, fmt.Errorf("[SAML] IdPMetaDataPath %s: %w", s.opts.MetadataPath, err)
		}
		return md, nil
	}
	u, err := url.Parse(s.opts.MetadataURL)
	if err != nil {
		return nil, fmt.Errorf("[SAML] IdPMetaDataURL: %w", err)
	}
	md, err := samlsp.FetchMetadata(ctx, s.opts.HTTPClient, *u)
	if err != nil {
		return nil, fmt.Errorf("[SAML] IdPMetaDataURL %s: %w", s.opts.MetadataURL, err)
	}
	return md, nil
}

func (s *SAML) provider(ctx context.Context) (*saml.ServiceProvider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sp != nil {
		return s.sp, nil
	}
	md, err := s.FetchIdPMetadata(ctx)
	if err != nil {
		return nil, fail(KindUnavailable, "The sign-in provider cannot be reached. Please try again later, or tell your administrator.", err)
	}
	sp := s.base
	sp.IDPMetadata = md
	s.sp = &sp
	return s.sp, nil
}

// Begin starts a sign-in: the URL to send the browser to (HTTP-Redirect
// binding) and the Flow to keep in the browser's sealed cookie.
func (s *SAML) Begin(ctx context.Context, next string) (string, Flow, error) {
	sp, err := s.provider(ctx)
	if err != nil {
		return "", Flow{}, err
	}
	loc := sp.GetSSOBindingLocation(saml.HTTPRedirectBinding)
	if loc == "" {
		return "", Flow{}, fail(KindMisconfigured, "The sign-in provider is not set up for Podium. Please tell your administrator.",
			errors.New("the identity provider's metadata has no SingleSignOnService with the HTTP-Redirect binding"))
	}
	req, err := sp.MakeAuthenticationRequest(loc, saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		return "", Flow{}, fail(KindMisconfigured, "The sign-in could not be started. Please tell your administrator.", fmt.Errorf("SAML AuthnRequest: %w", err))
	}
	u, err := req.Redirect("", sp)
	if err != nil {
		return "", Flow{}, fail(KindMisconfigured, "The sign-in could not be started. Please tell your administrator.", fmt.Errorf("SAML AuthnRequest: %w", err))
	}
	return u.String(), Flow{Protocol: "saml", RequestID: req.ID, Next: next}, nil
}

// Finish verifies the identity provider's response posted to the
// assertion consumer service (r, with its form parsed) against the
// browser's Flow: signature by the IdP's key from its metadata, issuer,
// audience, destination, validity times and InResponseTo. An unsigned or
// altered response is refused. Errors are *Error.
func (s *SAML) Finish(ctx context.Context, r *http.Request, f *Flow) (*Identity, error) {
	sp, err := s.provider(ctx)
	if err != nil {
		return nil, err
	}
	a, err := sp.ParseResponse(r, []string{f.RequestID})
	if err != nil {
		var ire *saml.InvalidResponseError
		if errors.As(err, &ire) && ire.PrivateErr != nil {
			err = ire.PrivateErr
		}
		return nil, fail(KindDenied, "The sign-in provider's answer could not be verified. Please sign in again, or tell your administrator.",
			fmt.Errorf("SAML response refused: %w", err))
	}
	claims := map[string]any{}
	for _, st := range a.AttributeStatements {
		for _, at := range st.Attributes {
			var vals []string
			for _, v := range at.Values {
				vals = append(vals, v.Value)
			}
			for _, name := range []string{at.Name, at.FriendlyName} {
				if name != "" {
					if _, dup := claims[name]; !dup {
						claims[name] = vals
					}
				}
			}
		}
	}
	subject := ""
	if a.Subject != nil && a.Subject.NameID != nil {
		subject = a.Subject.NameID.Value
	}
	return mapClaims(claims, s.opts.Attributes, subject, "attribute")
}
