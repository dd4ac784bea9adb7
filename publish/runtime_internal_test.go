package publish

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/runtimes/rlang"
)

// The R restore's output reaches the task line by line, whatever the
// writes' boundaries, the last line included when it has no newline.
func TestLineWriter(t *testing.T) {
	var got []string
	w := lineWriter(func(l string) { got = append(got, l) })
	for _, s := range []string{"podium: restoring", " 2 R packages\nfirst", " line\n", "\n", "no newline"} {
		if _, err := fmt.Fprint(w, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"podium: restoring 2 R packages", "first line", "", "no newline"}; !slices.Equal(got, want) {
		t.Fatalf("lines %q, want %q", got, want)
	}
}

// A node without [R] Executable refuses R content naming the mode and
// the key, before restoring anything.
func TestRestoreRWithoutR(t *testing.T) {
	for _, s := range []*Service{{}, {rlang: &rlang.Manager{}}} {
		_, err := s.restoreR(context.Background(), 1, &rlang.Spec{AppMode: "rmd-static"}, func(string) { t.Error("output without R") })
		if !podium.IsCode(err, podium.EPRECONDITION) || !strings.Contains(fmt.Sprint(err), "appmode rmd-static needs R: set [R] Executable") {
			t.Fatalf("err = %v", err)
		}
	}
}
