package schema

import (
	"bufio"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"github.com/pressly/goose/v3"
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

// lockRules are statements an expand migration may not run on PostgreSQL
// beside live nodes, because they hold a lock that stops requests for as
// long as they run (a table rewrite, an index build without CONCURRENTLY).
// Matched like contractRules; %s in the fix is the table.
var lockRules = []struct {
	re          *regexp.Regexp
	reason, fix string
}{
	{regexp.MustCompile(`^LOCK\b`), "locks a table explicitly for the rest of the transaction",
		"remove the LOCK: every statement takes the lock it needs, for as short a time as it can"},
	{regexp.MustCompile(`^VACUUM\b.*\bFULL\b|^CLUSTER\b`), "rewrites a table under an exclusive lock",
		"run it by hand at a quiet time, not in a migration"},
	{regexp.MustCompile(`^REINDEX\b`), "rebuilds an index under a lock that blocks writes",
		"write REINDEX ... CONCURRENTLY in a migration marked -- +goose NO TRANSACTION, or run it by hand"},
	{regexp.MustCompile(`^ALTER\s+TABLE\b.*\bSET\s+(TABLESPACE|LOGGED|UNLOGGED)\b`), "rewrites a table under an exclusive lock",
		"run it by hand at a quiet time, not in a migration"},
	{regexp.MustCompile(`^ALTER\s+TABLE\b.*\bADD\b.*\bDEFAULT\s+\(?\s*(NOW|CLOCK_TIMESTAMP|STATEMENT_TIMESTAMP|TIMEOFDAY|RANDOM|GEN_RANDOM_UUID|UUID_GENERATE_\w+|NEXTVAL)\s*\(`),
		"adds a column with a volatile default: PostgreSQL rewrites the whole table under an exclusive lock",
		"add the column without a default (or with a constant one), then fill it in batches from the code or a later migration"},
}

var (
	alterTableRe   = regexp.MustCompile(`^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?("[^"]+"|[A-Z0-9_.]+)`)
	createTableRe  = regexp.MustCompile(`^CREATE\s+(?:UNLOGGED\s+)?TABLE\s+(IF\s+NOT\s+EXISTS\s+)?("[^"]+"|[A-Z0-9_.]+)`)
	createIndexRe  = regexp.MustCompile(`^CREATE\s+(?:UNIQUE\s+)?INDEX\s+(CONCURRENTLY\s+)?(IF\s+NOT\s+EXISTS\s+)?(?:("[^"]+"|[A-Z0-9_.]+)\s+)?ON\s+(?:ONLY\s+)?("[^"]+"|[A-Z0-9_.]+)`)
	referencesRe   = regexp.MustCompile(`\bREFERENCES\s+("[^"]+"|[A-Z0-9_.]+)`)
	addColumnIfRe  = regexp.MustCompile(`\bADD\s+(COLUMN\s+)?IF\s+NOT\s+EXISTS\b`)
	addColumnAnyRe = regexp.MustCompile(`\bADD\s+(COLUMN\b|[A-Z_"][A-Z0-9_"]*\s+[A-Z])`)
)

// LockStatement is a statement of an expand migration that would hold a
// lock requests wait behind: why, and how to write it instead.
type LockStatement struct {
	Statement string
	Reason    string
	Fix       string
}

// LockStatements returns the statements of a PostgreSQL expand migration's
// Up section (sql; noTx when it is marked -- +goose NO TRANSACTION) that
// would make requests wait or deadlock while it runs beside live nodes:
//
//   - in one transaction, strong locks on more than one existing table (a
//     request that uses two of them can deadlock with the migration, as a
//     login or an API-key lookup did), a table referenced by a new foreign
//     key (of a new column or a new table) counting as locked;
//   - an index built without CONCURRENTLY on an existing table (writes wait
//     for the whole build), or CONCURRENTLY inside a transaction (which
//     PostgreSQL refuses);
//   - a table rewrite, an explicit LOCK;
//   - in a NO TRANSACTION migration, a statement that cannot run twice
//     (no IF NOT EXISTS): such a migration is tried again from its first
//     statement after giving up on a lock.
//
// Tables the migration creates itself do not count: nobody else uses them
// yet.
func LockStatements(sql string, noTx bool) []LockStatement {
	var out []LockStatement
	created := map[string]bool{}
	var locked []string
	lockedStmt := map[string]string{}
	lock := func(table, st string) {
		if created[table] {
			return
		}
		if _, ok := lockedStmt[table]; !ok {
			locked = append(locked, table)
			lockedStmt[table] = st
		}
	}
	for _, st := range splitStatements(sql) {
		norm := strings.ToUpper(st)
		for _, r := range lockRules {
			if r.re.MatchString(norm) {
				out = append(out, LockStatement{Statement: st, Reason: r.reason, Fix: r.fix})
			}
		}
		if m := createTableRe.FindStringSubmatch(norm); m != nil {
			created[tableName(m[2])] = true
			if noTx && m[1] == "" {
				out = append(out, LockStatement{Statement: st, Reason: "cannot run twice: a NO TRANSACTION migration is tried again from its first statement after giving up on a lock",
					Fix: "write CREATE TABLE IF NOT EXISTS"})
			}
			// A foreign key locks the table it references (SHARE ROW
			// EXCLUSIVE: no writes) until the transaction ends.
			for _, ref := range referencesRe.FindAllStringSubmatch(norm, -1) {
				lock(tableName(ref[1]), st)
			}
			continue
		}
		if m := createIndexRe.FindStringSubmatch(norm); m != nil {
			table := tableName(m[4])
			switch {
			case m[1] == "" && !created[table]:
				out = append(out, LockStatement{Statement: st,
					Reason: "builds an index without CONCURRENTLY: every write to " + table + " waits for the whole build",
					Fix:    "write CREATE INDEX CONCURRENTLY IF NOT EXISTS in a migration marked -- +goose NO TRANSACTION"})
			case m[1] != "" && !noTx:
				out = append(out, LockStatement{Statement: st, Reason: "CREATE INDEX CONCURRENTLY cannot run inside a transaction",
					Fix: "mark the migration -- +goose NO TRANSACTION and write CREATE INDEX CONCURRENTLY IF NOT EXISTS"})
			case noTx && m[2] == "":
				fix := "write CREATE INDEX IF NOT EXISTS"
				if m[1] != "" {
					fix = "write CREATE INDEX CONCURRENTLY IF NOT EXISTS"
				}
				out = append(out, LockStatement{Statement: st, Reason: "cannot run twice: a NO TRANSACTION migration is tried again from its first statement after giving up on a lock",
					Fix: fix})
			}
			continue
		}
		m := alterTableRe.FindStringSubmatch(norm)
		if m == nil {
			continue
		}
		lock(tableName(m[1]), st)
		for _, ref := range referencesRe.FindAllStringSubmatch(norm, -1) {
			lock(tableName(ref[1]), st)
		}
		if noTx && addColumnAnyRe.MatchString(norm) && !addColumnIfRe.MatchString(norm) {
			out = append(out, LockStatement{Statement: st, Reason: "cannot run twice: a NO TRANSACTION migration is tried again from its first statement after giving up on a lock",
				Fix: "write ADD COLUMN IF NOT EXISTS"})
		}
	}
	if !noTx && len(locked) > 1 {
		for _, t := range locked {
			out = append(out, LockStatement{Statement: lockedStmt[t],
				Reason: fmt.Sprintf("takes an exclusive lock on %s while the same transaction locks %d tables (%s): a request that uses two of them can deadlock with the migration",
					t, len(locked), strings.Join(locked, ", ")),
				Fix: "change one table per migration, or mark the migration -- +goose NO TRANSACTION (each statement then commits alone) and write ADD COLUMN IF NOT EXISTS"})
		}
	}
	return out
}

func tableName(s string) string {
	if strings.HasPrefix(s, `"`) {
		return strings.Trim(s, `"`)
	}
	s = strings.ToLower(s)
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// CheckMigration is [CheckClass] plus, for an expand migration of the
// PostgreSQL dialect, the lock check ([LockStatements]): an expand
// migration runs beside live nodes, so it must not hold a lock that stops
// their requests. The error names each statement and the fix.
func CheckMigration(gooseDialect string, fsys fs.FS, name string) error {
	if err := CheckClass(fsys, name); err != nil {
		return err
	}
	if gooseDialect != string(goose.DialectPostgres) {
		return nil
	}
	c, err := readClass(fsys, name)
	if err != nil || c != ClassExpand {
		return err
	}
	up, noTx, err := upSection(fsys, name)
	if err != nil {
		return err
	}
	var problems []string
	for _, s := range LockStatements(up, noTx) {
		problems = append(problems, fmt.Sprintf("  %s\n    -> %s\n    fix: %s", s.Statement, s.Reason, s.Fix))
	}
	if len(problems) > 0 {
		return fmt.Errorf("migration %s is marked expand, so it runs while other nodes serve, but it would hold locks that "+
			"stop their requests:\n%s\nsee docs/upgrading.md, \"Writing an expand migration\"", name, strings.Join(problems, "\n"))
	}
	return nil
}
