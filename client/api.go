package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// User is the caller, as GET /__api__/v1/user returns it.
type User struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	Role     string `json:"role"`
}

// Content is one content item.
type Content struct {
	GUID        string    `json:"guid"`
	Name        string    `json:"name"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	OwnerID     int64     `json:"owner_id"`
	AppMode     string    `json:"app_mode"`
	AccessType  string    `json:"access_type"`
	BundleID    *int64    `json:"bundle_id"`
	ContentURL  string    `json:"content_url"`
	CreatedTime time.Time `json:"created_time"`
}

// ContentFields are the fields of a content create or update; empty
// strings are left out.
type ContentFields struct {
	Name        string `json:"name,omitempty"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	AccessType  string `json:"access_type,omitempty"`
}

// Bundle is an uploaded bundle.
type Bundle struct {
	ID     int64  `json:"id"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Task is one poll of a task.
type Task struct {
	ID       string   `json:"id"`
	Output   []string `json:"output"`
	Finished bool     `json:"finished"`
	Code     int      `json:"code"`
	Error    string   `json:"error"`
	Last     int      `json:"last"`
	Result   any      `json:"result"`
}

const api = "/__api__/v1"

// Me returns the user the API key belongs to.
func (c *Client) Me(ctx context.Context) (*User, error) {
	var u User
	return &u, c.do(ctx, "GET", api+"/user", nil, "", 0, &u)
}

// ContentGet returns one content.
func (c *Client) ContentGet(ctx context.Context, guid string) (*Content, error) {
	var ct Content
	return &ct, c.do(ctx, "GET", api+"/content/"+url.PathEscape(guid), nil, "", 0, &ct)
}

// ContentList returns the content the caller may see, filtered by name
// and owner when they are set.
func (c *Client) ContentList(ctx context.Context, name string, ownerID int64) ([]*Content, error) {
	q := url.Values{}
	if name != "" {
		q.Set("name", name)
	}
	if ownerID != 0 {
		q.Set("owner_id", strconv.FormatInt(ownerID, 10))
	}
	var list []*Content
	return list, c.do(ctx, "GET", api+"/content?"+q.Encode(), nil, "", 0, &list)
}

// ContentCreate creates content.
func (c *Client) ContentCreate(ctx context.Context, f ContentFields) (*Content, error) {
	b, err := jsonBody(f)
	if err != nil {
		return nil, err
	}
	var ct Content
	return &ct, c.do(ctx, "POST", api+"/content", b, "application/json", 0, &ct)
}

// ContentUpdate changes the non-empty fields of content.
func (c *Client) ContentUpdate(ctx context.Context, guid string, f ContentFields) (*Content, error) {
	b, err := jsonBody(f)
	if err != nil {
		return nil, err
	}
	var ct Content
	return &ct, c.do(ctx, "PATCH", api+"/content/"+url.PathEscape(guid), b, "application/json", 0, &ct)
}

// BundleUpload uploads a gzip tar bundle of size bytes read from r.
func (c *Client) BundleUpload(ctx context.Context, guid string, r io.ReaderAt, size int64) (*Bundle, error) {
	mk := func() (io.Reader, error) { return io.NewSectionReader(r, 0, size), nil }
	var b Bundle
	return &b, c.do(ctx, "POST", api+"/content/"+url.PathEscape(guid)+"/bundles", mk, "application/gzip", size, &b)
}

// Deploy starts the deployment of a bundle and returns the task id.
func (c *Client) Deploy(ctx context.Context, guid string, bundleID int64) (string, error) {
	b, err := jsonBody(map[string]int64{"bundle_id": bundleID})
	if err != nil {
		return "", err
	}
	var out struct {
		TaskID string `json:"task_id"`
	}
	return out.TaskID, c.do(ctx, "POST", api+"/content/"+url.PathEscape(guid)+"/deploy", b, "application/json", 0, &out)
}

// Render starts an ad-hoc render and returns the task id.
func (c *Client) Render(ctx context.Context, guid string) (string, error) {
	var out struct {
		TaskID string `json:"task_id"`
	}
	return out.TaskID, c.do(ctx, "POST", api+"/content/"+url.PathEscape(guid)+"/render", nil, "", 0, &out)
}

// TaskGet polls a task for its output from line first on.
func (c *Client) TaskGet(ctx context.Context, id string, first int) (*Task, error) {
	var t Task
	return &t, c.do(ctx, "GET", api+"/tasks/"+url.PathEscape(id)+"?first="+strconv.Itoa(first), nil, "", 0, &t)
}

// TaskUnreachableGrace is how long WaitTask keeps polling while the
// server cannot be reached or answers 502, 503 or 504 (a node restarting,
// or a load balancer moving to another node): the task is kept in the
// database, and a task whose node died is finished as failed by the
// cluster within [HA] NodeTimeout.
const TaskUnreachableGrace = 2 * time.Minute

// WaitTask polls a task every interval until it finishes, passing each
// new output line to out, and returns its last state. A server that cannot
// be reached is polled again for up to TaskUnreachableGrace.
func (c *Client) WaitTask(ctx context.Context, id string, interval time.Duration, out func(string)) (*Task, error) {
	first := 0
	var failingSince time.Time
	for {
		t, err := c.TaskGet(ctx, id, first)
		if err != nil {
			if !transient(err) || ctx.Err() != nil {
				return nil, err
			}
			if failingSince.IsZero() {
				failingSince = time.Now()
			} else if time.Since(failingSince) > TaskUnreachableGrace {
				return nil, err
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(max(interval, time.Second)):
			}
			continue
		}
		failingSince = time.Time{}
		for _, line := range t.Output {
			if out != nil {
				out(line)
			}
		}
		first = t.Last
		if t.Finished && len(t.Output) == 0 {
			return t, nil
		}
		if t.Finished {
			continue // the rest of the output, if a poll did not hold it all
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(interval):
		}
	}
}

// transient reports whether err means the server could not answer now
// (not reached, or a gateway answer), as opposed to an answer about the
// request.
func transient(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Status == http.StatusBadGateway || e.Status == http.StatusServiceUnavailable || e.Status == http.StatusGatewayTimeout
	}
	var ue *url.Error
	return errors.As(err, &ue) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// Permission is one line of an access list.
type Permission struct {
	// PrincipalType is "user" or "group" ("" is a user).
	PrincipalType string `json:"principal_type,omitempty"`
	PrincipalGUID string `json:"principal_guid,omitempty"`
	Username      string `json:"username,omitempty"`
	// Name is a group's name.
	Name string `json:"name,omitempty"`
	Role string `json:"role"`
}

// Permissions is the access of content: its access type and access list.
type Permissions struct {
	AccessType  string       `json:"access_type"`
	Permissions []Permission `json:"permissions"`
}

// PermissionsGet returns the access of content.
func (c *Client) PermissionsGet(ctx context.Context, guid string) (*Permissions, error) {
	var p Permissions
	return &p, c.do(ctx, "GET", api+"/content/"+url.PathEscape(guid)+"/permissions", nil, "", 0, &p)
}

// PermissionsSet replaces the access list (and the access type when not
// "") of content.
func (c *Client) PermissionsSet(ctx context.Context, guid string, p *Permissions) (*Permissions, error) {
	in := struct {
		AccessType  *string      `json:"access_type,omitempty"`
		Permissions []Permission `json:"permissions"`
	}{Permissions: p.Permissions}
	if in.Permissions == nil {
		in.Permissions = []Permission{}
	}
	if p.AccessType != "" {
		in.AccessType = &p.AccessType
	}
	b, err := jsonBody(in)
	if err != nil {
		return nil, err
	}
	var out Permissions
	return &out, c.do(ctx, "PUT", api+"/content/"+url.PathEscape(guid)+"/permissions", b, "application/json", 0, &out)
}

// Schedule is a report's schedule.
type Schedule struct {
	Spec      string     `json:"spec"`
	Timezone  string     `json:"timezone"`
	Enabled   bool       `json:"enabled"`
	NextRunAt *time.Time `json:"next_run_at"`
}

// ScheduleGet returns a report's schedule (a 404 *Error when none).
func (c *Client) ScheduleGet(ctx context.Context, guid string) (*Schedule, error) {
	var s Schedule
	return &s, c.do(ctx, "GET", api+"/content/"+url.PathEscape(guid)+"/schedule", nil, "", 0, &s)
}

// SchedulePut sets a report's schedule.
func (c *Client) SchedulePut(ctx context.Context, guid, spec, timezone string, enabled bool) (*Schedule, error) {
	b, err := jsonBody(map[string]any{"spec": spec, "timezone": timezone, "enabled": enabled})
	if err != nil {
		return nil, err
	}
	var s Schedule
	return &s, c.do(ctx, "PUT", api+"/content/"+url.PathEscape(guid)+"/schedule", b, "application/json", 0, &s)
}

// ScheduleDelete removes a report's schedule.
func (c *Client) ScheduleDelete(ctx context.Context, guid string) error {
	return c.do(ctx, "DELETE", api+"/content/"+url.PathEscape(guid)+"/schedule", nil, "", 0, nil)
}

// EnvNames returns the names of content's environment variables.
func (c *Client) EnvNames(ctx context.Context, guid string) ([]string, error) {
	var names []string
	return names, c.do(ctx, "GET", api+"/content/"+url.PathEscape(guid)+"/environment", nil, "", 0, &names)
}

// EnvChange is one change of an environment variable: a nil Value
// removes it.
type EnvChange struct {
	Name  string  `json:"name"`
	Value *string `json:"value"`
}

// EnvUpdate applies changes, all or none, and returns the names after.
func (c *Client) EnvUpdate(ctx context.Context, guid string, changes []EnvChange) ([]string, error) {
	b, err := jsonBody(changes)
	if err != nil {
		return nil, err
	}
	var names []string
	return names, c.do(ctx, "PATCH", api+"/content/"+url.PathEscape(guid)+"/environment", b, "application/json", 0, &names)
}

// BundleInfo is one bundle of a content's list.
type BundleInfo struct {
	ID          int64     `json:"id"`
	Size        int64     `json:"size"`
	Active      bool      `json:"active"`
	CreatedTime time.Time `json:"created_time"`
}

// BundleList returns the bundles of content, newest first.
func (c *Client) BundleList(ctx context.Context, guid string) ([]BundleInfo, error) {
	var list []BundleInfo
	return list, c.do(ctx, "GET", api+"/content/"+url.PathEscape(guid)+"/bundles", nil, "", 0, &list)
}

// GitCredential is the account of a repository host, as the API shows it
// (never the secret).
type GitCredential struct {
	Host         string    `json:"host"`
	Username     string    `json:"username"`
	CreatedTime  time.Time `json:"created_time"`
	ModifiedTime time.Time `json:"last_modified_time"`
}

// GitCredentialList returns the credentials of repository hosts
// (administrators only).
func (c *Client) GitCredentialList(ctx context.Context) ([]GitCredential, error) {
	var list []GitCredential
	return list, c.do(ctx, "GET", api+"/git/credentials", nil, "", 0, &list)
}

// GitCredentialSet sets the account Podium fetches the http(s)
// repositories of host with (administrators only).
func (c *Client) GitCredentialSet(ctx context.Context, host, username, secret string) (*GitCredential, error) {
	b, err := jsonBody(map[string]string{"username": username, "secret": secret})
	if err != nil {
		return nil, err
	}
	var out GitCredential
	return &out, c.do(ctx, "PUT", api+"/git/credentials/"+url.PathEscape(host), b, "application/json", 0, &out)
}

// GitCredentialDelete removes the credential of host.
func (c *Client) GitCredentialDelete(ctx context.Context, host string) error {
	return c.do(ctx, "DELETE", api+"/git/credentials/"+url.PathEscape(host), nil, "", 0, nil)
}
