"""The review queue (`serve --review PREFIX`, page /review): a person settles, one at a time, the images a label run
scored inside its review band; each decision is appended to the corrections file (core.corrections) before the
answer. What is decided is what that file says (so a restart, another tab or another server sees it); each tab keeps
its own order (skips go to the end) and its undo stack. Images are served by their index in the queue only, and
only under --allowed_root / --allowed_prefix.
"""
import dataclasses
import hashlib
import importlib.resources
import io
import logging
import os
from typing import Literal, Optional

import pydantic
from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from PIL import Image
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from core import corrections, inputs
from core.dead_letters import CHANGED_SINCE_LABELLED, DECOMPRESSION_BOMB, NOT_ALLOWED, NOT_AN_IMAGE
from core.results import read_results
from serving.app import Limits, Refused
from transforms.image import SUPPORTED_FORMATS, RejectedImage, load_rgb

BROWSER_FORMATS = frozenset({"JPEG", "PNG", "GIF", "WEBP", "BMP"})  # sent as they are; TIFF is sent as PNG


@dataclasses.dataclass(frozen=True)
class Item:
    """One review-band image of the run, as its result line has it."""

    uri: str
    label: str
    score: float
    sha256: str
    run_id: str


class DecisionRequest(pydantic.BaseModel):
    """The body of POST /review/decisions: the queue's image `index` (its `sha256` guards against a changed
    queue) is `label`; null takes this image's decision back (undo)."""

    model_config = pydantic.ConfigDict(extra="forbid")
    index: int
    sha256: str
    label: Optional[Literal["chart", "non_chart"]]


class ReviewQueue:
    """The run's review-band images (in uri order) and the decisions the corrections file holds for them."""

    def __init__(self, prefix: str, corrections_path: str, items: list[Item]):
        self.prefix, self.corrections_path, self.items = prefix, os.path.abspath(corrections_path), items
        self._decisions = corrections.Follower(self.corrections_path)

    def item(self, index: int, sha256: str) -> Item:
        """The image at `index`; 404 past the end, 409 when its sha256 is not `sha256` (the page is stale)."""
        if not 0 <= index < len(self.items):
            raise HTTPException(404, f"the review queue has images 0 to {len(self.items) - 1}, not {index}")
        if self.items[index].sha256 != sha256:
            raise HTTPException(409, f"image {index} of the queue is not {sha256[:12]!r}: the server now reviews "
                                     "another run; reload the page")
        return self.items[index]

    def decisions(self) -> dict[int, str]:
        """{index: label} of the images whose last decision stands."""
        latest = self._decisions.latest()
        return {i: latest[item.uri].label for i, item in enumerate(self.items)
                if item.uri in latest and latest[item.uri].label is not corrections.UNDECIDED}

    def decide(self, index: int, sha256: str, label: Optional[str]) -> corrections.Decision:
        """Append a decision on one image (None: take it back), durable when this returns."""
        item = self.item(index, sha256)
        return corrections.append(self.corrections_path,
                                  corrections.Decision(item.uri, label, item.label, item.score, item.run_id))

    def state(self) -> dict:
        decided = self.decisions()
        return {"total": len(self.items), "decided": len(decided), "decisions": decided}


def open_queue(prefix: str, corrections_path: Optional[str], limits: Limits) -> ReviewQueue:
    """The review queue of the label run at `prefix`; ValueError (naming the flag) when it cannot be served."""
    if corrections_path is None:
        if "://" in prefix:
            raise ValueError(f"--review {prefix} is remote and object stores cannot append: pass --corrections FILE "
                             "on a local disk")
        corrections_path = prefix + corrections.SUFFIX
    corrections.check_local(corrections_path)
    results = read_results(prefix)[0]
    if not results:
        raise ValueError(f"--review {prefix}: no label results there ({prefix}-*.jsonl); label a folder first: "
                         f"python -m pipelines.label --input DIR --output {prefix}")
    in_band = {r["uri"]: r for r in results if r.get("review") is True}  # one item per uri, its last line
    items = [Item(r["uri"], r["label"], r["score"], r["sha256"], r["run_id"]) for r in in_band.values()]
    refused = [item.uri for item in items if not allowed(item.uri, limits)]
    if refused:
        raise ValueError(f"--review {prefix}: {len(refused)} of its {len(items)} review images may not be read by "
                         f"this server (e.g. {refused[0]}); start it with {_flag_for(refused)}")
    queue = ReviewQueue(prefix, corrections_path, items)
    logging.info("Review queue of %s: %d of its %d images in the review band, %d decided; decisions go to %s "
                 "(page: /review)", prefix, len(items), len(results), len(queue.decisions()), queue.corrections_path)
    return queue


def allowed(uri: str, limits: Limits) -> bool:
    """Whether the server may read `uri`: under an --allowed_prefix, or (local, symlinks resolved) an --allowed_root."""
    if "://" in uri:
        return inputs.under_prefix(uri, limits.allowed_prefixes)
    return any(inputs.inside(uri, root) for root in limits.allowed_roots)


