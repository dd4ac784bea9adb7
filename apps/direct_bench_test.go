package apps_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/podiumhq/podium/apps"
)

// BenchmarkProxyPath is one small request on a kept-alive connection
// through the supervisor alone (echo, no authentication), on each proxy
// path: with -cpuprofile, where the proxy's time goes. make bench-proxy
// measures the whole node against HAProxy.
func BenchmarkProxyPath(b *testing.B) {
	for _, path := range []string{apps.ProxyStandard, apps.ProxyDirect} {
		b.Run(path, func(b *testing.B) {
			f := setupWith(b, defaults(), func(o *apps.Options) { o.Proxy = path })
			c, err := net.Dial("tcp", f.srv.Listener.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			req := fmt.Sprintf("GET /content/%s/small HTTP/1.1\r\nHost: podium\r\n\r\n", guid)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := io.WriteString(c, req); err != nil {
					b.Fatal(err)
				}
				res, err := http.ReadResponse(br, nil)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Fatalf("status %d", res.StatusCode)
				}
			}
		})
	}
}
