package migrate

import (
	"context"
	"errors"
	"io"
	"testing"
)

// readAll reads a copyReader fed with chunks to its end.
func readAll(t *testing.T, chunks ...*chunk) (string, []int64, error) {
	t.Helper()
	in := make(chan *chunk, len(chunks))
	for _, c := range chunks {
		in <- c
	}
	close(in)
	var progress []int64
	r := &copyReader{ctx: t.Context(), in: in, free: make(chan *chunk, len(chunks)),
		onRows: func(n int64) { progress = append(progress, n) }}
	b, err := io.ReadAll(r)
	return string(b), progress, err
}

func TestCopyReader(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		got, progress, err := readAll(t, &chunk{buf: []byte("ab"), rows: 1}, &chunk{buf: []byte("cd"), rows: 3, last: true})
		if err != nil || got != "abcd" {
			t.Fatalf("read %q, %v; want \"abcd\", no error", got, err)
		}
		if len(progress) != 2 || progress[0] != 1 || progress[1] != 3 {
			t.Errorf("progress %v, want [1 3]", progress)
		}
	})
	t.Run("ErrSourceStopped", func(t *testing.T) {
		t.Parallel()
		// The stream ends without its trailer chunk: the source failed,
		// and COPY must be aborted, not ended with a short table.
		got, _, err := readAll(t, &chunk{buf: []byte("ab"), rows: 1})
		if !errors.Is(err, errSourceStopped) {
			t.Fatalf("read %q, %v; want errSourceStopped", got, err)
		}
	})
	t.Run("ErrCanceled", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		r := &copyReader{ctx: ctx, in: make(chan *chunk), onRows: func(int64) {}}
		if _, err := r.Read(make([]byte, 8)); !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
	})
}
