package publish

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/bundle"
	"github.com/podiumhq/podium/dbprovider"
)

// DeployResult is the JSON result of a deployment task.
type DeployResult struct {
	BundleID   int64  `json:"bundle_id"`
	AppMode    string `json:"app_mode"`
	ContentURL string `json:"content_url"`
	RenderID   int64  `json:"render_id,omitempty"`
	// Activated is false for a draft: the bundle was built, not made live.
	Activated bool `json:"activated"`
	// DraftURL is where the owner previews a draft ("" once activated).
	DraftURL string `json:"draft_url,omitempty"`
}

// ContentPath returns the URL path readers use for content.
func ContentPath(guid string) string { return "/content/" + guid + "/" }

// DraftPath returns the URL path where those who may edit content preview
// one of its bundles before it is activated (the path Connect clients
// open to check a draft).
func DraftPath(guid string, bundleID int64) string {
	return ContentPath(guid) + "_bundle" + strconv.FormatInt(bundleID, 10) + "/"
}

// Deploy starts a task on this node that deploys a bundle of content u may
// edit: unpack (if not yet), validate the manifest, render a report once,
// then activate the bundle in one database update, so readers see the old
// bundle or the new one and nothing between. A failed deployment leaves
// the active bundle as it was.
//
// Returns ENOTFOUND for unknown content or a bundle of other content,
// EFORBIDDEN per access.
func (s *Service) Deploy(ctx context.Context, u *podium.User, guid string, bundleID int64) (*podium.Task, error) {
	return s.DeployBundle(ctx, u, guid, bundleID, true)
}

// DeployBundle is Deploy with the choice of activating: with activate
// false the bundle is built (unpacked, checked, a report rendered) but
// readers keep the active bundle; its owner previews it at DraftPath.
// Deploying a built bundle again with activate true then activates it at
// once (a report's draft render is reused).
func (s *Service) DeployBundle(ctx context.Context, u *podium.User, guid string, bundleID int64, activate bool) (*podium.Task, error) {
	c, _, err := s.contentFor(ctx, u, guid, canEdit)
	if err != nil {
		return nil, err
	}
	b, err := s.contentBundle(ctx, c, bundleID)
	if err != nil {
		return nil, err
	}
	return s.startTask(ctx, podium.TaskDeploy, c, u, func(ctx context.Context, log *TaskLog) (any, error) {
		return s.deploy(ctx, log, c, b, activate)
	})
}

