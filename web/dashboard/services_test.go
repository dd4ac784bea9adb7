package dashboard

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/apps"
	"github.com/podiumhq/podium/hacheck"
	"github.com/podiumhq/podium/metrics"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/scheduler"
)

// fakeDomain is the domain services the dashboard's Sources adapt, as
// their packages declare them: the methods Sources calls record what
// they were asked; any other would panic (the embedded interfaces are
// nil).
type fakeDomain struct {
	publish.ContentService
	publish.TagService
	apps.ProcessService
	calls     []string
	vanity    error // VanityGet's error
	overrides apps.Overrides
}

func (f *fakeDomain) call(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeDomain) ContentList(_ context.Context, _ *podium.User, r publish.ContentListRequest) ([]*podium.Content, error) {
	f.call("ContentList %+v", r)
	return []*podium.Content{{GUID: "g1"}}, nil
}
func (f *fakeDomain) ContentGet(_ context.Context, _ *podium.User, guid string) (*podium.Content, publish.Access, error) {
	return &podium.Content{GUID: guid}, publish.Access{View: true, Edit: true}, nil
}
func (f *fakeDomain) BundleList(_ context.Context, _ *podium.User, guid string) ([]*podium.Bundle, error) {
	f.call("BundleList %s", guid)
	return nil, nil
}
func (f *fakeDomain) PermissionsGet(context.Context, *podium.User, string) (*publish.Permissions, error) {
	return &publish.Permissions{Entries: []*podium.ContentACLEntry{{Username: "ann"}}, Groups: []*podium.ContentGroupACLEntry{{Name: "ops"}}}, nil
}
func (f *fakeDomain) PermissionsSet(_ context.Context, _ *podium.User, guid string, r publish.PermissionsSetRequest) (*publish.Permissions, error) {
	f.call("PermissionsSet %s access=%v users=%d groups=%d replace=%v", guid, r.AccessType != nil, len(r.Entries), len(r.Groups), r.ReplaceGroups)
	return nil, nil
}
func (f *fakeDomain) ContentUpdate(_ context.Context, _ *podium.User, guid string, r publish.ContentUpdateRequest) (*podium.Content, error) {
	switch {
	case r.AccessType != nil:
		f.call("ContentUpdate %s access=%s", guid, *r.AccessType)
	default:
		f.call("ContentUpdate %s name=%s title=%s", guid, *r.Name, *r.Title)
	}
	return nil, nil
}
func (f *fakeDomain) ContentDelete(_ context.Context, _ *podium.User, guid string) error {
	f.call("ContentDelete %s", guid)
	return nil
}
func (f *fakeDomain) DeployBundle(_ context.Context, _ *podium.User, guid string, id int64, activate bool) (*podium.Task, error) {
	f.call("DeployBundle %s %d %v", guid, id, activate)
	return &podium.Task{ID: "deploy-task"}, nil
}
func (f *fakeDomain) RenderTask(_ context.Context, _ *podium.User, guid string) (*podium.Task, error) {
	return nil, podium.Errorf(podium.EINVALID, "not a report")
}
func (f *fakeDomain) EnvNames(context.Context, *podium.User, string) ([]string, error) {
	return []string{"A"}, nil
}
func (f *fakeDomain) EnvUpdate(_ context.Context, _ *podium.User, guid string, ch []publish.EnvVarSet) ([]string, error) {
	f.call("EnvUpdate %s %s deleted=%v", guid, ch[0].Name, ch[0].Value == nil)
	return nil, nil
}
func (f *fakeDomain) TagList(_ context.Context, _ *podium.User, r publish.TagListRequest) ([]*podium.Tag, error) {
	f.call("TagList %+v", r)
	return nil, nil
}
func (f *fakeDomain) TagContent(_ context.Context, _ *podium.User, id int64) ([]*podium.Content, error) {
	f.call("TagContent %d", id)
	return nil, nil
}
func (f *fakeDomain) ContentTags(_ context.Context, _ *podium.User, guid string) ([]*podium.Tag, error) {
	f.call("ContentTags %s", guid)
	return nil, nil
}
func (f *fakeDomain) VanityList(context.Context, *podium.User) ([]publish.VanityWithContent, error) {
	return nil, nil
}
func (f *fakeDomain) VanityGet(_ context.Context, _ *podium.User, guid string) (*podium.Vanity, error) {
	if f.vanity != nil {
		return nil, f.vanity
	}
	return &podium.Vanity{Path: "/v/" + guid + "/"}, nil
}
func (f *fakeDomain) VanitySet(context.Context, *podium.User, string, string, bool) (*podium.Vanity, error) {
	return nil, nil
}
func (f *fakeDomain) VanityDelete(context.Context, *podium.User, string) error { return nil }
func (f *fakeDomain) MayEdit(_ context.Context, _ *podium.User, guid string) error {
	if guid == "theirs" {
		return podium.Errorf(podium.EFORBIDDEN, "not yours")
	}
	return nil
}

