package web

import (
	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
)

// userKey is the echo context key of the authenticated user.
const userKey = "podium.user"

// SetUser records the authenticated user of a request (the auth
// middleware calls it).
func SetUser(c echo.Context, u *podium.User) { c.Set(userKey, u) }

// CurrentUser returns the authenticated user of a request, or nil for an
// anonymous one.
func CurrentUser(c echo.Context) *podium.User {
	u, _ := c.Get(userKey).(*podium.User)
	return u
}

// RequireUser returns the authenticated user, or EUNAUTHORIZED.
func RequireUser(c echo.Context) (*podium.User, error) {
	u := CurrentUser(c)
	if u == nil {
		return nil, podium.Errorf(podium.EUNAUTHORIZED, "authentication required: send \"Authorization: Key <api key>\" or log in")
	}
	return u, nil
}
