package migrate

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/podiumhq/podium"
)

// table is one table to copy, described by the target's catalog.
type table struct {
	Name    string
	Columns []column
	// PK holds the indexes in Columns of the primary key, in key order
	// (every column when a table has no primary key).
	PK []int
	// Refs are the tables this one references by foreign key.
	Refs []string
	// Sequences are the identity and serial columns to reset after the copy.
	Sequences []sequenceColumn
}

// sequenceColumn is a column whose values come from a sequence.
type sequenceColumn struct {
	Column   string
	Identity bool   // GENERATED ... AS IDENTITY; else a serial's Sequence
	Sequence string // owned sequence of a serial column (qualified, quoted)
}

func (t *table) selectList() string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = quoteIdent(c.Name)
	}
	return strings.Join(names, ", ")
}

// sourceSelectList is selectList for reading SQLite. Time columns are read
// as an expression, +column (SQLite's unary plus returns its operand
// unchanged, whatever its type, and costs nothing), which has no declared
// type, so the driver hands over the stored text instead of trying its list
// of layouts on every value: encode parses Podium's one format directly
// (and falls back to the others).
func (t *table) sourceSelectList() string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = quoteIdent(c.Name)
		if c.kind == kindTimestamptz || c.kind == kindTimestamp {
			names[i] = "+" + quoteIdent(c.Name)
		}
	}
	return strings.Join(names, ", ")
}

func (t *table) columnNames() []string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return names
}

// orderBy is the primary key order. On PostgreSQL text keys compare in the
// "C" collation: bytewise, as SQLite's default BINARY collation does, so
// both sides list the rows in the same order whatever the database's
// locale.
func (t *table) orderBy(pg bool) string {
	parts := make([]string, len(t.PK))
	for i, k := range t.PK {
		c := t.Columns[k]
		parts[i] = quoteIdent(c.Name)
		if pg && (c.kind == kindText) {
			parts[i] += ` COLLATE "C"`
		}
	}
	return strings.Join(parts, ", ")
}

// rowError names the table, the row's key and the column of a value that
// cannot be copied, and says what to do.
func (t *table) rowError(vals []driver.Value, err error) error {
	var ve *valueError
	if !errors.As(err, &ve) {
		return fmt.Errorf("migrate db: table %s: %w", t.Name, err)
	}
	return podium.Errorf(podium.EREFUSED,
		"migrate db: nothing was written: table %s, row %s, column %s: %s. What to do: %s",
		t.Name, t.keyString(vals), ve.Column, ve.Reason, ve.Fix)
}

func (t *table) keyString(vals []driver.Value) string {
	parts := make([]string, len(t.PK))
	for i, k := range t.PK {
		v := vals[k]
		s := fmt.Sprint(v)
		switch x := v.(type) {
		case string:
			s = fmt.Sprintf("%q", x)
		case []byte:
			s = fmt.Sprintf("x'%x'", x)
		}
		parts[i] = t.Columns[k].Name + "=" + s
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// sortByForeignKeys orders tables so that every table comes after those it
// references, ties broken by name. A reference cycle is an error: the
// constraints are not deferrable, so no order could load it.
func sortByForeignKeys(tables []*table) ([]*table, error) {
	byName := map[string]*table{}
	for _, t := range tables {
		byName[t.Name] = t
	}
	sorted := make([]*table, 0, len(tables))
	state := map[string]int{} // 0 new, 1 visiting, 2 done
	var visit func(t *table, path []string) error
	visit = func(t *table, path []string) error {
		switch state[t.Name] {
		case 1:
			return fmt.Errorf("migrate db: foreign keys form a cycle: %s", strings.Join(append(path, t.Name), " -> "))
		case 2:
			return nil
		}
		state[t.Name] = 1
		refs := slices.Clone(t.Refs)
		sort.Strings(refs)
		for _, r := range refs {
			if r == t.Name {
				continue // a self-reference: rows are in key order, parents usually first
			}
			if rt, ok := byName[r]; ok {
				if err := visit(rt, append(path, t.Name)); err != nil {
					return err
				}
			}
		}
		state[t.Name] = 2
		sorted = append(sorted, t)
		return nil
	}
	names := make([]string, 0, len(tables))
	for _, t := range tables {
		names = append(names, t.Name)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := visit(byName[n], nil); err != nil {
			return nil, err
		}
	}
	return sorted, nil
}
