package server

import (
	"context"
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

// ProcessSettings implements dashboard.ContentManager.
func (s dashSources) ProcessSettings(ctx context.Context, u *podium.User, guid string) (*dashboard.ProcessSettings, error) {
	if err := s.pub.MayEdit(ctx, u, guid); err != nil {
		return nil, err
	}
	b, err := s.sup.Settings(ctx, s.settings, guid)
	if err != nil {
		return nil, err
	}
	f := b.Overrides.Text()
	return &dashboard.ProcessSettings{
		MinProcesses: f["min_processes"], MaxProcesses: f["max_processes"], MaxConnsPerProcess: f["max_conns_per_process"],
		LoadFactor: f["load_factor"], IdleTimeout: f["idle_timeout"], InitTimeout: f["init_timeout"],
		Effective: b.Effective.Text(),
	}, nil
}

// SetProcessSettings implements dashboard.ContentManager.
func (s dashSources) SetProcessSettings(ctx context.Context, u *podium.User, guid string, ps *dashboard.ProcessSettings) error {
	if err := s.pub.MayEdit(ctx, u, guid); err != nil {
		return err
	}
	o, err := apps.ParseSettingsText(apps.SettingsText{"min_processes": ps.MinProcesses, "max_processes": ps.MaxProcesses,
		"max_conns_per_process": ps.MaxConnsPerProcess, "load_factor": ps.LoadFactor, "idle_timeout": ps.IdleTimeout, "init_timeout": ps.InitTimeout})
	if err != nil {
		return err
	}
	_, err = s.sup.ChangeSettings(ctx, s.settings, guid, func(stored *apps.Overrides) error {
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
