# Podium's launcher for Python apps: run with the app's own interpreter
# (in its environment), in the bundle directory. Podium sets PORT,
# PODIUM_BASE_PATH (the URL path the app is served under, "/content/<guid>/"),
# PODIUM_APPMODE and PODIUM_ENTRYPOINT ("module:object").
import importlib
import os
import sys

mode = os.environ["PODIUM_APPMODE"]
entry = os.environ.get("PODIUM_ENTRYPOINT", "")
port = int(os.environ["PORT"])
base = os.environ.get("PODIUM_BASE_PATH", "/").rstrip("/")
sys.path.insert(0, os.getcwd())


def load(defaults):
    mod, _, obj = entry.partition(":")
    mod = mod or "app"
    m = importlib.import_module(mod)
    names = [obj] if obj else defaults
    for name in names:
        target = m
        try:
            for part in name.split("."):
                target = getattr(target, part)
        except AttributeError:
            continue
        return target
    sys.exit("podium: module %s has no object named %s (entrypoint %r; write it as module:object)"
             % (mod, " or ".join(names), entry))


def wsgi_prefixed(app):
    # Podium's proxy strips /content/<guid> from the path and sends it as
    # X-Forwarded-Prefix: it becomes SCRIPT_NAME, so the app's URLs carry it.
    def wrapped(environ, start_response):
        prefix = environ.get("HTTP_X_FORWARDED_PREFIX")
        environ["SCRIPT_NAME"] = (base if prefix is None else prefix).rstrip("/")
        proto = environ.get("HTTP_X_FORWARDED_PROTO")
        if proto in ("http", "https"):
            environ["wsgi.url_scheme"] = proto
        return app(environ, start_response)
    return wrapped


def serve_wsgi(app):
    from waitress import serve
    serve(wsgi_prefixed(app), host="127.0.0.1", port=port, threads=8, ident="podium")


def serve_asgi(app):
    import uvicorn
    uvicorn.run(app, host="127.0.0.1", port=port, root_path=base, proxy_headers=True,
                forwarded_allow_ips="127.0.0.1", log_level="info")


if mode == "python-api":
    serve_wsgi(load(["app", "application"]))
elif mode == "python-fastapi":
    serve_asgi(load(["app"]))
elif mode == "python-shiny":
    serve_asgi(load(["app"]))
elif mode == "python-dash":
    # Dash learns its URL prefix from these variables (read when the Dash
    # object is created, so before the import).
    os.environ.setdefault("DASH_REQUESTS_PATHNAME_PREFIX", base + "/")
    os.environ.setdefault("DASH_ROUTES_PATHNAME_PREFIX", "/")
    dash_app = load(["app"])
    server = getattr(dash_app, "server", dash_app)
    try:
        import waitress  # noqa: F401
    except ImportError:
        dash_app.run(host="127.0.0.1", port=port, debug=False)
    else:
        serve_wsgi(server)
elif mode == "python-streamlit":
    # Streamlit serves under the whole path (the proxy keeps the prefix).
    os.execv(sys.executable, [sys.executable, "-m", "streamlit", "run", entry or "app.py",
                              "--server.port", str(port), "--server.address", "127.0.0.1",
                              "--server.headless", "true", "--server.baseUrlPath", base,
                              "--browser.gatherUsageStats", "false"])
elif mode == "python-bokeh":
    os.execv(sys.executable, [sys.executable, "-m", "bokeh", "serve", entry or "app.py",
                              "--port", str(port), "--address", "127.0.0.1", "--prefix", base,
                              "--allow-websocket-origin", "*", "--use-xheaders"])
else:
    sys.exit("podium: the launcher does not run appmode %r" % mode)
