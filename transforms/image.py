"""Validate one image file and turn it into model-ready bytes.

Shared by the ingest and the labelling pipelines (it runs inside Beam DoFns on workers), so it
uses only Pillow and numpy: no TensorFlow here.

Model-ready bytes
-----------------
The model's serving graph decodes with ``transforms.preprocessing.decode``: JPEG (and MPO) with
``tf.io.decode_jpeg(data, channels=3, dct_method="INTEGER_ACCURATE")``, everything else with
``tf.io.decode_image(data, channels=3, expand_animations=False)``. For every accepted input,
``prepare_image(data).data`` decodes that way to exactly the pixels of ``load_rgb(data)``, the
canonical Pillow decode: first frame, EXIF orientation applied, alpha flattened onto white,
8-bit RGB. The original bytes are kept only where TF's decode is bit-exact; all of them have
no EXIF orientation other than 1 (TF ignores EXIF):

- an 8-bit PNG (grey, RGB, grey+alpha or RGBA) with no tRNS chunk, no animation, an alpha
  channel (if any) that is fully opaque, and intact chunk CRCs (libpng refuses a bad IDAT CRC
  that Pillow ignores);
- a JPEG or MPO (multi-picture JPEG: Pillow's first frame and TF's decode are both its first
  picture, which starts at byte 0) in Pillow mode RGB or L (not CMYK/YCCK), Huffman-coded DCT
  (SOF0-SOF2: baseline, extended sequential, progressive), whose scans deliver every DCT
  coefficient of every component at full precision.

Everything else is re-encoded as PNG (``compress_level=PNG_COMPRESS_LEVEL``) from the canonical
RGB image.

Why those JPEG conditions (Pillow 12.3 bundles libjpeg-turbo 3.1, TF 2.21 libjpeg-turbo 2.1):
the two agree, pixel for pixel, on every subsampling, quality, scan script and corrupt but
complete entropy-coded data tried, and on all 74 upright RGB/grey JPEGs of the real_sample
set. But 3.1 decodes lossless JPEG (SOF3), which TF refuses; and where a progressive JPEG's
scans leave coefficients unsent (a download cut short and closed with an EOI marker, say),
libjpeg estimates them by block smoothing, and with 4:2:0 chroma the two versions' estimates
differ (by up to 8 levels). Arithmetic-coded JPEG (SOF9/SOF10, rare) is re-encoded unchecked.
``tf.io.decode_image`` alone would not do: it decodes JPEG with the fast IDCT, so most pixels
differ from Pillow's by a few levels.

Pixel-mode conversions: 16-bit grey keeps the high byte (``v >> 8``), as Pillow does for
16-bit RGB(A) PNGs, so one picture gets the same pixels at either bit depth; 32-bit integer
("I") is clipped to 0..65535 first; float ("F") is read as 0.0-1.0 intensity (clipped, NaN as
0); CMYK, YCbCr and LAB use Pillow's conversions; ICC profiles are ignored, as TF ignores them.

Rejections raise ``RejectedImage(reason, detail)``; ``REASONS`` lists every reason code:

- ``empty_file``: zero bytes.
- ``not_an_image``: not recognisable as one of ``SUPPORTED_FORMATS`` (includes a header cut short).
- ``decompression_bomb``: the header claims more than ``MAX_PIXELS`` pixels (checked before
  decoding; Pillow's own DecompressionBombWarning/Error map here too).
- ``too_small``: a side shorter than ``MIN_SIDE``.
- ``too_large``: a side longer than ``MAX_SIDE``.
- ``truncated``: the pixel data cannot be fully decoded (cut short or corrupt).
- ``unsupported_mode``: a Pillow pixel mode with no defined conversion to RGB.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import zlib

import numpy as np
from PIL import ExifTags, Image, ImageOps

MAX_PIXELS = 50_000_000  # width*height above this is treated as a decompression bomb
MIN_SIDE = 16  # px; thumbnails and tracking pixels below this carry no usable content
MAX_SIDE = 20_000  # px; longer sides are banners/strips the model cannot use at 224 px
PNG_COMPRESS_LEVEL = 1  # zlib level for re-encoded PNGs: fast, still lossless
# Pillow plugins allowed to parse input (fewer parsers, smaller attack surface); the JPEG
# plugin also opens multi-picture JPEGs, whose format Pillow names "MPO".
SUPPORTED_FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF")
WHITE = (255, 255, 255)  # background that transparent pixels are flattened onto

EMPTY_FILE = "empty_file"
NOT_AN_IMAGE = "not_an_image"
DECOMPRESSION_BOMB = "decompression_bomb"
TOO_SMALL = "too_small"
TOO_LARGE = "too_large"
TRUNCATED = "truncated"
UNSUPPORTED_MODE = "unsupported_mode"
REASONS: tuple[str, ...] = (
    EMPTY_FILE,
    NOT_AN_IMAGE,
    DECOMPRESSION_BOMB,
    TOO_SMALL,
    TOO_LARGE,
    TRUNCATED,
    UNSUPPORTED_MODE,
)

_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa"})
_DEEP_GREY_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})  # >8-bit grey
_CONVERTIBLE_MODES = frozenset({"RGB", "L", "1", "P", "RGBX", "CMYK", "YCbCr", "LAB"})
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MODEL_READY_PNG_COLOUR_TYPES = frozenset({0, 2, 4, 6})  # grey, RGB, grey+alpha, RGBA
_MODEL_READY_JPEG_MODES = frozenset({"RGB", "L"})
_JPEG_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # less DHT, JPG, DAC
_MODEL_READY_JPEG_SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2})  # Huffman-coded DCT
_JPEG_EOI = 0xD9
_JPEG_SOS = 0xDA
# A marker: 0xFF then a code that is not a stuffed 0x00, a restart marker RSTn or a 0xFF fill
# byte. Searching for it also skips the entropy-coded data that follows each SOS segment.
_JPEG_MARKER = re.compile(rb"\xff([^\x00\xd0-\xd7\xff])")


class RejectedImage(ValueError):
    """An input that cannot become a training/labelling example (``reason`` is in REASONS)."""

    def __init__(self, reason: str, detail: str):
        if reason not in REASONS:
            raise ValueError(f"unknown rejection reason {reason!r}")
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclasses.dataclass(frozen=True)
class PreparedImage:
    """A validated image and its model-ready bytes (see the module docstring)."""

    data: bytes  # model-ready encoded bytes
    width: int  # of the upright (EXIF-applied) image
    height: int
    format: str  # original format as Pillow names it ("PNG", "JPEG", "GIF", ...)
    sha256: str  # hex sha256 of the original file bytes
    content_hash: str  # hex sha256 of size + upright RGB pixels (see content_hash())
    reencoded: bool  # True when data != original bytes


@dataclasses.dataclass(frozen=True)
class _Decoded:
    rgb: Image.Image
    format: str
    original_is_model_ready: bool


def prepare_image(data: bytes) -> PreparedImage:
    """Validate ``data`` and return model-ready bytes plus metadata; raises RejectedImage."""
    decoded = _decode(data)
    rgb = decoded.rgb
    keep = decoded.original_is_model_ready
    return PreparedImage(
        data=data if keep else _encode_png(rgb),
        width=rgb.width,
        height=rgb.height,
        format=decoded.format,
        sha256=hashlib.sha256(data).hexdigest(),
        content_hash=content_hash(rgb),
        reencoded=not keep,
    )


def load_rgb(data: bytes) -> Image.Image:
    """The canonical decode: upright, first frame, alpha flattened on white, 8-bit RGB."""
    return _decode(data).rgb


def content_hash(rgb: Image.Image) -> str:
    """Hex sha256 of b"<width>x<height>:" followed by the RGB pixel bytes in row order.

    The pixel bytes are those of ``np.asarray(rgb)`` (or of the TF-decoded tensor), so
    one picture hashes the same whatever container or metadata it came in.
    """
    digest = hashlib.sha256(b"%dx%d:" % rgb.size)
    digest.update(rgb.tobytes())
    return digest.hexdigest()


def _decode(data: bytes) -> _Decoded:
    if not data:
        raise RejectedImage(EMPTY_FILE, "0 bytes")
    img = _open(data)
    _check_size(*img.size)
    _load_pixels(img)
    upright = _upright(img)
    original_is_model_ready = upright is img and (
        _is_model_ready_png(img, data) or _is_model_ready_jpeg(img, data)
    )
    return _Decoded(_to_rgb(upright), str(img.format), original_is_model_ready)


def _open(data: bytes) -> Image.Image:
    """Parse the header only (Pillow decodes pixels lazily)."""
    try:
        return Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # The warning arrives as an exception only where warnings are errors; otherwise
        # _check_size rejects it, since Pillow warns above MAX_PIXELS.
        raise RejectedImage(DECOMPRESSION_BOMB, str(exc)) from exc
    except Exception as exc:  # Pillow's parsers signal bad input with many exception types.
        raise RejectedImage(NOT_AN_IMAGE, f"{type(exc).__name__}: {exc}") from exc


def _check_size(width: int, height: int) -> None:
    """Refuse bombs and absurd sizes from the header, before any pixel is decoded."""
    if width * height > MAX_PIXELS:
        raise RejectedImage(DECOMPRESSION_BOMB, f"{width}x{height} exceeds {MAX_PIXELS} pixels")
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


def _is_model_ready_png(img: Image.Image, data: bytes) -> bool:
    """Whether TF's decode of the original (unrotated) bytes equals the canonical pixels."""
    return (
        img.format == "PNG"
        and data[12:16] == b"IHDR"
        and data[24] == 8  # bit depth
        and data[25] in _MODEL_READY_PNG_COLOUR_TYPES
        and "transparency" not in img.info
        and not getattr(img, "is_animated", False)
        and (img.mode not in _ALPHA_MODES or _is_opaque(img))
        and _png_chunks_intact(data)
    )


