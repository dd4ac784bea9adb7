// Command goproxy is the proxy benchmark's second peer: Go's standard
// reverse proxy (httputil.ReverseProxy with the default transport's
// settings) and nothing else, in front of one app process. Set against
// Podium it shows what Podium's own layers (routing, authentication,
// metrics, process selection) add to the Go HTTP stack they sit on.
//
//	goproxy LISTEN-ADDR TARGET-URL
package main

import (
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
)

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: goproxy LISTEN-ADDR TARGET-URL")
	}
	target, err := url.Parse(os.Args[2])
	if err != nil {
		log.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256 // keep every benchmark connection alive
	rp.Transport = tr
	log.Fatal(http.ListenAndServe(os.Args[1], rp))
}
