package podium

import (
	"net/http"
	"testing"
)

// TestHTTPStatusRoundTrip: every code a server answers with comes back as
// the same code from its status, except ESCHEMA and EREFUSED, which share
// 503 with EUNAVAILABLE and come back as it.
func TestHTTPStatusRoundTrip(t *testing.T) {
	t.Parallel()
	codes := []string{EINVALID, EUNAUTHORIZED, EFORBIDDEN, ENOTFOUND, ECONFLICT, EPRECONDITION, ETOOLARGE,
		EUNSUPPORTED, EUNAVAILABLE, ENOTIMPLEMENTED, ENOSPACE, ETIMEOUT, EINTERNAL}
	for _, code := range codes {
		if got := CodeOfHTTPStatus(HTTPStatus(code)); got != code {
			t.Errorf("%s -> %d -> %s", code, HTTPStatus(code), got)
		}
	}
	for _, code := range []string{ESCHEMA, EREFUSED} {
		if got := CodeOfHTTPStatus(HTTPStatus(code)); got != EUNAVAILABLE {
			t.Errorf("%s -> %d -> %s, want %s", code, HTTPStatus(code), got, EUNAVAILABLE)
		}
	}
	if got := CodeOfHTTPStatus(http.StatusBadGateway); got != EINTERNAL {
		t.Errorf("502 -> %s, want internal", got)
	}
}
