"""Validate one image file and turn it into the pixels the model sees: the preprocessing, defined once.

`prepare(data, image_size)` is the only path from file bytes to model input, in ingest, labelling,
evaluation and serving; it decodes each file once. Pillow and numpy only, since it runs on workers.
What it accepts, refuses and why: docs/ARCHITECTURE.md, Contract 1.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
from typing import Optional

import numpy as np
from PIL import ExifTags, Image, ImageOps

from core.dead_letters import (
    DECOMPRESSION_BOMB,
    EMPTY_FILE,
    IMAGE_REASONS,
    NOT_AN_IMAGE,
    TOO_LARGE,
    TOO_SMALL,
    TRUNCATED,
    UNSUPPORTED_MODE,
)

MAX_PIXELS = 50_000_000  # default --max_pixels: a header claiming more width*height is refused as a decompression bomb
MIN_SIDE = 16  # px; thumbnails and tracking pixels below this carry no usable content
MAX_SIDE = 20_000  # px; longer sides are banners/strips the model cannot use at 224 px
REDUCING_GAP = 1.0  # Pillow resize: box-reduce first while the image is over the target (then bilinear)
INK_POOL = 2  # each model pixel is the most ink-like of an INK_POOL x INK_POOL block of a finer resize
# Pillow plugins allowed to parse input (fewer parsers, smaller attack surface); the JPEG
# plugin also opens multi-picture JPEGs, whose format Pillow names "MPO".
SUPPORTED_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF")
WHITE, BLACK = (255, 255, 255), (0, 0, 0)  # backgrounds that transparent pixels are flattened onto
VANISHES_ON_WHITE = 0.25  # onto black when on white it keeps under this share of its edges on black
_EDGE_SIDE = 128  # px: edges of the flattened picture are compared at this size
_GREY = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601 luma

REASONS = IMAGE_REASONS  # every code a RejectedImage carries

_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa"})
_DEEP_GREY_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})  # >8-bit grey
_CONVERTIBLE_MODES = frozenset({"RGB", "L", "1", "P", "RGBX", "CMYK", "YCbCr", "LAB"})


class RejectedImage(ValueError):
    """An input that cannot become a training/labelling example (``reason`` is in REASONS)."""

    def __init__(self, reason: str, detail: str):
        if reason not in REASONS:
            raise ValueError(f"unknown rejection reason {reason!r}")
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail

    def __reduce__(self):  # survives pickling across processes (worker pools, Beam workers)
        return RejectedImage, (self.reason, self.detail)


@dataclasses.dataclass(frozen=True)
class PreparedImage:
    """A validated image: the model's input pixels plus what identifies the file."""

    pixels: np.ndarray  # uint8 [image_size, image_size, 3]: exactly what the model sees
    width: int  # of the upright (EXIF-applied) original
    height: int
    format: str  # original format as Pillow names it ("PNG", "JPEG", "GIF", ...)
    sha256: str  # hex sha256 of the original file bytes
    content_hash: Optional[str]  # see content_hash(); None unless asked for


def prepare(data: bytes, image_size: int, with_content_hash: bool = False,
            max_pixels: int = MAX_PIXELS) -> PreparedImage:
    """Validate and decode ``data`` once, and resize it for the model; raises RejectedImage.

    A header claiming more than ``max_pixels`` (--max_pixels) is refused before any pixel is decoded.
    JPEGs are decoded at a reduced size by DCT scaling (still at least ``image_size`` a side), so
    every path sees the same pixels at a fraction of the cost. ``with_content_hash`` adds the
    full-resolution pixel hash ingest deduplicates and splits by (a copy of the decoded image, and
    for a reduced JPEG a full decode, so labelling leaves it out).
    """
    img, fmt, (width, height) = _decode(data, draft_side=image_size * INK_POOL, max_pixels=max_pixels)
    rgb = _to_rgb(img)
    reduced = rgb.size != (width, height)
    return PreparedImage(
        pixels=resize(rgb, image_size),
        width=width,
        height=height,
        format=fmt,
        sha256=hashlib.sha256(data).hexdigest(),
        content_hash=(content_hash(load_rgb(data) if reduced else rgb)) if with_content_hash else None,
    )