// scheduler.API
func (f *fakeDomain) ScheduleGet(_ context.Context, _ *podium.User, guid string) (*podium.Schedule, error) {
	f.call("ScheduleGet %s", guid)
	return nil, nil
}
func (f *fakeDomain) SchedulePut(_ context.Context, _ *podium.User, guid string, in *scheduler.ScheduleInput) (*podium.Schedule, error) {
	f.call("SchedulePut %s %s %s %v", guid, in.Spec, in.Timezone, *in.Enabled)
	return nil, nil
}
func (f *fakeDomain) ScheduleDelete(_ context.Context, _ *podium.User, guid string) error {
	f.call("ScheduleDelete %s", guid)
	return nil
}
func (f *fakeDomain) ContentJobs(_ context.Context, _ *podium.User, guid string, limit int, before int64) ([]*podium.Job, error) {
	f.call("ContentJobs %s %d %d", guid, limit, before)
	return nil, nil
}
func (f *fakeDomain) Jobs(_ context.Context, _ *podium.User, status string, limit int, before int64) ([]*podium.Job, error) {
	return nil, podium.Errorf(podium.EFORBIDDEN, "administrators only")
}

// apps.ProcessService
func (f *fakeDomain) Status(guid string) apps.PoolStatus {
	end := time.Unix(100, 0)
	return apps.PoolStatus{GUID: guid, LastError: "it crashed", Processes: []apps.ProcessInfo{
		{PID: 1, State: apps.StateReady}, {PID: 2, State: apps.StateCrashed, Ended: &end, Exit: "exit status 1"}}}
}
func (f *fakeDomain) Running(guid string) int { return len(guid) }
func (f *fakeDomain) Settings(context.Context, apps.SettingsStore, string) (apps.SettingsBody, error) {
	return apps.SettingsBody{Overrides: f.overrides, Effective: apps.EffectiveLimits{Limits: apps.Limits{MaxProcesses: 3}}}, nil
}
func (f *fakeDomain) ChangeSettings(_ context.Context, _ apps.SettingsStore, guid string, fn func(o *apps.Overrides) error) (apps.SettingsBody, error) {
	o := f.overrides
	if err := fn(&o); err != nil {
		return apps.SettingsBody{}, err
	}
	f.overrides = o
	f.call("ChangeSettings %s", guid)
	return apps.SettingsBody{Overrides: o}, nil
}

// nodeStores is a metrics.NodeStores: this node's store, no other.
type nodeStores struct{ own *metrics.Store }

func (n nodeStores) Of(_ context.Context, id string) *metrics.Store {
	if id == "self" {
		return n.own
	}
	return nil
}

