package dbprovider

// TableRebuildStep is one table of a migration that rebuilds tables
// (SQLite can add a constraint to a table only by rebuilding it).
type TableRebuildStep struct {
	Table string
	// SQL creates the new table, copies the rows, drops the old table,
	// renames the new one and creates its indexes: the migration's own
	// statements for this table.
	SQL string
	// Marker is the name of a constraint only the rebuilt table has: a
	// table whose definition names it was rebuilt by an earlier,
	// interrupted run, and is skipped.
	Marker string
}

// TableRebuildParams is a migration run as one committed transaction
// per table ([Provider.TableRebuild]).
type TableRebuildParams struct {
	// Version is recorded in goose's version table once every step is
	// done and no foreign key points nowhere.
	Version int64
	Steps   []TableRebuildStep
	// Plan, when not nil, is called once before the first step, with
	// the tables still to rebuild (in order), the rows of each, and how
	// many steps an earlier run did already.
	Plan func(tables []string, rows []int64, skipped int)
	// Begin and End, when not nil, are called before each table's step
	// and after it committed.
	Begin, End func(table string)
}

// ColumnCheck is a constraint a migration adds to a column, to check the
// rows a database holds against it before ([Provider.ConstraintCheck]).
type ColumnCheck struct {
	Table, Column string
	// Rule names the constraint's kind in the violations reported.
	Rule string
	// Expr is the constraint's SQL expression, true for a value it
	// accepts (a CHECK's, in the dialect's SQL).
	Expr string
	// Text: the column holds text, whose values are also checked for
	// valid UTF-8 (Rule "utf8" when not), which no SQL function sees.
	Text bool
}

// ConstraintViolation is a row that a ColumnCheck refuses, a text value
// that is not valid UTF-8 (Rule "utf8"), or a row whose foreign key
// points nowhere (Rule "foreign_key", Column "references <table>").
type ConstraintViolation struct {
	Table string
	// Key names the row: "(id=5)", "(rowid=3)", "(k=\"a\", n=2)".
	Key    string
	Column string
	Rule   string
}

// TextCleanParams rewrites the text values of some columns of a table
// ([Provider.TextClean]).
type TextCleanParams struct {
	Table string
	// Columns to clean; those the table does not have are skipped.
	Columns []string
	// Clean returns the value of Columns[column] cleaned; a row whose
	// values it all returns unchanged is not written. It is called only
	// for values that may need it (text that is not plain ASCII, or holds
	// a NUL byte), even when Dry.
	Clean func(column int, value string) string
	// Dry writes nothing.
	Dry bool
	// Batch is how many rows one committed transaction writes, so that a
	// run interrupted by a kill keeps what it did.
	Batch int
	// Progress, when not nil, is called after each full batch with a
	// position that grows (the last row read).
	Progress func(position int64)
}