def _is_model_ready_jpeg(img: Image.Image, data: bytes) -> bool:
    """Whether TF's decode of the original (unrotated) bytes equals the canonical pixels."""
    return (
        img.format in ("JPEG", "MPO")
        and img.mode in _MODEL_READY_JPEG_MODES
        and _jpeg_is_complete_huffman_dct(data)
    )


def _jpeg_is_complete_huffman_dct(data: bytes) -> bool:
    """Whether the first picture (up to EOI) has one SOF0-2 frame and scans that deliver all 64
    coefficients of every component at full precision (successive approximation bit Al 0)."""
    components: set[int] | None = None
    delivered: set[tuple[int, int]] = set()  # (component id, coefficient index)
    pos = 2  # after SOI
    try:
        while match := _JPEG_MARKER.search(data, pos):
            marker, pos = match[1][0], match.end()
            if marker == _JPEG_EOI:
                break
            length = int.from_bytes(data[pos : pos + 2], "big")
            body = data[pos + 2 : pos + length]
            if marker in _JPEG_SOF_MARKERS:
                if marker not in _MODEL_READY_JPEG_SOF_MARKERS or components is not None:
                    return False
                components = set(body[6 : 6 + 3 * body[5] : 3])
            elif marker == _JPEG_SOS:
                count = body[0]
                first, last, approximation = body[1 + 2 * count : 4 + 2 * count]  # Ss Se Ah|Al
                if approximation & 0x0F == 0:
                    for component in body[1 : 1 + 2 * count : 2]:
                        delivered.update((component, k) for k in range(first, last + 1))
            pos += length
    except (IndexError, ValueError):  # a segment cut short
        return False
    return components is not None and delivered == {(c, k) for c in components for k in range(64)}


