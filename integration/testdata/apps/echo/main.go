// Command echo is the test application of the apps integration tests and
// the proxy benchmark: an HTTP and WebSocket echo server that listens on
// $PORT and reports its PID in every answer, so tests can tell processes
// apart. In a sandbox (its own pid namespace, where every app process is
// pid 2) the "pid" it reports is a random number drawn at start, unique
// among the processes of a test all the same.
//
//	GET  /           JSON: pid, uid, path, base path, forwarding headers
//	GET  /sleep?ms=N answers after N milliseconds (holds a connection)
//	GET  /hold?file=F answers once file F exists (a connection the test
//	                 releases); its X-Inflight header is the most requests
//	                 this process had in flight while it was held
//	GET  /sse        three Server-Sent Events, flushed one by one (?gap=ms apart, 300 by default)
//	POST /upload     reads the body; JSON: bytes, SHA-256 and the request's
//	                 X-Checksum trailer
//	GET  /bytes?n=N  N bytes of a repeating pattern, with Content-Length
//	GET  /trailers   a chunked body in three flushes, then trailer X-Sum
//	GET  /abort      starts a body and drops the connection (?cl=1: after
//	                 declaring a Content-Length longer than what it sent)
//	GET  /header/{name} JSON: the length and SHA-256 of a request header
//	GET  /ws         WebSocket: answers each message with "pid:message"
//	GET  /crash      exits with status 3
//	ANY  /items/{id} JSON: pid, method, id, body length (an API's routes)
//
// With the argument --no-listen it never listens (an app that fails to
// start).
package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--no-listen" {
		fmt.Println("not listening, on purpose")
		time.Sleep(time.Hour)
	}
	pid := processID()
	base := os.Getenv("PODIUM_BASE_PATH")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"pid": pid, "uid": os.Getuid(), "path": r.URL.Path, "query": r.URL.RawQuery, "base_path": base,
			"x_forwarded_for": r.Header.Get("X-Forwarded-For"), "x_forwarded_proto": r.Header.Get("X-Forwarded-Proto"),
			"x_forwarded_host": r.Header.Get("X-Forwarded-Host"), "x_forwarded_prefix": r.Header.Get("X-Forwarded-Prefix"),
			"authorization": r.Header.Get("Authorization"), "env_count": len(os.Environ()), "home": os.Getenv("HOME"),
		})
	})
	mux.HandleFunc("GET /env/{name}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, os.Getenv(r.PathValue("name")))
	})
	mux.HandleFunc("/request", func(w http.ResponseWriter, r *http.Request) {
		// The request as the app received it, headers included.
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("cookies") != "no" {
			w.Header().Set("Set-Cookie", "podium_session=stolen")
			w.Header().Add("Set-Cookie", "app_pref=1")
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "uri": r.RequestURI, "host": r.Host,
			"proto": r.Proto, "header": r.Header, "length": r.ContentLength})
	})
	mux.HandleFunc("GET /small", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Pid", strconv.Itoa(pid))
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /sleep", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-r.Context().Done():
		}
		fmt.Fprintf(w, "%d\n", pid)
	})
	// In-flight requests of /hold, and the most seen at once, so a test can
	// check from the app's side that Podium never sent it more than
	// MaxConnsPerProcess at a time.
	var mu sync.Mutex
	inflight, most := 0, 0
	mux.HandleFunc("GET /hold", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inflight++
		most = max(most, inflight)
		mu.Unlock()
		file := r.URL.Query().Get("file")
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
	wait:
		for {
			if _, err := os.Stat(file); err == nil {
				break
			}
			select {
			case <-tick.C:
			case <-r.Context().Done():
				break wait
			}
		}
		mu.Lock()
		seen := most
		inflight--
		mu.Unlock()
		w.Header().Set("X-Inflight", strconv.Itoa(seen))
		fmt.Fprintf(w, "%d\n", pid)
	})
	mux.HandleFunc("GET /sse", func(w http.ResponseWriter, r *http.Request) {
		gap := 300 * time.Millisecond
		if ms, err := strconv.Atoi(r.URL.Query().Get("gap")); err == nil {
			gap = time.Duration(ms) * time.Millisecond
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			fmt.Fprintf(w, "data: %d %d\n\n", pid, i)
			w.(http.Flusher).Flush()
			time.Sleep(gap)
		}
	})
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"pid": pid, "bytes": n, "sha256": hex.EncodeToString(h.Sum(nil)),
			"trailer": r.Trailer.Get("X-Checksum")})
	})
	mux.HandleFunc("GET /bytes", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Length", strconv.Itoa(n))
		_, _ = io.CopyN(w, &pattern{}, int64(n))
	})
	mux.HandleFunc("GET /trailers", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum")
		for i := range 3 {
			fmt.Fprintf(w, "part %d\n", i)
			w.(http.Flusher).Flush()
		}
		w.Header().Set("X-Sum", "3 parts")
	})
	mux.HandleFunc("GET /abort", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("cl") != "" {
			w.Header().Set("Content-Length", "1000")
		}
		_, _ = io.WriteString(w, "the start of an answer that never ends\n")
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // net/http closes the connection
	})
	mux.HandleFunc("GET /header/{name}", func(w http.ResponseWriter, r *http.Request) {
		v := r.Header.Get(r.PathValue("name"))
		sum := sha256.Sum256([]byte(v))
		_ = json.NewEncoder(w).Encode(map[string]any{"bytes": len(v), "sha256": hex.EncodeToString(sum[:])})
	})
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		for {
			typ, msg, err := c.Read(ctx)
			if err != nil {
				return
			}
			if err := c.Write(ctx, typ, append([]byte(strconv.Itoa(pid)+":"), msg...)); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"pid": pid, "method": r.Method, "id": r.PathValue("id"), "bytes": n})
	})
	mux.HandleFunc("GET /crash", func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("crashing on request")
		os.Exit(3)
	})
	addr := "127.0.0.1:" + os.Getenv("PORT")
	fmt.Printf("echo app pid %d listening on %s under %s\n", pid, addr, base)
	log.Fatal(http.ListenAndServe(addr, mux))
}

// processID is the process's pid, or, in a pid namespace of its own (a
// Podium sandbox: the pid is tiny and the same in every process), a random
// number above the host's pid range.
func processID() int {
	pid := os.Getpid()
	if pid > 10 {
		return pid
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return 1<<22 + int(binary.BigEndian.Uint32(b[:])>>2)
}

// pattern reads as an endless run of "0123456789abcdef" (the body of
// /bytes, which a test checks byte by byte).
type pattern struct{ off int }

func (p *pattern) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = "0123456789abcdef"[(p.off+i)%16]
	}
	p.off += len(b)
	return len(b), nil
}
