package bundle

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/podiumhq/podium"
)

// ManifestName is the name of the manifest file at the root of a bundle.
const ManifestName = "manifest.json"

// ManifestVersion is the only manifest format version this package reads.
const ManifestVersion = 1

// MaxManifestBytes bounds the size of manifest.json.
const MaxManifestBytes = 1 << 20

// DefaultPrimaryHTML is the page a static bundle serves at its root when
// metadata.primary_html is not set.
const DefaultPrimaryHTML = "index.html"

// DefaultRenderTimeout is how long a report's render command may run when
// render.timeout is not set.
const DefaultRenderTimeout = 5 * time.Minute

// MaxRenderTimeout is the longest render.timeout a manifest may ask for.
const MaxRenderTimeout = 24 * time.Hour

// DefaultBasePathEnv is the environment variable that tells an api or app
// process the URL path it is served under, when serve.base_path_env is not
// set.
const DefaultBasePathEnv = "PODIUM_BASE_PATH"

// AppMode says what a bundle holds and how Podium publishes it.
type AppMode string

// The app modes a manifest may declare.
const (
	// AppModeStatic is a static site served as is.
	AppModeStatic AppMode = "static"
	// AppModeReport is a report: render.command runs once per deployment
	// (and on demand) and fills $PODIUM_OUTPUT_DIR, whose index.html
	// readers see.
	AppModeReport AppMode = "report"
	// AppModeAPI is a long-running HTTP API started with serve.command.
	AppModeAPI AppMode = "api"
	// AppModeApp is a long-running interactive web application started
	// with serve.command.
	AppModeApp AppMode = "app"
)

// AppModes lists every valid AppMode, in the order error messages name them.
var AppModes = append(append([]AppMode{AppModeStatic, AppModeReport, AppModeAPI, AppModeApp}, pythonModes()...), AppModeShiny, AppModeRmdStatic)

// Manifest is the parsed manifest.json of a bundle. See docs/manifest.md.
type Manifest struct {
	// Version is the manifest format version; it must be ManifestVersion.
	Version int `json:"version"`
	// Metadata says what the bundle is.
	Metadata Metadata `json:"metadata"`
	// Render says how to render a report; only for AppModeReport.
	Render *Render `json:"render,omitempty"`
	// Serve says how to start an api or app; only for AppModeAPI and
	// AppModeApp.
	Serve *Serve `json:"serve,omitempty"`
	// Files optionally lists files the bundle must contain, keyed by
	// slash-separated path relative to the bundle root.
	Files map[string]File `json:"files,omitempty"`

	// Python, Environment and Jupyter are Connect's sections for the
	// Python app modes (see python.go): Podium acts on them.
	Python      *Python      `json:"python,omitempty"`
	Environment *Environment `json:"environment,omitempty"`
	Jupyter     *Jupyter     `json:"jupyter,omitempty"`

	// The other sections Posit Connect clients (rsconnect-python, the R
	// rsconnect package, Posit Publisher) write. Podium accepts them so
	// those manifests deploy unchanged, and reports them in the deployment
	// log (see Ignored): it does not act on them.
	Locale   json.RawMessage `json:"locale,omitempty"`
	Quarto   json.RawMessage `json:"quarto,omitempty"`
	Packages json.RawMessage `json:"packages,omitempty"`
	Platform json.RawMessage `json:"platform,omitempty"`
	Users    json.RawMessage `json:"users,omitempty"`

	// Extra lists the fields of a Connect manifest this server does not
	// know at all (accepted, reported by Ignored).
	Extra []string `json:"-"`
}

// connectSections are the top-level fields only Connect clients write: a
// manifest with one of them, a Connect app mode or an MD5 checksum is a
// Connect manifest.
var connectSections = []string{"locale", "python", "environment", "quarto", "jupyter", "packages", "platform", "users"}

