"""Hand-made descriptors of the prepared pixels: what the boosted-trees half of an ensemble sees.

Charts have things a small CNN on a squashed 128 px image weighs differently: sparse palettes on flat
backgrounds, long horizontal and vertical lines, gridded gradient orientations, a series that crosses
the columns in small steps, and none of the short, evenly pitched strokes of text rows (tables, terminals,
slides: the non-charts the network most often takes for charts). Boosted trees on these
make different mistakes from the CNN, so the two together beat either (docs/EXPERIMENTS.md).
`describe` runs on a batch of `transforms.image.prepare` pixels, in training (from the TFRecords)
and in every labelling path (from the same bytes), so both see identical numbers. Numpy only.
"""
from typing import Sequence

import numpy as np

GREY = np.array([0.299, 0.587, 0.114], np.float32)
GREY_BINS, SATURATION_BINS, MAGNITUDE_BINS, ORIENTATION_BINS = 16, 8, 8, 9
MAGNITUDE_RANGE = 0.5  # gradient magnitudes (grey 0..1 per pixel) above this share the top bin
STRONG_EDGE = 0.1  # a gradient at least this steep is an edge
CELLS = 4  # orientation histograms on a CELLS x CELLS grid
LINE_FRACTIONS = (0.3, 0.5, 0.8)  # a row (column) is a line when this share of it is a horizontal (vertical) edge
PALETTE_BITS = 5  # colours quantised to 5 bits a channel for the palette statistics
PALETTE_TOP = (1, 2, 4, 8, 16, 32)  # share of the image covered by its k commonest colours
GREY_THUMB, COLOUR_THUMB = 8, 4
BACKGROUND_BITS = 4  # colours quantised to 4 bits a channel to find the background (the commonest colour)
SPARSE, SOME, DENSE = 0.1, 0.3, 0.5  # a column (row) with under 10% foreground is sparse; 10-30% some; 30%+ dense
RUN_EDGES = (1, 2, 3, 5, 9, 17, 33, 65, 129)  # foreground run lengths in bins 1, 2, 3-4, 5-8, ..., 65-128, 129+
PERIOD_LAGS = range(3, 24)  # profile autocorrelation lags (pixels): text row and gridline pitches at 128 px


def describe(pixels: np.ndarray) -> np.ndarray:
    """uint8 [N, S, S, 3] -> float32 [N, DESCRIPTOR_COUNT] (columns named by DESCRIPTOR_NAMES)."""
    return np.concatenate(list(describe_parts(pixels).values()), 1).astype(np.float32)


def describe_prepared(batch: Sequence[bytes], side: int) -> np.ndarray:
    """`describe` of prepared RGB bytes, as the TFRecords store them and the model handler gets them."""
    if any(len(data) != side * side * 3 for data in batch):
        lengths = sorted({len(data) for data in batch})
        raise ValueError(f"expected {side}x{side}x3 prepared bytes per image, got lengths {lengths}")
    return describe(np.frombuffer(b"".join(batch), np.uint8).reshape(len(batch), side, side, 3))


def describe_parts(pixels: np.ndarray) -> dict[str, np.ndarray]:
    """The descriptors by kind: name -> [N, k]."""
    pixels = np.asarray(pixels)
    if pixels.ndim != 4 or pixels.shape[-1] != 3 or pixels.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels [N, S, S, 3], got {pixels.dtype} {pixels.shape}")
    n = len(pixels)
    x = pixels.astype(np.float32) / 255.0
    grey = x @ GREY
    gy, gx = np.gradient(grey, axis=(1, 2))
    magnitude = np.hypot(gx, gy)
    strong = magnitude > STRONG_EDGE
    orientation = _orientation_bins(gx, gy)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    brightest, darkest = np.maximum(np.maximum(r, g), b), np.minimum(np.minimum(r, g), b)  # not max(-1): slow
    saturation = np.where(brightest > 0, (brightest - darkest) / np.maximum(brightest, 1e-6), 0.0)
    background, background_share = _background(pixels)
    foreground = ~background
    column_ink, row_ink = foreground.mean(1), foreground.mean(2)
    return {
        **_channel_moments(x),
        "grey_histogram": _histogram(grey, GREY_BINS, 1.0),
        "saturation_histogram": _histogram(saturation, SATURATION_BINS, 1.0),
        "palette": _palette(pixels),
        "gradient_histogram": _histogram(magnitude, MAGNITUDE_BINS, MAGNITUDE_RANGE),
        "edge_share": strong.mean((1, 2))[:, None],
        "edge_orientations": _normalised(_counts(orientation, ORIENTATION_BINS, strong.astype(np.float32))),
        "cell_orientations": _cell_orientations(orientation, magnitude),
        "lines": _lines(np.abs(gy) > STRONG_EDGE, np.abs(gx) > STRONG_EDGE),
        "flat_runs": _flat_runs(pixels.astype(np.int32) @ np.array([1 << 16, 1 << 8, 1], np.int32)),
        "grey_thumbnail": _blocks(grey, GREY_THUMB).reshape(n, -1),
        "colour_thumbnail": _blocks(x, COLOUR_THUMB).reshape(n, -1),
        "grey_profile": np.stack([grey.std(2).mean(1), grey.std(1).mean(1), np.median(grey.reshape(n, -1), 1),
                                  (grey > 0.9).mean((1, 2)), (grey < 0.1).mean((1, 2))], 1),
        "background": np.stack([background_share, foreground.mean((1, 2))], 1),
        "foreground_columns": np.stack([column_ink == 0, (column_ink > 0) & (column_ink < SPARSE),
                                        (column_ink >= SPARSE) & (column_ink < SOME), column_ink >= SOME], 1).mean(2),
        "foreground_rows": np.stack([row_ink == 0, (row_ink > 0) & (row_ink < SPARSE), row_ink >= DENSE], 1).mean(2),
        "trace_steps": _trace_steps(foreground)[:, None],
        "horizontal_runs": _run_lengths(foreground),
        "vertical_runs": _run_lengths(foreground.transpose(0, 2, 1)),
        "periodicity": np.concatenate([_periodicity(profile) for profile in (
            np.abs(gx).mean(2), np.abs(gy).mean(1), row_ink, column_ink)], 1),
    }


