package podium

import "time"

// Job statuses, as stored in jobs.status.
const (
	JobQueued    = "queued"    // waiting for a node to claim it
	JobRunning   = "running"   // claimed: a node runs it and heartbeats
	JobSucceeded = "succeeded" // finished with exit code 0
	JobFailed    = "failed"    // finished otherwise, or abandoned too often
)

// Job attempt statuses, as stored in job_attempts.status. An attempt is one
// claim of a job by one node.
const (
	AttemptRunning   = "running"   // the node runs it
	AttemptSucceeded = "succeeded" // the run exited 0
	AttemptFailed    = "failed"    // the run failed
	AttemptAbandoned = "abandoned" // no heartbeat within the timeout: another node may run the job
	AttemptReleased  = "released"  // the node gave the job back on shutdown
)

// Job queues. A node claims jobs of every queue it knows.
const (
	QueueRender = "render" // a scheduled render of a report
	QueueNoop   = "noop"   // does nothing: for benchmarks and health checks
)

// Schedule is when a report is rendered again: a cron expression (with an
// optional seconds field, or a descriptor such as "@every 30s") evaluated in
// a time zone.
type Schedule struct {
	ContentID   int64      `json:"-"`
	ContentGUID string     `json:"content_guid"`
	Spec        string     `json:"spec"`
	Timezone    string     `json:"timezone"`
	Enabled     bool       `json:"enabled"`
	NextRunAt   *time.Time `json:"next_run_at,omitempty"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// Job is one due time of a schedule (or one queued piece of work), run at
// least once by some node of the cluster.
type Job struct {
	ID          int64      `json:"id"`
	ContentID   int64      `json:"-"`
	ContentGUID string     `json:"content_guid"`
	Queue       string     `json:"queue"`
	DueAt       time.Time  `json:"due_at"`
	Status      string     `json:"status"`
	Attempts    int        `json:"attempts"`
	MaxAttempts int        `json:"max_attempts"`
	NodeID      string     `json:"node_id,omitempty"`
	HeartbeatAt *time.Time `json:"heartbeat_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
	ExitCode    *int       `json:"exit_code,omitempty"`
	Error       string     `json:"error,omitempty"`
	// Skipped counts the due times after DueAt that this job stands for
	// but that were not run, because the job was queued more than one
	// period late (every node down, or the cluster overloaded);
	// SkippedReason says why. Due times are never dropped silently.
	Skipped       int    `json:"skipped,omitempty"`
	SkippedReason string `json:"skipped_reason,omitempty"`
	// ClaimToken identifies the current claim; only its holder may
	// heartbeat or finish the job. Never shown to clients.
	ClaimToken string `json:"-"`
	// Attempts of the job, when the caller asked for them.
	History []*JobAttempt `json:"history,omitempty"`
}

// JobAttempt is one claim of a job by one node: who ran it, when, for how
// long, and how it ended.
type JobAttempt struct {
	ID          int64      `json:"id"`
	JobID       int64      `json:"job_id"`
	Attempt     int        `json:"attempt"`
	NodeID      string     `json:"node_id"`
	Status      string     `json:"status"`
	StartedAt   time.Time  `json:"started_at"`
	HeartbeatAt time.Time  `json:"heartbeat_at"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
	ExitCode    *int       `json:"exit_code,omitempty"`
	Error       string     `json:"error,omitempty"`
	Log         string     `json:"log,omitempty"`
	ClaimToken  string     `json:"-"`
}

// Duration returns how long the attempt ran (until its last heartbeat when
// it never finished).
func (a *JobAttempt) Duration() time.Duration {
	if a.FinishedAt != nil {
		return a.FinishedAt.Sub(a.StartedAt)
	}
	return a.HeartbeatAt.Sub(a.StartedAt)
}
