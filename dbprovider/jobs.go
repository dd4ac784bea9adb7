package dbprovider

import (
	"context"
	"time"

	"github.com/podiumhq/podium"
)

// JobStore holds the store methods for schedules, scheduled jobs, their
// attempts and claims (issue: scheduled rendering).
//
// Every time comparison uses the database's clock, never a node's: a node
// whose clock is off cannot abandon another node's job early or keep its
// own alive late.
type JobStore interface {
	// ScheduleContent resolves a content GUID for the schedule and job
	// endpoints: its id, owner and the role of userID in its access list
	// ("" when none). Returns ENOTFOUND.
	ScheduleContent(ctx context.Context, guid string, userID int64) (*ScheduleContent, error)
	// ScheduleGet returns a report's schedule. Returns ENOTFOUND.
	ScheduleGet(ctx context.Context, contentID int64) (*podium.Schedule, error)
	// SchedulePut creates or replaces a report's schedule.
	SchedulePut(ctx context.Context, p *SchedulePutParams) (*podium.Schedule, error)
	// ScheduleDelete removes a report's schedule (its jobs stay as
	// history; queued ones are not run). Returns ENOTFOUND.
	ScheduleDelete(ctx context.Context, contentID int64) error
	// ScheduleEnqueueDue turns due schedules into jobs, at most p.Limit,
	// in one transaction: it locks the enabled schedules due at p.Now
	// (FOR UPDATE SKIP LOCKED on PostgreSQL, so two enqueuers never wait on
	// each other nor queue one due time twice; SQLite's single writer
	// serializes them), asks p.Plan where each one goes next, advances it
	// and inserts the job of its due time. Returns the jobs inserted.
	ScheduleEnqueueDue(ctx context.Context, p *ScheduleEnqueueParams) ([]*podium.Job, error)
	// ScheduleNextDue returns the earliest next run of any enabled
	// schedule, or nil when there is none.
	ScheduleNextDue(ctx context.Context) (*time.Time, error)
	// LeaseAcquire takes or renews the cluster-wide lease name for holder
	// until ttl from the database's now, and reports whether holder has it
	// (false: another holder's lease has not expired).
	LeaseAcquire(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// LeaseRelease gives up holder's lease name (nothing when another
	// holder has it).
	LeaseRelease(ctx context.Context, name, holder string) error

	// JobInsertDue queues a job for a due time; when the job of that
	// content and due time exists already it does nothing and returns
	// inserted=false with the existing job. The database's unique key on
	// (content_id, due_at) makes "one job per due time" hold whichever and
	// however many nodes call it.
	JobInsertDue(ctx context.Context, p *JobInsertParams) (job *podium.Job, inserted bool, err error)
	// JobClaim claims the oldest due queued job for a node under a new
	// claim token: the job becomes running, attempts grows by one and an
	// attempt row is recorded. On PostgreSQL rows locked by other claims
	// are skipped (FOR UPDATE SKIP LOCKED); on SQLite the single writer
	// serializes claims. Returns ENOTFOUND when nothing is due.
	JobClaim(ctx context.Context, p *JobClaimParams) (*podium.Job, error)
	// JobClaimBatch claims up to limit of the oldest due queued jobs for
	// a node, as JobClaim does, in one statement on PostgreSQL. Each job
	// gets its own claim token: p.Token, a dot and the job's id. Returns
	// ENOTFOUND when nothing is due.
	JobClaimBatch(ctx context.Context, p *JobClaimParams, limit int) ([]*podium.Job, error)
	// JobHeartbeat records, at the database's now, that the holder of
	// token still runs the job. Returns ECONFLICT when the claim was lost
	// (the job was reclaimed, released or finished).
	JobHeartbeat(ctx context.Context, jobID int64, token string) error
	// JobFinish records the outcome of the claim token's run. Returns
	// ECONFLICT when the claim was lost: a late completion never
	// overwrites the result of the run that replaced it.
	JobFinish(ctx context.Context, p *JobFinishParams) (*podium.Job, error)
	// JobRelease gives a claimed job back (clean shutdown): it is queued
	// again at once, without counting as an attempt. Returns ECONFLICT
	// when the claim was lost meanwhile.
	JobRelease(ctx context.Context, jobID int64, token, reason string) error
	// JobReclaimAbandoned requeues the running jobs whose heartbeat is
	// older than timeout (marking their attempts abandoned), and fails
	// those that reached their maximum attempts, with the reason.
	JobReclaimAbandoned(ctx context.Context, timeout time.Duration) (*JobReclaimResult, error)
	// JobGet returns one job. Returns ENOTFOUND.
	JobGet(ctx context.Context, id int64) (*podium.Job, error)
	// JobList returns one page of jobs, newest due time first.
	JobList(ctx context.Context, p *JobListParams) ([]*podium.Job, error)
	// JobAttemptList returns the attempts of the given jobs, oldest first.
	JobAttemptList(ctx context.Context, jobIDs []int64) ([]*podium.JobAttempt, error)
	// JobQueueStats measures the queue: jobs waiting (due and queued),
	// running, and the age of the oldest waiting one, by the database clock.
	JobQueueStats(ctx context.Context) (*JobQueueStats, error)

	// JobNodeCapacitySet records in the node registry how many scheduled
	// jobs a node runs at once ([Applications] ScheduleConcurrency).
	JobNodeCapacitySet(ctx context.Context, nodeID string, concurrency int) error
	// JobNodeCapacity sums the recorded ScheduleConcurrency of the live
	// nodes (heartbeat younger than timeout): 0 with live > 0 means no
	// scheduled job can run.
	JobNodeCapacity(ctx context.Context, timeout time.Duration) (live, capacity int, err error)
	// JobNodeList returns the live nodes (heartbeat younger than timeout,
	// not draining) that take scheduled work, with their concurrency,
	// ordered by id.
	JobNodeList(ctx context.Context, timeout time.Duration) ([]NodeCapacity, error)

	// JobHistoryPrune deletes at most limit finished jobs (and their
	// attempts) that finished before 'before', oldest first, and returns
	// how many it deleted.
	JobHistoryPrune(ctx context.Context, before time.Time, limit int) (int, error)
	// JobHistoryCount returns how many jobs JobHistoryPrune would delete
	// for 'before', without a limit (what a held retention reports).
	JobHistoryCount(ctx context.Context, before time.Time) (int64, error)
}

// NodeCapacity is a live node and how many scheduled jobs it runs at once.
type NodeCapacity struct {
	ID          string
	Concurrency int
}

// ScheduleEnqueueParams turns due schedules into jobs.
type ScheduleEnqueueParams struct {
	// Now is the time due schedules are compared with (the database's
	// clock, read by the caller; injected in tests).
	Now time.Time
	// Ahead queues, besides the schedules due at Now, those due up to
	// Ahead later: their jobs wait, queued, until their due time (a claim
	// takes only jobs whose due time has come), so that a node can start
	// one on time instead of after the enqueue and its notification.
	// Plan is still called with Now.
	Ahead time.Duration
	// Limit bounds the schedules of one call.
	Limit int
	// MaxAttempts of the jobs (0: the table's default).
	MaxAttempts int
	// Plan says where a due schedule goes next; called inside the
	// transaction, it must not touch the database.
	Plan func(sc *podium.Schedule, now time.Time) ScheduleStep
}

// ScheduleStep is where a due schedule goes after its due time is queued.
type ScheduleStep struct {
	// Next is the schedule's next due time; nil disables the schedule (it
	// never fires again, or its spec no longer parses).
	Next *time.Time
	// Skipped counts the due times between the queued one and Next that
	// will not run; Reason says why (recorded on the job).
	Skipped int
	Reason  string
}

// ScheduleContent is what the schedule endpoints need to know of a content
// item to authorize a request.
type ScheduleContent struct {
	ID      int64
	GUID    string
	OwnerID int64
	// ACLRole is the user's role in the content's access list ("viewer",
	// "collaborator"), "" when not listed.
	ACLRole string
}

// SchedulePutParams creates or replaces a schedule.
type SchedulePutParams struct {
	ContentID int64
	Spec      string
	Timezone  string
	Enabled   bool
	// NextRunAt is the first due time, computed by the caller from Spec.
	NextRunAt *time.Time
}

// JobInsertParams queues one job.
type JobInsertParams struct {
	ContentID int64
	Queue     string // "" means podium.QueueRender
	DueAt     time.Time
	// MaxAttempts bounds how often an abandoned job is run again; 0 means
	// the table's default (3).
	MaxAttempts int
}

// JobClaimParams claims one job.
type JobClaimParams struct {
	NodeID string
	// Token is the new claim's token: random, unguessable, unique.
	Token string
	// Queues limits the claim to these queues; empty means every queue.
	Queues []string
}

// JobFinishParams records the outcome of one run.
type JobFinishParams struct {
	ID       int64
	Token    string
	Status   string // podium.JobSucceeded or podium.JobFailed
	ExitCode int
	Error    string
	Log      string
}

// JobReclaimResult counts what JobReclaimAbandoned did.
type JobReclaimResult struct {
	Requeued []int64 // jobs queued again for another attempt
	Failed   []int64 // jobs that reached their maximum attempts
}

// JobListParams filters JobList.
type JobListParams struct {
	ContentID int64  // 0: every content item
	Status    string // "": every status
	Limit     int    // 0: 100
	// Before is the cursor of the next page: the id of the last job of
	// the previous page (jobs due before it, or due at the same time with
	// a smaller id); 0 means the first page.
	Before int64
}

// JobQueueStats describes the queue at one moment.
type JobQueueStats struct {
	Waiting       int           // queued and due
	Running       int           // claimed by a node
	OldestWaiting time.Duration // age of the oldest waiting job (0 when none)
}

// HotQuery is one query the scheduler or the dashboard runs on the jobs and
// renders tables, with arguments, so that a test can EXPLAIN exactly what
// the code runs.
type HotQuery struct {
	Name string
	SQL  string
	Args []any
	// Ordered allows a full scan of an index that gives the query's order
	// and is stopped by its LIMIT (the first page of every job).
	Ordered bool
	// Index, when set, is the index the plan must use: where another
	// index would also avoid a full scan but read a report's whole
	// history (pruning must read only the outputs that still exist).
	Index string
}