func isConnectManifest(top map[string]json.RawMessage) bool {
	for _, k := range connectSections {
		if _, ok := top[k]; ok {
			return true
		}
	}
	var meta struct {
		AppMode    AppMode `json:"appmode"`
		Entrypoint any     `json:"entrypoint"`
	}
	if raw, ok := top["metadata"]; ok && json.Unmarshal(raw, &meta) == nil {
		if _, ok := connectModes[meta.AppMode]; ok || meta.AppMode == AppModeShiny || meta.AppMode == AppModeRmdStatic || meta.Entrypoint != nil {
			return true
		}
	}
	var files map[string]struct {
		Checksum string `json:"checksum"`
	}
	if raw, ok := top["files"]; ok && json.Unmarshal(raw, &files) == nil {
		for _, f := range files {
			if len(f.Checksum) == 2*md5.Size && !strings.Contains(f.Checksum, ":") {
				return true
			}
		}
	}
	return false
}

// Metadata is the "metadata" object of a manifest.
type Metadata struct {
	// AppMode is required.
	AppMode AppMode `json:"appmode"`
	// PrimaryHTML is the page a static bundle serves at its root; it
	// defaults to DefaultPrimaryHTML. Only for AppModeStatic.
	PrimaryHTML string `json:"primary_html,omitempty"`
	// Entrypoint is what a Python app mode runs: "module:object" or a
	// file of the bundle (see python.go). Connect clients write it for
	// other modes too, where it is accepted and reported, not used.
	Entrypoint string `json:"entrypoint,omitempty"`

	// Fields Connect clients write; accepted and reported, not acted on.
	PrimaryRmd      json.RawMessage `json:"primary_rmd,omitempty"`
	ContentCategory json.RawMessage `json:"content_category,omitempty"`
	HasParameters   json.RawMessage `json:"has_parameters,omitempty"`
}

// Render is the "render" object of a report manifest.
type Render struct {
	// Command is the argv of the render program, run in the unpacked
	// bundle directory with PODIUM_OUTPUT_DIR set to an empty directory it
	// must fill. It is not run through a shell.
	Command []string `json:"command"`
	// Timeout is a Go duration ("90s", "5m"); empty means
	// DefaultRenderTimeout.
	Timeout string `json:"timeout,omitempty"`
}

// TimeoutDuration returns the render timeout, or DefaultRenderTimeout when
// none is set or it does not parse (Validate rejects the latter).
func (r *Render) TimeoutDuration() time.Duration {
	if r == nil || r.Timeout == "" {
		return DefaultRenderTimeout
	}
	d, err := time.ParseDuration(r.Timeout)
	if err != nil || d <= 0 {
		return DefaultRenderTimeout
	}
	return d
}

// Serve is the "serve" object of an api or app manifest.
type Serve struct {
	// Command is the argv of the server program, run in the unpacked
	// bundle directory; it must listen on $PORT. It is not run through a
	// shell.
	Command []string `json:"command"`
	// BasePathEnv names the environment variable that receives the URL
	// path prefix the process is served under; empty means
	// DefaultBasePathEnv.
	BasePathEnv string `json:"base_path_env,omitempty"`
}

// BasePathVar returns the name of the base-path environment variable.
func (s *Serve) BasePathVar() string {
	if s == nil || s.BasePathEnv == "" {
		return DefaultBasePathEnv
	}
	return s.BasePathEnv
}

// File is an entry of a manifest's "files" object.
type File struct {
	// Checksum, when set, is "sha256:" followed by the lowercase hex
	// SHA-256 of the file's content, or 32 hex digits: the MD5 of the
	// content, as Connect clients write it.
	Checksum string `json:"checksum,omitempty"`
}

