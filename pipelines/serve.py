"""Serve: a REST API and a web page that label single images with an exported model (serving.app).

Flags: `python -m pipelines.serve --help`; endpoints and answers: README (Serve), docs/ARCHITECTURE.md (Contract 6).
"""
import argparse
import errno
import logging
import os
import socket
from typing import Optional

from models.run import LoadedRun
from pipelines import cli, options
from serving.app import Limits, create_app

DEFAULT_PORT = 8008  # $PORT (Cloud Run sets it) wins


def parse_args(argv: Optional[list[str]]) -> argparse.Namespace:
    parser = options.parser("serve", __doc__.split("\n\n")[0], beam=False)
    options.add_model(parser)
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
    parser.add_argument("--max_request_mb", type=float, default=Limits().max_request_mb, help="Largest request body.")
    parser.add_argument("--max_files", type=int, default=Limits().max_files, help="Most files in one multipart upload.")
    parser.add_argument("--max_batch", type=int, default=Limits().max_batch,
                        help="Most images in one model call (1: no batching across requests).")
    return parser.parse_args(argv)


def limits_from(args: argparse.Namespace) -> Limits:
    """The checked limits; a missing --allowed_root or a non-positive limit fails at start."""
    for root in args.allowed_root:
        if not os.path.isdir(root):
            raise ValueError(f"--allowed_root {root} is not a folder")
    for name in ("max_file_mb", "max_pixels", "max_request_mb", "max_files", "max_batch"):
        if not getattr(args, name) > 0:
            raise ValueError(f"--{name} must be above 0, got {getattr(args, name)}")
    return Limits(
        allowed_roots=tuple(os.path.realpath(r) for r in args.allowed_root),
        allowed_prefixes=tuple(args.allowed_prefix),
        max_file_mb=args.max_file_mb,
        max_pixels=args.max_pixels,
        max_request_mb=args.max_request_mb,
        max_files=args.max_files,
        max_batch=args.max_batch,
    )


def listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound and listening (port 0: any free one); a port in use fails in one line."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)  # uvicorn's default backlog
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
    sock = listen(args.host, args.port)
    model = LoadedRun.open(args.model_dir, args.threshold, args.review_band)
    app = create_app(model, limits)
    host, port = sock.getsockname()[:2]
    logging.info("Serving %s run %s (threshold %.3f) on http://%s:%d (API docs: /docs)", model.rule.model_type,
                 model.rule.run_id, model.rule.threshold, host, port)
    config = uvicorn.Config(app, log_level="debug" if args.debug else "warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    cli.main("pipelines.serve")
