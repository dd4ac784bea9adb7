package dashboard

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/web"
	"github.com/podiumhq/podium/web/route"
)

// The content settings forms. Every form posts (with the session's CSRF
// token, checked by the authentication middleware) to a route below
// /content/{guid}/ and, when it worked, redirects (303) back to the
// content page with ?done= naming what was done (POST-redirect-GET: a
// reload does not post again). A refused form (bad input, a change the
// user may not make) shows the page again with the message beside the
// form and the values as typed. The rules are the API's: the service
// behind ContentManager checks who may do what.

// formErrorKey holds, in the echo context, the refusal of the form being
// shown again.
const formErrorKey = "dashboard.formError"

// formError is a refused form: the section it belongs to, the message,
// and the values as sent.
type formError struct {
	Section string
	Message string
	Values  url.Values
}

// doneMessages are the confirmations ?done= may name (only these: the
// query cannot put other words on the page).
var doneMessages = map[string]string{
	"access":     "Access saved.",
	"acl-add":    "Added to the access list.",
	"acl-remove": "Removed from the access list.",
	"processes":  "Process settings saved: they apply on every node within a few seconds.",
	"schedule":   "Schedule saved.",
	"unschedule": "Schedule removed.",
	"env":        "Environment variable saved.",
	"env-remove": "Environment variable removed.",
	"activate":   "Deployment started: its log follows below.",
	"render":     "Render started: its log follows below.",
	"rename":     "Name and title saved.",
	"deleted":    "Content deleted.",
}

// manageRoutes are the content settings forms (see above).
func (d *Dashboard) manageRoutes(mw []echo.MiddlewareFunc) []route.Route {
	base := Path + "/content/:guid"
	post := func(p string, audit string, fn formFunc) route.Route {
		return route.Route{Method: http.MethodPost, Path: base + p, Handler: d.form(fn), Middleware: mw, Audit: audit, AuditTarget: "content:{guid}"}
	}
	return []route.Route{
		post("/access", podium.AuditPermissionsSet, d.accessType),
		post("/access/add", podium.AuditPermissionsSet, d.aclAdd),
		post("/access/remove", podium.AuditPermissionsSet, d.aclRemove),
		post("/processes", podium.AuditProcessesSet, d.processSettings),
		post("/schedule", podium.AuditScheduleSet, d.schedule),
		post("/schedule/delete", podium.AuditScheduleDelete, d.unschedule),
		post("/environment", podium.AuditEnvSet, d.envSet),
		post("/environment/delete", podium.AuditEnvSet, d.envDelete),
		post("/bundles/:id/activate", podium.AuditDeploy, d.activate),
		post("/render", podium.AuditRender, d.renderNow),
		post("/rename", podium.AuditContentUpdate, d.rename),
		post("/delete", podium.AuditContentDelete, d.deleteContent),
	}
}

// formFunc does what a form asks and returns where to go: the ?done= code
// (and the task to follow, "" for none), or the section and error of a
// refusal.
type formFunc func(c echo.Context, u *podium.User, guid string) (done, task string, section string, err error)

// form wraps a formFunc: POST-redirect-GET on success, the page again
// with the message on a refusal, the error page otherwise.
func (d *Dashboard) form(fn formFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, guid := web.CurrentUser(c), c.Param("guid")
		if d.opts.Manage == nil {
			return d.renderError(c, podium.Errorf(podium.EUNAVAILABLE, "changing content is not available on this node"))
		}
		done, task, section, err := fn(c, u, guid)
		switch podium.ErrorCode(err) {
		case "":
		case podium.EINVALID, podium.ECONFLICT, podium.EFORBIDDEN:
			form, _ := c.FormParams()
			c.Set(formErrorKey, &formError{Section: section, Message: podium.ErrorMessage(err), Values: form})
			v, perr := d.contentPage(c)
			if perr != nil {
				return d.renderError(c, err)
			}
			status := web.StatusOf(podium.ErrorCode(err))
			return d.render(c, status, v)
		default:
			return d.renderError(c, err)
		}
		to := d.prefix(c) + Path + "/content/" + guid
		if done == "deleted" {
			to = d.prefix(c) + Path + "/"
		}
		q := url.Values{"done": {done}}
		if task != "" {
			q.Set("task", task)
		}
		frag := ""
		if section != "" && done != "deleted" {
			frag = "#" + section
		}
		return c.Redirect(http.StatusSeeOther, to+"?"+q.Encode()+frag)
	}
}

func (d *Dashboard) accessType(c echo.Context, u *podium.User, guid string) (string, string, string, error) {
	at := c.FormValue("access_type")
	if at == "" {
		return "", "", "access", podium.Errorf(podium.EINVALID, "choose who may see the content")
	}
	return "access", "", "access", d.opts.Manage.AccessSet(c.Request().Context(), u, guid, at, nil)
}

// currentACL returns the access list as entries to set again.
func (d *Dashboard) currentACL(c echo.Context, u *podium.User, guid string) ([]ACLEntry, error) {
	list, err := d.opts.Content.Permissions(c.Request().Context(), u, guid)
	if err != nil {
		return nil, err
	}
	out := make([]ACLEntry, 0, len(list.Users)+len(list.Groups))
	for _, e := range list.Users {
		out = append(out, ACLEntry{Name: e.Username, Role: e.Role})
	}
	for _, g := range list.Groups {
		out = append(out, ACLEntry{Name: g.Name, Group: true, GroupID: g.GroupID, Role: g.Role})
	}
	return out, nil
}

