package schema

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// TestCheckExprAgreesWithRule: the row check's cheaper form of each time
// rule of 00035 ([checkExpr]) accepts and refuses exactly the values the
// rule does, over every combination of edge fields (year 0000, leap days,
// day 31 of a short month, hour 24, second 60, fractions, other zones).
func TestCheckExprAgreesWithRule(t *testing.T) {
	rules, err := parityRules()
	if err != nil {
		t.Fatal(err)
	}
	var rule parityRule
	for _, r := range rules {
		if r.Rule == "time" {
			rule = r
			break
		}
	}
	fast := checkExpr(rule.Expr)
	if fast == rule.Expr {
		t.Fatalf("checkExpr left the time rule as it is: %s", rule.Expr)
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
	var differ, accepted int
	if err := db.QueryRow(fmt.Sprintf("SELECT count(*) FILTER (WHERE (%s) IS NOT (%s)), count(*) FILTER (WHERE (%s) IS 1) FROM v",
		rule.Expr, fast, rule.Expr)).Scan(&differ, &accepted); err != nil {
		t.Fatal(err)
	}
	if differ != 0 {
		rows, _ := db.Query(fmt.Sprintf("SELECT quote(%s) FROM v WHERE (%s) IS NOT (%s) LIMIT 5", rule.Column, rule.Expr, fast))
		var ex []string
		for rows != nil && rows.Next() {
			var s string
			_ = rows.Scan(&s)
			ex = append(ex, s)
		}
		t.Errorf("%d of %d values judged differently, for example %s", differ, n, strings.Join(ex, ", "))
	}
	if accepted == 0 || accepted == n {
		t.Errorf("the rule accepts %d of %d values: the set tries nothing", accepted, n)
	}
	t.Logf("%d values, %d accepted by both", n, accepted)
}
