package apps_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

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
			cpu0 := selfCPU(b)
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
			// This process is the client and the proxy (the app runs
			// apart): the client's share is the same on both paths.
			b.ReportMetric(float64((selfCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// selfCPU is the user and system CPU time this process has used.
func selfCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