def _orientation_bins(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Each gradient's direction modulo 180 degrees, in ORIENTATION_BINS equal bins (no gradient: bin 0). The
    vector is first turned into the upper half-plane, so one float32 arctan2 gives the angle."""
    flip = (gy < 0) | ((gy == 0) & (gx < 0))
    angle = np.arctan2(np.where(flip, -gy, gy), np.where(flip, -gx, gx))  # [0, pi]
    return np.minimum((angle * np.float32(ORIENTATION_BINS / np.pi)).astype(np.int64), ORIENTATION_BINS - 1)


def _channel_moments(x: np.ndarray) -> dict[str, np.ndarray]:
    """Per-channel mean and standard deviation (over a channel-first copy: reducing the strided pixel axes of
    [N, S, S, 3] directly is ten times slower)."""
    channels = np.ascontiguousarray(x.transpose(0, 3, 1, 2)).reshape(len(x), 3, -1)
    return {"rgb_mean": channels.mean(2), "rgb_std": channels.std(2)}


def _counts(bins: np.ndarray, n: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Per-image bincount: bins int [N, ...] in 0..n-1 -> [N, n]."""
    rows = len(bins)
    flat = (bins.reshape(rows, -1) + n * np.arange(rows)[:, None]).ravel()
    w = None if weights is None else weights.reshape(-1)
    return np.bincount(flat, weights=w, minlength=rows * n).reshape(rows, n)


def _normalised(counts: np.ndarray) -> np.ndarray:
    return counts / np.maximum(counts.sum(-1, keepdims=True), 1e-6)


def _histogram(values: np.ndarray, n: int, top: float) -> np.ndarray:
    """Share of each image's values in n equal bins over [0, top] (values above top in the last)."""
    bins = np.clip((values / top * n).astype(np.int64), 0, n - 1)
    return _counts(bins, n) / values[0].size


def _colour_codes(pixels: np.ndarray, bits: int) -> np.ndarray:
    """Each pixel's colour quantised to `bits` a channel, as one int in [0, 2 ** (3 * bits))."""
    q = (pixels >> (8 - bits)).astype(np.int32)
    return (q[..., 0] << (2 * bits)) | (q[..., 1] << bits) | q[..., 2]


def _palette(pixels: np.ndarray) -> np.ndarray:
    """log palette size, log count of colours over 0.1% of the image, and top-k colour coverage."""
    codes = _colour_codes(pixels, PALETTE_BITS)
    counts = _counts(codes, 1 << (3 * PALETTE_BITS))
    size = codes[0].size
    k = PALETTE_TOP[-1]
    top = np.zeros((len(counts), k), np.int64)  # each image's k largest counts, largest first
    for row, image_counts in zip(top, counts):
        used = image_counts[image_counts > 0]  # partitioning the few used colours, not all 32,768: 10x faster
        largest = np.sort(np.partition(used, -k)[-k:] if used.size > k else used)[::-1]
        row[:largest.size] = largest
    coverage = np.cumsum(top, 1)[:, [k - 1 for k in PALETTE_TOP]] / size
    return np.concatenate([np.log1p((counts > 0).sum(1))[:, None],
                           np.log1p((counts > size * 0.001).sum(1))[:, None], coverage], 1)


def _edges(side: int, n: int) -> np.ndarray:
    return np.linspace(0, side, n + 1).round().astype(np.int64)


def _blocks(a: np.ndarray, n: int) -> np.ndarray:
    """Means over an n x n grid of blocks: [N, S, S, ...] -> [N, n, n, ...]."""
    e = _edges(a.shape[1], n)
    sums = np.add.reduceat(np.add.reduceat(a, e[:-1], axis=1), e[:-1], axis=2)
    sizes = np.diff(e)
    return sums / (sizes[:, None] * sizes[None, :]).reshape((1, n, n) + (1,) * (a.ndim - 3))


def _cell_orientations(orientation: np.ndarray, magnitude: np.ndarray) -> np.ndarray:
    """Per cell of a CELLS x CELLS grid: the magnitude-weighted orientation histogram and the mean magnitude."""
    side = orientation.shape[1]
    cell_of = np.searchsorted(_edges(side, CELLS)[1:-1], np.arange(side), side="right")
    cell = (cell_of[:, None] * CELLS + cell_of[None, :])[None]
    hist = _counts(cell * ORIENTATION_BINS + orientation, CELLS * CELLS * ORIENTATION_BINS, magnitude)
    hist = _normalised(hist.reshape(len(orientation), CELLS * CELLS, ORIENTATION_BINS))
    mean = _blocks(magnitude, CELLS).reshape(len(orientation), CELLS * CELLS, 1)
    return np.concatenate([hist, mean], 2).reshape(len(orientation), -1)


def _lines(horizontal: np.ndarray, vertical: np.ndarray) -> np.ndarray:
    """Share of rows (columns) that are mostly horizontal (vertical) edge: axes, gridlines, separators."""
    rows, cols = horizontal.mean(2), vertical.mean(1)
    return np.stack([f for t in LINE_FRACTIONS for f in ((rows > t).mean(1), (cols > t).mean(1))], 1)


def _flat_runs(colours: np.ndarray) -> np.ndarray:
    """Share of neighbouring pixel pairs (across, down) of exactly the same colour: flat backgrounds."""
    across = (colours[:, :, 1:] == colours[:, :, :-1]).mean((1, 2))
    down = (colours[:, 1:] == colours[:, :-1]).mean((1, 2))
    return np.stack([across, down], 1)


def _background(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which pixels have the image's commonest (quantised) colour, [N, S, S] bool, and that colour's share [N]."""
    codes = _colour_codes(pixels, BACKGROUND_BITS)
    counts = _counts(codes, 1 << (3 * BACKGROUND_BITS))
    return codes == counts.argmax(1)[:, None, None], counts.max(1) / codes[0].size


def _trace_steps(foreground: np.ndarray) -> np.ndarray:
    """Mean jump, as a share of the height, of the foreground's centre row from one column to the next (both
    columns inked): small for a series drawn across the plot, large for text and pictures."""
    ink = foreground.sum(1)
    centre = (foreground * np.arange(foreground.shape[1])[None, :, None]).sum(1) / np.maximum(ink, 1)
    both = (ink[:, 1:] > 0) & (ink[:, :-1] > 0)
    steps = np.where(both, np.abs(np.diff(centre, axis=1)), 0.0).sum(1)
    return steps / np.maximum(both.sum(1), 1) / foreground.shape[1]


def _run_lengths(foreground: np.ndarray) -> np.ndarray:
    """Share of the foreground pixels in runs (along each row) of each RUN_EDGES length bin: glyphs are short
    runs, rules and series long ones."""
    n, rows, cols = foreground.shape
    padded = np.zeros((n, rows, cols + 2), np.int8)
    padded[:, :, 1:-1] = foreground
    step = np.diff(padded, axis=2)
    image, _, start = np.nonzero(step == 1)
    end = np.nonzero(step == -1)[2]  # in the same (image, row, column) order as the starts
    lengths = end - start
    bins = np.searchsorted(RUN_EDGES, lengths, side="right") - 1
    counts = np.bincount(image * len(RUN_EDGES) + bins, weights=lengths, minlength=n * len(RUN_EDGES))
    return _normalised(counts.reshape(n, len(RUN_EDGES)))


def _periodicity(profile: np.ndarray) -> np.ndarray:
    """A profile's autocorrelation over PERIOD_LAGS: its peak, the lag of the peak and its trough. Text rows and
    gridlines repeat at a pitch; a price series does not."""
    centred = profile - profile.mean(1, keepdims=True)
    energy = (centred * centred).sum(1) + 1e-9
    correlation = np.stack([(centred[:, :-lag] * centred[:, lag:]).sum(1) / energy for lag in PERIOD_LAGS], 1)
    return np.stack([correlation.max(1), correlation.argmax(1) + PERIOD_LAGS.start, correlation.min(1)], 1)


DESCRIPTOR_NAMES = tuple(f"{name}_{i}" for name, part in describe_parts(np.zeros((1, 32, 32, 3), np.uint8)).items()
                         for i in range(part.shape[1]))
DESCRIPTOR_COUNT = len(DESCRIPTOR_NAMES)