def _is_opaque(img: Image.Image) -> bool:
    """Whether every pixel of an image with an "A" band is fully opaque."""
    return img.getchannel("A").getextrema()[0] == 255


def _png_chunks_intact(data: bytes) -> bool:
    """Whether every chunk up to IEND is complete and has a correct CRC."""
    view = memoryview(data)
    pos = len(_PNG_SIGNATURE)
    while pos + 12 <= len(data):
        length = int.from_bytes(view[pos : pos + 4], "big")
        end = pos + 8 + length
        if end + 4 > len(data):
            return False
        if zlib.crc32(view[pos + 4 : end]) != int.from_bytes(view[end : end + 4], "big"):
            return False
        if view[pos + 4 : pos + 8] == b"IEND":
            return True
        pos = end + 4
    return False


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert a decoded frame of any supported mode to 8-bit RGB, alpha flattened on white."""
    if img.mode in _DEEP_GREY_MODES:
        return _deep_grey_to_rgb(img)
    if img.mode in _ALPHA_MODES or "transparency" in img.info:
        rgba = img.convert("RGBA")
        return rgba.convert("RGB") if _is_opaque(rgba) else _on_white(rgba, mask=rgba)
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
    return _on_white(rgb, mask=Image.fromarray(alpha))


def _on_white(img: Image.Image, mask: Image.Image) -> Image.Image:
    """Composite ``img`` onto white through ``mask`` (an L image, or RGBA for its alpha)."""
    background = Image.new("RGB", img.size, WHITE)
    background.paste(img, mask=mask)
    return background


def _encode_png(rgb: Image.Image) -> bytes:
    """Lossless, metadata-free PNG of ``rgb``."""
    buffer = io.BytesIO()
    rgb.save(buffer, "PNG", compress_level=PNG_COMPRESS_LEVEL, icc_profile=None, transparency=None)
    return buffer.getvalue()