def resize(rgb: Image.Image, image_size: int) -> np.ndarray:
    """Squash an RGB image to a square (nothing cropped) so thin chart lines survive; uint8 [S, S, 3].

    An antialiased bilinear resize to INK_POOL times the side, then each INK_POOL x INK_POOL block keeps its pixel
    farthest in grey from the image's median grey (its background): a one-pixel line on a 1,000 px chart keeps
    its colour instead of fading into the background (docs/EXPERIMENTS.md, 2026-12-07).
    """
    side = image_size * INK_POOL
    fine = np.asarray(rgb.resize((side, side), Image.Resampling.BILINEAR, reducing_gap=REDUCING_GAP))
    grey = fine @ _GREY
    distance = np.abs(grey - np.median(grey[::INK_POOL * 2, ::INK_POOL * 2]))  # the median of a sample: fast
    blocks = distance.reshape(image_size, INK_POOL, image_size, INK_POOL).swapaxes(1, 2)
    row, column = np.divmod(blocks.reshape(image_size, image_size, -1).argmax(-1), INK_POOL)
    corner = np.arange(image_size) * INK_POOL
    return fine[corner[:, None] + row, corner[None, :] + column]


def load_rgb(data: bytes) -> Image.Image:
    """The canonical decode at full size: upright, first frame, alpha flattened (`_flatten`), 8-bit RGB."""
    return _to_rgb(_decode(data)[0])


def content_hash(rgb: Image.Image) -> str:
    """Hex sha256 of b"<width>x<height>:" followed by the RGB pixel bytes in row order, so one
    picture hashes the same whatever container or metadata it came in."""
    digest = hashlib.sha256(b"%dx%d:" % rgb.size)
    digest.update(rgb.tobytes())
    return digest.hexdigest()


def _decode(data: bytes, draft_side: Optional[int] = None,
            max_pixels: int = MAX_PIXELS) -> tuple[Image.Image, str, tuple[int, int]]:
    """The first frame, decoded and upright; the format Pillow names it by; the upright full size.

    With ``draft_side`` a JPEG may be decoded smaller (DCT scaling by 1/2, 1/4 or 1/8), never below
    ``draft_side`` on either side; other formats always decode at full size.
    """
    if not data:
        raise RejectedImage(EMPTY_FILE, "0 bytes")
    img = _open(data)
    _check_size(*img.size, max_pixels=max_pixels)
    full = img.size
    if draft_side and img.format in ("JPEG", "MPO"):
        img.draft(None, (draft_side, draft_side))
    _load_pixels(img)
    upright = _upright(img)
    return upright, str(img.format), full if upright.size == img.size else full[::-1]


def _open(data: bytes) -> Image.Image:
    """Parse the header only (Pillow decodes pixels lazily)."""
    try:
        return Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # The warning arrives as an exception only where warnings are errors; otherwise
        # _check_size rejects it, since Pillow warns above MAX_PIXELS.
        raise RejectedImage(DECOMPRESSION_BOMB, str(exc)) from exc
    except Image.UnidentifiedImageError as exc:
        raise RejectedImage(
            NOT_AN_IMAGE, f"not a {', '.join(SUPPORTED_FORMATS)} image (starts with {data[:8]!r})"
        ) from exc
    except Exception as exc:  # Pillow's parsers signal bad input with many exception types.
        raise RejectedImage(NOT_AN_IMAGE, f"{type(exc).__name__}: {exc}") from exc


def _check_size(width: int, height: int, max_pixels: int = MAX_PIXELS) -> None:
    """Refuse bombs and absurd sizes from the header, before any pixel is decoded."""
    if width * height > max_pixels:
        raise RejectedImage(DECOMPRESSION_BOMB, f"{width}x{height} is {width * height} pixels, over {max_pixels} "
                                                "(--max_pixels)")
    if min(width, height) < MIN_SIDE:
        raise RejectedImage(TOO_SMALL, f"{width}x{height}: a side is below {MIN_SIDE} px")
    if max(width, height) > MAX_SIDE:
        raise RejectedImage(TOO_LARGE, f"{width}x{height}: a side is above {MAX_SIDE} px")