// connectModes are the app modes of Posit Connect manifests that Podium
// cannot run, with what each needs. They are accepted at upload and
// refused at deploy with that message. The Python modes package runtimes
// runs (python-api, python-fastapi, …, jupyter-static) and the R modes of
// package runtimes/rlang (shiny, rmd-static) are not here: they are
// AppModes. Connect's "static" is Podium's static; Connect's "api" (an R
// Plumber API) shares its name with Podium's api and is told apart by the
// absence of a serve section (see IsR).
var connectModes = map[AppMode]string{
	"rmd-shiny":              "the R runtime (R Markdown with Shiny)",
	"quarto-shiny":           "the Quarto and R or Python runtimes",
	"quarto-static":          "the Quarto runtime to render the document",
	"jupyter-voila":          "a Voila runner, which Podium's Python runtimes do not have",
	"python-flask":           "a runner Podium does not have: write Flask apps as appmode python-api",
	"python-gradio":          "a Gradio runner, which Podium's Python runtimes do not have",
	"python-panel":           "a Panel runner, which Podium's Python runtimes do not have",
	"tensorflow-saved-model": "the TensorFlow Serving runtime",
}

// Ignored returns the fields of the manifest Podium accepts but does not
// act on, for the deployment log: the Connect sections no runtime reads,
// and the Python sections and metadata.entrypoint when the app mode is not
// a Python one (rsconnect writes an entrypoint for static sites, say).
func (m *Manifest) Ignored() []string {
	python, r := m.Metadata.AppMode.IsPython(), m.IsR()
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"locale", len(m.Locale) > 0},
		{"python", m.Python != nil && !python},
		{"environment", m.Environment != nil && !python},
		{"quarto", len(m.Quarto) > 0},
		{"jupyter", m.Jupyter != nil && !python},
		{"packages", len(m.Packages) > 0 && !r},
		{"platform", len(m.Platform) > 0 && !r},
		{"users", len(m.Users) > 0 && string(m.Users) != "null"},
		{"metadata.entrypoint", m.Metadata.Entrypoint != "" && !python && !r},
		{"metadata.primary_rmd", len(m.Metadata.PrimaryRmd) > 0 && string(m.Metadata.PrimaryRmd) != "null" && m.Metadata.AppMode != AppModeRmdStatic},
		{"metadata.content_category", len(m.Metadata.ContentCategory) > 0},
		{"metadata.has_parameters", len(m.Metadata.HasParameters) > 0},
	} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return append(out, m.Extra...)
}

// PrimaryPage returns metadata.primary_html or its default.
func (m *Manifest) PrimaryPage() string {
	if m.Metadata.PrimaryHTML == "" {
		return DefaultPrimaryHTML
	}
	return m.Metadata.PrimaryHTML
}

