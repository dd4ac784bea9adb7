package schema

import (
	"bufio"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
)

// Class is a migration's compatibility with the previous binary, declared
// on a line of its own at the top of the file:
//
//	-- podium:class expand
//
// An expand migration leaves the schema usable by the binary of the
// previous release (new tables, new nullable or defaulted columns, new
// indexes): a node applies it while older nodes still serve. A contract
// migration does not (drops, renames, type changes, new NOT NULL without a
// default, constraints old code could violate, SQLite table rebuilds): it
// is deferred while other nodes are live and applied by "podium migrate
// schema finalize" once every live node runs the new binary. See
// docs/upgrading.md, "Rolling upgrades".
type Class string

// Migration classes.
const (
	ClassExpand   Class = "expand"
	ClassContract Class = "contract"
	// ClassBreaking is a contract migration with no expand path: the new
	// binary cannot serve until it is applied, so the upgrade cannot roll.
	// A node refuses to start (exit 2) while other nodes are live; the
	// stop-all procedure applies it.
	ClassBreaking Class = "breaking"
)

// ClassMarker is the comment that declares a migration's class.
const ClassMarker = "-- podium:class "

// classRe matches the marker line; anything else after it is an error.
var classRe = regexp.MustCompile(`^--\s*podium:class\s+(\S+)\s*$`)

// readClass returns the class a migration file declares, "" when it
// declares none, and an error for a marker with an unknown class.
func readClass(fsys fs.FS, name string) (Class, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return "", fmt.Errorf("migration %s: %w", name, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		m := classRe.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		switch c := Class(strings.ToLower(m[1])); c {
		case ClassExpand, ClassContract, ClassBreaking:
			return c, nil
		default:
			return "", fmt.Errorf("migration %s: unknown class %q: write %q, %q or %q", name, m[1],
				ClassMarker+string(ClassExpand), ClassMarker+string(ClassContract), ClassMarker+string(ClassBreaking))
		}
	}
	return "", sc.Err()
}

// Deferrable reports whether a node may defer the migration while other
// nodes are live: every migration not declared expand is treated as
// contract (an unmarked migration is never applied under old nodes).
func (m Migration) Deferrable() bool { return m.Class != ClassExpand }

// contractRule is one kind of statement that the previous binary may not
// survive.
type contractRule struct {
	re     *regexp.Regexp
	reason string
}

// contractRules are matched against each statement of a migration's Up
// section, normalized (comments removed, whitespace collapsed, upper
// case). They err on the side of contract: a false alarm costs the author
// a marking, a miss costs an outage.
var contractRules = []contractRule{
	{regexp.MustCompile(`^DROP\s+(TABLE|VIEW|MATERIALIZED VIEW|TYPE|FUNCTION|TRIGGER|SEQUENCE|SCHEMA)\b`), "drops an object the previous binary may use"},
	{regexp.MustCompile(`^ALTER\s+TABLE\b.*\bDROP\s+(COLUMN\b|CONSTRAINT\b|DEFAULT\b|[A-Z_"][A-Z0-9_"]*\s*(;|,|$|CASCADE|RESTRICT))`), "drops a column, a constraint or a default the previous binary relies on"},
	{regexp.MustCompile(`^ALTER\s+TABLE\b.*\bRENAME\b`), "renames a table or column the previous binary names"},
	{regexp.MustCompile(`^ALTER\s+(INDEX|SEQUENCE|VIEW|TYPE|FUNCTION)\b.*\bRENAME\b`), "renames an object the previous binary may name"},
	{regexp.MustCompile(`^ALTER\s+TABLE\b.*\bALTER\s+(COLUMN\s+)?\S+\s+(SET\s+DATA\s+)?TYPE\b`), "changes a column's type"},
	{regexp.MustCompile(`^ALTER\s+TABLE\b.*\bSET\s+NOT\s+NULL\b`), "makes a column NOT NULL: the previous binary may write NULL"},
	{regexp.MustCompile(`^ALTER\s+TABLE\b.*\bADD\s+(CONSTRAINT|CHECK|UNIQUE|FOREIGN\s+KEY|PRIMARY\s+KEY|EXCLUDE)\b`), "adds a constraint the previous binary's writes could violate"},
	{regexp.MustCompile(`^CREATE\s+UNIQUE\s+INDEX\b`), "adds a unique index the previous binary's writes could violate"},
	{regexp.MustCompile(`^DELETE\s+FROM\b|^TRUNCATE\b`), "deletes rows the previous binary may read"},
	// SQLite's table rebuild (create the new table, copy, drop, rename)
	// is caught by DROP TABLE and RENAME above; the pragma that comes with
	// it is caught here, so a rebuild is flagged even when split oddly.
	{regexp.MustCompile(`^PRAGMA\s+FOREIGN_KEYS\s*=\s*(OFF|0)\b`), "rebuilds a table (SQLite: foreign keys off)"},
}

