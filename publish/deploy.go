package publish

import (
	"context"
	"fmt"
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
}

// ContentPath returns the URL path readers use for content.
func ContentPath(guid string) string { return "/content/" + guid + "/" }

// Deploy starts a task on this node that deploys a bundle of content u may
// edit: unpack (if not yet), validate the manifest, render a report once,
// then activate the bundle in one database update, so readers see the old
// bundle or the new one and nothing between. A failed deployment leaves
// the active bundle as it was.
//
// Returns ENOTFOUND for unknown content or a bundle of other content,
// EFORBIDDEN per access.
func (s *Service) Deploy(ctx context.Context, u *podium.User, guid string, bundleID int64) (*podium.Task, error) {
	c, _, err := s.contentFor(ctx, u, guid, canEdit)
	if err != nil {
		return nil, err
	}
	b, err := s.db.BundleGet(ctx, bundleID)
	if podium.IsCode(err, podium.ENOTFOUND) || (err == nil && b.ContentID != c.ID) {
		return nil, podium.Errorf(podium.ENOTFOUND, "bundle %d of content %s not found", bundleID, guid)
	} else if err != nil {
		return nil, err
	}
	return s.startTask(ctx, podium.TaskDeploy, c, u, func(ctx context.Context, log *TaskLog) (any, error) {
		return s.deploy(ctx, log, c, b)
	})
}

func (s *Service) deploy(ctx context.Context, log *TaskLog, c *podium.Content, b *podium.Bundle) (*DeployResult, error) {
	log.Printf("Deploying bundle %d of content %s (%s) on node %s", b.ID, c.GUID, c.Name, s.nodeID)
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
	res := &DeployResult{BundleID: b.ID, AppMode: string(m.Metadata.AppMode), ContentURL: ContentPath(c.GUID)}
	if spec := m.RuntimeSpec(); spec != nil {
		// Python content: its environment, built (or found in the shared
		// cache) before anything is activated.
		if _, err := s.prepareRuntime(ctx, spec, dir, log.Line); err != nil {
			return nil, err
		}
	}
	if rendered(string(m.Metadata.AppMode)) {
		log.Printf("Rendering the %s", m.Metadata.AppMode)
		r, err := s.render(ctx, c, b, dir, m, RenderOptions{TaskID: log.id, Output: log.Line})
		if err != nil {
			return nil, fmt.Errorf("first render: %w", err)
		}
		res.RenderID = r.ID
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
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if err := tx.TaskHold(ctx, taskID); err != nil {
		if podium.IsCode(err, podium.ECONFLICT) {
			return podium.Errorf(podium.ECONFLICT, "not activated: this node lost the deployment (%s)", podium.ErrorMessage(err))
		}
		return err
	}
	if _, err := tx.ContentActivate(ctx, p); err != nil {
		return err
	}
	return tx.Commit()
}
