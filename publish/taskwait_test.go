package publish_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/publish"
)

// TestTaskWait checks that a held poll answers when new output arrives or
// the task ends (woken in-process, well before its wait), and that a poll
// with nothing new is held for its wait and answers empty.
func TestTaskWait(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, u, _ := setup(t, "nobody")
	// The render waits for a file the test creates, so the task is
	// certainly unfinished while the test polls.
	gate := testutil.OpenTempDir(t, 0o755) + "/go"
	_, id := deployReport(t, svc, u, `while [ ! -e `+gate+` ]; do sleep 0.05; done; echo after-gate; echo '<p>x</p>' > "$PODIUM_OUTPUT_DIR/index.html"`, "1m")

	// Read everything up to the render's wait (its last line announces
	// the render).
	var first int
	for {
		task, err := svc.TaskWait(ctx, u, id, first, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		first = task.Last
		if n := len(task.Output); n > 0 && strings.HasPrefix(task.Output[n-1], "Rendering the report") {
			break
		}
	}
	start := time.Now()
	task, err := svc.TaskWait(ctx, u, id, first, 300*time.Millisecond)
	if err != nil || len(task.Output) != 0 || task.Finished {
		t.Fatalf("poll with nothing new: %+v %v", task, err)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Fatalf("poll with nothing new answered after %s, before its wait", took)
	}

	done := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		for {
			task, err := svc.TaskWait(ctx, u, id, first, publish.MaxTaskWait)
			if err != nil {
				t.Error(err)
				break
			}
			first = task.Last
			if task.Finished {
				break
			}
		}
		done <- time.Since(start)
	}()
	testutil.WaitFor(t, 10*time.Second, "the poll held", func() bool { return svc.HeldPolls(id) > 0 })
	if err := writeFile(gate); err != nil {
		t.Fatal(err)
	}
	if took := <-done; took >= publish.MaxTaskWait {
		t.Fatalf("the held polls answered after %s: nothing woke them", took)
	}
}

func writeFile(path string) error { return os.WriteFile(path, nil, 0o644) }
