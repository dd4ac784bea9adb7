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
	"unicode/utf8"

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
		var perr *podium.Error
		if errors.As(err, &perr) {
			return perr // not text: the edge's reader (package web) says where
		}
		// %w: a body that stalled past [HTTP] MinUploadRate is the edge's
		// *web.SlowBodyError, which the error handler answers 408 (as for
		// the login form and bundle uploads), not 400.
		return podium.Errorf(podium.EINVALID, "cannot read the request body: %w", err)
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
	// encoding/json turns bytes that are not UTF-8, and escaped unpaired
	// surrogates, into U+FFFD without a word: two different passwords
	// would become one. Refuse them (and NUL) before decoding.
	if err := CheckText(data); err != nil {
		return err
	}
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

// CheckText refuses a JSON document whose strings are not text: bytes
// that are not UTF-8 (encoding/json would silently turn them into U+FFFD),
// and the escapes \u0000 and unpaired surrogates (\ud800), which decode to
// NUL and U+FFFD. Decode and Unmarshal call it first.
func CheckText(data []byte) error {
	if !utf8.Valid(data) {
		i := 0
		for i < len(data) {
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			i += size
		}
		return podium.Errorf(podium.EINVALID, "the JSON body is not valid UTF-8 text (byte %d): send text encoded as UTF-8", i)
	}
	inString := false
	for i := 0; i < len(data); i++ {
		switch ch := data[i]; {
		case ch == '"':
			inString = !inString
		case ch == '\\' && inString:
			if i+1 < len(data) && data[i+1] == 'u' {
				r, ok := hex4(data[i+2:])
				switch {
				case !ok:
				case r == 0:
					return podium.Errorf(podium.EINVALID, "the JSON body holds \\u0000 at byte %d: text may not contain NUL", i)
				case r >= 0xD800 && r < 0xDC00:
					lo, ok := rune(0), false
					if i+7 < len(data) && data[i+6] == '\\' && data[i+7] == 'u' {
						lo, ok = hex4(data[i+8:])
					}
					if !ok || lo < 0xDC00 || lo > 0xDFFF {
						return podium.Errorf(podium.EINVALID, "the JSON body holds an unpaired surrogate escape at byte %d: it is not text", i)
					}
					i += 6
				case r >= 0xDC00 && r <= 0xDFFF:
					return podium.Errorf(podium.EINVALID, "the JSON body holds an unpaired surrogate escape at byte %d: it is not text", i)
				}
			}
			i++ // skip the escaped character
		}
	}
	return nil
}

// hex4 reads four hex digits.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