func (d *Dashboard) aclAdd(c echo.Context, u *podium.User, guid string) (string, string, string, error) {
	name, role := strings.TrimSpace(c.FormValue("principal")), c.FormValue("role")
	group := c.FormValue("principal_type") == "group"
	if name == "" {
		return "", "", "access", podium.Errorf(podium.EINVALID, "give the name of the user or group to add")
	}
	if role != podium.ACLViewer && role != podium.ACLCollaborator {
		return "", "", "access", podium.Errorf(podium.EINVALID, "choose viewer or collaborator")
	}
	list, err := d.currentACL(c, u, guid)
	if err != nil {
		return "", "", "access", err
	}
	found := false
	for i := range list {
		if list[i].Name == name && list[i].Group == group {
			list[i].Role, found = role, true
		}
	}
	if !found {
		list = append(list, ACLEntry{Name: name, Group: group, Role: role})
	}
	web.SetAuditDetail(c, "principal", name)
	return "acl-add", "", "access", d.opts.Manage.AccessSet(c.Request().Context(), u, guid, "", list)
}

func (d *Dashboard) aclRemove(c echo.Context, u *podium.User, guid string) (string, string, string, error) {
	name := c.FormValue("principal")
	group := c.FormValue("principal_type") == "group"
	groupID, _ := strconv.ParseInt(c.FormValue("group_id"), 10, 64)
	list, err := d.currentACL(c, u, guid)
	if err != nil {
		return "", "", "access", err
	}
	kept := make([]ACLEntry, 0, len(list))
	for _, e := range list {
		same := e.Group == group && e.Name == name
		if group && groupID != 0 {
			same = e.Group && e.GroupID == groupID
		}
		if !same {
			kept = append(kept, e)
		}
	}
	if len(kept) == len(list) {
		return "", "", "access", podium.Errorf(podium.EINVALID, "%q is not on the access list", name)
	}
	web.SetAuditDetail(c, "principal", name)
	return "acl-remove", "", "access", d.opts.Manage.AccessSet(c.Request().Context(), u, guid, "", kept)
}

func (d *Dashboard) processSettings(c echo.Context, u *podium.User, guid string) (string, string, string, error) {
	f := func(k string) string { return strings.TrimSpace(c.FormValue(k)) }
	ps := &ProcessSettings{MinProcesses: f("min_processes"), MaxProcesses: f("max_processes"),
		MaxConnsPerProcess: f("max_conns_per_process"), LoadFactor: f("load_factor"),
		IdleTimeout: f("idle_timeout"), InitTimeout: f("init_timeout")}
	return "processes", "", "runtime", d.opts.Manage.SetProcessSettings(c.Request().Context(), u, guid, ps)
}

func (d *Dashboard) schedule(c echo.Context, u *podium.User, guid string) (string, string, string, error) {
	spec, tz := strings.TrimSpace(c.FormValue("spec")), strings.TrimSpace(c.FormValue("timezone"))
	enabled := c.FormValue("enabled") != ""
	return "schedule", "", "schedule", d.opts.Manage.SchedulePut(c.Request().Context(), u, guid, spec, tz, enabled)
}

func (d *Dashboard) unschedule(c echo.Context, u *podium.User, guid string) (string, string, string, error) {
	return "unschedule", "", "schedule", d.opts.Manage.ScheduleDelete(c.Request().Context(), u, guid)
}

func (d *Dashboard) envSet(c echo.Context, u *podium.User, guid string) (string, string, string, error) {
	name, value := strings.TrimSpace(c.FormValue("name")), c.FormValue("value")
	web.SetAuditDetail(c, "variables", []string{name})
	return "env", "", "environment", d.opts.Manage.EnvSet(c.Request().Context(), u, guid, name, &value)
}

func (d *Dashboard) envDelete(c echo.Context, u *podium.User, guid string) (string, string, string, error) {
	name := c.FormValue("name")
	web.SetAuditDetail(c, "variables", []string{name})
	return "env-remove", "", "environment", d.opts.Manage.EnvSet(c.Request().Context(), u, guid, name, nil)
}

func (d *Dashboard) activate(c echo.Context, u *podium.User, guid string) (string, string, string, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return "", "", "bundles", podium.Errorf(podium.EINVALID, "bundle %q: not a bundle id", c.Param("id"))
	}
	web.SetAuditDetail(c, "bundle_id", id)
	task, err := d.opts.Manage.Activate(c.Request().Context(), u, guid, id)
	return "activate", task, "deployments", err
}

func (d *Dashboard) renderNow(c echo.Context, u *podium.User, guid string) (string, string, string, error) {
	task, err := d.opts.Manage.RenderNow(c.Request().Context(), u, guid)
	return "render", task, "deployments", err
}

func (d *Dashboard) rename(c echo.Context, u *podium.User, guid string) (string, string, string, error) {
	name, title := strings.TrimSpace(c.FormValue("name")), strings.TrimSpace(c.FormValue("title"))
	return "rename", "", "rename", d.opts.Manage.ContentRename(c.Request().Context(), u, guid, name, title)
}

func (d *Dashboard) deleteContent(c echo.Context, u *podium.User, guid string) (string, string, string, error) {
	ct, _, err := d.opts.Content.ContentGet(c.Request().Context(), u, guid)
	if err != nil {
		return "", "", "delete", err
	}
	if c.FormValue("confirm") != ct.Name {
		return "", "", "delete", podium.Errorf(podium.EINVALID, "type the content's name, %s, to confirm the deletion", ct.Name)
	}
	return "deleted", "", "delete", d.opts.Manage.ContentDelete(c.Request().Context(), u, guid)
}
