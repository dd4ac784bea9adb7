package podium

import "net/http"

// HTTPStatus returns the HTTP status of an error code: the one mapping
// between codes and statuses, used by the server (package web) to answer
// and by the Go client (package client) to read the answer back.
func HTTPStatus(code string) int {
	switch code {
	case EINVALID:
		return http.StatusBadRequest
	case EUNAUTHORIZED:
		return http.StatusUnauthorized
	case EFORBIDDEN:
		return http.StatusForbidden
	case ENOTFOUND:
		return http.StatusNotFound
	case ECONFLICT:
		return http.StatusConflict
	case EPRECONDITION:
		return http.StatusPreconditionFailed
	case ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case EUNSUPPORTED:
		return http.StatusUnsupportedMediaType
	case EUNAVAILABLE, ESCHEMA, EREFUSED:
		return http.StatusServiceUnavailable
	case ENOTIMPLEMENTED:
		return http.StatusNotImplemented
	case ENOSPACE:
		return http.StatusInsufficientStorage
	case ETIMEOUT:
		return http.StatusRequestTimeout
	default:
		return http.StatusInternalServerError
	}
}

// KnownCode reports whether code is one of the error codes (E*) of this
// package: a client takes the code of an error body only when it is one,
// since a proxy in front of Podium may answer JSON of its own.
func KnownCode(code string) bool {
	switch code {
	case ECONFLICT, EINTERNAL, EINVALID, ENOTFOUND, EUNAUTHORIZED, EFORBIDDEN, EREFUSED, ESCHEMA,
		EUNAVAILABLE, ETOOLARGE, EPRECONDITION, ECANCELED, EUNSUPPORTED, ENOTIMPLEMENTED, ENOSPACE, ETIMEOUT:
		return true
	}
	return false
}

// CodeOfHTTPStatus returns the error code of an HTTP error status, the
// inverse of HTTPStatus for a client whose answer carries no code of its
// own (a proxy's error page): 503, the status of EUNAVAILABLE, ESCHEMA and
// EREFUSED, is EUNAVAILABLE (for a client, the server cannot serve it
// now); statuses no code maps to are EINTERNAL.
func CodeOfHTTPStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return EINVALID
	case http.StatusUnauthorized:
		return EUNAUTHORIZED
	case http.StatusForbidden:
		return EFORBIDDEN
	case http.StatusNotFound:
		return ENOTFOUND
	case http.StatusConflict:
		return ECONFLICT
	case http.StatusPreconditionFailed:
		return EPRECONDITION
	case http.StatusRequestEntityTooLarge:
		return ETOOLARGE
	case http.StatusUnsupportedMediaType:
		return EUNSUPPORTED
	case http.StatusServiceUnavailable:
		return EUNAVAILABLE
	case http.StatusNotImplemented:
		return ENOTIMPLEMENTED
	case http.StatusInsufficientStorage:
		return ENOSPACE // the server's disk is full: exit code 1, not "your input"
	case http.StatusRequestTimeout:
		return ETIMEOUT // the upload was too slow: retry on a better link (exit code 1)
	default:
		return EINTERNAL
	}
}
