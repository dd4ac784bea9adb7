package publish

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/podiumhq/podium"
)

// Git runs as a subprocess (the [Git] Executable), never with a terminal:
//
//   - GIT_TERMINAL_PROMPT=0 and no askpass: a repository that wants a
//     password Podium does not have fails at once instead of waiting;
//   - GIT_CONFIG_NOSYSTEM=1 and GIT_CONFIG_GLOBAL=/dev/null: no
//     configuration of the host or of the user Podium runs as changes what
//     git does (url rewrites, credential helpers, hooks paths);
//   - GIT_ALLOW_PROTOCOL=file:http:https:ssh: the transports a repository
//     URL may use, also on redirects and submodules; ext:: (which runs a
//     command) and git:// are refused by git itself, besides the URL check
//     of checkRepositoryURL;
//   - credentials go in the environment of the one command that needs
//     them, as an Authorization header scoped to the repository's origin
//     (http.<origin>/.extraHeader through GIT_CONFIG_COUNT): never on a
//     command line (which every local user can read in /proc) and never
//     in a log;
//   - every command runs in its own process group, killed whole at the
//     [Git] Timeout.

// GitOptions configure git-backed content (the [Git] section).
type GitOptions struct {
	// Disabled refuses git-backed content: the repository endpoints
	// answer 404, as Connect's do when Git is off.
	Disabled bool
	// PollingFrequency is how often repositories with polling on are
	// checked (default 15m).
	PollingFrequency time.Duration
	// Timeout bounds one git command (default 5m).
	Timeout time.Duration
	// Executable is the git program (default "git").
	Executable string
	// AllowLocal lets content follow repositories on the node's file
	// system (file:// and absolute paths). Off by default: git runs as
	// the node's user, so a publisher could otherwise fetch any
	// repository on the host.
	AllowLocal bool
}

// checkRepository is checkRepositoryURL, and refuses a repository on the
// node's file system unless [Git] AllowLocalRepositories is on.
func (s *Service) checkRepository(raw string) (host string, err error) {
	host, err = checkRepositoryURL(raw)
	if err != nil {
		return "", err
	}
	if !s.git.AllowLocal && isLocalRepository(raw) {
		return "", podium.Errorf(podium.EINVALID, "repository %q is on the node's file system, which this server does not fetch from: git runs as the server's user, so a local path could read any repository on the host; use https:// or ssh://, or ask an administrator to set [Git] AllowLocalRepositories = true", raw)
	}
	return host, nil
}

// isLocalRepository reports whether raw (accepted by checkRepositoryURL)
// names a repository on the node's file system.
func isLocalRepository(raw string) bool {
	return strings.HasPrefix(raw, "/") || strings.HasPrefix(strings.ToLower(raw), "file:")
}

// gitAllowedProtocols are the transports git may use (GIT_ALLOW_PROTOCOL).
const gitAllowedProtocols = "file:http:https:ssh"

// gitCred is what git authenticates with for one command.
type gitCred struct {
	origin   string // scheme://host[:port]
	username string
	secret   string
}

// gitRun runs git with args in dir ("" for none) and returns its
// standard output. A failure carries the last lines of standard error.
func (s *Service) gitRun(ctx context.Context, dir string, cred *gitCred, stdout io.Writer, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, s.git.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.git.Executable, args...)
	cmd.Dir = dir
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"LANG=C",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=",
		"SSH_ASKPASS=",
		"GIT_SSH_COMMAND=ssh -o BatchMode=yes",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_ALLOW_PROTOCOL=" + gitAllowedProtocols,
		"GIT_PROTOCOL_FROM_USER=0",
	}
	if cred != nil {
		token := base64.StdEncoding.EncodeToString([]byte(cred.username + ":" + cred.secret))
		env = append(env, "GIT_CONFIG_COUNT=1",
			"GIT_CONFIG_KEY_0=http."+cred.origin+"/.extraHeader",
			"GIT_CONFIG_VALUE_0=Authorization: Basic "+token)
	}
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stdout = stdout
	cmd.Stderr = &limitedBuffer{b: &stderr, max: 64 << 10}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return podium.Errorf(podium.EUNAVAILABLE, "git %s did not finish within [Git] Timeout (%s)", args[0], s.git.Timeout)
	}
	var ee *exec.Error
	if errors.As(err, &ee) {
		return podium.Errorf(podium.EPRECONDITION, "cannot run git (%q): %v; install git or set [Git] Executable", s.git.Executable, ee.Err)
	}
	msg := lastLines(stderr.String(), 3)
	if msg == "" {
		msg = err.Error()
	}
	return &gitError{op: args[0], msg: msg}
}

