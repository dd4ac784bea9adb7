package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Dial connects to 127.0.0.1:port inside the process's network namespace
// (or on the host's loopback when it has none of its own). The socket is
// created in the app's namespace by a thread that enters it and returns
// at once; a socket stays in the namespace it was made in, so the
// connection is then an ordinary one of this process. No other process
// of the host can open such a socket: an app's listener is reachable by
// podium only.
func (p *Process) Dial(ctx context.Context, port int) (net.Conn, error) {
	if p.netNS == nil {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", "127.0.0.1:"+strconv.Itoa(port))
	}
	fd, err := socketIn(p.netNS, p.s.hostNet)
	if err != nil {
		return nil, fmt.Errorf("dial the app's network namespace: %w", err)
	}
	sa := &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}
	err = unix.Connect(fd, sa)
	if err != nil && !errors.Is(err, unix.EINPROGRESS) {
		_ = unix.Close(fd)
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}, Err: os.NewSyscallError("connect", err)}
	}
	f := os.NewFile(uintptr(fd), "app-socket") // non-blocking: Go's poller waits on it
	defer f.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = f.SetWriteDeadline(dl)
	} else {
		_ = f.SetWriteDeadline(time.Now().Add(10 * time.Second))
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var cerr error
	werr := rc.Write(func(fd uintptr) bool {
		v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			cerr = err
			return true
		}
		if v != 0 {
			cerr = unix.Errno(v)
			return true
		}
		if _, err := unix.Getpeername(int(fd)); errors.Is(err, unix.ENOTCONN) {
			return false // still connecting: wait until writable
		}
		return true
	})
	if werr != nil {
		return nil, fmt.Errorf("dial the app: %w", werr)
	}
	if cerr != nil {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}, Err: os.NewSyscallError("connect", cerr)}
	}
	_ = f.SetWriteDeadline(time.Time{})
	return net.FileConn(f) // a duplicate; f is closed
}

// socketIn returns a TCP socket created in the network namespace ns. The
// calling goroutine's thread enters ns and goes back to host; if it
// cannot go back, the thread stays locked and ends with the goroutine
// (Go then discards it), so no other goroutine runs in the wrong
// namespace.
func socketIn(ns, host *os.File) (int, error) {
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{-1, fmt.Errorf("setns: %w", err)}
			return
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if berr := unix.Setns(int(host.Fd()), unix.CLONE_NEWNET); berr != nil {
			if err == nil {
				_ = unix.Close(fd)
			}
			ch <- result{-1, fmt.Errorf("setns back to the host: %w", berr)} // the thread stays locked: it dies
			return
		}
		runtime.UnlockOSThread()
		ch <- result{fd, err}
	}()
	r := <-ch
	return r.fd, r.err
}
