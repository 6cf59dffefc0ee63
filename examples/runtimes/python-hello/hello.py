#!/usr/bin/env python3
"""hello.py - an example asterd runtime in Python 3, standard library only.

asterd starts this program for the module of hello.yaml (SPEC §10) and
forwards the module's `handler: {runtime: {}}` routes to it. It shows the
whole runtime socket contract:

  ASTER_RUNTIME_SOCKET  the Unix socket to serve HTTP/1.1 on (keep-alive:
                        asterd pools its connections to it)
  ASTER_GATEWAY_SOCKET  a Unix socket where asterd serves its internal
                        scope; the counter lives in the state API there
  ASTER_MODULE_ID       the module's id: the state namespace, and echoed
  NOTIFY_SOCKET         where READY=1 goes once the socket listens
                        (without it asterd waits for a first connection)

GET /hello answers
  {"message": "hello from python", "module": ID, "count": N, "caller": C}
where N counts the GETs so far, kept in the state document
ID/count as {"count": N} and raised by compare-and-swap (If-Match with
the ETag read, If-None-Match: * to create it; a 412 means another request
won the race, so it reads again), and C is the X-Aster-Credential-Id
asterd passed on (null on a public route without a credential). HEAD
answers the same headers and does not count. Every request logs one line
on stdout, which asterd puts in its own log tagged runtime=ID.

SIGTERM or SIGINT: stop accepting, let the requests in flight finish,
exit 0.
"""

import http.client
import http.server
import json
import os
import signal
import socket
import socketserver
import stat
import sys
import threading

STATE_ATTEMPTS = 16          # compare-and-swap rounds before giving up
GATEWAY_TIMEOUT_S = 5
DRAIN_TIMEOUT_S = 30         # asterd's SIGKILL comes earlier if it says so


