package scheduler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/podiumhq/podium"
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

// ScriptRunner renders a report by running its render script,
// <DataDir>/scheduled/<guid>/render.sh, with /bin/sh in its own process
// group, and PODIUM_OUTPUT_DIR set to a fresh folder for the run's output
// (<DataDir>/scheduled/<guid>/output/<job id>-<attempt>). It stands in
// until publishing's render service is wired in; the environment contract
// is the same.
type ScriptRunner struct {
	// DataDir is [Server] DataDir, shared by every node of a cluster.
	DataDir string
	// Timeout bounds one render ([Applications] RenderTimeout); 0 means
	// none.
	Timeout time.Duration
}

// ScriptPath returns where the render script of a content item lives.
func (r *ScriptRunner) ScriptPath(guid string) string {
	return filepath.Join(r.DataDir, "scheduled", guid, "render.sh")
}

// RunJob implements Runner.
func (r *ScriptRunner) RunJob(ctx context.Context, job *podium.Job) (int, string, error) {
	if job.ContentGUID == "" || filepath.Base(job.ContentGUID) != job.ContentGUID {
		return -1, "", fmt.Errorf("script runner: job %d: bad content guid %q", job.ID, job.ContentGUID)
	}
	script := r.ScriptPath(job.ContentGUID)
	if _, err := os.Stat(script); err != nil {
		return 127, "", fmt.Errorf("script runner: no render script for content %s: %w", job.ContentGUID, err)
	}
	out := filepath.Join(r.DataDir, "scheduled", job.ContentGUID, "output", fmt.Sprintf("%d-%d", job.ID, job.Attempts))
	if err := os.MkdirAll(out, 0o750); err != nil {
		return -1, "", fmt.Errorf("script runner: %w", err)
	}
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, "/bin/sh", script)
	cmd.Dir = filepath.Dir(script)
	cmd.Env = append(os.Environ(), "PODIUM_OUTPUT_DIR="+out, "PODIUM_JOB_ID="+strconv.FormatInt(job.ID, 10),
		"PODIUM_CONTENT_GUID="+job.ContentGUID, "PODIUM_JOB_ATTEMPT="+strconv.Itoa(job.Attempts))
	// Its own group, so that stopping the run ends every process it
	// started, not only the shell.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	var buf tailBuffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return -1, buf.String(), fmt.Errorf("script runner: stopped: %w", context.Cause(ctx))
	case errors.As(err, &ee):
		return ee.ExitCode(), buf.String(), nil
	case err != nil:
		return -1, buf.String(), fmt.Errorf("script runner: %w", err)
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
