package dashboard

import (
	"encoding/base64"
	"encoding/json"
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
	// TypedName is the name of a refused form, shown again.
	TypedName string
	Server    string // the URL to give clients (rsconnect add --server)
}

// newKeyCookie carries a key just created from the POST to the page the
// browser is sent to (POST-redirect-GET: reloading the page does not
// create a second key). It is read once, then cleared; it lives two
// minutes at most, only for the keys page, never readable by scripts.
const newKeyCookie = "podium_new_key"

// keysPage answers GET /__dashboard__/keys: the caller's API keys, with
// forms to create one (what `rsconnect add` and `podium deploy` ask for)
// and to revoke each. A key just created is shown once.
func (d *Dashboard) keysPage(c echo.Context) (*view, error) {
	data := &keysData{}
	if ck, err := c.Cookie(newKeyCookie); err == nil && ck.Value != "" {
		if b, err := base64.RawURLEncoding.DecodeString(ck.Value); err == nil {
			var nk struct{ Key, Name string }
			if json.Unmarshal(b, &nk) == nil {
				data.NewKey, data.NewName = nk.Key, nk.Name
			}
		}
		d.setNewKeyCookie(c, "", -1)
	}
	return d.keysView(c, data)
}

func (d *Dashboard) setNewKeyCookie(c echo.Context, value string, maxAge int) {
	c.SetCookie(&http.Cookie{Name: newKeyCookie, Value: value, Path: d.prefix(c) + Path + "/keys", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.Scheme() == "https"})
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
// session's csrf_token is checked by the authentication middleware):
// creates the key and redirects (303) to the keys page, which shows it
// once; a refused name shows the page again with the message.
func (d *Dashboard) createKey(c echo.Context) error {
	u := web.CurrentUser(c)
	name := c.FormValue("name")
	if d.opts.Keys == nil {
		return d.renderError(c, podium.Errorf(podium.EUNAVAILABLE, "API keys are not available on this node"))
	}
	key, rec, err := d.opts.Keys.CreateAPIKey(c.Request().Context(), u.ID, name)
	switch {
	case podium.IsCode(err, podium.EINVALID) || podium.IsCode(err, podium.ECONFLICT):
		v, verr := d.keysView(c, &keysData{Error: podium.ErrorMessage(err), TypedName: name})
		if verr != nil {
			return d.renderError(c, verr)
		}
		return d.render(c, http.StatusBadRequest, v)
	case err != nil:
		return d.renderError(c, err)
	}
	web.SetAuditTarget(c, "key:"+strconv.FormatInt(rec.ID, 10))
	b, _ := json.Marshal(struct{ Key, Name string }{key, name})
	d.setNewKeyCookie(c, base64.RawURLEncoding.EncodeToString(b), 120)
	return c.Redirect(http.StatusSeeOther, d.prefix(c)+Path+"/keys")
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
