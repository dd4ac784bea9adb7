package schema_test

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/sqlite"
	"github.com/podiumhq/podium/schema"
	_ "modernc.org/sqlite"
)

// TestCheckExprAgreesWithRule: the row check of the SQLite provider
// (sqlite.ConstraintCheckOn, which evaluates a cheaper form of each time
// rule of 00035, its checkExpr) refuses exactly the values the rule
// does, over every combination of edge fields (year 0000, leap days, day
// 31 of a short month, hour 24, second 60, fractions, other zones).
func TestCheckExprAgreesWithRule(t *testing.T) {
	checks, err := schema.ParityChecks()
	if err != nil {
		t.Fatal(err)
	}
	var rule dbprovider.ColumnCheck
	for _, c := range checks {
		if c.Rule == "time" {
			rule = c
			break
		}
	}
	// The form the check rewrites (sqlite's checkExpr): without it the
	// check would evaluate the rule itself and this test would try nothing.
	if !strings.Contains(rule.Expr, "strftime('%Y-%m-%d %H:%M:%S', ") {
		t.Fatalf("the time rule has no strftime for the check to rewrite: %s", rule.Expr)
	}
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(fmt.Sprintf("CREATE TABLE v (%s)", rule.Column)); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	st, err := tx.Prepare("INSERT INTO v VALUES (?)")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	add := func(v any) {
		if _, err := st.Exec(v); err != nil {
			t.Fatal(err)
		}
		n++
	}
	for _, v := range []any{nil, 20260101, 1.5, []byte("2026-01-01 00:00:00+00:00"), "", "2026-01-01", "2026-01-01T00:00:00+00:00"} {
		add(v)
	}
	for _, y := range []string{"0000", "0001", "1582", "1900", "2000", "2024", "2026", "9999"} {
		for _, m := range []string{"00", "01", "02", "04", "12", "13"} {
			for _, d := range []string{"00", "01", "28", "29", "30", "31", "32"} {
				for _, hms := range []string{"00:00:00", "23:59:59", "24:00:00", "23:60:00", "23:59:60", "12:30:61"} {
					for _, tail := range []string{"+00:00", ".5+00:00", ".123456+00:00", ".1234567890+00:00", ".+00:00", ".5x+00:00", "Z", "+01:00", "", " +00:00"} {
						add(y + "-" + m + "-" + d + " " + hms + tail)
					}
				}
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(fmt.Sprintf("SELECT rowid FROM v WHERE (%s) IS 0", rule.Expr))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf("(rowid=%d)", id))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	rule.Table = "v"
	vs, err := sqlite.ConstraintCheckOn(t.Context(), db, []dbprovider.ColumnCheck{rule})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs {
		if v.Column != rule.Column || v.Rule != "time" {
			t.Errorf("violation %+v, want only column %s, rule time", v, rule.Column)
		}
		got = append(got, v.Key)
	}
	if !slices.Equal(got, want) {
		var differ []string
		for _, k := range got {
			if !slices.Contains(want, k) {
				differ = append(differ, k+" refused by the check only")
			}
		}
		for _, k := range want {
			if !slices.Contains(got, k) {
				differ = append(differ, k+" refused by the rule only")
			}
		}
		t.Errorf("%d of %d values judged differently, for example %s", len(differ), n, strings.Join(differ[:min(5, len(differ))], ", "))
	}
	if len(want) == 0 || len(want) == n {
		t.Errorf("the rule refuses %d of %d values: the set tries nothing", len(want), n)
	}
	t.Logf("%d values, %d refused by both", n, len(want))
}
