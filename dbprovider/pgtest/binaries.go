package pgtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// EnvBinDir names an optional environment variable holding the directory of
// the PostgreSQL server binaries (initdb, postgres) to use for throwaway
// clusters, overriding the search described at [StartCluster].
const EnvBinDir = "PODIUM_TEST_PG_BINDIR"

// findBinDir returns the directory holding initdb and postgres: EnvBinDir
// if set, else `pg_config --bindir`, else the newest
// /usr/lib/postgresql/*/bin, else the directory of the initdb found on PATH.
// pg_config comes first but is not trusted blindly: on Debian, with only
// libpq-dev installed, it names /usr/bin, which has no server binaries.
func findBinDir() (string, error) {
	if dir := os.Getenv(EnvBinDir); dir != "" {
		if !hasServerBinaries(dir) {
			return "", fmt.Errorf("%s=%s: no initdb and postgres there", EnvBinDir, dir)
		}
		return dir, nil
	}
	var tried []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if hasServerBinaries(dir) {
			return dir, nil
		}
		tried = append(tried, dir+" (pg_config --bindir)")
	} else {
		tried = append(tried, "pg_config --bindir")
	}
	if dir := newestDebianBinDir(); dir != "" {
		return dir, nil
	}
	tried = append(tried, "/usr/lib/postgresql/*/bin")
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil && hasServerBinaries(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
	}
	tried = append(tried, "initdb on PATH")
	return "", fmt.Errorf("no PostgreSQL server binaries (initdb, postgres) found; tried %s. "+
		"Install them (Debian: apt-get install postgresql, or run scripts/ensure-deps.sh), "+
		"set %s to their directory, or set %s to a server the tests may use",
		strings.Join(tried, ", "), EnvBinDir, EnvDatabaseURL)
}

// newestDebianBinDir returns the /usr/lib/postgresql/N/bin with the highest
// major version N that holds the server binaries, or "".
func newestDebianBinDir() string {
	entries, err := os.ReadDir("/usr/lib/postgresql")
	if err != nil {
		return ""
	}
	var versions []int
	for _, e := range entries {
		if v, err := strconv.Atoi(e.Name()); err == nil {
			versions = append(versions, v)
		}
	}
	slices.Sort(versions)
	for _, v := range slices.Backward(versions) {
		dir := filepath.Join("/usr/lib/postgresql", strconv.Itoa(v), "bin")
		if hasServerBinaries(dir) {
			return dir
		}
	}
	return ""
}

func hasServerBinaries(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return false
		}
	}
	return true
}

// runAs returns the credential initdb and postgres run with: nil when the
// tests do not run as root, else the "postgres" system user, or "nobody"
// when there is none. PostgreSQL refuses to run as root.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var errs []error
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err := errors.Join(err1, err2); err != nil {
			errs = append(errs, fmt.Errorf("user %s: %w", name, err))
			continue
		}
		// Groups left empty: the child drops root's supplementary groups.
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, fmt.Errorf("running as root and no unprivileged user to run PostgreSQL as: %w", errors.Join(errs...))
}

// baseTempDir returns the directory that holds the clusters' directories:
// os.TempDir(), or /tmp when running as root and the unprivileged user
// could not reach os.TempDir() (TMPDIR under /root, say).
func baseTempDir() string {
	dir := os.TempDir()
	if os.Geteuid() != 0 {
		return dir
	}
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return "/tmp"
		}
		if d == filepath.Dir(d) {
			return dir
		}
	}
}
