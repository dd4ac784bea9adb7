// Command rawproxy is the proxy benchmark's third peer: the least a Go
// HTTP/1.1 proxy can do per request, as a yardstick for Podium's proxy
// (issue 30). One goroutine per client connection with one kept connection
// to the app, request and response heads copied as bytes through reused
// buffers, Content-Length bodies only; no routing, no header rewriting, no
// checks. Set against HAProxy in the same run it shows what Go's runtime
// and network poller cost by themselves; set against Podium, what
// net/http and Podium's layers add.
//
//	rawproxy LISTEN-ADDR TARGET-HOST:PORT
package main

import (
	"bufio"
	"bytes"
	"io"
	"log"
	"net"
	"os"
	"strconv"
)

func main() {
	ln, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	target := os.Args[2]
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go serve(c, target)
	}
}

func contentLength(line []byte) (int, bool) {
	if len(line) > 15 && bytes.EqualFold(line[:15], []byte("content-length:")) {
		n, err := strconv.Atoi(string(bytes.TrimSpace(line[15:])))
		return n, err == nil
	}
	return 0, false
}

func serve(c net.Conn, target string) {
	defer c.Close()
	cr := bufio.NewReaderSize(c, 4096)
	cw := bufio.NewWriterSize(c, 4096)
	var b net.Conn
	var br *bufio.Reader
	var bw *bufio.Writer
	for {
		// request head
		reqBody := 0
		first := true
		for {
			line, err := cr.ReadSlice('\n')
			if err != nil {
				return
			}
			if first {
				if b == nil {
					b, err = net.Dial("tcp", target)
					if err != nil {
						return
					}
					defer b.Close()
					br = bufio.NewReaderSize(b, 4096)
					bw = bufio.NewWriterSize(b, 4096)
				}
				first = false
			}
			if n, ok := contentLength(line); ok {
				reqBody = n
			}
			bw.Write(line)
			if len(line) <= 2 {
				break
			}
		}
		if reqBody > 0 {
			if _, err := io.CopyN(bw, cr, int64(reqBody)); err != nil {
				return
			}
		}
		if err := bw.Flush(); err != nil {
			return
		}
		// response head
		body := -1
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			if n, ok := contentLength(line); ok {
				body = n
			}
			cw.Write(line)
			if len(line) <= 2 {
				break
			}
		}
		if body < 0 {
			return // not handled in this experiment
		}
		if _, err := io.CopyN(cw, br, int64(body)); err != nil {
			return
		}
		if cr.Buffered() == 0 {
			if err := cw.Flush(); err != nil {
				return
			}
		}
	}
}
