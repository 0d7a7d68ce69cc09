"""Serve: a REST API and a web page that label single images with an exported model (serving.app).

Flags: `python -m pipelines.serve --help`; endpoints and answers: README (Serve), docs/ARCHITECTURE.md (Contract 6).
Connections: uvicorn's h11 protocol plus a deadline for each request head, an idle limit while a body arrives and a
cap on open connections (GuardedH11Protocol), so stalled clients cannot take every file descriptor.
"""
import argparse
import dataclasses
import errno
import json
import logging
import math
import os
import resource
import socket
import time
from typing import ClassVar, Optional

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from core import corrections
from core.dead_letters import REQUEST_TIMEOUT, SERVER_BUSY
from models.run import LoadedRun
from pipelines import cli, options
from serving import review
from serving.app import Limits, create_app

DEFAULT_PORT = 8008  # $PORT (Cloud Run sets it) wins
MAX_HEAD_BYTES = 16 * 1024  # a request line and headers longer than this get 400 (h11's incomplete-event limit)
RESERVED_FILES = 256  # file descriptors kept for the model, logs and the listening socket under --max_connections
LOG_EVERY_S = 10.0  # connection-guard messages, and repeats of one log message, at most once per this many seconds
PROXY_NOTE = """Exposed beyond a trusted network, put a reverse proxy in front (nginx, Envoy, a cloud load balancer):
per-client connection and rate limits, TLS, a total time limit for a request body (--body_timeout bounds each
pause only) and timeouts for clients that read answers slowly are its job, not this server's."""


@dataclasses.dataclass(frozen=True)
class ConnectionLimits:
    """How long a client may take and how many may be connected (--header_timeout, --body_timeout, --keep_alive,
    --max_connections)."""

    header_timeout: float = 10.0  # from the first byte of a request (or the connection) to the end of its headers
    body_timeout: float = 30.0  # longest pause while a request body arrives
    keep_alive: float = 5.0  # an idle connection between requests is closed after this
    max_connections: int = 1000  # when full, the connection waiting longest for a request is closed


class _Throttled:
    """Counts events and logs them on one line at most every LOG_EVERY_S seconds (never one line per event)."""

    def __init__(self, logger: logging.Logger):
        self._logger, self._counts, self._last, self._pending = logger, {}, -LOG_EVERY_S, None

    def note(self, what: str, loop) -> None:
        self._counts[what] = self._counts.get(what, 0) + 1
        wait = self._last + LOG_EVERY_S - loop.time()
        if wait <= 0:
            self._flush(loop)
        elif self._pending is None:  # what comes before then is told then
            self._pending = loop.call_later(wait, self._flush, loop)

    def _flush(self, loop) -> None:
        self._pending = None
        if self._counts:
            self._logger.warning("Closed connections (counted since the last such line): %s",
                                 ", ".join(f"{n} {what}" for what, n in sorted(self._counts.items())))
        self._counts, self._last = {}, loop.time()


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the limits it lacks against stalled clients (slowloris): a request head must be
    complete within `header_timeout` of its first byte (else 408 and close), a body may pause at most
    `body_timeout`, and past `max_connections` the connection waiting longest for a request is closed (or the new one,
    when every connection has a request in flight). `guarded_protocol` makes one with its limits."""

    limits: ClassVar[ConnectionLimits] = ConnectionLimits()
    closed: ClassVar[_Throttled] = _Throttled(logging.getLogger("chart_sifter.serve.connections"))

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._timer, self._waiting_since = None, self.loop.time()
        self._arm(self.limits.header_timeout, self._head_too_slow)
        if len(self.connections) > self.limits.max_connections:
            self._make_room()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._timer is None and self._waiting_for_request():  # a new request on a kept-alive connection
            self._waiting_since = self.loop.time()
            self._arm(self.limits.header_timeout, self._head_too_slow)
        super().data_received(data)
        if self.conn.their_state is h11.SEND_BODY:  # the body's idle limit restarts with each piece
            self._arm(self.limits.body_timeout, self._body_too_slow)
        elif self.conn.their_state is not h11.IDLE:  # the whole request is in: the app's time is its own
            self._disarm()

    def on_response_complete(self) -> None:
        self._waiting_since = self.loop.time()
        super().on_response_complete()

    def _waiting_for_request(self) -> bool:
        return self.conn.their_state is h11.IDLE and (self.cycle is None or self.cycle.response_complete)

    def _arm(self, seconds: float, then) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, then)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _head_too_slow(self) -> None:
        self._timer = None
        if self._waiting_for_request() and not self.transport.is_closing():
            self._refuse(408, "Request Timeout", f"no complete request head within {self.limits.header_timeout:g} s "
                                                 "(--header_timeout)")
            self.closed.note("stalled before their request head was complete", self.loop)

    def _body_too_slow(self) -> None:
        self._timer = None
        if self.flow.read_paused:  # we stopped reading, not the client: wait for the app to take what came
            self._arm(self.limits.body_timeout, self._body_too_slow)
        elif not self.transport.is_closing():
            self.transport.close()  # the app's receive() then gets http.disconnect
            self.closed.note(f"stalled over {self.limits.body_timeout:g} s in a request body", self.loop)

    def _make_room(self) -> None:
        """Over --max_connections: close the connection waiting longest for a request, else this new one."""
        waiting = [c for c in self.connections if c is not self and isinstance(c, GuardedH11Protocol)
                   and c._waiting_for_request() and not c.transport.is_closing()]
        if waiting:
            min(waiting, key=lambda c: c._waiting_since)._refuse(
                503, "Service Unavailable", "closed to make room: the server is at --max_connections")
            self.closed.note("waiting longest for a request, to make room (--max_connections)", self.loop)
        else:
            self._refuse(503, "Service Unavailable", "every connection has a request in flight (--max_connections)")
            self.closed.note("refused at --max_connections", self.loop)

    def _refuse(self, status: int, phrase: str, detail: str) -> None:
        """Answer {reason, detail} with `status` outside h11 (no request was read) and close."""
        reason = REQUEST_TIMEOUT if status == 408 else SERVER_BUSY
        body = json.dumps({"reason": reason, "detail": detail}).encode()
        self._disarm()
        self.transport.write(f"HTTP/1.1 {status} {phrase}\r\ncontent-type: application/json\r\nconnection: close\r\n"
                             f"content-length: {len(body)}\r\n\r\n".encode() + body)
        self.transport.close()


def guarded_protocol(limits: ConnectionLimits) -> type[GuardedH11Protocol]:
    """The protocol class uvicorn instantiates per connection, with these limits."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"limits": limits})


