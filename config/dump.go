package config

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"

	"github.com/podiumhq/podium"
)

// PostgresURL returns the URL to connect with: [Postgres] URL with
// [Postgres] Password (or PODIUM_POSTGRES_PASSWORD) applied. A Password
// replaces any password written in the URL, in its user info or in a
// password= query parameter. The result is a Secret: Reveal it only to hand
// it to the driver.
//
// Returns EINVALID when URL is empty or not a URL.
func (c *Config) PostgresURL() (podium.Secret, error) {
	if c.Postgres.URL == "" {
		return "", podium.Errorf(podium.EINVALID, "config: [Postgres] URL is not set")
	}
	u, err := url.Parse(c.Postgres.URL)
	if err != nil {
		// Not wrapped: url.Error quotes the URL, password included.
		return "", podium.Errorf(podium.EINVALID, "config: [Postgres] URL is not a valid URL")
	}
	if pw := c.Postgres.Password.Reveal(); pw != "" {
		user := ""
		if u.User != nil {
			user = u.User.Username()
		}
		u.User = url.UserPassword(user, pw)
		if q := u.Query(); q.Has("password") {
			q.Del("password")
			u.RawQuery = q.Encode()
		}
	}
	return podium.Secret(u.String()), nil
}

// PostgresURLRedacted returns the connection URL for logs and messages:
// the URL PostgresURL gives with every password replaced by podium.Mask.
// It never contains a password; "" when no URL is set.
func (c *Config) PostgresURLRedacted() string {
	if c.Postgres.URL == "" {
		return ""
	}
	s, err := c.PostgresURL()
	if err != nil {
		return invalidURL
	}
	return redactURL(s.Reveal())
}

// invalidURL stands for a URL that does not parse: it is never shown, since
// it may hold a password.
const invalidURL = "(not shown: not a valid URL)"

// keywordPassword matches the password of a keyword-form connection
// string (libpq's "host=db password=secret", the value bare or in single
// quotes with backslash escapes), ignoring case and spaces around '='.
var keywordPassword = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)`)

// redactURL masks the password of a URL, in its user info and in a
// password= query parameter. A value without "://" is taken for a
// keyword-form connection string: it is shown as written, with the value
// of any password keyword masked.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	if !strings.Contains(raw, "://") {
		return keywordPassword.ReplaceAllString(raw, "${1}"+podium.Mask)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return invalidURL
	}
	masked := false
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.User(u.User.Username())
			masked = true
		}
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", podium.Mask)
		u.RawQuery = q.Encode()
	}
	s := u.String()
	if masked {
		// url.UserPassword would escape the mask's '*'s, which RFC 3986
		// allows in user info; write it readable. The first '@' ends the
		// user info: an '@' in the user name comes out escaped.
		i := strings.Index(s, "@")
		s = s[:i] + ":" + podium.Mask + s[i:]
	}
	return s
}

// urlPassword returns the password written in a URL ("" for none or for a
// URL that does not parse); a password= query parameter wins, as it does
// in libpq and pgx.
func urlPassword(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if q := u.Query(); q.Has("password") {
		return q.Get("password")
	}
	if u.User != nil {
		pw, _ := u.User.Password()
		return pw
	}
	return ""
}

// Dump writes the effective configuration in gcfg format, for
// `podium config dump`: every key with its value, after defaults, file and
// environment. Secrets are masked: [Postgres] Password is written as a
// comment, and a password inside [Postgres] URL as podium.Mask. Loading the
// output again gives the same configuration once the password is supplied
// (Load refuses the mask itself as a password).
func (c *Config) Dump(w io.Writer) error {
	var b bytes.Buffer
	b.WriteString("# Effective configuration of podium, written by \"podium config dump\".\n")
	if c.Source != "" {
		fmt.Fprintf(&b, "# Source: %s, with PODIUM_* environment overrides.\n", c.Source)
	} else {
		b.WriteString("# Source: built-in defaults (no configuration file), with PODIUM_* environment overrides.\n")
	}
	b.WriteString("# Secrets are masked as " + podium.Mask + ".\n")
	ks := keys()
	for _, sec := range sections {
		fmt.Fprintf(&b, "\n[%s]\n", sec)
		for i := range ks {
			k := &ks[i]
			if k.section != sec {
				continue
			}
			if _, secret := k.field(c).(*podium.Secret); secret && k.format(c) != "" {
				fmt.Fprintf(&b, "# %s = %s (not written: supply it with %s)\n", k.name, k.format(c), k.env())
				continue
			}
			fmt.Fprintf(&b, "%s = %s\n", k.name, quote(k.format(c)))
		}
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("config: dump: %w", err)
	}
	return nil
}

// quote writes a value so that gcfg reads it back unchanged: as is when it
// can, else in double quotes with \\, \", \n and \t escaped.
func quote(v string) string {
	if v != "" && v == strings.TrimSpace(v) && !strings.ContainsAny(v, "\"\\;#\n\t") {
		return v
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`)
	return `"` + r.Replace(v) + `"`
}