// ParseManifest reads and decodes a manifest. It checks the JSON syntax,
// the types of the values and that every field is known (names are case
// sensitive), but not their meaning: call Validate for that.
//
// Returns EINVALID for malformed JSON (the message gives line and column),
// unknown fields and wrongly typed values, and ETOOLARGE when the manifest
// is over MaxManifestBytes.
func ParseManifest(r io.Reader) (*Manifest, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", ManifestName, err)
	}
	if len(data) > MaxManifestBytes {
		return nil, podium.Errorf(podium.ETOOLARGE, "%s is larger than %d bytes", ManifestName, MaxManifestBytes)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, podium.Errorf(podium.EINVALID, "%s is empty", ManifestName)
	}

	// First pass: syntax, a single top-level object, and exact field names
	// at every level (encoding/json alone would match "AppMode" to
	// "appmode" and report unknown fields without saying where).
	dec := json.NewDecoder(bytes.NewReader(data))
	var top map[string]json.RawMessage
	if err := dec.Decode(&top); err != nil {
		return nil, jsonError(data, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		line, col := lineCol(data, dec.InputOffset()-1)
		return nil, podium.Errorf(podium.EINVALID, "%s: unexpected data after the top-level object (line %d, column %d)", ManifestName, line, col)
	}
	if top == nil {
		return nil, podium.Errorf(podium.EINVALID, "%s must hold a JSON object, not null", ManifestName)
	}
	// A manifest written by a Connect client may carry fields this server
	// does not know (clients add sections over time): they are kept in
	// Extra and reported, not refused. Podium's own manifests stay strict,
	// so a typo is caught.
	connect := isConnectManifest(top)
	var extra []string
	check := func(prefix string, obj map[string]json.RawMessage, typ reflect.Type) error {
		err := checkFields(prefix, obj, typ)
		if err == nil || !connect {
			return err
		}
		known := jsonFieldNames(typ)
		for _, k := range sortedKeys(obj) {
			if !slices.Contains(known, k) {
				extra = append(extra, prefix+k)
			}
		}
		return nil
	}
	if err := check("", top, reflect.TypeFor[Manifest]()); err != nil {
		return nil, err
	}
	for _, section := range []struct {
		name string
		typ  reflect.Type
	}{
		{"metadata", reflect.TypeFor[Metadata]()},
		{"render", reflect.TypeFor[Render]()},
		{"serve", reflect.TypeFor[Serve]()},
		{"python", reflect.TypeFor[Python]()},
		{"environment", reflect.TypeFor[Environment]()},
		{"jupyter", reflect.TypeFor[Jupyter]()},
	} {
		var obj map[string]json.RawMessage
		if raw, ok := top[section.name]; ok && json.Unmarshal(raw, &obj) == nil {
			if err := check(section.name+".", obj, section.typ); err != nil {
				return nil, err
			}
		}
	}
	var files map[string]map[string]json.RawMessage
	if raw, ok := top["files"]; ok && json.Unmarshal(raw, &files) == nil {
		for _, name := range sortedKeys(files) {
			if err := check(fmt.Sprintf("files[%q].", name), files[name], reflect.TypeFor[File]()); err != nil {
				return nil, err
			}
		}
	}

	// Second pass: types.
	var m Manifest
	dec = json.NewDecoder(bytes.NewReader(data))
	if !connect {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(&m); err != nil {
		return nil, jsonError(data, err)
	}
	m.Extra = extra
	return &m, nil
}

// LoadManifest reads dir/manifest.json, parses it and validates it against
// the files under dir. Returns EINVALID when the manifest is missing or
// invalid.
func LoadManifest(dir string) (*Manifest, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("load manifest: %w", err)
	}
	defer root.Close()
	f, err := root.Open(ManifestName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, podium.Errorf(podium.EINVALID, "bundle has no %s at its root", ManifestName)
	} else if err != nil {
		return nil, fmt.Errorf("load manifest: %w", err)
	}
	defer f.Close()
	m, err := ParseManifest(f)
	if err != nil {
		return nil, err
	}
	if err := m.Validate(root.FS()); err != nil {
		return nil, err
	}
	return m, nil
}