class OncePerInterval(logging.Filter):
    """Lets one record of each message through every LOG_EVERY_S seconds (asyncio's "socket.accept() out of system
    resource", h11's "Invalid HTTP request received."): a flood of clients cannot flood the log."""

    def __init__(self):
        super().__init__()
        self._last: dict[tuple[str, object], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key, now = (record.name, record.msg), time.monotonic()
        if now - self._last.get(key, -LOG_EVERY_S) < LOG_EVERY_S:
            return False
        self._last[key] = now
        return True


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = options.parser("serve", __doc__.split("\n\n")[0], beam=False)
    options.add_model(parser)
    options.add_model_check(parser, "The server")
    parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on (0.0.0.0 in a container).")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)),
                        help="Port ($PORT when set, else 8008).")
    parser.add_argument("--allowed_root", action="append", default=[],
                        help="Folder whose files image_path may name, by absolute path (repeatable; none: "
                             "image_path is off).")
    parser.add_argument(
        "--allowed_prefix",
        action="append",
        default=[],
        help="URI prefix image_uri may name, e.g. gs://bucket/uploads/ (repeatable; none: image_uri is off).",
    )
    options.add_input_limits(parser, outside_root=False)
    options.add_read_timeout(parser)
    parser.add_argument("--max_request_mb", type=float, default=Limits().max_request_mb, help="Largest request body.")
    parser.add_argument("--max_files", type=int, default=Limits().max_files, help="Most files in one multipart upload.")
    parser.add_argument("--max_batch", type=int, default=Limits().max_batch,
                        help="Most images in one model call (1: no batching across requests).")
    defaults = ConnectionLimits()
    parser.add_argument("--header_timeout", type=float, default=defaults.header_timeout,
                        help="Seconds a client has from the first byte of a request (or from connecting) to the end of "
                             "its headers; then 408 and the connection is closed (slowloris).")
    parser.add_argument("--body_timeout", type=float, default=defaults.body_timeout,
                        help="Longest pause, in seconds, while a request body arrives; then the connection is closed.")
    parser.add_argument("--keep_alive", type=float, default=defaults.keep_alive,
                        help="Seconds an idle connection is kept open between requests.")
    parser.add_argument("--max_connections", type=int, default=defaults.max_connections,
                        help="Most open connections (and so requests in flight). When full, the connection waiting "
                             "longest for a request is closed to make room (503); it is lowered to fit the open-file "
                             f"limit, keeping {RESERVED_FILES} files for the server itself.")
    parser.add_argument("--backlog", type=int, default=2048,
                        help="Connections the kernel queues before the server accepts them.")
    parser.add_argument("--review", metavar="PREFIX",
                        help="Show the review-band images of a label run's --output PREFIX at /review, one at a time, "
                             "for a person to decide (their files must lie under --allowed_root / --allowed_prefix).")
    parser.add_argument("--corrections", metavar="FILE",
                        help=f"Local file --review appends each decision to (default: PREFIX{corrections.SUFFIX}).")
    parser.epilog = PROXY_NOTE
    return parser.parse_args(argv)


