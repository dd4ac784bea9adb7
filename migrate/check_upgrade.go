package migrate

import (
	"context"
	"fmt"
	"os"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/schema"
)

// The parts of the preflight that concern the schema upgrade the real run
// applies to a source that is behind this binary (issue 32): what it
// cleans instead of refusing, and what it costs.

// cleanedByUpgrade reports whether a value the check found is one of
// Podium's own output or runtime state that the real run's schema upgrade
// cleans (schema.OwnText, schema.OwnRange), and counts it once.
func (c *checkState) cleanedByUpgrade(table, key, column string) bool {
	if !c.behind || !schema.IsOwnData(table, column) {
		return false
	}
	k := [3]string{table, key, column}
	if !c.seen[k] {
		c.seen[k] = true
		if c.rep.CleanedByUpgrade == nil {
			c.rep.CleanedByUpgrade = map[string]int64{}
		}
		c.rep.CleanedByUpgrade[table+"."+column]++
	}
	return true
}

// addSchemaUpgrade adds the source's schema upgrade to the estimate, and
// reports a lack of free space for it as a problem, as the real run would
// refuse it.
func addSchemaUpgrade(ctx context.Context, src *source, rep *CheckReport) error {
	if src.version >= schema.Latest() {
		return nil
	}
	var size int64
	if fi, err := os.Stat(src.path); err == nil {
		size = fi.Size()
	}
	e, err := schema.EstimateUpgrade(ctx, src.tx, src.version, size)
	if err != nil {
		return fmt.Errorf("migrate db: %w", err)
	}
	rep.SchemaUpgradeSeconds = e.Duration.Seconds()
	rep.EstimatedSeconds += rep.SchemaUpgradeSeconds
	// The real run upgrades the file first, and that refuses without the
	// free space it needs.
	if err := schema.CheckDiskSpace(src.path); err != nil {
		rep.Problems = append(rep.Problems, "source: "+podium.ErrorMessage(err))
	}
	return nil
}
