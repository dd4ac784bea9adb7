// Package jsonbody decodes the JSON body of an API request: the one
// decoder of every endpoint under /__api__/v1/ (package web's and package
// apps'), so that every endpoint refuses the same bad input with the same
// status and message.
//
// It imports the root package podium (error codes) and echo only, so that
// packages which must not import web (apps) use it too.
package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/podiumhq/podium"
)

// Decode decodes one JSON object of at most limit bytes into v:
// the one decoder of every JSON API body, so that every endpoint refuses
// the same bad input with the same messages (415 for another media type,
// 413 over the limit, 400 naming the field or byte offset otherwise).
func Decode(c echo.Context, v any, limit int) error {
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != echo.MIMEApplicationJSON {
			return podium.Errorf(podium.EUNSUPPORTED, "send the body as application/json, not %q", ct)
		}
	}
	data, err := io.ReadAll(io.LimitReader(req.Body, int64(limit)+1))
	if err != nil {
		return podium.Errorf(podium.EINVALID, "cannot read the request body: %v", err)
	}
	if len(data) > limit {
		return podium.Errorf(podium.ETOOLARGE, "the JSON body is larger than %d bytes", limit)
	}
	return Unmarshal(data, v)
}

// Unmarshal decodes data, one JSON object, into v with the rules and
// messages of Decode (no unknown fields, nothing after the object): for a
// body read once and applied more than once (a PATCH retried on a
// conflicting update).
func Unmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typ *json.UnmarshalTypeError
		var syn *json.SyntaxError
		switch {
		case errors.Is(err, io.EOF):
			return podium.Errorf(podium.EINVALID, "the request body is empty: send a JSON object")
		case errors.As(err, &typ):
			if typ.Field == "" {
				return podium.Errorf(podium.EINVALID, "the request body must be a JSON object, not %s", typ.Value)
			}
			return podium.Errorf(podium.EINVALID, "field %q must be %s, not %s", typ.Field, typ.Type.Kind(), typ.Value)
		case errors.As(err, &syn):
			return podium.Errorf(podium.EINVALID, "malformed JSON at byte %d: %v", syn.Offset, syn)
		default:
			return podium.Errorf(podium.EINVALID, "invalid JSON body: %s", strings.TrimPrefix(err.Error(), "json: "))
		}
	}
	if dec.More() {
		return podium.Errorf(podium.EINVALID, "unexpected data after the JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return podium.Errorf(podium.EINVALID, "unexpected data after the JSON object")
	}
	return nil
}
