package importrules

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/podiumhq/podium"

// pkg is what go list says of one package.
type pkg struct {
	ImportPath string
	Standard   bool
	Imports    []string
}

// loadPackages lists the module's non-test packages and the standard
// library ones they reach.
func loadPackages(t *testing.T) (ours []pkg, std map[string]bool) {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Standard,Imports", module+"/...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	std = map[string]bool{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if p.Standard {
			std[p.ImportPath] = true
		}
		if p.ImportPath == module || strings.HasPrefix(p.ImportPath, module+"/") {
			ours = append(ours, p)
		}
	}
	if len(ours) < 20 {
		t.Fatalf("go list found %d packages of the module: not the module root?", len(ours))
	}
	return ours, std
}

// rel is a package's path inside the module ("" for the root).
func rel(p string) string {
	return strings.TrimPrefix(strings.TrimPrefix(p, module), "/")
}

// rule is one sentence of a package comment: which packages it covers and
// which imports it allows or forbids.
type rule struct {
	name string
	// applies reports whether the rule covers the importing package.
	applies func(importer string) bool
	// allowed reports whether importer may import imported (inside or
	// outside the module; standard library paths are passed too).
	allowed func(importer, imported string, std bool) bool
}

func exactly(names ...string) func(string) bool {
	return func(p string) bool { return slices.Contains(names, rel(p)) }
}

func ourPkg(imported string) (string, bool) {
	if imported == module || strings.HasPrefix(imported, module+"/") {
		return rel(imported), true
	}
	return "", false
}

// onlyStdAnd allows the standard library and the listed module packages
// (relative paths) or external modules (full import path prefixes).
func onlyStdAnd(allowed ...string) func(string, string, bool) bool {
	return func(_, imported string, std bool) bool {
		if std {
			return true
		}
		if r, ok := ourPkg(imported); ok {
			return slices.Contains(allowed, r)
		}
		for _, a := range allowed {
			if strings.Contains(a, ".") && (imported == a || strings.HasPrefix(imported, a+"/")) {
				return true
			}
		}
		return false
	}
}

// never forbids the listed module packages (relative paths, with their
// sub-packages) and external modules (path prefixes).
func never(forbidden ...string) func(string, string, bool) bool {
	return func(_, imported string, _ bool) bool {
		r, ours := ourPkg(imported)
		for _, f := range forbidden {
			if ours && (r == f || strings.HasPrefix(r, f+"/")) && !strings.Contains(f, ".") {
				return false
			}
			if !ours && strings.Contains(f, ".") && (imported == f || strings.HasPrefix(imported, f+"/")) {
				return false
			}
		}
		return true
	}
}

// harnesses are the test harnesses (and dbprovider/pgscratch, the
// benchmarks' scratch databases): only tests, benchmarks and other
// harnesses import them.
var harnesses = []string{"dbprovider/pgtest", "dbprovider/pgscratch", "internal/nodetest", "internal/testutil", "internal/ldaptest", "dbprovider/dbprovidertest", "migrate/migratetest"}

// drivers are the database driver modules (modernc.org/libc is the C
// runtime sqlite.RowReader calls SQLite through): only dbprovider imports
// them.
var drivers = []string{"github.com/jackc/pgx", "github.com/jackc/pgconn", "modernc.org/sqlite", "modernc.org/libc"}

// rawHandles are the methods that hand out a provider's raw handle, the
// pool that lets a package run dialect SQL of its own: no code outside
// dbprovider calls them (issue 25, item 3); what it needs of the database
// is a provider method.
var rawHandles = []string{"DB", "ReadDB"}

// gooseHandles are the methods that hand out the handle goose runs
// migrations on (goose needs a *sql.DB): only schema, which runs goose,
// calls them.
var gooseHandles = []string{"MigrationDB", "MigrationDBUnchecked"}

// handleCallAllowed reports whether the code of package dir (outside
// dbprovider) may call method, a method without arguments or
// with only a context.
func handleCallAllowed(dir, method string) bool {
	switch {
	case slices.Contains(rawHandles, method):
		return false
	case slices.Contains(gooseHandles, method):
		return dir == "schema"
	}
	return true
}

// handleCalls returns the calls in f of a method of rawHandles or
// gooseHandles (X.DB(), X.MigrationDBUnchecked(ctx)), by method, as
// positions.
func handleCalls(fset *token.FileSet, f *ast.File) map[string][]string {
	out := map[string][]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok && len(c.Args) <= 1 {
			if sel, ok := c.Fun.(*ast.SelectorExpr); ok &&
				(slices.Contains(rawHandles, sel.Sel.Name) && len(c.Args) == 0 || slices.Contains(gooseHandles, sel.Sel.Name)) {
				out[sel.Sel.Name] = append(out[sel.Sel.Name], fset.Position(c.Pos()).String())
			}
		}
		return true
	})
	return out
}

