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
