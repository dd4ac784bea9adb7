package dbprovidertest

import (
	"database/sql"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/podiumhq/podium/dbprovider"
)

// historyTables are the tables that grow with the history.
var historyTables = map[string]bool{"jobs": true, "renders": true, "job_attempts": true}

// sqliteScan matches SQLite's plan line for reading a whole table or a
// whole index ("SCAN renders", "SCAN j USING INDEX jobs_due_id"), as
// opposed to a SEARCH through an index. The aliases are the ones the
// queries use for jobs (j) and renders (r).
var sqliteScan = regexp.MustCompile(`^SCAN (jobs|renders|job_attempts|j|r)\b`)

// testHotQueriesUseIndexes EXPLAINs every query the scheduler and the
// dashboard run on jobs, renders and job_attempts and fails when one reads
// a whole history table: a sequential scan, or a full index scan that
// filters rows (on PostgreSQL, with enable_seqscan off, so that the check
// does not depend on the empty tables' statistics), or a SCAN on SQLite. A
// full index scan is allowed only where the index gives the page's order
// and a LIMIT stops it (HotQuery.Ordered: the newest jobs of every report).
func testHotQueriesUseIndexes(t *testing.T, p dbprovider.Provider) {
	hq, ok := p.(interface{ HotQueries() []dbprovider.HotQuery })
	if !ok {
		t.Fatalf("%T does not list its hot queries (sqlstore.Store.HotQueries)", p)
	}
	// The plans are read on the provider's own handle, which is not part
	// of dbprovider.Provider: both dialects' providers have it.
	raw, ok := p.(interface{ DB() *sql.DB })
	if !ok {
		t.Fatalf("%T has no DB handle to explain its queries on", p)
	}
	ctx := ctxT(t)
	for _, q := range hq.HotQueries() {
		t.Run(q.Name, func(t *testing.T) {
			tx, err := raw.DB().BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback() }()
			pg := p.Name() == dbprovider.Postgres
			explain := "EXPLAIN QUERY PLAN "
			if pg {
				explain = "EXPLAIN (FORMAT JSON) "
				if _, err := tx.ExecContext(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
					t.Fatal(err)
				}
			}
			rows, err := tx.QueryContext(ctx, explain+q.SQL, q.Args...)
			if err != nil {
				t.Fatalf("explain: %v\n%s", err, q.SQL)
			}
			defer rows.Close()
			cols, _ := rows.Columns()
			var plan []string
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				line := vals[len(vals)-1] // PostgreSQL: the JSON; SQLite: detail
				if b, ok := line.([]byte); ok {
					line = string(b)
				}
				plan = append(plan, strings.TrimSpace(line.(string)))
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if len(plan) == 0 {
				t.Fatal("empty plan")
			}
			var bad []string
			if pg {
				var doc []struct{ Plan pgPlan }
				if err := json.Unmarshal([]byte(strings.Join(plan, "")), &doc); err != nil || len(doc) != 1 {
					t.Fatalf("cannot read the plan: %v\n%s", err, plan)
				}
				bad = doc[0].Plan.fullScans(q.Ordered, false)
			} else {
				for _, l := range plan {
					if sqliteScan.MatchString(l) && !(q.Ordered && strings.Contains(l, " USING ")) {
						bad = append(bad, l)
					}
				}
			}
			if q.Index != "" && !strings.Contains(strings.Join(plan, "\n"), q.Index) {
				bad = append(bad, "does not use index "+q.Index)
			}
			if len(bad) > 0 {
				t.Errorf("%s reads a whole history table (%s): add or fix an index\nquery: %s\nplan:\n  %s",
					q.Name, strings.Join(bad, "; "), q.SQL, strings.Join(plan, "\n  "))
			}
		})
	}
}

// pgPlan is the part of a PostgreSQL JSON plan node the check reads.
type pgPlan struct {
	NodeType  string   `json:"Node Type"`
	Relation  string   `json:"Relation Name"`
	IndexName string   `json:"Index Name"`
	IndexCond string   `json:"Index Cond"`
	Filter    string   `json:"Filter"`
	Plans     []pgPlan `json:"Plans"`
}

// fullScans returns the nodes under n that read a whole history table:
// sequential scans, and index scans without an index condition that
// filter rows or are not the ordered input of a LIMIT (limited: a Limit
// above, with nothing in between that reads all its input first).
func (n pgPlan) fullScans(ordered, limited bool) []string {
	var out []string
	if historyTables[n.Relation] {
		switch n.NodeType {
		case "Seq Scan":
			out = append(out, "Seq Scan on "+n.Relation)
		case "Index Scan", "Index Only Scan":
			if n.IndexCond == "" && (n.Filter != "" || !(ordered && limited)) {
				out = append(out, "full scan of index "+n.IndexName+" on "+n.Relation)
			}
		}
	}
	switch n.NodeType {
	case "Limit":
		limited = true
	case "Sort", "Incremental Sort", "Hash", "Aggregate", "Materialize", "Hash Join", "Merge Join":
		limited = false
	}
	for i := range n.Plans {
		out = append(out, n.Plans[i].fullScans(ordered, limited)...)
	}
	return out
}
