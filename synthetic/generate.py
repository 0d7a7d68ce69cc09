"""One labelled demo image from (seed, index), the same bytes for the same inputs, and folders of them.

Each image: label, canvas, scene (sometimes framed), wear, encoding; all but the scene are drawn with the
same odds for both classes, so only the content tells a chart (docs/ARCHITECTURE.md, Synthetic images).
"""

from __future__ import annotations

import dataclasses
import io
import posixpath

import fsspec
import numpy as np
from PIL import Image, ImageFilter, ImageOps

from core.features import CHART, NON_CHART
from synthetic.charts import CHART_SCENES
from synthetic.framing import framed
from synthetic.non_charts import NON_CHART_SCENES
from synthetic.toolkit import between, chance, pick, randint, weighted


@dataclasses.dataclass(frozen=True)
class DemoImage:
    """One generated image: file name, encoded bytes and label."""

    name: str  # e.g. "demo_000042.png" / ".jpg", unique per (seed, index)
    data: bytes  # encoded image file bytes
    label: str  # CHART or NON_CHART


SCENES = {CHART: CHART_SCENES, NON_CHART: NON_CHART_SCENES}


_SHAPES = {  # name: (weight, aspect w/h range, long side range in pixels)
    "wide": (0.18, (2.0, 2.8), (900, 1500)),
    "landscape": (0.34, (1.4, 1.95), (640, 1400)),
    "classic": (0.2, (1.1, 1.4), (480, 1100)),
    "square": (0.12, (0.9, 1.1), (300, 1000)),
    "portrait": (0.06, (0.65, 0.9), (500, 1100)),
    "phone": (0.1, (0.45, 0.56), (780, 1300)),
}


_MAX_PIXELS = 1_300_000


_PAIR_STREAM = 1  # extra entropy word: the per-pair label stream never equals an image's stream


def _label(seed: int, index: int) -> str:
    """Indices 2k and 2k+1 hold one chart and one non-chart; a seeded coin decides which is which."""
    chart_first = np.random.default_rng([seed, index // 2, _PAIR_STREAM]).random() < 0.5
    return CHART if (index % 2 == 0) == chart_first else NON_CHART


def _scene_kind(rng: np.random.Generator, label: str) -> str:
    """The scene recipe name for `label` (the first draw from an image's generator)."""
    return weighted(rng, {name: weight for name, (weight, _) in SCENES[label].items()})


def _canvas(rng: np.random.Generator) -> tuple[tuple[int, int], float]:
    """Image size and UI scale, from one distribution shared by both classes."""
    shape = weighted(rng, {name: spec[0] for name, spec in _SHAPES.items()})
    _, aspect_range, long_range = _SHAPES[shape]
    aspect, long_side = between(rng, *aspect_range), between(rng, *long_range)
    w, h = (long_side, long_side / aspect) if aspect >= 1 else (long_side * aspect, long_side)
    shrink = min(1.0, (_MAX_PIXELS / (w * h)) ** 0.5)
    w, h = int(w * shrink), int(h * shrink)
    scale = min(weighted(rng, {1.0: 0.55, 1.25: 0.15, 1.5: 0.15, 2.0: 0.15}), max(0.8, min(w, h) / 350))
    return (w, h), scale


def _wear(rng: np.random.Generator, image: Image.Image) -> Image.Image:
    """Same-odds-for-both-classes degradations: rescale, blur, noise, greyscale, earlier JPEG pass."""
    if chance(rng, 0.25):
        factor = between(rng, 0.5, 0.9) if chance(rng, 0.7) else between(rng, 1.15, 1.5)
        size = (max(64, int(image.width * factor)), max(64, int(image.height * factor)))
        image = image.resize(size, pick(rng, (Image.BILINEAR, Image.BICUBIC, Image.LANCZOS, Image.NEAREST)))
    if chance(rng, 0.1):
        image = image.filter(ImageFilter.GaussianBlur(between(rng, 0.4, 1.2)))
    if chance(rng, 0.1):
        noise = (rng.standard_normal((image.height, image.width, 1), dtype=np.float32) * between(rng, 2, 7)).astype(
            np.int16
        )
        image = Image.fromarray(np.clip(np.asarray(image, dtype=np.int16) + noise, 0, 255).astype(np.uint8))
    if chance(rng, 0.04):
        image = ImageOps.grayscale(image).convert("RGB")
    if chance(rng, 0.12):
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=randint(rng, 30, 85))
        image = Image.open(buffer).convert("RGB")
    return image


def _encode(rng: np.random.Generator, image: Image.Image) -> tuple[bytes, str]:
    """PNG (RGB or opaque RGBA) or JPEG (quality 60-95, baseline or progressive), same odds for both classes."""
    buffer = io.BytesIO()
    if chance(rng, 0.5):
        image.save(
            buffer,
            "JPEG",
            quality=randint(rng, 60, 95),
            progressive=chance(rng, 0.3),
            subsampling=pick(rng, (0, 2, 2, 2)),
        )
        return buffer.getvalue(), "jpg"
    if chance(rng, 0.3):
        image = image.convert("RGBA")
    image.save(buffer, "PNG", compress_level=pick(rng, (1, 3, 6)))
    return buffer.getvalue(), "png"


def render_demo_image(seed: int, index: int) -> DemoImage:
    """The demo image number `index` of the dataset `seed` (pure: same inputs, same bytes)."""
    if seed < 0 or index < 0:
        raise ValueError(f"seed and index must be non-negative integers, got seed={seed}, index={index}")
    rng = np.random.default_rng([seed, index])
    label = _label(seed, index)
    _, scene = SCENES[label][_scene_kind(rng, label)]
    size, scale = _canvas(rng)
    data, extension = _encode(rng, _wear(rng, framed(rng, scene, size, scale)))
    return DemoImage(f"demo_{index:06d}.{extension}", data, label)


def write_demo_folder(root: str, size: int, seed: int = 0) -> dict[str, int]:
    """Write images 0..size-1 as root/<label>/<name> (any fsspec URL); returns {label: count}."""
    fs, base = fsspec.core.url_to_fs(root)
    counts = {CHART: 0, NON_CHART: 0}
    for label in counts:
        fs.makedirs(posixpath.join(base, label), exist_ok=True)
    for index in range(size):
        image = render_demo_image(seed, index)
        with fs.open(posixpath.join(base, image.label, image.name), "wb") as handle:
            handle.write(image.data)
        counts[image.label] += 1
    return counts
