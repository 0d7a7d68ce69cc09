"""The REST API and web page (FastAPI): single images labelled by the code `pipelines.label` runs.

Images are read, decoded and scored as in a batch run, so a file gets the same score here; requests that
arrive while the model is busy share its next call. Endpoints and answers: README (Serve) and
docs/ARCHITECTURE.md (Contract 6). `pipelines.serve` is the command line that starts it.
"""
import asyncio
import base64
import binascii
import concurrent.futures
import contextlib
import functools
import importlib.resources
import logging
import os
import time
from typing import Any, Callable, Optional

import pydantic
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from core import dead_letters, inputs
from core.dead_letters import (
    BAD_REQUEST,
    CHANGED_SINCE_LABELLED,
    FILE_TOO_LARGE,
    MODEL_ERROR,
    NOT_ALLOWED,
    REQUEST_TOO_LARGE,
    SERVER_ERROR,
    TOO_MANY_FILES,
)
from models.inference import InferenceError
from models.run import LoadedRun
from serving.scoring import LiveModel
from transforms.image import MAX_PIXELS, RejectedImage, prepare

_STATUS = {NOT_ALLOWED: 403, FILE_TOO_LARGE: 413, REQUEST_TOO_LARGE: 413, TOO_MANY_FILES: 413,
           CHANGED_SINCE_LABELLED: 409}
DECIMALS = 6  # scores and thresholds in answers, as the JSONL results write them
ACCESS_LOG = logging.getLogger("chart_sifter.serve.access")


class Refused(Exception):
    """Why one request or image gets no label: a reason code (the pipelines' dead-letter codes,
    plus the request-level ones above) and a message that says what to do."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail

    @property
    def status(self) -> int:
        return _STATUS.get(self.reason, 400 if self.reason == BAD_REQUEST else 422)


class PredictRequest(pydantic.BaseModel):
    """The JSON body of POST /predict: exactly one of the three fields."""

    model_config = pydantic.ConfigDict(extra="forbid")
    image_path: Optional[str] = None
    image_b64: Optional[str] = None
    image_uri: Optional[str] = None


READ_THREADS = 16  # reads waiting on a store (each up to --read_timeout) at once


class Limits(pydantic.BaseModel):
    allowed_roots: tuple[str, ...] = ()
    allowed_prefixes: tuple[str, ...] = ()
    max_file_mb: float = inputs.DEFAULT_MAX_FILE_MB
    max_pixels: int = MAX_PIXELS
    read_timeout: float = inputs.DEFAULT_READ_TIMEOUT_S  # seconds a remote read may go unanswered
    max_request_mb: float = 128.0
    max_files: int = 32
    max_batch: int = 64


class BodyLimit:
    """ASGI middleware: a request body over `max_bytes` gets 413 before it is read (by its
    Content-Length) or as soon as it passes the limit (chunked uploads)."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        too_large = Refused(REQUEST_TOO_LARGE, f"request body over {self.max_bytes} bytes (--max_request_mb)")
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit():
            bad_length = Refused(BAD_REQUEST, f"Content-Length {length!r} is not a number")
            return await _refusal(bad_length)(scope, receive, send)
        if int(length) > self.max_bytes:
            return await _refusal(too_large)(scope, receive, send)
        received = 0

        async def bounded_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise too_large
            return message

        await self.app(scope, bounded_receive, send)


