package dashboard

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/dbprovider"
	"github.com/podiumhq/podium/web"
)

// keysData is the data of the API keys page.
type keysData struct {
	Keys []*dbprovider.APIKey
	// NewKey is the key just created, shown once.
	NewKey  string
	NewName string
	Error   string
	Server  string // the URL to give clients (rsconnect add --server)
}

// keysPage answers GET /__dashboard__/keys: the caller's API keys, with
// forms to create one (what `rsconnect add` and `podium deploy` ask for)
// and to revoke each.
func (d *Dashboard) keysPage(c echo.Context) (*view, error) {
	return d.keysView(c, &keysData{})
}

func (d *Dashboard) keysView(c echo.Context, data *keysData) (*view, error) {
	if d.opts.Keys == nil {
		return nil, podium.Errorf(podium.EUNAVAILABLE, "API keys are not available on this node")
	}
	u := web.CurrentUser(c)
	keys, err := d.opts.Keys.ListAPIKeys(c.Request().Context(), u.ID)
	if err != nil {
		return nil, err
	}
	data.Keys = keys
	data.Server = c.Scheme() + "://" + c.Request().Host + d.prefix(c)
	return &view{Name: "keys", Title: "API keys", Data: data}, nil
}

// createKey answers POST /__dashboard__/keys (form field name; the
// session's csrf_token is checked by the authentication middleware): the
// page again, with the new key shown once.
func (d *Dashboard) createKey(c echo.Context) error {
	u := web.CurrentUser(c)
	name := c.FormValue("name")
	data := &keysData{}
	status := http.StatusOK
	if d.opts.Keys != nil {
		key, _, err := d.opts.Keys.CreateAPIKey(c.Request().Context(), u.ID, name)
		switch {
		case podium.IsCode(err, podium.EINVALID) || podium.IsCode(err, podium.ECONFLICT):
			data.Error, status = podium.ErrorMessage(err), http.StatusBadRequest
		case err != nil:
			return d.renderError(c, err)
		default:
			data.NewKey, data.NewName = key, name
		}
	}
	v, err := d.keysView(c, data)
	if err != nil {
		return d.renderError(c, err)
	}
	return d.render(c, status, v)
}

// revokeKey answers POST /__dashboard__/keys/:id/revoke: revokes one of
// the caller's keys and goes back to the page.
func (d *Dashboard) revokeKey(c echo.Context) error {
	u := web.CurrentUser(c)
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 || d.opts.Keys == nil {
		return d.renderError(c, podium.Errorf(podium.ENOTFOUND, "API key %q not found", c.Param("id")))
	}
	if err := d.opts.Keys.RevokeAPIKey(c.Request().Context(), u.ID, id); err != nil {
		return d.renderError(c, err)
	}
	return c.Redirect(http.StatusSeeOther, d.prefix(c)+Path+"/keys")
}
