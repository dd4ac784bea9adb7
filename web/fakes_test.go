package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/web/route"
)

// The areas whose interfaces are declared by the domain (audit.Reader)
// tested alone against fakes of those interfaces: what the handler hands
// the domain and what it makes of the answer.

// auditLog is a fake audit.Reader: one user, "pat" (id 42), and the
// entries it is given; it keeps the filters it was asked.
type auditLog struct {
	mu      sync.Mutex
	asked   []dbprovider.AuditListParams
	entries []*podium.AuditEntry
	err     error
}

func (l *auditLog) AuditList(_ context.Context, p *dbprovider.AuditListParams) ([]*podium.AuditEntry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.asked = append(l.asked, *p)
	return l.entries, l.err
}

func (l *auditLog) UserGetByName(_ context.Context, name string) (*podium.User, error) {
	if name == "pat" {
		return &podium.User{ID: 42, Username: name}, nil
	}
	return nil, podium.Errorf(podium.ENOTFOUND, "user %q not found", name)
}

// TestAuditAPIAgainstFake: the query's filters reach the reader (the
// actor as its user id, the times parsed, the limit), a full page says
// where the next begins, an unknown actor asks nothing, and a failing
// reader answers 500 without its detail.
func TestAuditAPIAgainstFake(t *testing.T) {
	t.Parallel()
	log := &auditLog{entries: []*podium.AuditEntry{{ID: 9}, {ID: 7}}}
	a := mustAPI(t, Options{}, func(*api) []route.Route { return AuditRoutes(log) })
	var b AuditLogBody
	a.do(a.adminKey, "GET", "/__api__/v1/audit_log?actor=pat&action=deploy&target=content:x&from=2026-03-01T00:00:00Z&limit=2&before=10", nil).
		must(t, http.StatusOK, &b)
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if len(log.asked) != 1 {
		t.Fatalf("asked %d times, want 1", len(log.asked))
	}
	if p := log.asked[0]; p.UserID != 42 || p.Action != "deploy" || p.Target != "content:x" || !p.From.Equal(from) || !p.To.IsZero() ||
		p.Limit != 2 || p.BeforeID != 10 {
		t.Fatalf("filters reaching the reader: %+v", p)
	}
	if len(b.Entries) != 2 || b.NextBefore != 7 {
		t.Fatalf("a full page: %+v", b)
	}
	b = AuditLogBody{}
	a.do(a.adminKey, "GET", "/__api__/v1/audit_log?limit=3", nil).must(t, http.StatusOK, &b)
	if b.NextBefore != 0 {
		t.Fatalf("a short page says a next one begins at %d", b.NextBefore)
	}
	b = AuditLogBody{}
	a.do(a.adminKey, "GET", "/__api__/v1/audit_log?actor=nobody", nil).must(t, http.StatusOK, &b)
	if b.Entries == nil || len(b.Entries) != 0 || len(log.asked) != 2 {
		t.Fatalf("an unknown actor: %+v, reader asked %d times", b, len(log.asked))
	}
	log.err = errors.New("sqlite: database disk image is malformed")
	r := a.do(a.adminKey, "GET", "/__api__/v1/audit_log", nil)
	r.mustCode(t, http.StatusInternalServerError, podium.EINTERNAL)
	if strings.Contains(string(r.body), "sqlite") {
		t.Fatalf("the reader's error reached the client: %s", r.body)
	}
}
