// Package client is a Go client of Podium's publishing API, used by
// `podium deploy`.
//
// A Client keeps one cookie jar for its whole life, so a load balancer's
// sticky-session cookie goes back on every request, and it retries calls
// that are safe to retry: idempotent ones (GET, PUT, PATCH, DELETE) on
// connection errors and on 502/503/504 from a proxy, and any call whose
// connection was never made (nothing reached the server). A POST that may
// have reached the server is not retried.
//
// The package imports only the standard library and the root podium
// package.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"github.com/podiumhq/podium"
)

// Options configure New.
type Options struct {
	// Server is the base URL, e.g. http://localhost:3939.
	Server string
	// APIKey is sent as "Authorization: Key <key>".
	APIKey podium.Secret
	// HTTPClient is used for requests; nil means a new one. Its Jar is
	// replaced by a cookie jar when nil.
	HTTPClient *http.Client
	// Attempts bounds the tries of a retryable call; 0 means 6.
	Attempts int
	// Backoff is the first wait between tries, doubled each time up to 5s;
	// 0 means 250ms.
	Backoff time.Duration
	// UserAgent is sent with every request.
	UserAgent string
}

// Client talks to one Podium server (or its load balancer).
type Client struct {
	base     *url.URL
	key      podium.Secret
	hc       *http.Client
	attempts int
	backoff  time.Duration
	ua       string
}

// New returns a client. Returns EINVALID for a bad server URL.
func New(opts Options) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(opts.Server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, podium.Errorf(podium.EINVALID, "server %q must be an http:// or https:// URL", opts.Server)
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Minute}
	}
	if hc.Jar == nil {
		jar, err := cookiejar.New(nil)
		if err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
		hc.Jar = jar
	}
	c := &Client{base: u, key: opts.APIKey, hc: hc, attempts: opts.Attempts, backoff: opts.Backoff, ua: opts.UserAgent}
	if c.attempts <= 0 {
		c.attempts = 6
	}
	if c.backoff <= 0 {
		c.backoff = 250 * time.Millisecond
	}
	if c.ua == "" {
		c.ua = "podium-client"
	}
	return c, nil
}

// Error is an error answer of the server.
type Error struct {
	Status    int    // HTTP status
	Code      string `json:"code"`
	Message   string `json:"error"`
	RequestID string `json:"request_id"`
}

// Error implements error.
func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("server answered %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status)
}

// PodiumCode returns the podium error code of the answer: the body's
// "code" when it is one of podium's codes, so that ESCHEMA and EREFUSED,
// which share 503 with EUNAVAILABLE, come back as themselves; else (an
// answer from a proxy, with no body or a body of its own) the code of the
// HTTP status (podium.CodeOfHTTPStatus).
func (e *Error) PodiumCode() string {
	if podium.KnownCode(e.Code) {
		return e.Code
	}
	return podium.CodeOfHTTPStatus(e.Status)
}

// IsStatus reports whether err is an *Error with the HTTP status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// body makes a fresh request body for each try.
type body func() (io.Reader, error)

func jsonBody(v any) (body, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return func() (io.Reader, error) { return bytes.NewReader(b), nil }, nil
}

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// notSent reports whether err means the request never reached the server
// (the connection was not made), so even a POST may be sent again.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// do sends a request and decodes a 2xx JSON answer into out (when not
// nil), retrying as the package documentation says.
func (c *Client) do(ctx context.Context, method, path string, mk body, contentType string, size int64, out any) error {
	wait := c.backoff
	var lastErr error
	for attempt := 1; ; attempt++ {
		retry, err := c.once(ctx, method, path, mk, contentType, size, out)
		if err == nil {
			return nil
		}
		lastErr = err
		if !retry || attempt >= c.attempts || ctx.Err() != nil {
			return lastErr
		}
		select {
		case <-ctx.Done():
			return lastErr
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Second)
	}
}

func (c *Client) once(ctx context.Context, method, path string, mk body, contentType string, size int64, out any) (retry bool, err error) {
	var r io.Reader
	if mk != nil {
		if r, err = mk(); err != nil {
			return false, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, r)
	if err != nil {
		return false, fmt.Errorf("client: %w", err)
	}
	if size > 0 {
		req.ContentLength = size
	}
	if size > 1<<20 {
		// A large body waits for the server's go-ahead, so that one
		// refused at once (413, 401) is not sent for nothing.
		req.Header.Set("Expect", "100-continue")
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if c.key != "" {
		req.Header.Set("Authorization", "Key "+c.key.Reveal())
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return idempotent(method) || notSent(err), fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return idempotent(method), fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		e := &Error{Status: resp.StatusCode}
		_ = json.Unmarshal(data, e)
		gateway := resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusServiceUnavailable ||
			resp.StatusCode == http.StatusGatewayTimeout
		return gateway && idempotent(method), e
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return false, fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
		}
	}
	return false, nil
}