func (s *Service) deploy(ctx context.Context, log *TaskLog, c *podium.Content, b *podium.Bundle, activate bool) (*DeployResult, error) {
	if activate {
		log.Printf("Deploying bundle %d of content %s (%s) on node %s", b.ID, c.GUID, c.Name, s.nodeID)
	} else {
		log.Printf("Building bundle %d of content %s (%s) on node %s as a draft: it will not be activated", b.ID, c.GUID, c.Name, s.nodeID)
	}
	dir, err := s.ensureUnpacked(ctx, c, b)
	if err != nil {
		return nil, fmt.Errorf("unpack bundle: %w", err)
	}
	log.Printf("Bundle unpacked")
	m, err := bundle.LoadManifest(dir)
	if err != nil {
		return nil, err
	}
	log.Printf("Manifest OK: appmode %s", m.Metadata.AppMode)
	if ignored := m.Ignored(); len(ignored) > 0 {
		log.Printf("Manifest fields accepted but not used by this server: %s", strings.Join(ignored, ", "))
	}
	res := &DeployResult{BundleID: b.ID, AppMode: string(m.Metadata.AppMode), ContentURL: ContentPath(c.GUID), Activated: activate}
	// What the bundle is built with, recorded on the bundle (and copied to
	// the content when it is activated): Connect's py_version, r_version
	// and the lockfile clients fetch.
	var benv podium.BundleEnvironment
	if spec := m.RuntimeSpec(); spec != nil {
		// Python content: its environment, built (or found in the shared
		// cache) before anything is activated.
		env, err := s.prepareRuntime(ctx, c.ID, spec, dir, log.Line)
		if err != nil {
			return nil, err
		}
		benv.PyVersion = env.Interpreter.Version
		if benv.Lockfile, err = s.runtimes.Lockfile(env); err != nil {
			return nil, err
		}
	}
	if spec, err := m.RSpec(); err != nil {
		return nil, err
	} else if spec != nil {
		// R content: its package library, restored (or found in the
		// shared cache) before anything is activated.
		lib, err := s.restoreR(ctx, c.ID, spec, log.Line)
		if err != nil {
			return nil, err
		}
		benv.RVersion = lib.R.Version
	}
	if err := s.db.BundleSetEnvironment(ctx, b.ID, &benv); err != nil {
		return nil, fmt.Errorf("record the bundle's environment: %w", err)
	}
	if benv.PyVersion != "" || benv.RVersion != "" {
		log.Printf("Built with %s", describeEnv(&benv))
	}
	if rendered(string(m.Metadata.AppMode)) {
		// A draft render of this bundle is reused: activating a built
		// draft does not render again. A render older than the last
		// activation is not a draft's (a redeploy renders afresh).
		if r, ok := s.draftRender(ctx, c, b); ok && activate {
			log.Printf("Reusing render %d of this bundle", r.ID)
			res.RenderID = r.ID
		} else {
			if m.Render != nil {
				log.Printf("Rendering the report: %q", m.Render.Command)
			} else {
				log.Printf("Rendering the %s", m.Metadata.AppMode)
			}
			r, err := s.render(ctx, c, b, dir, m, RenderOptions{TaskID: log.id, Output: log.Line})
			if err != nil {
				return nil, fmt.Errorf("first render: %w", err)
			}
			res.RenderID = r.ID
		}
	}
	if !activate {
		res.DraftURL = DraftPath(c.GUID, b.ID)
		log.Printf("Bundle %d is built as a draft; readers still see the active bundle. Preview: %s", b.ID, res.DraftURL)
		s.log.WithFields(map[string]any{"guid": c.GUID, "bundle": b.ID, "appmode": res.AppMode}).Info("bundle built as a draft")
		return res, nil
	}
	if err := s.activate(context.WithoutCancel(ctx), log.id, &dbprovider.ContentActivateParams{
		ID: c.ID, BundleID: b.ID, AppMode: string(m.Metadata.AppMode),
	}); err != nil {
		return nil, fmt.Errorf("activate bundle: %w", err)
	}
	log.Printf("Bundle %d is now active: %s", b.ID, res.ContentURL)
	s.log.WithFields(map[string]any{"guid": c.GUID, "bundle": b.ID, "appmode": res.AppMode}).Info("bundle deployed")
	return res, nil
}

// activate points content at a bundle, fenced by the deployment's task:
// the activation commits only while the task is unfinished, so a node that
// was taken for dead (its task failed by another node) cannot activate a
// bundle after its client was told the deployment failed.
func (s *Service) activate(ctx context.Context, taskID string, p *dbprovider.ContentActivateParams) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	lost := false
	err := dbprovider.RunTx(ctx, s.db, func(tx dbprovider.Tx) error {
		if err := tx.TaskHold(ctx, taskID); err != nil {
			lost = podium.IsCode(err, podium.ECONFLICT) && !dbprovider.IsRetryable(err)
			return err
		}
		_, err := tx.ContentActivate(ctx, p)
		return err
	})
	if lost {
		return podium.Errorf(podium.ECONFLICT, "not activated: this node lost the deployment (%s)", podium.ErrorMessage(err))
	}
	return err
}

// draftRender returns the render of bundle b made by a draft deployment
// since the content was last activated, if any.
func (s *Service) draftRender(ctx context.Context, c *podium.Content, b *podium.Bundle) (*podium.Render, bool) {
	r, err := s.db.RenderGetLatestGood(ctx, c.ID, b.ID)
	if err != nil {
		return nil, false
	}
	cur, err := s.db.ContentGet(ctx, c.ID)
	if err != nil {
		return nil, false
	}
	if cur.LastDeployedAt != nil && !r.StartedAt.After(*cur.LastDeployedAt) {
		return nil, false
	}
	return r, true
}

// describeEnv names the runtime versions of a bundle's environment.
func describeEnv(e *podium.BundleEnvironment) string {
	var parts []string
	if e.PyVersion != "" {
		parts = append(parts, "Python "+e.PyVersion)
	}
	if e.RVersion != "" {
		parts = append(parts, "R "+e.RVersion)
	}
	if e.QuartoVersion != "" {
		parts = append(parts, "Quarto "+e.QuartoVersion)
	}
	return strings.Join(parts, ", ")
}
