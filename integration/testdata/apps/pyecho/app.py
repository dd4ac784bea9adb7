"""The Python test app of the proxy benchmark: the standard library's
threading HTTP server with HTTP/1.1 keep-alive, the way a small Python data
app or API answers. It listens on $PORT.

    GET /small   "ok" (the benchmark's small request)
    GET /        JSON: pid and the base path
"""
import http.server
import json
import os

PID = str(os.getpid()).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # as gunicorn and uvicorn do

    def do_GET(self):
        if self.path == "/small":
            body, ctype = b"ok\n", "text/plain"
        elif self.path == "/":
            body = json.dumps({"pid": os.getpid(), "base_path": os.environ.get("PODIUM_BASE_PATH", "")}).encode()
            ctype = "application/json"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Pid", PID.decode())
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass  # one line per request would measure the log, not the app


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


Server(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
