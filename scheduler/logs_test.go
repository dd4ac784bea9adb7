package scheduler_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/scheduler"
)

// editorsAccess lets everyone read the content and only editors change it.
type editorsAccess struct {
	db      dbprovider.Provider
	editors map[int64]bool
}

func (a editorsAccess) ContentAccess(ctx context.Context, u *podium.User, guid string, write bool) (*podium.Content, error) {
	c, err := a.db.ContentGetByGUID(ctx, guid)
	if err != nil {
		return nil, err
	}
	if write && !a.editors[u.ID] {
		return nil, podium.Errorf(podium.EFORBIDDEN, "you may not change content %s", guid)
	}
	return c, nil
}

// TestContentJobsLogsOnlyToEditors replays the leak of issue 23: a render
// log holds a secret, and a viewer of the report reads the job history.
// The viewer sees the jobs and how they ended, never their logs; an editor
// sees the logs.
func TestContentJobsLogsOnlyToEditors(t *testing.T) {
	t.Parallel()
	dialects(t, func(t *testing.T, open func() dbprovider.Provider) {
		db := open()
		ctx := ctxT(t)
		owner, err := db.UserCreate(ctx, &dbprovider.UserCreateParams{Username: "owner", Role: podium.RolePublisher})
		if err != nil {
			t.Fatal(err)
		}
		viewer, err := db.UserCreate(ctx, &dbprovider.UserCreateParams{Username: "viewer", Role: podium.RoleViewer})
		if err != nil {
			t.Fatal(err)
		}
		c, err := db.ContentCreate(ctx, &dbprovider.ContentCreateParams{GUID: "6f1f7f7e-1d2c-4f6a-9a53-3f0a9e1f0b11", Name: "report",
			OwnerID: owner.ID, AccessType: podium.AccessLoggedIn})
		if err != nil {
			t.Fatal(err)
		}
		const secret = "connecting with password report-db-secret-123"
		if _, _, err := db.JobInsertDue(ctx, &dbprovider.JobInsertParams{ContentID: c.ID, DueAt: time.Now().Add(-time.Minute)}); err != nil {
			t.Fatal(err)
		}
		j, err := db.JobClaim(ctx, &dbprovider.JobClaimParams{NodeID: "n1", Token: "tok"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.JobFinish(ctx, &dbprovider.JobFinishParams{ID: j.ID, Token: "tok", Status: podium.JobFailed, ExitCode: 1,
			Error: "render failed", Log: secret}); err != nil {
			t.Fatal(err)
		}
		s := scheduler.New(scheduler.Options{DB: db, NodeID: "n1", Access: editorsAccess{db: db, editors: map[int64]bool{owner.ID: true}}})

		jobs, err := s.ContentJobs(ctx, viewer, c.GUID, 0, 0)
		if err != nil || len(jobs) != 1 || len(jobs[0].History) != 1 {
			t.Fatalf("viewer: %v, %v", jobs, err)
		}
		if a := jobs[0].History[0]; a.Log != "" || a.Status != podium.JobFailed {
			t.Fatalf("viewer reads attempt %+v: want its status without the log", a)
		}
		jobs, err = s.ContentJobs(ctx, owner, c.GUID, 0, 0)
		if err != nil || len(jobs) != 1 || len(jobs[0].History) != 1 || !strings.Contains(jobs[0].History[0].Log, secret) {
			t.Fatalf("editor: %+v, %v; want the log", jobs, err)
		}
	})
}
