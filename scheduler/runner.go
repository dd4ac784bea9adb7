package scheduler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/publish"
)

// Runner runs one claimed job to its end. It returns the process's exit
// code and its log; err reports a run that could not start or was stopped
// (ctx ended: the claim was lost, or the node gave the job back).
type Runner interface {
	RunJob(ctx context.Context, job *podium.Job) (exitCode int, log string, err error)
}

// RunnerFunc adapts a function to [Runner].
type RunnerFunc func(ctx context.Context, job *podium.Job) (int, string, error)

// RunJob implements Runner.
func (f RunnerFunc) RunJob(ctx context.Context, job *podium.Job) (int, string, error) {
	return f(ctx, job)
}

// maxLog bounds the log kept of one run: the end of the output is kept.
const maxLog = 64 << 10

// RenderRunner runs render jobs through publishing's render service: the
// report's active bundle is rendered on this node with its render command,
// its output lines become the attempt's log, and a failed render leaves the
// previous good output in place.
type RenderRunner struct {
	Publish *publish.Service
}

// RunJob implements Runner. A render command that exits non-zero reports
// its exit code; any other failed render (killed by a signal or its
// timeout, no index.html, cannot start) 1; a canceled one (claim lost,
// node stopping) -1.
func (r *RenderRunner) RunJob(ctx context.Context, job *podium.Job) (int, string, error) {
	var buf tailBuffer
	_, err := r.Publish.Render(ctx, job.ContentID, publish.RenderOptions{JobID: job.ID, JobToken: job.ClaimToken, Output: func(line string) {
		_, _ = buf.Write([]byte(line + "\n"))
	}})
	switch {
	case podium.IsCode(err, podium.ECANCELED):
		return -1, buf.String(), err
	case err != nil:
		code := 1
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() > 0 {
			code = exit.ExitCode()
		}
		return code, buf.String(), fmt.Errorf("render: %w", err)
	}
	return 0, buf.String(), nil
}

// tailBuffer keeps the last maxLog bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - maxLog; over > 0 {
		b.buf.Next(over)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