// Validate checks the meaning of a parsed manifest: the version, the app
// mode, the section that mode needs (and the absence of sections it does
// not use), and, when root is not nil, that the files the manifest names
// exist in the bundle rooted at root (for example os.DirFS of the unpacked
// directory) and match their checksums. With a nil root only the checks
// that need no files are made.
//
// Returns EINVALID with a message naming the field.
func (m *Manifest) Validate(root fs.FS) error {
	switch m.Version {
	case ManifestVersion:
	case 0:
		return invalidf("version is required and must be %d", ManifestVersion)
	default:
		return invalidf("version %d is not supported (this server reads version %d)", m.Version, ManifestVersion)
	}

	mode := m.Metadata.AppMode
	if mode == "" {
		return invalidf("metadata.appmode is required (one of %s)", modeList())
	}
	if needs, ok := connectModes[mode]; ok {
		return podium.Errorf(podium.EPRECONDITION, "%s: metadata.appmode %q is a Posit Connect app mode this server cannot run yet: it needs %s. Podium runs %s (see docs/manifest.md)", ManifestName, mode, needs, modeList())
	}
	if _, err := m.RSpec(); err != nil {
		return err
	}
	if !slices.Contains(AppModes, mode) {
		return invalidf("metadata.appmode %q is not one of %s", mode, modeList())
	}
	if m.Metadata.PrimaryHTML != "" && mode != AppModeStatic {
		return invalidf("metadata.primary_html is only used with appmode %q, not %q", AppModeStatic, mode)
	}
	if m.Render != nil && mode != AppModeReport {
		return invalidf("render is only used with appmode %q, not %q", AppModeReport, mode)
	}
	if m.Serve != nil && mode != AppModeAPI && mode != AppModeApp {
		return invalidf("serve is only used with appmode %q or %q, not %q", AppModeAPI, AppModeApp, mode)
	}

	if err := m.validatePython(); err != nil {
		return err
	}

	switch mode {
	case AppModeStatic:
		if err := checkPrimaryHTML(root, m.PrimaryPage()); err != nil {
			return err
		}
	case AppModeReport:
		if m.Render == nil {
			return invalidf("render.command is required for appmode %q", mode)
		}
		if err := checkCommand("render.command", m.Render.Command, mode); err != nil {
			return err
		}
		if t := m.Render.Timeout; t != "" {
			d, err := time.ParseDuration(t)
			if err != nil {
				return invalidf("render.timeout %q is not a duration such as \"90s\" or \"5m\"", t)
			}
			if d <= 0 || d > MaxRenderTimeout {
				return invalidf("render.timeout %q must be more than 0 and at most %s", t, MaxRenderTimeout)
			}
		}
	case AppModeAPI, AppModeApp:
		if m.IsR() {
			break // a Plumber API: runtimes/rlang runs it
		}
		if m.Serve == nil {
			return invalidf("serve.command is required for appmode %q", mode)
		}
		if err := checkCommand("serve.command", m.Serve.Command, mode); err != nil {
			return err
		}
		if env := m.Serve.BasePathEnv; env != "" {
			if !isEnvName(env) {
				return invalidf("serve.base_path_env %q is not a valid environment variable name (letters, digits and _, not starting with a digit)", env)
			}
			if env == "PORT" {
				return invalidf("serve.base_path_env must not be PORT, which holds the port to listen on")
			}
		}
	}

	for _, name := range sortedKeys(m.Files) {
		if err := checkListedFile(root, name, m.Files[name]); err != nil {
			return err
		}
	}
	return nil
}

func checkPrimaryHTML(root fs.FS, name string) error {
	if !validBundlePath(name) {
		return invalidf("metadata.primary_html %q must be a relative slash-separated path inside the bundle, without . or .. elements", name)
	}
	if root == nil {
		return nil
	}
	fi, err := fs.Stat(root, name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return invalidf("metadata.primary_html %q is not in the bundle", name)
	case err != nil:
		return fmt.Errorf("%s: stat %s: %w", ManifestName, name, err)
	case !fi.Mode().IsRegular():
		return invalidf("metadata.primary_html %q is not a regular file", name)
	}
	return nil
}

func checkCommand(field string, argv []string, mode AppMode) error {
	if len(argv) == 0 {
		return invalidf("%s is required for appmode %q and must be a non-empty array such as [\"python3\", \"main.py\"]", field, mode)
	}
	if strings.TrimSpace(argv[0]) == "" {
		return invalidf("%s[0], the program to run, must not be empty", field)
	}
	for i, arg := range argv {
		if strings.ContainsRune(arg, 0) {
			return invalidf("%s[%d] contains a NUL byte", field, i)
		}
	}
	return nil
}