var rules = []rule{
	{"podium.go imports only the standard library", exactly(""), onlyStdAnd()},
	// The manifest names the app modes the runtimes run and maps its
	// sections to their specs: bundle may import those two leaf packages.
	{"bundle imports only the standard library, podium and the runtimes", exactly("bundle"), onlyStdAnd("", "runtimes", "runtimes/rlang")},
	{"the runtimes import neither web, server, publish, bundle nor a database", exactly("runtimes", "runtimes/rlang"),
		never("web", "server", "publish", "bundle", "dbprovider", "github.com/jackc/pgx", "modernc.org/sqlite", "github.com/labstack/echo")},
	{"client imports only the standard library and podium", exactly("client"), onlyStdAnd("")},
	{"config imports podium, the standard library and gcfg", exactly("config"), onlyStdAnd("", "github.com/go-git/gcfg/v2")},
	{"internal/runas imports only the standard library", exactly("internal/runas"), onlyStdAnd()},
	{"internal/sandbox imports only the standard library, internal/runas and x/sys", exactly("internal/sandbox"), onlyStdAnd("internal/runas", "golang.org/x/sys/unix")},
	{"internal/testutil imports only the standard library", exactly("internal/testutil"), onlyStdAnd()},
	{"internal/certreload imports only the standard library, podium and logrus", exactly("internal/certreload"), onlyStdAnd("", "github.com/sirupsen/logrus")},
	{"internal/startstop and internal/testsignal import only the standard library", exactly("internal/startstop", "internal/testsignal"), onlyStdAnd()},
	{"internal/nodetest imports the standard library and internal/testutil", exactly("internal/nodetest"), onlyStdAnd("internal/testutil")},
	{"web/route and web/jsonbody import echo and podium only", exactly("web/route", "web/jsonbody"), onlyStdAnd("", "github.com/labstack/echo/v4")},
	{"auth imports neither echo nor web", exactly("auth"), never("web", "github.com/labstack/echo")},
	{"publish imports neither echo nor web", exactly("publish"), never("web", "server", "github.com/labstack/echo")},
	{"audit and usage import neither echo, web nor server", exactly("audit", "usage"), never("web", "server", "github.com/labstack/echo")},
	{"scheduler imports neither web nor server", exactly("scheduler"), never("web", "server")},
	{"metrics imports neither server nor web", exactly("metrics"), never("web", "server")},
	{"hacheck imports neither server nor web", exactly("hacheck"), never("web", "server")},
	{"web/dashboard does not import server", exactly("web/dashboard"), never("server")},
	{"appsource imports neither web nor server", exactly("appsource"), never("web", "server", "github.com/labstack/echo")},
	{"apps imports no database driver and not web (only web/route, web/jsonbody)", exactly("apps"),
		func(importer, imported string, std bool) bool {
			r, ours := ourPkg(imported)
			switch {
			case ours && (r == "web/route" || r == "web/jsonbody"):
				return true
			case ours && (r == "web" || strings.HasPrefix(r, "web/") || strings.HasPrefix(r, "dbprovider") || r == "server"):
				return false
			}
			if std {
				return imported != "database/sql"
			}
			return never("github.com/jackc/pgx", "modernc.org/sqlite")(importer, imported, std)
		}},
	{"nothing outside dbprovider/sqlite and dbprovider/postgres imports sqlstore",
		func(p string) bool { r := rel(p); return r != "dbprovider/sqlite" && r != "dbprovider/postgres" },
		never("dbprovider/sqlstore")},
	{"only cli and the benchmark import migrate",
		func(p string) bool {
			r := rel(p)
			return r != "cli" && !strings.HasPrefix(r, "bench/") && !strings.HasPrefix(r, "migrate")
		},
		never("migrate")},
	// Issue 25, item 3: the dialect lives in dbprovider. What another
	// package needs of a driver (migrate's binary COPY, its server error
	// codes) is a provider method; no package outside imports one.
	{"no package outside dbprovider imports a database driver",
		func(p string) bool {
			r := rel(p)
			return r != "dbprovider" && !strings.HasPrefix(r, "dbprovider/")
		},
		never(drivers...)},
	// The dialect is chosen in one place, dbprovider/dbopen (server and
	// cli open their database there); migrate copies from one dialect to
	// the other and opens both itself.
	{"only dbprovider/dbopen and migrate import a dialect's provider package",
		func(p string) bool {
			r := rel(p)
			return !strings.HasPrefix(r, "dbprovider/") && !strings.HasPrefix(r, "migrate") && !strings.HasPrefix(r, "bench/")
		},
		never("dbprovider/sqlite", "dbprovider/postgres")},
	// cmd/podium is the composition point: it hands cli the version and
	// the node podium serve runs, so the command line (and everything
	// else but the tests) never reaches into the node.
	{"cli does not import server", exactly("cli"), never("server")},
	{"nothing but cmd/podium imports server",
		func(p string) bool { r := rel(p); return r != "cmd/podium" && r != "server" },
		never("server")},
	{"test harnesses are imported only by tests and other harnesses",
		func(p string) bool {
			r := rel(p)
			return !slices.Contains(harnesses, r) && !strings.HasPrefix(r, "bench/")
		},
		never(harnesses...)},
}