def limits_from(args: argparse.Namespace) -> Limits:
    """The checked limits; a missing --allowed_root or a non-positive limit fails at start."""
    for root in args.allowed_root:
        if not os.path.isdir(root):
            raise ValueError(f"--allowed_root {root} is not a folder")
    for name in ("max_file_mb", "max_pixels", "read_timeout", "model_check_interval", "max_request_mb", "max_files",
                 "max_batch", "header_timeout", "body_timeout", "keep_alive", "max_connections", "backlog"):
        if not (getattr(args, name) > 0 and math.isfinite(getattr(args, name))):
            raise ValueError(f"--{name} must be a finite number above 0, got {getattr(args, name)}")
    return Limits(
        allowed_roots=tuple(os.path.realpath(r) for r in args.allowed_root),
        allowed_prefixes=tuple(args.allowed_prefix),
        max_file_mb=args.max_file_mb,
        max_pixels=args.max_pixels,
        read_timeout=args.read_timeout,
        max_request_mb=args.max_request_mb,
        max_files=args.max_files,
        max_batch=args.max_batch,
    )


def connection_limits(args: argparse.Namespace) -> ConnectionLimits:
    """The connection limits of the flags (checked by limits_from), --max_connections lowered to what the open-file
    limit allows once its soft limit is raised to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    fits = max(soft - RESERVED_FILES, 1) if soft != resource.RLIM_INFINITY else args.max_connections
    if args.max_connections > fits:
        logging.warning("--max_connections %d lowered to %d: the open-file limit is %d (ulimit -n)",
                        args.max_connections, fits, soft)
    return ConnectionLimits(args.header_timeout, args.body_timeout, args.keep_alive, min(args.max_connections, fits))


def listen(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """The server's socket, bound and listening (port 0: any free one); a port in use fails in one line."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise ValueError(f"--port {port}: {host}:{port} is already in use (another server?); stop it or "
                             "choose another --port") from None
        raise ValueError(f"cannot listen on {host}:{port} (--host, --port): {err.strerror or err}") from None
    return sock


def run(argv: Optional[list[str]] = None) -> None:
    """Check the flags, take the port, load the model, then serve until Ctrl-C (one log line per request)."""
    import uvicorn

    args = parse_args(argv)
    cli.setup_logging(args.debug)
    limits = limits_from(args)
    connections = connection_limits(args)
    reviewing = review.from_flags(args.review, args.corrections, limits)  # before the model: a bad --review fails fast
    sock = listen(args.host, args.port, args.backlog)
    model = LoadedRun.open(args.model_dir, args.threshold, args.review_band)
    app = create_app(model, limits, reviewing, args.model_check_interval)
    host, port = sock.getsockname()[:2]
    logging.info("Serving %s run %s (threshold %.3f) on http://%s:%d (API docs: /docs)", model.rule.model_type,
                 model.rule.run_id, model.rule.threshold, host, port)
    if model.follows:
        logging.info("Following %s: a new run it names is served from then on (checked every %g s)", model.follows,
                     args.model_check_interval)
    config = uvicorn.Config(app, log_level="debug" if args.debug else "warning", access_log=False,
                            http=guarded_protocol(connections), timeout_keep_alive=connections.keep_alive,
                            h11_max_incomplete_event_size=MAX_HEAD_BYTES, backlog=args.backlog)
    for name in ("asyncio", "uvicorn.error"):
        logging.getLogger(name).addFilter(OncePerInterval())
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    cli.main("pipelines.serve")
