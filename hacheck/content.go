package hacheck

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/podiumhq/podium"
)

// NoContentOriginRisk is what a node without [Server] ContentURL risks, as
// the check says it.
const NoContentOriginRisk = "content is served on the dashboard's origin: a publisher's app opened by a logged-in user can act as that user " +
	"(read the API, create API keys, change or delete content)"

// contentOrigin checks that every node serves content on the same origin
// of its own ([Server] ContentURL, with Address), and, when the load
// balancer is checked too (--lb), that the content origin reaches the
// nodes and serves content only: /__ping__ answers there, the API does
// not (404).
func (c *checker) contentOrigin(ctx context.Context) Result {
	r := Result{Item: ItemContentOrigin, Title: "content on its own origin ([Server] ContentURL)", Nodes: c.ids, Status: Pass}
	urls := map[string][]string{}
	var without []string
	for _, n := range c.live {
		f, ok := c.facts[n.ID]
		if !ok {
			continue
		}
		urls[f.ContentURL+" (Address "+f.Address+")"] = append(urls[f.ContentURL+" (Address "+f.Address+")"], n.ID)
		if f.ContentURL == "" {
			without = append(without, n.ID)
		}
	}
	switch {
	case len(urls) > 1:
		r.Status, r.Detail = Fail, "the nodes differ: "+groups(urls)
		r.Action = "set the same [Server] Address and ContentURL on every node"
		return r
	case len(without) > 0:
		r.Status, r.Nodes = Warn, without
		r.Detail = "[Server] ContentURL is not set: " + NoContentOriginRisk
		r.Action = "give content a host name of its own and set [Server] Address and ContentURL on every node (docs/security.md, Content on its own origin); route that host name to the nodes (deploy/loadbalancer)"
		return r
	case len(urls) == 0:
		return r
	}
	var content string
	for _, n := range c.live {
		content = c.facts[n.ID].ContentURL
		break
	}
	r.Detail = "content is served on " + content
	if c.opts.LB == "" {
		return r
	}
	co, err := podium.ParseContentURL(content)
	if err != nil {
		r.Status, r.Detail = Fail, "[Server] ContentURL "+content+" "+err.Error()
		return r
	}
	base := co.Origin("podium-ha-check").String()
	cl := c.opts.HTTPClient
	if cl == nil {
		cl = &http.Client{Timeout: 5 * time.Second}
	}
	get := func(path string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return nil, err
		}
		cc := *cl
		cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := cc.Do(req)
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return resp, nil
	}
	resp, err := get("/__ping__")
	if err == nil && (resp.StatusCode != http.StatusOK || resp.Header.Get(HeaderNode) == "") {
		err = fmt.Errorf("answered %s without the %s header of a Podium node", resp.Status, HeaderNode)
	}
	if err != nil {
		r.Status = Fail
		r.Detail = base + "/__ping__: " + err.Error()
		r.Action = "route the content host name to the nodes with its Host header intact (deploy/loadbalancer: the content frontend or server block)"
		return r
	}
	resp, err = get("/__api__/v1/user")
	if err != nil || resp.StatusCode != http.StatusNotFound {
		status := "no answer"
		if err == nil {
			status = resp.Status
		}
		r.Status = Fail
		r.Detail = base + "/__api__/v1/user answered " + status + ", want 404: the nodes do not see the content host name (the Host header is rewritten), so content shares the dashboard's origin"
		r.Action = "pass the client's Host header through to the nodes (HAProxy does by default; nginx: proxy_set_header Host $host)"
		return r
	}
	r.Detail += "; " + base + " reaches the nodes and serves no API"
	return r
}
