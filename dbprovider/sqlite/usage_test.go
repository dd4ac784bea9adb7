package sqlite_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/dbprovider/dbprovidertest"
	"github.com/podiumhq/podium/internal/testutil"
)

// TestUsageInsertsAtOnce: usage batches written at once from several
// goroutines, of sizes whose statements are not yet prepared, all succeed.
// A batch of several statements holds the writer's only connection in its
// transaction while it looks up its prepared statements; a statement
// prepared meanwhile must not hold that lookup's lock while it waits for
// the connection, or each waits for the other until the context ends.
func TestUsageInsertsAtOnce(t *testing.T) {
	t.Parallel()
	p := open(t)
	dbprovidertest.MustUp(t, p)
	// Far more than the writes take (well under a second): only a
	// deadlock reaches it.
	ctx, cancel := context.WithTimeout(t.Context(), testutil.Timeout(60*time.Second))
	defer cancel()
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	sizes := []int{3, 5, 6, 7, 9, 11, 13, 137, 255, 300, 499, 1000, 1001}
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(sizes))
	want := 0
	for g := range 4 {
		for _, size := range sizes {
			want += size
			wg.Add(1)
			go func() {
				defer wg.Done()
				vs := make([]*podium.Visit, size)
				for i := range vs {
					vs[i] = &podium.Visit{At: at.Add(time.Duration(i) * time.Millisecond), ContentID: 1, ContentGUID: "g",
						NodeID: fmt.Sprintf("n%d", g), Path: fmt.Sprintf("/%d/%d", size, i)}
				}
				if err := p.UsageVisitInsert(ctx, vs); err != nil {
					errs <- fmt.Errorf("%d visits: %w", size, err)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := 0
	var after int64
	for {
		page, err := p.UsageVisitList(t.Context(), &dbprovider.UsageListParams{AfterID: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		got += len(page)
		after = page[len(page)-1].ID
	}
	if got != want {
		t.Fatalf("%d visits written, want %d", got, want)
	}
}
