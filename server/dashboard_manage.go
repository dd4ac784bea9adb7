package server

import (
	"context"
	"strconv"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/apps"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/publish"
	"github.com/podiumhq/podium/scheduler"
	"github.com/podiumhq/podium/web/dashboard"
)

// ContentRename implements dashboard.ContentManager.
func (s dashSources) ContentRename(ctx context.Context, u *podium.User, guid, name, title string) error {
	_, err := s.pub.ContentUpdate(ctx, u, guid, publish.ContentUpdateRequest{Name: &name, Title: &title})
	return err
}

// ContentDelete implements dashboard.ContentManager.
func (s dashSources) ContentDelete(ctx context.Context, u *podium.User, guid string) error {
	return s.pub.ContentDelete(ctx, u, guid)
}

// AccessSet implements dashboard.ContentManager.
func (s dashSources) AccessSet(ctx context.Context, u *podium.User, guid, accessType string, entries []dashboard.ACLEntry) error {
	if entries == nil {
		if accessType == "" {
			return nil
		}
		_, err := s.pub.ContentUpdate(ctx, u, guid, publish.ContentUpdateRequest{AccessType: &accessType})
		return err
	}
	r := publish.PermissionsSetRequest{Entries: make([]dbprovider.ContentACLEntryParams, 0, len(entries)),
		Groups: []publish.GroupGrant{}, ReplaceGroups: true}
	if accessType != "" {
		r.AccessType = &accessType
	}
	for _, e := range entries {
		if e.Group {
			r.Groups = append(r.Groups, publish.GroupGrant{GroupID: e.GroupID, Name: e.Name, Role: e.Role})
			continue
		}
		r.Entries = append(r.Entries, dbprovider.ContentACLEntryParams{Username: e.Name, Role: e.Role})
	}
	_, err := s.pub.PermissionsSet(ctx, u, guid, r)
	return err
}

// GroupsSupported implements dashboard.ContentManager.
func (s dashSources) GroupsSupported() bool { return true }

// Activate implements dashboard.ContentManager.
func (s dashSources) Activate(ctx context.Context, u *podium.User, guid string, bundleID int64) (string, error) {
	t, err := s.pub.Deploy(ctx, u, guid, bundleID)
	if err != nil {
		return "", err
	}
	return t.ID, nil
}

// RenderNow implements dashboard.ContentManager.
func (s dashSources) RenderNow(ctx context.Context, u *podium.User, guid string) (string, error) {
	t, err := s.pub.RenderTask(ctx, u, guid)
	if err != nil {
		return "", err
	}
	return t.ID, nil
}

// EnvNames implements dashboard.ContentManager.
func (s dashSources) EnvNames(ctx context.Context, u *podium.User, guid string) ([]string, error) {
	return s.pub.EnvNames(ctx, u, guid)
}

// EnvSet implements dashboard.ContentManager.
func (s dashSources) EnvSet(ctx context.Context, u *podium.User, guid, name string, value *string) error {
	_, err := s.pub.EnvUpdate(ctx, u, guid, []publish.EnvVarSet{{Name: name, Value: value}})
	return err
}

// processFields are the form's fields of the process settings.
func processFields(o *apps.Overrides) map[string]string {
	f := map[string]string{"idle_timeout": o.IdleTimeout, "init_timeout": o.InitTimeout}
	for name, p := range map[string]*int{"min_processes": o.MinProcesses, "max_processes": o.MaxProcesses, "max_conns_per_process": o.MaxConnsPerProcess} {
		if p != nil {
			f[name] = strconv.Itoa(*p)
		}
	}
	if o.LoadFactor != nil {
		f["load_factor"] = strconv.FormatFloat(*o.LoadFactor, 'g', -1, 64)
	}
	return f
}

// ProcessSettings implements dashboard.ContentManager.
func (s dashSources) ProcessSettings(ctx context.Context, u *podium.User, guid string) (*dashboard.ProcessSettings, error) {
	if err := s.pub.MayEdit(ctx, u, guid); err != nil {
		return nil, err
	}
	b, err := s.sup.Settings(ctx, s.settings, guid)
	if err != nil {
		return nil, err
	}
	f := processFields(&b.Overrides)
	e := b.Effective
	return &dashboard.ProcessSettings{
		MinProcesses: f["min_processes"], MaxProcesses: f["max_processes"], MaxConnsPerProcess: f["max_conns_per_process"],
		LoadFactor: f["load_factor"], IdleTimeout: f["idle_timeout"], InitTimeout: f["init_timeout"],
		Effective: map[string]string{
			"min_processes": strconv.Itoa(e.MinProcesses), "max_processes": strconv.Itoa(e.MaxProcesses),
			"max_conns_per_process": strconv.Itoa(e.MaxConnsPerProcess), "load_factor": strconv.FormatFloat(e.LoadFactor, 'g', -1, 64),
			"idle_timeout": e.IdleTimeout, "init_timeout": e.InitTimeout,
		},
	}, nil
}

// SetProcessSettings implements dashboard.ContentManager.
func (s dashSources) SetProcessSettings(ctx context.Context, u *podium.User, guid string, ps *dashboard.ProcessSettings) error {
	if err := s.pub.MayEdit(ctx, u, guid); err != nil {
		return err
	}
	var o apps.Overrides
	ints := []struct {
		name, v string
		p       **int
	}{{"min_processes", ps.MinProcesses, &o.MinProcesses}, {"max_processes", ps.MaxProcesses, &o.MaxProcesses},
		{"max_conns_per_process", ps.MaxConnsPerProcess, &o.MaxConnsPerProcess}}
	for _, f := range ints {
		if f.v == "" {
			continue
		}
		n, err := strconv.Atoi(f.v)
		if err != nil {
			return podium.Errorf(podium.EINVALID, "%s: %q is not a whole number (leave it empty for the server's default)", f.name, f.v)
		}
		*f.p = &n
	}
	if ps.LoadFactor != "" {
		x, err := strconv.ParseFloat(ps.LoadFactor, 64)
		if err != nil {
			return podium.Errorf(podium.EINVALID, "load_factor: %q is not a number such as 0.5 (leave it empty for the server's default)", ps.LoadFactor)
		}
		o.LoadFactor = &x
	}
	o.IdleTimeout, o.InitTimeout = ps.IdleTimeout, ps.InitTimeout
	_, err := s.sup.ChangeSettings(ctx, s.settings, guid, func(stored *apps.Overrides) error {
		*stored = o
		return nil
	})
	return err
}

// SchedulePut implements dashboard.ContentManager.
func (s dashSources) SchedulePut(ctx context.Context, u *podium.User, guid, spec, timezone string, enabled bool) error {
	_, err := s.sched.SchedulePut(ctx, u, guid, &scheduler.ScheduleInput{Spec: spec, Timezone: timezone, Enabled: &enabled})
	return err
}

// ScheduleDelete implements dashboard.ContentManager.
func (s dashSources) ScheduleDelete(ctx context.Context, u *podium.User, guid string) error {
	return s.sched.ScheduleDelete(ctx, u, guid)
}

// NextRuns implements dashboard.ContentManager.
func (s dashSources) NextRuns(spec, timezone string, n int) ([]time.Time, error) {
	sp, err := scheduler.ParseSpec(spec, timezone)
	if err != nil {
		return nil, err
	}
	return sp.NextRuns(s.now(), n), nil
}
