package dbprovider

import (
	"context"
	"time"

	"github.com/podiumhq/podium"
)

// AuditStore is the audit log: what administrators and publishers did.
type AuditStore interface {
	// AuditInsert records one action at the database's now.
	AuditInsert(ctx context.Context, p *AuditInsertParams) error
	// AuditList returns the entries that match p, newest first, with the
	// actor's username when known.
	AuditList(ctx context.Context, p *AuditListParams) ([]*podium.AuditEntry, error)
	// AuditPrune deletes at most limit of the oldest entries from before
	// the given time and returns how many it deleted: callers prune in
	// batches, so no statement holds the table for long.
	AuditPrune(ctx context.Context, before time.Time, limit int) (int64, error)
}

// AuditInsertParams records an action.
type AuditInsertParams struct {
	UserID int64 // 0 when unknown
	NodeID string
	Action string
	Target string
	// Detail is a JSON object; "" means "{}".
	Detail string
}

// AuditListParams filters AuditList. Zero fields do not filter.
type AuditListParams struct {
	UserID int64
	Action string
	Target string
	From   time.Time // at >= From
	To     time.Time // at < To
	// BeforeID pages: only entries with a smaller id (the last id of the
	// previous page).
	BeforeID int64
	Limit    int // at most this many (1..1000; 0 means 100)
}