// gitError is a git command that failed; its message is git's own.
type gitError struct{ op, msg string }

func (e *gitError) Error() string { return "git " + e.op + ": " + e.msg }

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	b   *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// lastLines returns the last n non-empty lines of s, joined by "; ".
func lastLines(s string, n int) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return strings.Join(out, "; ")
}

// scpLike is git's other ssh syntax: [user@]host:path.
var scpLike = regexp.MustCompile(`^([A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+:[^/]?`)

// checkRepositoryURL refuses what Podium does not fetch from, and returns
// the host credentials are looked up by ("" for file: and local paths).
// Accepted: https://, http://, ssh:// and [user@]host:path, file:// and
// absolute local paths. Refused: other schemes (ext::, git://, fd::),
// user names with passwords in the URL (set a credential instead), and
// anything starting with '-'.
func checkRepositoryURL(raw string) (host string, err error) {
	bad := func(why string) (string, error) {
		return "", podium.Errorf(podium.EINVALID, "repository %q %s", raw, why)
	}
	switch {
	case raw == "":
		return bad("is empty: give the URL of a git repository, such as https://github.com/org/repo.git")
	case len(raw) > 2048:
		return bad("is longer than 2048 bytes")
	case strings.HasPrefix(raw, "-"):
		return bad("must not start with '-'")
	case strings.ContainsAny(raw, "\x00\n\r\t "):
		return bad("must not contain spaces or control characters")
	case strings.HasPrefix(raw, "/"):
		return "", nil
	case strings.Contains(raw, "::"):
		return bad("uses a remote helper (<transport>::<address>), which Podium refuses: use https://, http://, ssh:// or file://")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		if scpLike.MatchString(raw) {
			h := raw[strings.Index(raw, "@")+1:]
			return h[:strings.Index(h, ":")], nil
		}
		return bad("is not a URL: use https://, http://, ssh://, file:// or an absolute path")
	}
	switch u.Scheme {
	case "https", "http", "ssh":
		if u.Host == "" {
			return bad("has no host")
		}
		if _, ok := u.User.Password(); ok {
			return bad("holds a password: remove it from the URL and set a credential for the host instead (PUT /__api__/v1/git/credentials/{host})")
		}
		return u.Host, nil
	case "file":
		return "", nil
	default:
		return bad(fmt.Sprintf("uses %s://, which Podium does not fetch from: use https://, http://, ssh:// or file://", u.Scheme))
	}
}

// checkBranch refuses what git would not take as a branch name, or would
// take as an option.
func checkBranch(b string) error {
	bad := func(why string) error {
		return podium.Errorf(podium.EINVALID, "branch %q %s", b, why)
	}
	switch {
	case b == "":
		return bad("is empty: name a branch, such as main")
	case len(b) > 255:
		return bad("is longer than 255 bytes")
	case strings.HasPrefix(b, "-"), strings.HasPrefix(b, "/"), strings.HasSuffix(b, "/"), strings.HasSuffix(b, "."), strings.HasSuffix(b, ".lock"):
		return bad("is not a valid branch name")
	case strings.Contains(b, ".."), strings.Contains(b, "//"), strings.Contains(b, "@{"):
		return bad("is not a valid branch name")
	case strings.ContainsFunc(b, func(r rune) bool { return r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) }):
		return bad("holds a character a branch name cannot have")
	}
	return nil
}

// cleanDirectory returns the directory of the repository that holds the
// manifest, as git names it ("" for the top), refusing paths that leave
// the repository.
func cleanDirectory(d string) (string, error) {
	if len(d) > 1024 || strings.ContainsAny(d, "\x00\n\r") {
		return "", podium.Errorf(podium.EINVALID, "directory %q is not a directory of the repository", d)
	}
	c := path.Clean("/" + strings.TrimSpace(d))
	if strings.Contains(d, "..") {
		return "", podium.Errorf(podium.EINVALID, "directory %q must not contain '..': give the directory holding manifest.json relative to the top of the repository", d)
	}
	return strings.TrimPrefix(c, "/"), nil
}