def log(line):
    """One line on stdout, flushed at once (a pipe is block-buffered)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class GatewayError(Exception):
    """The state API did not answer as SPEC §8 says."""


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a Unix stream socket instead of TCP."""

    def __init__(self, path, timeout=GATEWAY_TIMEOUT_S):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.unix_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class Counter:
    """A counter in the state API, shared by every copy of this runtime."""

    def __init__(self, gateway_path, namespace, key="count"):
        self.gateway_path = gateway_path
        self.path = "/gateway/v1/internal/state/%s/%s" % (namespace, key)

    def _call(self, conn, method, trace, headers=None, body=None):
        headers = dict(headers or {})
        # The caller's trace goes on through the gateway: one trace id
        # from the client to the state store in asterd's access log.
        if trace:
            headers["traceparent"] = trace
        conn.request(method, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, resp.getheader("ETag"), data

    def _read(self, conn, trace):
        """(count, etag), or (0, None) when the document does not exist."""
        status, etag, data = self._call(conn, "GET", trace)
        if status == 404:
            return 0, None
        if status != 200 or etag is None:
            raise GatewayError("GET %s answered %d" % (self.path, status))
        try:
            return int(json.loads(data)["count"]), etag
        except (ValueError, KeyError, TypeError):
            raise GatewayError("%s holds no {\"count\": N}" % self.path)

    def value(self, trace=None):
        conn = UnixHTTPConnection(self.gateway_path)
        try:
            return self._read(conn, trace)[0]
        finally:
            conn.close()

    def increment(self, trace=None):
        """Adds one and returns the new count."""
        conn = UnixHTTPConnection(self.gateway_path)
        try:
            for _ in range(STATE_ATTEMPTS):
                count, etag = self._read(conn, trace)
                cond = {"If-Match": etag} if etag else {"If-None-Match": "*"}
                cond["Content-Type"] = "application/json"
                body = json.dumps({"count": count + 1}).encode()
                status, _, _ = self._call(conn, "PUT", trace, cond, body)
                if status in (200, 201):
                    return count + 1
                if status != 412:
                    raise GatewayError("PUT %s answered %d"
                                       % (self.path, status))
            raise GatewayError("%s kept changing for %d attempts"
                               % (self.path, STATE_ATTEMPTS))
        finally:
            conn.close()


class InFlight:
    """Counts the requests being answered, so a stop can wait for them."""

    def __init__(self):
        self.cond = threading.Condition()
        self.n = 0
        self.stopping = False

    def __enter__(self):
        with self.cond:
            self.n += 1
        return self

    def __exit__(self, *exc):
        with self.cond:
            self.n -= 1
            self.cond.notify_all()

    def drain(self, timeout):
        with self.cond:
            self.stopping = True
            return self.cond.wait_for(lambda: self.n == 0, timeout)


class HelloHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"     # keep-alive, Content-Length on all
    server_version = "python-hello"
    # An idle kept-alive connection is closed after this; asterd closes
    # its idle pooled ones after 60 s, so it is always the side to close.
    timeout = 120

    def log_message(self, fmt, *args):
        # The base class logs to stderr with the client's address, which a
        # Unix socket does not have; errors still say what went wrong.
        log("python-hello: " + (fmt % args))

    def log_request(self, code="-", size="-"):
        pass                          # one line per request, written below

    def send_json(self, status, obj, content_type="application/json"):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.server.inflight.stopping:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_problem(self, status, title, code, detail):
        self.send_json(status, {"type": "about:blank", "title": title,
                                "status": status, "code": code,
                                "detail": detail},
                       "application/problem+json")

    def answer(self, counting):
        path = self.path.split("?", 1)[0]
        if path != "/hello":
            self.send_problem(404, "Not Found", "route-not-found",
                              "python-hello serves GET /hello only")
            log("%s %s 404" % (self.command, path))
            return
        counter = self.server.counter
        try:
            trace = self.headers.get("traceparent")
            count = (counter.increment(trace) if counting
                     else counter.value(trace))
        except (OSError, http.client.HTTPException, GatewayError) as e:
            self.send_problem(503, "Service Unavailable", "unavailable",
                              "the state API cannot be reached: %s" % e)
            log("%s %s 503 state: %s" % (self.command, path, e))
            return
        self.send_json(200, {
            "message": "hello from python",
            "module": self.server.module_id,
            "count": count,
            "caller": self.headers.get("X-Aster-Credential-Id"),
        })
        log("%s %s 200 count=%d" % (self.command, path, count))

    def do_GET(self):
        with self.server.inflight:
            self.answer(counting=True)

    def do_HEAD(self):
        with self.server.inflight:
            self.answer(counting=False)


class HelloServer(socketserver.ThreadingUnixStreamServer):
    # Handler threads do not hold up the exit: an idle kept-alive
    # connection is not a request in flight; InFlight counts those.
    daemon_threads = True
    # socketserver listens with a backlog of 5; a non-blocking connect to
    # a Unix socket whose backlog is full fails at once (EAGAIN), and
    # asterd opens several connections together under load.
    request_queue_size = 128


def remove_stale_socket(path):
    """A socket file left by an earlier run would make bind() fail."""
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass


def notify_ready():
    """READY=1 to NOTIFY_SOCKET (systemd's protocol), when there is one."""
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return
    if addr.startswith("@"):          # an abstract socket name
        addr = "\0" + addr[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.connect(addr)
        s.sendall(b"READY=1")


def require_env(name):
    value = os.environ.get(name)
    if not value:
        sys.stderr.write("python-hello: %s is not set; this program is "
                         "started by asterd (SPEC §10)\n" % name)
        sys.exit(2)
    return value


def main():
    sock_path = require_env("ASTER_RUNTIME_SOCKET")
    gateway_path = require_env("ASTER_GATEWAY_SOCKET")
    module_id = os.environ.get("ASTER_MODULE_ID") or "python-hello"

    # The handler threads must not take SIGTERM: block it before they
    # exist, and wait for it in the main thread alone.
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)

    remove_stale_socket(sock_path)
    server = HelloServer(sock_path, HelloHandler)    # binds and listens
    server.module_id = module_id
    server.counter = Counter(gateway_path, module_id)
    server.inflight = InFlight()
    serving = threading.Thread(target=server.serve_forever,
                               name="serve", daemon=True)
    serving.start()
    notify_ready()
    log("python-hello: serving on %s, pid %d" % (sock_path, os.getpid()))

    signum = signal.sigwait(stop_signals)
    server.shutdown()                 # no more accept()
    server.server_close()
    if not server.inflight.drain(DRAIN_TIMEOUT_S):
        log("python-hello: requests still in flight after %d s"
            % DRAIN_TIMEOUT_S)
    # The socket file stays: asterd owns the directory and may already
    # have started the next process on the same path.
    log("python-hello: stopped by signal %d" % signum)
    return 0


if __name__ == "__main__":
    sys.exit(main())
