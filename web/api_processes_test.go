package web

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/apps"
	"github.com/podiumhq/podium/web/route"
)

// fakeProcesses is an apps.ProcessService: one process per app, a log
// file per process, overrides kept in memory and checked as the
// supervisor checks them.
type fakeProcesses struct {
	mu      sync.Mutex
	logs    string // directory of the logs, {guid}-{pid}.log
	stored  map[string]apps.Overrides
	changed int
}

func (f *fakeProcesses) Status(guid string) apps.PoolStatus {
	return apps.PoolStatus{GUID: guid, Processes: []apps.ProcessInfo{{PID: 42, State: apps.StateReady}}}
}

func (f *fakeProcesses) Running(string) int { return 1 }

func (f *fakeProcesses) LogPath(guid string, pid int) (string, error) {
	p := filepath.Join(f.logs, guid+"-"+strconv.Itoa(pid)+".log")
	if _, err := os.Stat(p); err != nil {
		return "", podium.Errorf(podium.ENOTFOUND, "process %d of %s not found", pid, guid)
	}
	return p, nil
}

func (f *fakeProcesses) Settings(_ context.Context, _ apps.SettingsStore, guid string) (apps.SettingsBody, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return apps.SettingsBody{Overrides: f.stored[guid]}, nil
}

func (f *fakeProcesses) ChangeSettings(_ context.Context, _ apps.SettingsStore, guid string, fn func(o *apps.Overrides) error) (apps.SettingsBody, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.stored[guid]
	if err := fn(&o); err != nil {
		return apps.SettingsBody{}, err
	}
	if err := o.Validate(); err != nil {
		return apps.SettingsBody{}, err
	}
	f.stored[guid] = o
	f.changed++
	return apps.SettingsBody{Overrides: o}, nil
}

// TestProcessAPI: the process endpoints tested alone, against a fake of
// the supervisor and the real publishing service for access: who may see
// an app's processes, its process logs and its settings (its owner and
// administrators, not a viewer nor an anonymous caller), and a PATCH of
// the settings, audited, refused for bad input before anything changes.
func TestProcessAPI(t *testing.T) {
	t.Parallel()
	sup := &fakeProcesses{logs: t.TempDir(), stored: map[string]apps.Overrides{}}
	a := mustAPI(t, Options{}, func(a *api) []route.Route {
		return append(ContentRoutes(a.pub), ProcessRoutes("n1", sup, nil, a.pub)...)
	})
	var ct ContentBody
	a.do(a.pubKey, "POST", "/__api__/v1/content", ContentCreateBody{Name: "app"}).must(t, http.StatusCreated, &ct)
	base := "/__api__/v1/content/" + ct.GUID
	if err := os.WriteFile(filepath.Join(sup.logs, ct.GUID+"-42.log"), []byte("listening on 8000\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	var list apps.ProcessesBody
	a.do(a.pubKey, "GET", base+"/processes", nil).must(t, http.StatusOK, &list)
	if list.Node != "n1" || list.GUID != ct.GUID || len(list.Processes) != 1 || list.Processes[0].PID != 42 {
		t.Fatalf("processes: %+v", list)
	}
	a.do(a.adminKey, "GET", base+"/processes", nil).must(t, http.StatusOK, nil)
	a.do(a.viewerKey, "GET", base+"/processes", nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
	a.do("", "GET", base+"/processes", nil).mustCode(t, http.StatusUnauthorized, podium.EUNAUTHORIZED)

	r := a.do(a.pubKey, "GET", base+"/processes/42/log", nil).must(t, http.StatusOK, nil)
	if string(r.body) != "listening on 8000\n" || r.header.Get("X-Podium-Node") != "n1" {
		t.Fatalf("log: %q %v", r.body, r.header)
	}
	a.do(a.pubKey, "GET", base+"/processes/x/log", nil).mustCode(t, http.StatusBadRequest, podium.EINVALID)
	a.do(a.pubKey, "GET", base+"/processes/7/log", nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
	a.do(a.viewerKey, "GET", base+"/processes/42/log", nil).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)

	var set apps.SettingsBody
	a.do(a.pubKey, "PATCH", base+"/processes-settings", map[string]any{"max_processes": 9, "idle_timeout": "5m"}).must(t, http.StatusOK, &set)
	if set.Overrides.MaxProcesses == nil || *set.Overrides.MaxProcesses != 9 || set.Overrides.IdleTimeout != "5m" {
		t.Fatalf("PATCH: %+v", set.Overrides)
	}
	if row := a.audit.last(t); row.Action != podium.AuditProcessesSet || row.Target != "content:"+ct.GUID {
		t.Fatalf("audit: %+v", row)
	}
	// A PATCH replaces the fields it names only.
	a.do(a.pubKey, "PATCH", base+"/processes-settings", map[string]any{"min_processes": 1}).must(t, http.StatusOK, &set)
	if set.Overrides.MaxProcesses == nil || *set.Overrides.MaxProcesses != 9 || set.Overrides.MinProcesses == nil || *set.Overrides.MinProcesses != 1 {
		t.Fatalf("second PATCH: %+v", set.Overrides)
	}
	a.do(a.pubKey, "PATCH", base+"/processes-settings", map[string]any{"max_procs": 3}).mustCode(t, http.StatusBadRequest, podium.EINVALID)
	a.do(a.pubKey, "PATCH", base+"/processes-settings", map[string]any{"idle_timeout": "soon"}).mustCode(t, http.StatusBadRequest, podium.EINVALID)
	a.do(a.viewerKey, "PATCH", base+"/processes-settings", map[string]any{"max_processes": 1}).mustCode(t, http.StatusNotFound, podium.ENOTFOUND)
	if sup.changed != 2 {
		t.Fatalf("settings changed %d times, want 2 (refused PATCHes change nothing)", sup.changed)
	}
	var got apps.SettingsBody
	a.do(a.adminKey, "GET", base+"/processes-settings", nil).must(t, http.StatusOK, &got)
	if got.Overrides.MaxProcesses == nil || *got.Overrides.MaxProcesses != 9 {
		t.Fatalf("GET settings: %+v", got.Overrides)
	}
}
