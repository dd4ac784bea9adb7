// Package podium holds the domain of the Podium publishing server: the
// types every part shares, the error codes callers switch on, and the exit
// codes of the podium command.
//
// It imports only the standard library. Database drivers, echo, logrus and
// every other dependency live in the packages at the edges (dbprovider/...,
// web, server), which translate their own errors into the codes here.
package podium

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Each store and service method documents which ones it returns.
const (
	ECONFLICT       = "conflict"        // the object already exists or changed meanwhile
	EINTERNAL       = "internal"        // a bug or an unexpected failure of a dependency
	EINVALID        = "invalid"         // bad input: the message says what and where
	ENOTFOUND       = "not_found"       // no such object (or the caller may not know it exists)
	EUNAUTHORIZED   = "unauthorized"    // missing or wrong credentials
	EFORBIDDEN      = "forbidden"       // known caller, action not allowed
	EREFUSED        = "refused"         // an unsafe request or configuration, refused before acting
	ESCHEMA         = "schema_mismatch" // the database schema is newer than this binary
	EUNAVAILABLE    = "unavailable"     // a dependency (the database) cannot be reached right now
	ETOOLARGE       = "too_large"       // input over a configured bound
	EPRECONDITION   = "precondition"    // the object is not in a state that allows the action
	ECANCELED       = "canceled"        // the operation was stopped before it finished
	EUNSUPPORTED    = "unsupported"     // the request is understood but not supported
	ENOTIMPLEMENTED = "not_implemented" // reserved for features that are not there yet
	ETIMEOUT        = "request_timeout" // the request's body came slower than the configured minimum rate
)

// ENOSPACE is the error code of a write that found the server's storage
// (the data directory) full: the server's condition, not the client's
// fault, answered 507 and exit code 1. Its message names the free space,
// never a server path.
const ENOSPACE = "insufficient_storage"

// Exit codes of the podium command: part of its interface, documented in the
// README and relied on by service managers (the systemd unit sets
// RestartPreventExitStatus=3).
const (
	ExitOK             = 0 // success
	ExitFailure        = 1 // runtime failure
	ExitRefused        = 2 // refused: bad configuration or an unsafe request
	ExitSchemaMismatch = 3 // this binary is older than the database schema
)

// Error is the error type of the domain. Code is one of the E* constants;
// Message is safe to show to the user who caused it (it never holds secrets
// or internal detail). Err, when set, is the underlying cause for logs.
type Error struct {
	Code    string
	Message string
	Err     error
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Err != nil && e.Message == "" {
		return e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
// A %w verb in format also sets Err.
func Errorf(code string, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: err.Error(), Err: errors.Unwrap(err)}
}

// ErrorCode returns the code of the first *Error in err's chain, "" for a
// nil error and EINTERNAL for any other error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of the first *Error in err's
// chain, or a generic message for any other error.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// IsCode reports whether err carries the given code.
func IsCode(err error, code string) bool { return ErrorCode(err) == code }

// ExitCode maps an error to the podium command's exit code: 0 for nil, 2
// for refusals and invalid input or configuration, 3 for a schema newer
// than the binary, 1 for everything else.
func ExitCode(err error) int {
	switch ErrorCode(err) {
	case "":
		return ExitOK
	case EREFUSED, EINVALID:
		return ExitRefused
	case ESCHEMA:
		return ExitSchemaMismatch
	default:
		return ExitFailure
	}
}

// Secret is a string that never prints itself: formatting, logging or
// marshalling it gives a mask. Use Reveal where the value is really needed
// (a connection string handed to a driver).
type Secret string

// Mask is what a non-empty Secret prints as.
const Mask = "********"

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// String returns a mask, or "" when the secret is empty.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Mask
}

// GoString returns the same mask as String, for %#v.
func (s Secret) GoString() string { return s.String() }

// Format makes every verb print the mask.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// MarshalJSON returns the mask as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalText returns the mask.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Node statuses, as stored in the node registry.
const (
	NodeStarting = "starting" // registered, not yet serving
	NodeServing  = "serving"  // ready: /__ping__ answers 200
	NodeDraining = "draining" // shutting down: finishing in-flight work
	NodeStopped  = "stopped"  // exited cleanly
)

// Node is one podium process registered in the database. A node is live
// while its status is not NodeStopped and its heartbeat is recent.
type Node struct {
	ID            string         `json:"id"`
	Hostname      string         `json:"hostname"`
	PID           int            `json:"pid"`
	Version       string         `json:"version"`
	SchemaVersion int64          `json:"schema_version"`
	Listen        string         `json:"listen"`
	Provider      string         `json:"provider"`
	HAEnabled     bool           `json:"ha_enabled"`
	Status        string         `json:"status"`
	StartedAt     time.Time      `json:"started_at"`
	HeartbeatAt   time.Time      `json:"heartbeat_at"`
	StoppedAt     *time.Time     `json:"stopped_at,omitempty"`
	ClockOffset   time.Duration  `json:"clock_offset_ns"`
	Info          map[string]any `json:"info,omitempty"`
}

// Live reports whether the node counts as running at time now (a database
// time) given the heartbeat timeout.
func (n *Node) Live(now time.Time, timeout time.Duration) bool {
	return n.Status != NodeStopped && now.Sub(n.HeartbeatAt) < timeout
}

// SessionCookie is the name of the cookie that carries a web login
// session. The app proxy removes it, so hosted apps never see it.
const SessionCookie = "podium_session"

// User roles, from most to least powerful.
const (
	RoleAdmin     = "admin"     // manages users and sees everything
	RolePublisher = "publisher" // creates and deploys content
	RoleViewer    = "viewer"    // reads content shared with them
)

// User is an account.
type User struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	Role     string `json:"role"`
	Locked   bool   `json:"locked"`
	// Name and Email are what the user's identity provider sent at the
	// last sign-in, or what an administrator set; "" when unknown.
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Group is a set of users that content access lists can grant. A local
// group (Provider "") is managed in Podium; a provider's group (Provider
// "ldap", "oidc", ...) mirrors a group of the identity provider, and its
// members are synchronised at each member's sign-in.
type Group struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Provider  string    `json:"provider"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// IsAdmin reports whether u is an administrator.
func (u *User) IsAdmin() bool { return u != nil && u.Role == RoleAdmin }

// CanPublish reports whether u may create and deploy content.
func (u *User) CanPublish() bool { return u != nil && (u.Role == RoleAdmin || u.Role == RolePublisher) }