// TestSourcesAdaptServices checks that Sources asks the domain services
// what the pages need and maps their answers to the pages' view.
func TestSourcesAdaptServices(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	st, err := metrics.OpenStore(t.TempDir(), metrics.DefaultArchives(10*time.Second), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Write(now.Add(-time.Minute), map[string]float64{metrics.SeriesAppProcesses: 4, metrics.SeriesLoad1: 0.5}); err != nil {
		t.Fatal(err)
	}
	f := &fakeDomain{}
	src := Services{Content: f, Tags: f, Vanity: f, Access: f, Jobs: f, Processes: f, Metrics: nodeStores{st},
		HAChecks: hacheck.CheckerFunc(func(context.Context) ([]hacheck.Result, error) {
			return []hacheck.Result{{Title: "Clocks", Status: hacheck.Status("warn"), Nodes: []string{"a"}, Detail: "off", Action: "sync"}}, nil
		}),
		Now: func() time.Time { return now }}.Sources()
	u := &podium.User{ID: 1}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	t.Run("Content", func(t *testing.T) {
		f.calls = nil
		cs, err := src.ContentList(ctx, u)
		must(err)
		_, r, err := src.ContentGet(ctx, u, "g1")
		must(err)
		al, err := src.Permissions(ctx, u, "g1")
		must(err)
		_, err = src.BundleList(ctx, u, "g1")
		must(err)
		if len(cs) != 1 || r != (Rights{Edit: true}) || len(al.Users) != 1 || len(al.Groups) != 1 {
			t.Errorf("content %d, rights %+v, access list %+v", len(cs), r, al)
		}
		for _, c := range []func() error{
			func() error { _, err := src.Tags(ctx, u); return err },
			func() error { _, err := src.TagContent(ctx, u, 7); return err },
			func() error { _, err := src.ContentTags(ctx, u, "g1"); return err },
		} {
			must(c())
		}
		want := []string{"ContentList {Name: OwnerID:0 TagID:0}", "BundleList g1", "TagList {Name: ParentID:0 HasParent:false}", "TagContent 7", "ContentTags g1"}
		if !reflect.DeepEqual(f.calls, want) {
			t.Errorf("calls %q, want %q", f.calls, want)
		}
	})

	t.Run("Vanity", func(t *testing.T) {
		f.vanity = nil
		if v, err := src.Vanity(ctx, u, "g1"); err != nil || v != "/v/g1/" {
			t.Errorf("Vanity = %q, %v", v, err)
		}
		f.vanity = podium.Errorf(podium.ENOTFOUND, "no vanity path")
		if v, err := src.Vanity(ctx, u, "g1"); err != nil || v != "" {
			t.Errorf("Vanity without one = %q, %v, want \"\", nil", v, err)
		}
		f.vanity = errors.New("database down")
		if _, err := src.Vanity(ctx, u, "g1"); err == nil {
			t.Error("Vanity hid a database error")
		}
		f.vanity = nil
	})

	t.Run("Jobs", func(t *testing.T) {
		f.calls = nil
		_, err := src.ScheduleGet(ctx, u, "r1")
		must(err)
		_, err = src.ContentJobs(ctx, u, "r1", 20)
		must(err)
		if _, err := src.Jobs(ctx, u, "", 50); !podium.IsCode(err, podium.EFORBIDDEN) || !strings.HasPrefix(err.Error(), "dashboard jobs: ") {
			t.Errorf("Jobs error %v, want EFORBIDDEN wrapped", err)
		}
		must(src.SchedulePut(ctx, u, "r1", "0 6 * * *", "UTC", false))
		must(src.ScheduleDelete(ctx, u, "r1"))
		want := []string{"ScheduleGet r1", "ContentJobs r1 20 0", "SchedulePut r1 0 6 * * * UTC false", "ScheduleDelete r1"}
		if !reflect.DeepEqual(f.calls, want) {
			t.Errorf("calls %q, want %q", f.calls, want)
		}
		runs, err := src.NextRuns("0 6 * * *", "UTC", 2)
		must(err)
		if len(runs) != 2 || !runs[0].Equal(time.Date(2026, 12, 8, 6, 0, 0, 0, time.UTC)) {
			t.Errorf("NextRuns from %s = %v", now, runs)
		}
		if _, err := src.NextRuns("not a spec", "UTC", 2); err == nil {
			t.Error("NextRuns took a bad expression")
		}
	})

	t.Run("Processes", func(t *testing.T) {
		ps, lastErr := src.Processes("app")
		if len(ps) != 2 || ps[0].PID != 1 || ps[1].Ended == nil || ps[1].Exit != "exit status 1" || lastErr != "it crashed" {
			t.Errorf("Processes = %+v, %q", ps, lastErr)
		}
		if n := src.Running([]string{"ab", "abc"}); n != 5 {
			t.Errorf("Running = %d, want the sum of the apps' 2 + 3", n)
		}
	})

	t.Run("Metrics", func(t *testing.T) {
		ser, err := src.NodeSeries(ctx, "self", now.Add(-time.Hour))
		must(err)
		var names []string
		for _, s := range ser {
			names = append(names, s.Name)
		}
		if want := []string{"Load (1 min)", "App processes"}; !reflect.DeepEqual(names, want) {
			t.Errorf("charts %q, want those with points in chart order %q", names, want)
		}
		if n, ok := src.AppProcesses(ctx, "self"); !ok || n != 4 {
			t.Errorf("AppProcesses = %d, %v, want 4, true", n, ok)
		}
		if _, err := src.NodeSeries(ctx, "elsewhere", now.Add(-time.Hour)); !podium.IsCode(err, podium.ENOTFOUND) {
			t.Errorf("NodeSeries of a node on another machine: %v, want ENOTFOUND", err)
		}
		if _, ok := src.AppProcesses(ctx, "elsewhere"); ok {
			t.Error("AppProcesses known for a node on another machine")
		}
	})

	t.Run("HAChecks", func(t *testing.T) {
		hc, err := src.HAChecks(ctx)
		must(err)
		if want := []HACheck{{Title: "Clocks", Status: "warn", Nodes: []string{"a"}, Detail: "off", Action: "sync"}}; !reflect.DeepEqual(hc, want) {
			t.Errorf("HAChecks = %+v", hc)
		}
	})

	t.Run("Manage", func(t *testing.T) {
		f.calls = nil
		v := "x"
		must(src.ContentRename(ctx, u, "g1", "n", "t"))
		must(src.ContentDelete(ctx, u, "g1"))
		must(src.AccessSet(ctx, u, "g1", "", nil))
		must(src.AccessSet(ctx, u, "g1", "acl", nil))
		must(src.AccessSet(ctx, u, "g1", "", []ACLEntry{{Name: "ann", Role: "viewer"}, {Name: "ops", Group: true, Role: "viewer"}}))
		must(src.EnvSet(ctx, u, "g1", "A", &v))
		must(src.EnvSet(ctx, u, "g1", "A", nil))
		id, err := src.Activate(ctx, u, "g1", 9)
		must(err)
		if _, err := src.RenderNow(ctx, u, "g1"); !podium.IsCode(err, podium.EINVALID) {
			t.Errorf("RenderNow error %v, want the service's EINVALID", err)
		}
		names, err := src.EnvNames(ctx, u, "g1")
		must(err)
		want := []string{"ContentUpdate g1 name=n title=t", "ContentDelete g1", "ContentUpdate g1 access=acl",
			"PermissionsSet g1 access=false users=1 groups=1 replace=true", "EnvUpdate g1 A deleted=false", "EnvUpdate g1 A deleted=true",
			"DeployBundle g1 9 true"}
		if !reflect.DeepEqual(f.calls, want) || id != "deploy-task" || len(names) != 1 || !src.GroupsSupported() {
			t.Errorf("calls %q (task %q, env %q), want %q", f.calls, id, names, want)
		}
	})

	t.Run("ProcessSettings", func(t *testing.T) {
		must(src.SetProcessSettings(ctx, u, "app", &ProcessSettings{MaxProcesses: "2", IdleTimeout: "1m0s"}))
		ps, err := src.ProcessSettings(ctx, u, "app")
		must(err)
		if ps.MaxProcesses != "2" || ps.IdleTimeout != "1m0s" || ps.MinProcesses != "" || ps.Effective["max_processes"] != "3" {
			t.Errorf("ProcessSettings = %+v", ps)
		}
		if err := src.SetProcessSettings(ctx, u, "app", &ProcessSettings{MaxProcesses: "many"}); !podium.IsCode(err, podium.EINVALID) {
			t.Errorf("SetProcessSettings(many) = %v, want EINVALID", err)
		}
		if _, err := src.ProcessSettings(ctx, u, "theirs"); !podium.IsCode(err, podium.EFORBIDDEN) {
			t.Errorf("ProcessSettings of content u may not edit: %v, want EFORBIDDEN", err)
		}
		if err := src.SetProcessSettings(ctx, u, "theirs", &ProcessSettings{}); !podium.IsCode(err, podium.EFORBIDDEN) {
			t.Errorf("SetProcessSettings of content u may not edit: %v, want EFORBIDDEN", err)
		}
	})
}