// TestImportRules checks every package of the module (tests excluded)
// against the rules its package comment states.
func TestImportRules(t *testing.T) {
	ours, std := loadPackages(t)
	for _, r := range rules {
		covered := 0
		for _, p := range ours {
			if !r.applies(p.ImportPath) {
				continue
			}
			covered++
			for _, imp := range p.Imports {
				if !r.allowed(p.ImportPath, imp, std[imp]) {
					t.Errorf("%s imports %s: breaks the rule %q", p.ImportPath, imp, r.name)
				}
			}
		}
		if covered == 0 {
			t.Errorf("rule %q covers no package: a package was renamed, update the rule", r.name)
		}
	}
}

// TestRulesCatchViolations: each kind of rule refuses what it must (a
// rule that allowed everything would pass TestImportRules forever).
func TestRulesCatchViolations(t *testing.T) {
	cases := []struct {
		importer, imported string
		std                bool
	}{
		{module, "github.com/sirupsen/logrus", false},
		{module + "/web", module + "/dbprovider/sqlstore", false},
		{module + "/server", module + "/dbprovider/pgtest", false},
		{module + "/server", module + "/internal/testutil", false},
		{module + "/apps", module + "/web", false},
		{module + "/apps", "github.com/jackc/pgx/v5", false},
		{module + "/bundle", module + "/dbprovider", false},
		{module + "/publish", "github.com/labstack/echo/v4", false},
		{module + "/hacheck", "github.com/jackc/pgx/v5/pgconn", false},
		{module + "/server", "modernc.org/sqlite", false},
		{module + "/server", module + "/dbprovider/sqlite", false},
		{module + "/cli", module + "/dbprovider/postgres", false},
		{module + "/cli", module + "/server", false},
		{module + "/web", module + "/server", false},
	}
	for _, c := range cases {
		refused := false
		for _, r := range rules {
			if r.applies(c.importer) && !r.allowed(c.importer, c.imported, c.std) {
				refused = true
			}
		}
		if !refused {
			t.Errorf("%s importing %s is allowed by every rule", c.importer, c.imported)
		}
	}
	// The standard library stays allowed where only it is.
	for _, r := range rules[:1] {
		if !r.allowed(module, "fmt", true) {
			t.Errorf("rule %q refuses fmt", r.name)
		}
	}
}

// TestDBStaysInDBProvider: no package outside dbprovider calls DB() or
// ReadDB() (a call X.DB() without arguments) in its code; only schema
// calls the goose handles (MigrationDB, MigrationDBUnchecked).
func TestDBStaysInDBProvider(t *testing.T) {
	calls := map[string]map[string][]string{} // package dir -> method -> positions
	fset := token.NewFileSet()
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("../..", path)
		if d.IsDir() {
			if rel == "dbprovider" || rel == "tools" || strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(rel))
		for m, at := range handleCalls(fset, f) {
			if calls[dir] == nil {
				calls[dir] = map[string][]string{}
			}
			calls[dir][m] = append(calls[dir][m], at...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for dir, byMethod := range calls {
		for m, at := range byMethod {
			if !handleCallAllowed(dir, m) {
				t.Errorf("%s calls %s() outside dbprovider (%s): add a provider method (dbprovider.Provider) instead", dir, m, strings.Join(at, ", "))
			}
		}
	}
}

// TestHandleCallsCaught: the finder sees each kind of call, no package
// may call a raw handle, and schema may call only the goose handles.
func TestHandleCallsCaught(t *testing.T) {
	const src = `package schema
func f() {
	_ = p.DB()
	_ = p.ReadDB()
	_, _, _ = p.MigrationDB()
	_, _ = p.MigrationDBUnchecked(ctx)
	_ = s.DB(1) // another method of that name, with arguments
}`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "f.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := handleCalls(fset, f)
	for m, n := range map[string]int{"DB": 1, "ReadDB": 1, "MigrationDB": 1, "MigrationDBUnchecked": 1} {
		if len(got[m]) != n {
			t.Errorf("%s: found %d calls, want %d", m, len(got[m]), n)
		}
	}
	for _, c := range []struct {
		dir, method string
		allowed     bool
	}{
		{"schema", "DB", false}, {"schema", "ReadDB", false}, {"schema", "MigrationDB", true}, {"schema", "MigrationDBUnchecked", true},
		{"hacheck", "MigrationDB", false}, {"web", "DB", false}, {"migrate", "DB", false}, {"migrate", "ReadDB", false},
		{"bench/migrate", "ReadDB", false}, {"migrate", "MigrationDB", false},
	} {
		if got := handleCallAllowed(c.dir, c.method); got != c.allowed {
			t.Errorf("%s calling %s(): allowed %t, want %t", c.dir, c.method, got, c.allowed)
		}
	}
}
