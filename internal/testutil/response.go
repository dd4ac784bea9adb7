package testutil

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// DescribeResponse is r, with its body already read, as a text two
// answers can be compared by: status and protocol, headers (but those
// named in skip: a Date, a random request id), declared length and
// chunking, the body, and the trailers, in a fixed order.
func DescribeResponse(r *http.Response, body string, skip ...string) string {
	var lines []string
	for k, v := range r.Header {
		if !slices.Contains(skip, k) {
			lines = append(lines, k+": "+strings.Join(v, " | "))
		}
	}
	slices.Sort(lines)
	var tr []string
	for k, v := range r.Trailer {
		tr = append(tr, k+": "+strings.Join(v, " | "))
	}
	slices.Sort(tr)
	return fmt.Sprintf("%d %s\n%s\nlength %d chunked %v\n\n%q\ntrailers %s", r.StatusCode, r.Proto, strings.Join(lines, "\n"),
		r.ContentLength, slices.Contains(r.TransferEncoding, "chunked"), body, strings.Join(tr, ", "))
}
