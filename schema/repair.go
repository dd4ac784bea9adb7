package schema

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
)

// RepairColumn is what "podium migrate schema repair" does (or, dry, would
// do) to one column of a SQLite database whose values the parity
// migration refuses.
type RepairColumn struct {
	Table  string `json:"table"`
	Column string `json:"column"`
	Rule   string `json:"rule"`
	// Found is the number of values the check refuses; Fixed those the
	// repair changed (or would change); the rest need a hand.
	Found int64  `json:"found"`
	Fixed int64  `json:"fixed"`
	Fix   string `json:"fix"`
}

// RepairReport is the result of [Repair].
type RepairReport struct {
	DryRun  bool           `json:"dry_run"`
	Columns []RepairColumn `json:"columns"`
	// Left counts the values no repair can fix (a time in another form, a
	// JSON text that does not parse, a foreign key to nowhere, ...).
	Left int `json:"left"`
	// File lists every value found, one per line (no values: they may be
	// secrets).
	File string `json:"file"`
}

// fixes says what the repair does per rule; a rule not here is left to a
// hand.
var fixes = map[string]string{
	"text": "NUL bytes removed",
	"key":  "NUL bytes removed",
	"utf8": "invalid UTF-8 replaced with U+FFFD",
	"int4": "clamped to -2147483648..2147483647",
}

// Repair fixes, on the administrator's request, the values of a SQLite
// database that the parity migration refuses and that have one safe fix:
// text without NUL bytes, invalid UTF-8 shown as U+FFFD (as Podium cleans
// its own output), integers clamped into PostgreSQL's integer range.
// Everything else is listed, in the report and in the file it writes to
// dir, for a hand to fix. dry changes nothing. On PostgreSQL there is
// nothing to repair (EUNSUPPORTED).
func Repair(ctx context.Context, p dbprovider.Provider, dry bool, dir string) (*RepairReport, error) {
	if p.EnforcesColumnTypes() {
		return nil, podium.Errorf(podium.EUNSUPPORTED, "repair: %s holds only what PostgreSQL accepts: nothing to repair", p.Describe())
	}
	vs, err := checkParity(ctx, p, nil)
	if err != nil {
		return nil, err
	}
	rep := &RepairReport{DryRun: dry, Columns: []RepairColumn{}}
	type key struct{ table, column, rule string }
	found := map[key]int64{}
	for _, v := range vs {
		found[key{v.Table, v.Column, v.Rule}]++
	}
	keys := make([]key, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].table+"."+keys[i].column+"."+keys[i].rule < keys[j].table+"."+keys[j].column+"."+keys[j].rule
	})
	cleaned := map[[2]string]OwnRepair{}
	// A table's text columns are cleaned together (one UPDATE per row).
	textColumns := func(keys []key, table string) []string {
		var out []string
		for _, k := range keys {
			if k.table == table && (k.rule == "text" || k.rule == "key" || k.rule == "utf8") && !slices.Contains(out, k.column) {
				out = append(out, k.column)
			}
		}
		return out
	}
	for _, k := range keys {
		c := RepairColumn{Table: k.table, Column: k.column, Rule: k.rule, Found: found[k], Fix: fixes[k.rule]}
		switch k.rule {
		case "text", "key", "utf8":
			if _, done := cleaned[[2]string{k.table, k.column}]; !done {
				reps, err := cleanTextColumns(ctx, p, k.table, textColumns(keys, k.table), dry, nil)
				if err != nil {
					return rep, err
				}
				for _, r := range reps {
					cleaned[[2]string{r.Table, r.Column}] = r
				}
			}
			r := cleaned[[2]string{k.table, k.column}]
			if k.rule == "utf8" {
				c.Fixed = min(r.Invalid, c.Found)
			} else {
				c.Fixed = min(r.NUL, c.Found)
			}
		case "int4":
			r, err := clampColumn(ctx, p, k.table, k.column, math.MinInt32, math.MaxInt32, dry)
			if err != nil {
				return rep, err
			}
			c.Fixed = min(r.Clamped, c.Found)
		default:
			c.Fix = "cannot be repaired safely: correct or delete the rows listed in the file"
		}
		rep.Left += int(c.Found - c.Fixed)
		rep.Columns = append(rep.Columns, c)
	}
	if len(vs) > 0 {
		if dir == "" {
			dir = reportDir(p, Options{})
		}
		f, err := os.CreateTemp(dir, "podium-repair-"+time.Now().UTC().Format("20060102T150405Z")+"-*.tsv")
		if err != nil {
			return rep, fmt.Errorf("repair: %w", err)
		}
		var b strings.Builder
		b.WriteString("table\tkey\tcolumn\trule\treason\trepair\n")
		for _, v := range vs {
			fix := fixes[v.Rule]
			if fix == "" {
				fix = "by hand"
			}
			fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\t%s\n", v.Table, v.Key, v.Column, v.Rule, v.Reason, fix)
		}
		_, werr := f.WriteString(b.String())
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return rep, fmt.Errorf("repair: %w", werr)
		}
		rep.File = f.Name()
	}
	return rep, nil
}
