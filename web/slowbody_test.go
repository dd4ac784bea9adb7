package web_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/podiumhq/podium"
	"github.com/podiumhq/podium/internal/testutil"
	"github.com/podiumhq/podium/web"
)

// TestStalledJSONBodyAnswers408: a JSON request whose body stalls past
// [HTTP] MinUploadRate is answered 408 naming the setting, and the
// connection closed, as the login form and bundle uploads are; it was
// answered 400 invalid, which the client reports as an input error.
func TestStalledJSONBodyAnswers408(t *testing.T) {
	t.Parallel()
	s := errorTestServer(t, web.Limits{MinUploadRate: 1024, UploadRateWindow: 300 * time.Millisecond})
	srv := httptest.NewServer(s.Echo)
	defer srv.Close()
	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Declares 64 KiB, sends the start of the object, then nothing.
	fmt.Fprintf(c, "POST /__api__/v1/things HTTP/1.1\r\nHost: podium\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"name\": ", 64<<10)
	_ = c.SetReadDeadline(time.Now().Add(testutil.Timeout(30 * time.Second)))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to the stalled body: %v", err)
	}
	defer res.Body.Close()
	var body web.ErrorBody
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusRequestTimeout || body.Code != podium.ETIMEOUT || !strings.Contains(body.Error, "MinUploadRate") || !res.Close {
		t.Fatalf("stalled JSON body: %d %+v (close %t), want 408 naming [HTTP] MinUploadRate and the connection closed",
			res.StatusCode, body, res.Close)
	}
}