class AccessLog:
    """ASGI middleware: one log line per request, `METHOD /path STATUS 12.3 ms` (the query string left out)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), 500  # an exception that escapes answers 500

        async def send_noting_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            ACCESS_LOG.info("%s %s %d %.1f ms", scope["method"], scope["path"], status,
                            1000 * (time.perf_counter() - started))


def _refusal(err: Refused, **where: str) -> JSONResponse:
    return JSONResponse(dead_letters.refusal(err.reason, err.detail, where), status_code=err.status)


def create_app(model: LoadedRun, limits: Limits, review: Optional[APIRouter] = None,
               model_check_interval: Optional[float] = None) -> FastAPI:
    """The ASGI app (tests and uvicorn both start this); loads the model now, not on first request. `review`: the
    review queue's routes (serving.review), if any; `model_check_interval`: seconds between looks for a newer run
    where --model_dir follows a `latest` file (None: never)."""
    live = LiveModel(model, limits.max_batch)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        following = None
        if model_check_interval and model.follows:
            following = asyncio.get_running_loop().create_task(live.follow(model_check_interval))
        yield
        if following:
            following.cancel()

    decoders = concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="decode")
    readers = concurrent.futures.ThreadPoolExecutor(READ_THREADS, thread_name_prefix="read")  # slow stores wait here
    max_bytes = inputs.megabytes(limits.max_file_mb)
    # /docs and /redoc take Swagger UI and ReDoc from the fastapi-offline package, not a CDN: they work offline.
    app = FastAPIOffline(title="Chart Sifter", description="Label images as financial charts or not.",
                         version="0.1.0", lifespan=lifespan)
    app.add_middleware(BodyLimit, max_bytes=inputs.megabytes(limits.max_request_mb))
    app.add_middleware(AccessLog)  # the outermost: it sees every answer, BodyLimit's refusals included

    async def answer(where: dict, read) -> dict:
        """Read (on a read thread: a slow store never holds a decode thread), prepare (on a decode thread) and
        score one image; raises Refused."""
        loop = asyncio.get_running_loop()
        run, scorer = live.current  # this request finishes on this run, whatever replaces it meanwhile
        try:
            data = await loop.run_in_executor(readers, read)
            prepared = await loop.run_in_executor(decoders, functools.partial(prepare, max_pixels=limits.max_pixels),
                                                  data, run.image_size)
        except (inputs.ReadError, RejectedImage) as err:
            raise Refused(err.reason, err.detail) from err
        score = await scorer.score(prepared.pixels.tobytes())
        if isinstance(score, InferenceError):
            raise Refused(MODEL_ERROR, score)
        return {**where, **run.verdict(score), "threshold": round(run.rule.threshold, DECIMALS),
                "sha256": prepared.sha256,
                "width": prepared.width, "height": prepared.height}

    @app.exception_handler(Refused)
    async def refused(request: Request, err: Refused):
        return _refusal(err)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, err: HTTPException):
        reason = (
            TOO_MANY_FILES
            if "Too many files" in str(err.detail)
            else BAD_REQUEST
            if err.status_code < 500
            else SERVER_ERROR
        )
        status = 413 if reason == TOO_MANY_FILES else err.status_code
        return JSONResponse(dead_letters.refusal(reason, str(err.detail)), status_code=status)

    @app.exception_handler(ClientDisconnect)
    async def disconnected(request: Request, err: ClientDisconnect):  # gone, or closed by --body_timeout
        return _refusal(Refused(BAD_REQUEST, "the connection closed before the whole request body arrived"))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, err: Exception):  # still a bug: logged with its traceback
        return JSONResponse(dead_letters.refusal(SERVER_ERROR, f"{type(err).__name__} (see the server's log)"),
                            status_code=500)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError):
        return _refusal(Refused(BAD_REQUEST, str(err.errors())))

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> str:
        return importlib.resources.files("serving").joinpath("page.html").read_text()

    if review is not None:
        app.include_router(review)

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/model")
    async def model_info() -> dict:
        run = live.current[0]
        rule = run.rule
        return {"model_type": rule.model_type, "run_id": rule.run_id, "threshold": round(rule.threshold, DECIMALS),
                "review_band": [round(v, DECIMALS) for v in rule.review_band], "image_size": run.image_size,
                "follows": run.follows, "limits": limits.model_dump(exclude={"allowed_roots"})}

    @app.post("/predict", openapi_extra=_PREDICT_DOC)
    async def predict(request: Request):
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            return await _predict_files(request)
        if not content_type.startswith("application/json"):
            raise Refused(
                BAD_REQUEST,
                "send JSON (application/json) or files (multipart/form-data), "
                f"not {content_type or 'no content type'!r}",
            )
        where, read = parse_json_request(await request.body(), limits)
        try:
            return await answer(where, read)
        except Refused as err:
            return _refusal(err, **where)

    async def _predict_files(request: Request):
        form = await request.form(max_files=limits.max_files)
        uploads = [value for _, value in form.multi_items() if not isinstance(value, str)]
        if not uploads:
            raise Refused(BAD_REQUEST, "the multipart upload holds no file (use a file field, e.g. -F file=@image.png)")
        contents = [await upload.read(max_bytes + 1) for upload in uploads]

        async def one(upload, data: bytes) -> dict:
            where = {"name": upload.filename or "upload"}
            try:
                return await answer(where, functools.partial(_bounded, data, max_bytes))
            except Refused as err:
                return dead_letters.refusal(err.reason, err.detail, where)

        results = await asyncio.gather(*(one(u, d) for u, d in zip(uploads, contents)))
        all_labelled = all("label" in r for r in results)
        return JSONResponse({"results": results}, status_code=200 if all_labelled else 422)

    return app


_PREDICT_DOC = {
    "requestBody": {
        "content": {
            "application/json": {"schema": PredictRequest.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                }
            },
        }
    }
}


def parse_json_request(raw: bytes, limits: Limits) -> tuple[dict, Callable[[], bytes]]:
    """A JSON body of POST /predict -> ({"uri"|"name": ...}, a function returning the image bytes or raising
    inputs.ReadError); whatever the body holds, anything else is a Refused (4xx)."""
    try:
        body = PredictRequest.model_validate_json(raw)
    except pydantic.ValidationError as err:
        raise Refused(
            BAD_REQUEST, f'expected {{"image_path"|"image_b64"|"image_uri": "..."}}: {err.errors()[0]["msg"]}'
        ) from err
    return _source(body, limits, inputs.megabytes(limits.max_file_mb))


def _source(body: PredictRequest, limits: Limits, max_bytes: int) -> tuple[dict, Any]:
    """({"uri"|"name": ...}, a function returning the image bytes) for a JSON request; raises Refused."""
    given = {k: v for k, v in body.model_dump().items() if v is not None}
    if len(given) != 1:
        raise Refused(
            BAD_REQUEST, f"give exactly one of image_path, image_b64, image_uri (got {sorted(given) or 'none'})"
        )
    for field in ("image_path", "image_uri"):
        if not _names_a_file(given.get(field, "")):
            raise Refused(BAD_REQUEST, f"{field} cannot name a file: it holds a NUL byte or a lone surrogate "
                                       f"({ascii(given[field])[:200]})")
    if body.image_b64 is not None:
        try:
            data = base64.b64decode(body.image_b64, validate=True)
        except (binascii.Error, ValueError) as err:
            raise Refused(BAD_REQUEST, f"image_b64 is not valid base64: {err}") from err
        return {"name": "image_b64"}, functools.partial(_bounded, data, max_bytes)
    if body.image_uri is not None:
        if not inputs.under_prefix(body.image_uri, limits.allowed_prefixes) or "://" not in body.image_uri:
            raise Refused(
                NOT_ALLOWED,
                f"{body.image_uri} is outside the allowed prefixes {list(limits.allowed_prefixes)} (--allowed_prefix)",
            )
        return {"uri": body.image_uri}, functools.partial(inputs.read_bounded, body.image_uri, max_bytes,
                                                          limits.read_timeout)
    return {"uri": body.image_path}, functools.partial(
        inputs.read_bounded, _allowed_path(body.image_path, limits.allowed_roots), max_bytes
    )


def _names_a_file(path: str) -> bool:
    """Whether a path or URI can be handed to a filesystem at all (no NUL, encodable as UTF-8)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\0" not in path


def _allowed_path(path: str, roots: tuple[str, ...]) -> str:
    """The real path of `path` if it lies under an allowed root after resolving symlinks; raises Refused."""
    if not roots:
        raise Refused(
            NOT_ALLOWED, "image_path is off: start the server with --allowed_root DIR to serve files under DIR"
        )
    if not os.path.isabs(path):  # never resolved against the server's working folder
        raise Refused(NOT_ALLOWED, f"{path}: image_path must be an absolute path under --allowed_root {list(roots)}, "
                                   f"e.g. {os.path.join(roots[0], path)}")
    if ".." in path.replace("\\", "/").split("/"):
        raise Refused(NOT_ALLOWED, f"{path}: '..' is not allowed in image_path")
    real = os.path.realpath(path)
    if not any(os.path.commonpath([real, root]) == root for root in roots):
        raise Refused(NOT_ALLOWED, f"{path} is outside --allowed_root {list(roots)} (symlinks are resolved first)")
    return real


def _bounded(data: bytes, max_bytes: int) -> bytes:
    if len(data) > max_bytes:
        raise inputs.ReadError(FILE_TOO_LARGE, f"over {max_bytes} bytes (--max_file_mb)")
    return data