func checkListedFile(root fs.FS, name string, f File) error {
	if !validBundlePath(name) {
		return invalidf("files key %q must be a relative slash-separated path inside the bundle, without . or .. elements", name)
	}
	var want []byte
	newHash := sha256.New
	if f.Checksum != "" {
		hexSum, ok := strings.CutPrefix(f.Checksum, "sha256:")
		sum, err := hex.DecodeString(hexSum)
		switch {
		case ok && err == nil && len(sum) == sha256.Size:
		case !ok && err == nil && len(sum) == md5.Size:
			newHash = md5.New // Connect clients write the bare MD5
		default:
			return invalidf("files[%q].checksum %q must be \"sha256:\" followed by 64 hex digits, or the 32 hex digits of an MD5", name, f.Checksum)
		}
		want = sum
	}
	if root == nil {
		return nil
	}
	fi, err := fs.Stat(root, name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return invalidf("files[%q] is not in the bundle", name)
	case err != nil:
		return fmt.Errorf("%s: stat %s: %w", ManifestName, name, err)
	case !fi.Mode().IsRegular():
		return invalidf("files[%q] is not a regular file", name)
	}
	if want == nil {
		return nil
	}
	r, err := root.Open(name)
	if err != nil {
		return fmt.Errorf("%s: open %s: %w", ManifestName, name, err)
	}
	defer r.Close()
	h := newHash()
	if _, err := io.Copy(h, r); err != nil {
		return fmt.Errorf("%s: read %s: %w", ManifestName, name, err)
	}
	if got := h.Sum(nil); !bytes.Equal(got, want) {
		if len(got) == md5.Size {
			return invalidf("files[%q].checksum does not match the file's content (md5 %x)", name, got)
		}
		return invalidf("files[%q].checksum does not match the file's content (sha256:%x)", name, got)
	}
	return nil
}

// validBundlePath reports whether name is a clean relative slash path that
// names something inside the bundle (not the root itself).
func validBundlePath(name string) bool {
	return name != "." && fs.ValidPath(name) && !strings.ContainsAny(name, "\\\x00")
}

func isEnvName(s string) bool {
	for i, c := range s {
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != ""
}

func modeList() string {
	names := make([]string, len(AppModes))
	for i, m := range AppModes {
		names[i] = string(m)
	}
	return strings.Join(names, ", ")
}

func invalidf(format string, args ...any) error {
	return podium.Errorf(podium.EINVALID, ManifestName+": "+format, args...)
}

// checkFields returns EINVALID naming the first key of obj (in sorted
// order) that is not the JSON name of a field of typ.
func checkFields(prefix string, obj map[string]json.RawMessage, typ reflect.Type) error {
	known := jsonFieldNames(typ)
	for _, k := range sortedKeys(obj) {
		if !slices.Contains(known, k) {
			where := "at the top level"
			if prefix != "" {
				where = "in " + strings.TrimSuffix(prefix, ".")
			}
			return invalidf("unknown field %q %s (known fields: %s)", k, where, strings.Join(known, ", "))
		}
	}
	return nil
}

func jsonFieldNames(typ reflect.Type) []string {
	var names []string
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// jsonError turns an encoding/json error into an EINVALID error that says
// where in the manifest the problem is.
func jsonError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := lineCol(data, syn.Offset-1)
		return podium.Errorf(podium.EINVALID, "%s: malformed JSON at line %d, column %d: %s", ManifestName, line, col, strings.TrimPrefix(syn.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return podium.Errorf(podium.EINVALID, "%s: malformed JSON: it ends before the top-level object is closed", ManifestName)
	case errors.As(err, &typ):
		line, col := lineCol(data, typ.Offset-1)
		if typ.Field == "" {
			return podium.Errorf(podium.EINVALID, "%s must hold a JSON object, not %s", ManifestName, typ.Value)
		}
		return podium.Errorf(podium.EINVALID, "%s: %s must be %s, not %s (line %d, column %d)", ManifestName, typ.Field, jsonKind(typ.Type), typ.Value, line, col)
	default:
		// Unknown fields are caught by checkFields before decoding with
		// DisallowUnknownFields, so this is a safety net.
		return podium.Errorf(podium.EINVALID, "%s: %s", ManifestName, strings.TrimPrefix(err.Error(), "json: "))
	}
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Slice:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(jsonKind(t.Elem()), "a "), "an ") + "s"
	case reflect.Map, reflect.Struct, reflect.Pointer:
		return "an object"
	default:
		return "a " + t.Kind().String()
	}
}

// lineCol returns the 1-based line and column of the byte at index off of
// data. encoding/json reports errors as the number of bytes read, so
// callers pass that minus one: the byte that gave the error away.
func lineCol(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line = 1 + bytes.Count(before, []byte{'\n'})
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
