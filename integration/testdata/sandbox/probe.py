"""The sandbox probe: what a publisher's code tries against another content
item (B) from inside its own process. Run with /usr/bin/python3 by the
sandbox tests from an app, a render and an environment build. It prints
one JSON object: for each attempt, "refused: ...", "contained: ..." or,
when the attempt got through, "LEAK: ...".

Its targets come from the environment:
  PROBE_SECRET  B's secret: the value of PUB2_DB_PASSWORD in B's environment
  PROBE_PID     the host pid of one of B's processes
  PROBE_PORT    the port B listens on
  PROBE_PATHS   paths (separated by ":") of B's bundle and package
                environment, and of the node's data directory
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

res = {"uid": os.getuid(), "gid": os.getgid(), "nonce": "%d-%f" % (os.getpid(), time.time())}


def step(name, fn):
    try:
        res[name] = fn()
    except Exception as e:  # the attempt was refused
        res[name] = "refused: %s: %s" % (type(e).__name__, e)


secret = b"PUB2_DB_PASSWORD=" + os.environ.get("PROBE_SECRET", "").encode()
pid = int(os.environ.get("PROBE_PID", "0"))
port = int(os.environ.get("PROBE_PORT", "0"))
paths = [p for p in os.environ.get("PROBE_PATHS", "").split(":") if p]


def environ():
    seen = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/environ" % d, "rb") as f:
                    if secret and secret in f.read():
                        seen.append(d)
            except OSError:
                pass
    if seen:
        return "LEAK: the secret is in the environment of pids %s" % seen
    with open("/proc/%d/environ" % pid, "rb") as f:
        f.read()
    return "LEAK: read /proc/%d/environ" % pid


def files():
    out = []
    for p in paths:
        try:
            if os.path.isdir(p):
                out.append("LEAK: listed %s: %s" % (p, os.listdir(p)[:5]))
            else:
                with open(p, "rb") as f:
                    f.read(64)
                out.append("LEAK: read %s" % p)
        except OSError as e:
            out.append("refused: %s: %s" % (p, e))
    return "; ".join(out) if any(o.startswith("LEAK") for o in out) else "refused: " + "; ".join(out)


def connect():
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    s.close()
    return "LEAK: connected to 127.0.0.1:%d" % port


def kill():
    os.kill(pid, signal.SIGKILL)
    return "LEAK: sent SIGKILL to %d" % pid


def fork():
    kids, err = [], None
    cap = 5000
    try:
        while len(kids) < cap:
            k = os.fork()
            if k == 0:
                time.sleep(60)
                os._exit(0)
            kids.append(k)
    except OSError as e:
        err = e
    for k in kids:
        try:
            os.kill(k, signal.SIGKILL)
        except OSError:
            pass
    for k in kids:
        try:
            os.waitpid(k, 0)
        except OSError:
            pass
    if err is None:
        return "LEAK: forked %d processes" % len(kids)
    return "contained: fork failed after %d processes: %s" % (len(kids), err)


def memory():
    r = subprocess.run([sys.executable, "-c", "b = bytearray(2 << 30); print(len(b))"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if r.returncode == 0:
        return "LEAK: allocated %s bytes" % r.stdout.decode().strip()
    return "contained: exit %d %s" % (r.returncode, r.stderr.decode().strip()[-200:])


def tmp():
    n = 0
    chunk = b"\0" * (1 << 20)
    try:
        with open("/tmp/podium-probe-fill", "wb") as f:
            while n < 2048:
                f.write(chunk)
                f.flush()
                n += 1
    except OSError as e:
        return "contained: /tmp full after %d MiB: %s" % (n, e)
    finally:
        try:
            os.remove("/tmp/podium-probe-fill")
        except OSError:
            pass
    return "LEAK: wrote %d MiB to /tmp" % n


step("environ", environ)
step("files", files)
step("connect", connect)
step("kill", kill)
step("fork", fork)
step("memory", memory)
step("tmp", tmp)
print("PROBE-RESULT " + json.dumps(res, sort_keys=True), flush=True)