def _load_pixels(img: Image.Image) -> None:
    """Decode the first frame fully (ImageFile.LOAD_TRUNCATED_IMAGES stays False)."""
    try:
        img.load()
    except Exception as exc:  # Pillow's decoders signal bad data with many exception types.
        raise RejectedImage(TRUNCATED, f"{type(exc).__name__}: {exc}") from exc


def _upright(img: Image.Image) -> Image.Image:
    """``img`` rotated/flipped per its EXIF orientation; ``img`` itself when none applies.

    Unreadable EXIF data counts as orientation 1 (the pixels themselves are fine).
    """
    try:
        if img.getexif().get(ExifTags.Base.Orientation, 1) in range(2, 9):
            return ImageOps.exif_transpose(img)
    except Exception:  # Pillow's EXIF parser raises many exception types on corrupt data.
        pass
    return img


def _is_opaque(rgba: Image.Image) -> bool:
    """Whether every pixel of an RGBA image is fully opaque.

    Packs the alpha bytes and takes their minimum in numpy: 3-4 times faster than getchannel().getextrema(), and
    mostly outside the GIL that labelling's decode threads share (docs/EXPERIMENTS.md, 2026-12-07).
    """
    return np.frombuffer(rgba.tobytes("raw", "A"), np.uint8).min() == 255


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert a decoded frame of any supported mode to 8-bit RGB, alpha flattened (`_flatten`)."""
    if img.mode in _DEEP_GREY_MODES:
        return _deep_grey_to_rgb(img)
    if img.mode in _ALPHA_MODES or "transparency" in img.info:
        rgba = img if img.mode == "RGBA" else img.convert("RGBA")  # convert() would copy an RGBA image
        return rgba.convert("RGB") if _is_opaque(rgba) else _flatten(rgba, mask=rgba.getchannel("A"))
    if img.mode == "RGB":
        return img
    if img.mode in _CONVERTIBLE_MODES:
        return img.convert("RGB")
    raise RejectedImage(UNSUPPORTED_MODE, f"pixel mode {img.mode!r}")


def _deep_grey_to_rgb(img: Image.Image) -> Image.Image:
    """Scale 16/32-bit integer or float grey to 8 bits (never clip at 255), honouring tRNS."""
    values = np.asarray(img)
    if img.mode == "F":
        grey = np.rint(np.clip(np.nan_to_num(values, nan=0.0), 0.0, 1.0) * 255)
    else:
        grey = np.clip(values, 0, 65535).astype(np.uint16) >> 8
    rgb = Image.fromarray(grey.astype(np.uint8)).convert("RGB")
    transparent_value = img.info.get("transparency")
    if transparent_value is None:
        return rgb
    alpha = np.where(values == transparent_value, 0, 255).astype(np.uint8)
    return _flatten(rgb, mask=Image.fromarray(alpha))


def _flatten(img: Image.Image, mask: Image.Image) -> Image.Image:
    """Composite ``img`` through ``mask`` (L, 255 = opaque) onto white, as a browser shows it, unless it nearly
    vanishes there and shows on black (a white wordmark made for dark pages): then onto black."""
    on_white, on_black = (_composite(img, mask, colour) for colour in (WHITE, BLACK))
    return on_black if _edges(on_white) < VANISHES_ON_WHITE * _edges(on_black) else on_white


def _composite(img: Image.Image, mask: Image.Image, colour: tuple[int, int, int]) -> Image.Image:
    background = Image.new("RGB", img.size, colour)
    background.paste(img, mask=mask)
    return background


def _edges(rgb: Image.Image) -> float:
    """Total gradient magnitude of a small grey copy: how much of a picture shows."""
    grey = np.asarray(rgb.convert("L").resize((_EDGE_SIDE, _EDGE_SIDE), Image.Resampling.BILINEAR), np.float32)
    return float(np.abs(np.diff(grey, axis=0)).sum() + np.abs(np.diff(grey, axis=1)).sum())
