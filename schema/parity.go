package schema

import (
	"context"
	"fmt"
	"io/fs"
	"strings"

	"github.com/podiumhq/podium/dbprovider"
)

// ParityVersion is the SQLite migration that gives every column the CHECK
// constraints mirroring what PostgreSQL refuses (00035_parity.sql).
const ParityVersion int64 = 35

const parityFile = "migrations/sqlite/00035_parity.sql"

// parityRule is one named column constraint of the parity migration:
// "CONSTRAINT <column>_<rule> CHECK (<expr>)" inside "CREATE TABLE
// podium_new_<table>". The migration file is the only place the rules are
// written; the pre-check reads them from it.
type parityRule struct {
	Table, Column, Rule, Expr string
}

// parityReasons says, per rule, what a value must be and what to do.
var parityReasons = map[string]string{
	"int4":     "must be an integer from -2147483648 to 2147483647 (PostgreSQL integer)",
	"int8":     "must be an integer (PostgreSQL bigint), not text or a real number",
	"bool":     "must be 0 or 1 (PostgreSQL boolean)",
	"time":     "must be a UTC time in the form 'YYYY-MM-DD HH:MM:SS[.ffffff]+00:00', a real date and time from year 0001 (PostgreSQL timestamptz)",
	"text":     "must be text without NUL bytes (PostgreSQL text)",
	"key":      "must be text without NUL bytes, at most 2048 bytes (PostgreSQL text in a key or index)",
	"json":     "must be valid JSON text without \\u0000 and without \\uD800-\\uDFFF escapes (PostgreSQL jsonb)",
	"bytea":    "must be a blob (PostgreSQL bytea)",
	"keybytea": "must be a blob of at most 2048 bytes (PostgreSQL bytea in a key)",
}

// ParityReason explains a rule of the parity migration ("json", "int4",
// ...), as named in its constraints.
func ParityReason(rule string) string {
	if r, ok := parityReasons[rule]; ok {
		return r
	}
	return "violates CHECK constraint " + rule
}

func parityRules() ([]parityRule, error) {
	b, err := fs.ReadFile(embedded, parityFile)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	src := string(b)
	if i := strings.Index(src, "-- +goose Down"); i >= 0 {
		src = src[:i]
	}
	var out []parityRule
	const create = "CREATE TABLE podium_new_"
	for _, part := range strings.Split(src, create)[1:] {
		table := part[:strings.IndexAny(part, " (")]
		body := part
		for {
			i := strings.Index(body, "CONSTRAINT ")
			if i < 0 {
				break
			}
			body = body[i+len("CONSTRAINT "):]
			name := body[:strings.IndexByte(body, ' ')]
			j := strings.Index(body, "CHECK (")
			if j < 0 {
				return nil, fmt.Errorf("schema: %s: constraint %s has no CHECK", parityFile, name)
			}
			expr, ok := balanced(body[j+len("CHECK "):])
			if !ok {
				return nil, fmt.Errorf("schema: %s: constraint %s: unbalanced parentheses", parityFile, name)
			}
			k := strings.LastIndexByte(name, '_')
			if k < 0 {
				return nil, fmt.Errorf("schema: %s: constraint %s is not named <column>_<rule>", parityFile, name)
			}
			out = append(out, parityRule{Table: table, Column: name[:k], Rule: name[k+1:], Expr: expr})
			body = body[j:]
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("schema: %s: no constraints found", parityFile)
	}
	return out, nil
}

// balanced returns the parenthesized expression at the start of s,
// parentheses included, skipping quoted strings.
func balanced(s string) (string, bool) {
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return s[:i+1], true
			}
		}
	}
	return "", false
}

// ParityViolation is an existing row that a parity constraint would
// refuse, or a row whose foreign key points nowhere (Rule "foreign_key").
type ParityViolation struct {
	Table  string `json:"table"`
	Key    string `json:"key"`
	Column string `json:"column"`
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
}

func (v ParityViolation) String() string {
	return fmt.Sprintf("table %s, row %s, column %s: %s", v.Table, v.Key, v.Column, v.Reason)
}

// ParityChecks are the parity migration's constraints as the checks of
// [dbprovider.Provider.ConstraintCheck], which lists the rows they would
// refuse, every text value that is not valid UTF-8 and every foreign key
// that points nowhere (the migration's foreign_key_check would refuse
// those). "podium migrate db --check" runs them on its source's snapshot
// transaction (sqlite.ConstraintCheckOn), schema's own steps on a
// provider (checkParity).
func ParityChecks() ([]dbprovider.ColumnCheck, error) {
	rules, err := parityRules()
	if err != nil {
		return nil, err
	}
	checks := make([]dbprovider.ColumnCheck, len(rules))
	for i, r := range rules {
		checks[i] = dbprovider.ColumnCheck{Table: r.Table, Column: r.Column, Rule: r.Rule, Expr: r.Expr,
			Text: r.Rule == "text" || r.Rule == "key" || r.Rule == "json"}
	}
	return checks, nil
}

// ParityViolationsOf gives each violation the check of [ParityChecks]
// found the reason it is refused. Values are not included: they may be
// secrets.
func ParityViolationsOf(cvs []dbprovider.ConstraintViolation) []ParityViolation {
	out := make([]ParityViolation, len(cvs))
	for i, v := range cvs {
		out[i] = ParityViolation{Table: v.Table, Key: v.Key, Column: v.Column, Rule: v.Rule, Reason: violationReason(v.Rule, v.Column)}
	}
	return out
}

// checkParity lists every row of the database of p that the parity
// migration's constraints would refuse ([ParityChecks]), except in the
// tables of skip (rebuilt already by an interrupted upgrade: their
// constraints hold). Tables the database does not have are skipped.
func checkParity(ctx context.Context, p dbprovider.Provider, skip map[string]bool) ([]ParityViolation, error) {
	all, err := ParityChecks()
	if err != nil {
		return nil, err
	}
	var checks []dbprovider.ColumnCheck
	for _, c := range all {
		if !skip[c.Table] {
			checks = append(checks, c)
		}
	}
	cvs, err := p.ConstraintCheck(ctx, checks)
	if err != nil {
		return nil, fmt.Errorf("schema: parity check: %w", err)
	}
	return ParityViolationsOf(cvs), nil
}

// violationReason says what a value must be, for a rule of the parity
// migration or one of the two checks beside them ("utf8",
// "foreign_key", whose column is "references <table>").
func violationReason(rule, column string) string {
	switch rule {
	case "utf8":
		return "text is not valid UTF-8, which PostgreSQL refuses"
	case "foreign_key":
		return "refers to a row of " + strings.TrimPrefix(column, "references ") + " that does not exist (PostgreSQL enforces foreign keys)"
	}
	return ParityReason(rule)
}