// addNotNullNoDefault matches ADD COLUMN ... NOT NULL without a DEFAULT:
// the previous binary's INSERTs do not name the column and would fail.
var (
	addColumnRe = regexp.MustCompile(`\bADD\s+(COLUMN\s+)?(IF\s+NOT\s+EXISTS\s+)?[A-Z_"][A-Z0-9_"]*\s+[^,]*`)
	notNullRe   = regexp.MustCompile(`\bNOT\s+NULL\b`)
	defaultRe   = regexp.MustCompile(`\bDEFAULT\b|\bGENERATED\b`)
)

// ContractStatement is a statement of an expand-marked migration that the
// previous binary may not survive.
type ContractStatement struct {
	Statement string
	Reason    string
}

// ContractStatements returns the statements of sql (a migration's Up
// section) that make it a contract migration, with the reason for each.
func ContractStatements(sql string) []ContractStatement {
	var out []ContractStatement
	for _, st := range splitStatements(sql) {
		norm := strings.ToUpper(st)
		found := false
		for _, r := range contractRules {
			if r.re.MatchString(norm) {
				out = append(out, ContractStatement{Statement: st, Reason: r.reason})
				found = true
				break
			}
		}
		if found || !strings.HasPrefix(norm, "ALTER TABLE") {
			continue
		}
		for _, add := range addColumnRe.FindAllString(norm, -1) {
			if notNullRe.MatchString(add) && !defaultRe.MatchString(add) {
				out = append(out, ContractStatement{Statement: st,
					Reason: "adds a NOT NULL column without a DEFAULT: the previous binary's INSERTs would fail"})
				break
			}
		}
	}
	return out
}

// splitStatements splits SQL into statements on semicolons outside quotes,
// comments and dollar-quoted bodies, with comments removed and whitespace
// collapsed. It is for classification, not execution.
func splitStatements(sql string) []string {
	var out []string
	var b strings.Builder
	flush := func() {
		s := strings.Join(strings.Fields(b.String()), " ")
		if s != "" {
			out = append(out, s)
		}
		b.Reset()
	}
	for i := 0; i < len(sql); i++ {
		c := sql[i]
		switch {
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
			b.WriteByte(' ')
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				i = len(sql)
			} else {
				i += end + 3
			}
			b.WriteByte(' ')
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(sql) && sql[j] != c {
				j++
			}
			b.WriteString(sql[i:min(j+1, len(sql))])
			i = j
		case c == '$':
			// Dollar quoting ($$ or $tag$), PostgreSQL function bodies.
			j := i + 1
			for j < len(sql) && (sql[j] == '_' || isAlnum(sql[j])) {
				j++
			}
			if j < len(sql) && sql[j] == '$' {
				tag := sql[i : j+1]
				end := strings.Index(sql[j+1:], tag)
				if end < 0 {
					end = len(sql) - j - 1
				}
				b.WriteString(" $BODY$ ")
				i = min(j+1+end+len(tag), len(sql)) - 1
			} else {
				b.WriteByte(c)
			}
		case c == ';':
			flush()
		default:
			b.WriteByte(c)
		}
	}
	flush()
	return out
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// CheckClass checks one migration's marking: it must declare a class, and
// an expand migration must contain no contract statement. The error says
// what to change.
func CheckClass(fsys fs.FS, name string) error {
	c, err := readClass(fsys, name)
	if err != nil {
		return err
	}
	if c == "" {
		return fmt.Errorf("migration %s declares no compatibility class: add the line %q (the previous release's binary "+
			"keeps working on the migrated schema) or %q (it does not: drops, renames, type changes, NOT NULL without "+
			"default, new constraints) at the top of the file, in both dialects; see docs/upgrading.md, \"Rolling upgrades\"",
			name, ClassMarker+string(ClassExpand), ClassMarker+string(ClassContract))
	}
	if c != ClassExpand {
		return nil
	}
	up, _, err := upSection(fsys, name)
	if err != nil {
		return err
	}
	var problems []string
	for _, s := range ContractStatements(up) {
		problems = append(problems, fmt.Sprintf("  %s\n    -> %s", s.Statement, s.Reason))
	}
	if len(problems) > 0 {
		return fmt.Errorf("migration %s is marked expand but contains contract statements:\n%s\n"+
			"mark it %q (it will be deferred to \"podium migrate schema finalize\"), or split it: an expand migration "+
			"that adds what the new code needs, and a contract migration that removes what only the old code used",
			name, strings.Join(problems, "\n"), ClassMarker+string(ClassContract))
	}
	return nil
}