def _flag_for(uris: list[str]) -> str:
    """The flag that would allow every one of `uris`: their common folder or URI prefix."""
    if all("://" in uri for uri in uris):
        folders = [uri.rsplit("/", 1)[0] + "/" for uri in uris]
        return f"--allowed_prefix {os.path.commonprefix(folders).rsplit('/', 1)[0]}/"
    local = [os.path.dirname(os.path.realpath(uri)) for uri in uris if "://" not in uri]
    return f"--allowed_root {os.path.commonpath(local)}" + (" and --allowed_prefix" if len(local) < len(uris) else "")


def image_bytes(uri: str, limits: Limits, sha256: str) -> tuple[bytes, str]:
    """(bytes, content type) of one queue image, read under the server's limits: the file's own bytes when a browser
    shows its format (as Pillow finds it, whatever the name says), else PNG; raises Refused (409
    `changed_since_labelled` when the bytes are no longer the `sha256` they were labelled as: a person would judge
    another picture)."""
    if not allowed(uri, limits):  # checked again: a symlink may have changed since the start
        raise Refused(NOT_ALLOWED, f"{uri} is outside --allowed_root / --allowed_prefix")
    try:
        data = inputs.read_bounded(uri if "://" in uri else os.path.realpath(uri), inputs.megabytes(limits.max_file_mb),
                                   limits.read_timeout)
    except inputs.ReadError as err:
        raise Refused(err.reason, err.detail) from err
    if hashlib.sha256(data).hexdigest() != sha256:
        raise Refused(CHANGED_SINCE_LABELLED, f"{uri} has changed since it was labelled (it is no longer sha256 "
                                              f"{sha256[:12]}): label it again, then review the new run")
    try:
        with Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS) as img:
            kind, pixels = img.format, img.width * img.height
    except Image.DecompressionBombError as err:
        raise Refused(DECOMPRESSION_BOMB, str(err)) from err
    except Exception as err:  # Pillow's parsers signal bad input with many exception types
        raise Refused(NOT_AN_IMAGE, f"{type(err).__name__}: {err}") from err
    if pixels > limits.max_pixels:
        raise Refused(DECOMPRESSION_BOMB, f"{pixels} pixels, over {limits.max_pixels} (--max_pixels)")
    if kind in BROWSER_FORMATS:
        return data, Image.MIME[kind]
    try:
        png = io.BytesIO()
        load_rgb(data).save(png, "PNG")
    except RejectedImage as err:
        raise Refused(err.reason, err.detail) from err
    return png.getvalue(), "image/png"


def router(queue: ReviewQueue, limits: Limits) -> APIRouter:
    """The page /review and the API it uses (create_app includes it)."""
    routes = APIRouter(tags=["review"])

    @routes.get("/review", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> str:
        return importlib.resources.files("serving").joinpath("review.html").read_text()

    @routes.get("/review/queue")
    async def listing() -> dict:
        """Every image of the queue (index, name, uri, score, the model's label, sha256) and what is decided."""
        items = [{"index": i, "name": item.uri.rsplit("/", 1)[-1], "uri": item.uri, "score": item.score,
                  "label": item.label, "sha256": item.sha256} for i, item in enumerate(queue.items)]
        return {"prefix": queue.prefix, "corrections": queue.corrections_path, "items": items,
                **await run_in_threadpool(queue.state)}

    @routes.get("/review/state")
    async def state() -> dict:
        """How many images are decided, and {index: label} of those."""
        return await run_in_threadpool(queue.state)

    @routes.get("/review/images/{index}", response_class=Response)
    async def image(index: int, sha256: str) -> Response:
        """The image at `index` of the queue (`sha256` as the queue lists it)."""
        data, content_type = await run_in_threadpool(image_bytes, queue.item(index, sha256).uri, limits, sha256)
        return Response(data, media_type=content_type,
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"})

    @routes.post("/review/decisions")
    async def decide(request: DecisionRequest) -> dict:
        """Append one decision to the corrections file (durable before this answers); the queue's state after it."""
        try:
            decision = await run_in_threadpool(queue.decide, request.index, request.sha256, request.label)
        except OSError as err:
            raise HTTPException(500, f"the decision was not saved: {queue.corrections_path}: {err}") from err
        return {"decision": dataclasses.asdict(decision), **await run_in_threadpool(queue.state)}

    return routes


def from_flags(prefix: Optional[str], corrections_path: Optional[str], limits: Limits) -> Optional[APIRouter]:
    """The review routes of `serve --review PREFIX [--corrections FILE]`, None without --review; ValueError at start."""
    if prefix is None:
        if corrections_path is not None:
            raise ValueError("--corrections FILE is where --review PREFIX writes its decisions: add --review")
        return None
    return router(open_queue(prefix, corrections_path, limits), limits)
