"""The drawing toolkit every synthetic scene is built from (Pillow, an order of magnitude faster than
matplotlib): random helpers over an explicit `numpy.random.Generator`, colours, fonts and text, synthetic
market data, `Canvas`, a small plotting engine (`Pane` and its drawing functions), textures, and
photo-like pictures and cartoons. Fonts are matplotlib's bundled files opened with Pillow's basic
layout engine, so glyphs depend neither on system fonts nor on libraqm.
"""

from __future__ import annotations

import colorsys
import dataclasses
import datetime
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

RGB = tuple[int, int, int]
Palette = dict[str, RGB]  # UI colours: bg, panel, text, muted, border, input, up, down, accent
Scene = Callable[[np.random.Generator, tuple[int, int], float], Image.Image]  # (rng, (w, h), ui scale) -> picture
T = TypeVar("T")

# --------------------------------------------------------------------------------------
# Randomness
# --------------------------------------------------------------------------------------


def pick(rng: np.random.Generator, options: Sequence[T]) -> T:
    """One element of `options`, uniformly."""
    return options[int(rng.integers(len(options)))]


def chance(rng: np.random.Generator, p: float) -> bool:
    """True with probability `p`."""
    return bool(rng.random() < p)


def between(rng: np.random.Generator, lo: float, hi: float) -> float:
    """A uniform float in [lo, hi)."""
    return float(rng.uniform(lo, hi))


def randint(rng: np.random.Generator, lo: int, hi: int) -> int:
    """A uniform integer in [lo, hi] (both ends included)."""
    return int(rng.integers(lo, hi + 1))


def weighted(rng: np.random.Generator, table: Mapping[T, float]) -> T:
    """A key of `table`, drawn with probability proportional to its value."""
    keys = list(table)
    weights = np.array([table[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=weights / weights.sum()))]


# --------------------------------------------------------------------------------------
# Colours
# --------------------------------------------------------------------------------------


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """Linear blend from colour `a` (t=0) to `b` (t=1)."""
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))  # type: ignore[return-value]


def jitter(rng: np.random.Generator, colour: RGB, amount: int = 10) -> RGB:
    """`colour` with each channel moved by up to `amount`."""
    shifted = np.clip(np.array(colour) + rng.integers(-amount, amount + 1, 3), 0, 255)
    return tuple(int(v) for v in shifted)  # type: ignore[return-value]


def random_colour(
    rng: np.random.Generator, sat: tuple[float, float] = (0.45, 0.9), val: tuple[float, float] = (0.45, 0.95)
) -> RGB:
    """A random hue with saturation and value drawn from the given ranges."""
    r, g, b = colorsys.hsv_to_rgb(rng.random(), between(rng, *sat), between(rng, *val))
    return int(r * 255), int(g * 255), int(b * 255)


def hex_colours(text: str) -> tuple[RGB | None, ...]:
    """'#131722 #ffffff -' -> ((19, 23, 34), (255, 255, 255), None)."""
    return tuple(
        None if item == "-" else (int(item[1:3], 16), int(item[3:5], 16), int(item[5:7], 16)) for item in text.split()
    )


def is_dark(colour: RGB) -> bool:
    """Whether text on this background should be light."""
    r, g, b = colour
    return 0.299 * r + 0.587 * g + 0.114 * b < 128


def ink_on(background: RGB) -> RGB:
    """A near-black or near-white text colour readable on `background`."""
    return (232, 234, 237) if is_dark(background) else (24, 26, 30)


UP_DOWN = (  # (up, down) colour pairs used by trading platforms and plotting libraries
    ((38, 166, 154), (239, 83, 80)),
    ((14, 203, 129), (246, 70, 93)),
    ((0, 200, 5), (255, 80, 0)),
    ((8, 153, 129), (242, 54, 69)),
    ((61, 153, 112), (255, 65, 54)),
    ((0, 170, 0), (220, 0, 0)),
    ((34, 197, 94), (239, 68, 68)),
)
PALETTES = (  # line colour cycles: matplotlib tab10, plotly, Excel, ggplot-like, neon
    ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189)),
    ((99, 110, 250), (239, 85, 59), (0, 204, 150), (171, 99, 250), (255, 161, 90)),
    ((68, 114, 196), (237, 125, 49), (165, 165, 165), (255, 192, 0), (91, 155, 213)),
    ((248, 118, 109), (0, 186, 56), (97, 156, 255), (183, 159, 0), (245, 100, 227)),
    ((0, 229, 255), (255, 214, 0), (255, 64, 129), (118, 255, 3), (224, 64, 251)),
)

# --------------------------------------------------------------------------------------
# Fonts and text
# --------------------------------------------------------------------------------------

_FONT_DIR = os.path.join(matplotlib.get_data_path(), "fonts", "ttf")
FONT_FILES = {
    "sans": "DejaVuSans.ttf",
    "sans-bold": "DejaVuSans-Bold.ttf",
    "sans-italic": "DejaVuSans-Oblique.ttf",
    "mono": "DejaVuSansMono.ttf",
    "mono-bold": "DejaVuSansMono-Bold.ttf",
    "serif": "DejaVuSerif.ttf",
    "serif-bold": "DejaVuSerif-Bold.ttf",
    "serif-italic": "DejaVuSerif-Italic.ttf",
    "times": "STIXGeneral.ttf",
    "times-bold": "STIXGeneralBol.ttf",
    "times-italic": "STIXGeneralItalic.ttf",
}
_thread_fonts = threading.local()


def font(face: str, size: int) -> ImageFont.FreeTypeFont:
    """The bundled font `face` (a key of FONT_FILES) at `size` pixels, cached per thread."""
    cache = _thread_fonts.__dict__.setdefault("cache", {})
    key = (face, max(6, int(size)))
    if key not in cache:
        path = os.path.join(_FONT_DIR, FONT_FILES[face])
        cache[key] = ImageFont.truetype(path, key[1], layout_engine=ImageFont.Layout.BASIC)
    return cache[key]


def _glyph_run(fnt: ImageFont.FreeTypeFont, word: str) -> tuple[Image.Image, int, int, float]:
    """(mask, dx, dy, advance) of `word` in `fnt`, cached per thread: documents repeat words a lot."""
    cache = _thread_fonts.__dict__.setdefault("words", {})
    key = (fnt.path, fnt.size, word)
    if key not in cache:
        if len(cache) > 50_000:
            cache.clear()
        x0, y0, x1, y1 = fnt.getbbox(word)
        mask = Image.new("L", (max(1, x1 - x0), max(1, y1 - y0)), 0)
        ImageDraw.Draw(mask).text((-x0, -y0), word, font=fnt, fill=255)
        cache[key] = (mask, x0, y0, fnt.getlength(word))
    return cache[key]


def text_width(fnt: ImageFont.FreeTypeFont, text: str) -> float:
    """Width of `text` as `Canvas.words` lays it out (word advances plus spaces)."""
    words = text.split(" ")
    return sum(_glyph_run(fnt, word)[3] for word in words) + _glyph_run(fnt, " ")[3] * (len(words) - 1)


WORDS = """the market is still looking strong today but we need a clean break above resistance before
adding more risk here and volume keeps drifting lower into the close while buyers defend every dip
earnings next week could change the picture so keep position size small and stops tight this is not
financial advice just my read of the tape after a long week watching rates inflation data and the dollar
everyone is talking about the same trade which usually means it is crowded take profits into strength
and wait for the pullback patience pays more than leverage in this kind of range liquidity is thin on
holidays funding flipped negative again the team shipped the update wallet support arrives soon thanks
for joining the call meeting notes attached please review the report before friday""".split()
TICKERS = tuple(
    """AAPL TSLA NVDA MSFT AMZN SPY QQQ BTCUSDT ETHUSDT SOLUSDT EURUSD GBPJPY XAUUSD USDJPY ES1! NQ1! DXY GOOGL META
    AMD NFLX COIN BTCUSD ETHBTC DOGEUSDT US30 GER40 USOIL BNBUSDT XRPUSDT PETR4 VALE3 RELIANCE AUDCAD NZDUSD SPX TLT
    GLD ARKK PLTR""".split()
)
COMPANIES = (
    "Apple Inc.",
    "Tesla, Inc.",
    "NVIDIA Corp",
    "Bitcoin",
    "Ethereum",
    "Solana",
    "Euro / U.S. Dollar",
    "Gold Spot",
    "S&P 500",
    "Nasdaq 100",
    "Microsoft",
    "Amazon.com",
    "Alphabet",
    "Coinbase",
    "Binance Coin",
)
FIRST_NAMES = (
    "Alex",
    "Maria",
    "Chen",
    "Priya",
    "Tom",
    "Fatima",
    "Lucas",
    "Yuki",
    "Omar",
    "Sara",
    "Ivan",
    "Nina",
    "Kofi",
    "Ana",
)
LAST_NAMES = ("Smith", "Garcia", "Wang", "Patel", "Müller", "Rossi", "Kim", "Silva", "Novak", "Haddad", "Lee", "Brown")
NAME_SUFFIXES = ("Capital", "Trades", "FX", "Crypto", "Research", "Macro", "Alpha", "Signals", "")


def words(rng: np.random.Generator, n: int) -> str:
    """`n` consecutive words from the vocabulary, starting at a random place."""
    start = randint(rng, 0, len(WORDS) - 1)
    return " ".join(WORDS[(start + i) % len(WORDS)] for i in range(n))


def sentence(rng: np.random.Generator, lo: int = 6, hi: int = 18) -> str:
    """A capitalised pseudo-sentence, sometimes with a cashtag, hashtag or number in it."""
    tokens = words(rng, randint(rng, lo, hi)).split()
    extras = (
        f"${pick(rng, TICKERS)[:4]}",
        f"#{pick(rng, ('crypto', 'forex', 'stocks', 'macro', 'BTC'))}",
        f"{between(rng, -12, 25):.1f}%",
        f"{between(rng, 1, 999):.2f}",
    )
    for _ in range(randint(rng, 0, 2)):
        tokens.insert(randint(rng, 0, len(tokens)), pick(rng, extras))
    return tokens[0].capitalize() + " " + " ".join(tokens[1:]) + pick(rng, (".", ".", ".", "!", "?"))


def paragraph(rng: np.random.Generator, sentences: int) -> str:
    """Several pseudo-sentences joined into one paragraph."""
    return " ".join(sentence(rng) for _ in range(sentences))


def person(rng: np.random.Generator) -> tuple[str, str]:
    """A display name and an @handle."""
    first, last, suffix = pick(rng, FIRST_NAMES), pick(rng, LAST_NAMES), pick(rng, NAME_SUFFIXES)
    name = f"{first} {suffix or last}".strip()
    return name, "@" + (first + (suffix or last)).lower().replace("ü", "u")[: randint(rng, 6, 14)]


def wrap(text: str, fnt: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Greedy word wrap of `text` into lines no wider than `width` pixels."""
    space = _glyph_run(fnt, " ")[3]
    lines: list[str] = []
    line, used = "", 0.0
    for word in text.split():
        advance = _glyph_run(fnt, word)[3]
        if line and used + space + advance > width:
            lines.append(line)
            line, used = word, advance
        else:
            line, used = (f"{line} {word}", used + space + advance) if line else (word, advance)
    return lines + [line] if line else lines


def moment(rng: np.random.Generator) -> datetime.datetime:
    """A random minute between 2015 and 2025 (for timestamps in screenshots)."""
    return datetime.datetime(2015, 1, 1) + datetime.timedelta(
        minutes=randint(rng, 0, 11 * 365 * 1440), seconds=randint(rng, 0, 59)
    )


def price_decimals(value: float) -> int:
    """How many decimals a quote of this magnitude is usually shown with."""
    magnitude = abs(value)
    return 0 if magnitude >= 5000 else 2 if magnitude >= 20 else 4 if magnitude >= 0.5 else 6


def fmt_number(value: float, decimals: int | None = None, thousands: bool = True) -> str:
    """`value` with the usual decimals for its size and optional thousands separators."""
    decimals = price_decimals(value) if decimals is None else decimals
    return f"{value:,.{decimals}f}" if thousands else f"{value:.{decimals}f}"


def fmt_compact(value: float) -> str:
    """1234567 -> '1.23M'."""
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= limit:
            return f"{value / limit:.2f}{suffix}"
    return f"{value:.0f}"


# --------------------------------------------------------------------------------------
# Synthetic data
# --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Bars:
    """OHLCV arrays of equal length."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @property
    def up(self) -> np.ndarray:
        """Boolean mask of bars that closed at or above their open."""
        return self.close >= self.open


def price_path(rng: np.random.Generator, n: int, vol: float | None = None, start: float | None = None) -> np.ndarray:
    """Geometric Brownian motion with regime changes (drift/volatility per segment) and rare jumps."""
    vol = between(rng, 0.004, 0.03) if vol is None else vol
    start = 10 ** between(rng, -0.5, 4.6) if start is None else start
    returns = np.empty(n)
    i = 0
    while i < n:
        length = min(n - i, randint(rng, max(4, n // 10), max(5, n // 2)))
        sigma = vol * float(np.exp(rng.normal(0, 0.45)))
        mu = rng.normal(0, 0.25) * sigma
        returns[i : i + length] = rng.normal(mu - 0.5 * sigma**2, sigma, length)
        i += length
    jumps = rng.random(n) < 0.012
    returns[jumps] += rng.normal(0, 6 * vol, int(jumps.sum()))
    return start * np.exp(np.cumsum(returns))


def ohlcv(rng: np.random.Generator, n: int, vol: float | None = None) -> Bars:
    """Bars whose closes follow `price_path`, with plausible wicks, gaps and volume."""
    vol = between(rng, 0.004, 0.03) if vol is None else vol
    close = price_path(rng, n + 1, vol)
    opens = close[:-1] * np.exp(rng.normal(0, 0.15 * vol, n))
    close = close[1:]
    body_top, body_bottom = np.maximum(opens, close), np.minimum(opens, close)
    high = body_top * np.exp(np.abs(rng.normal(0, 0.55 * vol, n)))
    low = body_bottom * np.exp(-np.abs(rng.normal(0, 0.55 * vol, n)))
    move = np.abs(np.log(close / opens)) / vol
    volume = 10 ** between(rng, 3, 7) * np.exp(rng.normal(0, 0.35, n)) * (1 + 0.8 * move)
    return Bars(opens, high, low, close, volume)


def sma(x: np.ndarray, window: int) -> np.ndarray:
    """Simple moving average, NaN until `window` values are available."""
    out = np.full(len(x), np.nan)
    if window <= len(x):
        csum = np.cumsum(np.insert(x, 0, 0.0))
        out[window - 1 :] = (csum[window:] - csum[:-window]) / window
    return out


def ema(x: np.ndarray, window: int) -> np.ndarray:
    """Exponential moving average with alpha = 2 / (window + 1)."""
    alpha = 2.0 / (window + 1)
    out = np.empty(len(x))
    out[0] = x[0]
    for i in range(1, len(x)):
        out[i] = out[i - 1] + alpha * (x[i] - out[i - 1])
    return out


def bollinger(x: np.ndarray, window: int = 20, k: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(middle, upper, lower) Bollinger bands."""
    mid = sma(x, window)
    sq = sma(x * x, window)
    std = np.sqrt(np.maximum(sq - mid * mid, 0.0))
    return mid, mid + k * std, mid - k * std


def rsi(x: np.ndarray, window: int = 14) -> np.ndarray:
    """Relative strength index (0-100) with Wilder-style smoothing."""
    diff = np.diff(x, prepend=x[0])
    gain = ema(np.maximum(diff, 0), 2 * window - 1)
    loss = ema(np.maximum(-diff, 0), 2 * window - 1)
    return 100 - 100 / (1 + gain / np.maximum(loss, 1e-12))


def macd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(macd line, signal line, histogram) with the classic 12/26/9 settings."""
    line = ema(x, 12) - ema(x, 26)
    signal = ema(line, 9)
    return line, signal, line - signal


def recessions(rng: np.random.Generator, n: int) -> list[tuple[int, int]]:
    """A few non-overlapping [start, end) index ranges to shade as recessions."""
    spans = []
    for start in sorted(rng.choice(np.arange(n // 10, n - n // 10), size=randint(rng, 1, 3), replace=False)):
        end = min(n, int(start) + randint(rng, max(2, n // 40), max(3, n // 12)))
        if not spans or start > spans[-1][1] + 2:
            spans.append((int(start), end))
    return spans


def econ_series(rng: np.random.Generator, n: int, slumps: list[tuple[int, int]]) -> np.ndarray:
    """A macro-looking series: a trend plus persistent AR(1) noise that reacts to the slumps."""
    kind = pick(rng, ("level", "rate", "inflation", "spread"))
    shock = np.zeros(n)
    for start, end in slumps:
        shock[start:end] += np.linspace(0, 1, end - start)
        shock[end:] += np.exp(-np.arange(n - end) / max(2, (end - start) * 1.5))
    persistence = between(rng, 0.9, 0.99)
    noise = np.zeros(n)
    eps = rng.normal(0, np.sqrt(1 - persistence**2), n)
    for i in range(1, n):
        noise[i] = persistence * noise[i - 1] + eps[i]
    noise += rng.normal(0, between(rng, 0.02, 0.3), n)  # month-to-month measurement noise
    if kind == "level":
        base = 10 ** between(rng, 2, 4.3)
        return base * np.exp(np.linspace(0, between(rng, 0.5, 2.0), n) + 0.02 * noise - 0.06 * shock)
    if kind == "rate":
        return np.clip(between(rng, 3, 7) + 0.6 * noise + between(rng, 2, 6) * shock, 0.5, None)
    if kind == "inflation":
        return between(rng, 1, 4) + 0.8 * noise + between(rng, -3, 5) * shock
    return between(rng, -0.5, 2.5) + 0.6 * noise - between(rng, 0.5, 2) * shock


def equity_curve(rng: np.random.Generator, n: int, start: float | None = None) -> np.ndarray:
    """A strategy's account value: drifting returns with flat stretches when out of the market."""
    start = pick(rng, (1.0, 100.0, 10_000.0, 100_000.0, 1_000_000.0)) if start is None else start
    vol = between(rng, 0.003, 0.02)
    returns = rng.normal(between(rng, -0.1, 0.35) * vol, vol, n)
    flat = np.repeat(rng.random(n // 8 + 1) < between(rng, 0.0, 0.5), 8)[:n]
    returns[flat] = 0.0
    return start * np.exp(np.cumsum(returns))


TIMEFRAMES = {"1m": 1, "5m": 5, "15m": 15, "1H": 60, "4H": 240, "1D": 1440, "1W": 10080, "1M": 43200}
_TIME_FORMATS = {
    "intraday": ("%H:%M", "%d %b %H:%M", "%m-%d %H:%M", "%H:%M\n%d %b"),
    "daily": ("%b %d", "%Y-%m-%d", "%d %b %Y", "%b '%y", "%d.%m.%Y", "%b %Y"),
    "long": ("%Y", "%b %Y", "%Y-%m", "%Y-%m-%d"),
}


def time_ticks(rng: np.random.Generator, n: int, count: int, timeframe: str) -> list[tuple[int, str]]:
    """About `count` (bar index, label) pairs for an x axis of `n` bars of `timeframe`."""
    minutes = TIMEFRAMES[timeframe]
    end = datetime.datetime(
        randint(rng, 2012, 2025), randint(rng, 1, 12), randint(rng, 1, 28), randint(rng, 0, 23) if minutes < 1440 else 0
    )
    start = end - datetime.timedelta(minutes=minutes * n)
    group = "intraday" if minutes < 1440 else "daily" if minutes < 10080 else "long"
    fmt = pick(rng, _TIME_FORMATS[group])
    every = max(1, int(round(n / max(1, count))))
    first = randint(rng, 0, every - 1)
    return [(i, (start + datetime.timedelta(minutes=minutes * i)).strftime(fmt)) for i in range(first, n, every)]


# --------------------------------------------------------------------------------------
# Canvas
# --------------------------------------------------------------------------------------


class Canvas:
    """An RGB image, its drawer and a UI scale (design pixels -> image pixels)."""

    def __init__(self, size: tuple[int, int], background: RGB, scale: float = 1.0) -> None:
        self.image = Image.new("RGB", size, background)
        self.draw = ImageDraw.Draw(self.image)
        self.scale = scale

    @property
    def w(self) -> int:
        """Width in pixels."""
        return self.image.width

    @property
    def h(self) -> int:
        """Height in pixels."""
        return self.image.height

    def px(self, value: float) -> int:
        """A design length in image pixels (at least 1)."""
        return max(1, int(round(value * self.scale)))

    def font(self, size: float, face: str = "sans") -> ImageFont.FreeTypeFont:
        """The font `face` at design size `size`."""
        return font(face, self.px(size))

    def text(
        self, xy: tuple[float, float], text: str, size: float, fill: RGB, face: str = "sans", anchor: str = "la"
    ) -> float:
        """Draw one line of text; returns its width in pixels."""
        fnt = self.font(size, face)
        self.draw.text(xy, text, font=fnt, fill=fill, anchor=anchor)
        return fnt.getlength(text)

    def words(self, xy: tuple[float, float], text: str, fnt: ImageFont.FreeTypeFont, fill: RGB) -> float:
        """Draw one line word by word from cached glyph runs (fast for running text); returns its width."""
        x0, y = xy
        x, space = x0, _glyph_run(fnt, " ")[3]
        for word in text.split(" "):
            mask, dx, dy, advance = _glyph_run(fnt, word)
            if word:
                self.image.paste(fill, (int(x + dx), int(y + dy)), mask)
            x += advance + space
        return x - space - x0

    def paragraph(
        self,
        x: float,
        y: float,
        width: float,
        text: str,
        size: float,
        fill: RGB,
        face: str = "sans",
        leading: float = 1.35,
        bottom: float | None = None,
    ) -> float:
        """Draw word-wrapped text from (x, y); stops at `bottom`; returns the y after the last line."""
        fnt = self.font(size, face)
        step = fnt.size * leading
        bottom = self.h if bottom is None else bottom
        for line in wrap(text, fnt, width):
            if y + step > bottom:
                break
            self.words((x, y), line, fnt, fill)
            y += step
        return y

    def paste_fit(self, image: Image.Image, box: tuple[int, int, int, int]) -> None:
        """Resize `image` to fill `box` (cropping the overflow) and paste it there."""
        x0, y0, x1, y1 = box
        target_w, target_h = max(1, x1 - x0), max(1, y1 - y0)
        ratio = max(target_w / image.width, target_h / image.height)
        resized = image.resize(
            (max(target_w, int(image.width * ratio)), max(target_h, int(image.height * ratio))), Image.BILINEAR
        )
        left, top = (resized.width - target_w) // 2, (resized.height - target_h) // 2
        self.image.paste(resized.crop((left, top, left + target_w, top + target_h)), (x0, y0))


def circle(
    draw: ImageDraw.ImageDraw,
    centre: tuple[float, float],
    radius: float,
    fill: RGB | None = None,
    outline: RGB | None = None,
    width: int = 1,
) -> None:
    """A circle given by centre and radius."""
    x, y = centre
    draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill, outline=outline, width=width)


def dashed(
    draw: ImageDraw.ImageDraw,
    p0: tuple[float, float],
    p1: tuple[float, float],
    fill: RGB,
    width: int = 1,
    dash: float = 4,
    gap: float = 3,
) -> None:
    """A dashed (or, with dash=1, dotted) straight line."""
    (x0, y0), (x1, y1) = p0, p1
    length = float(np.hypot(x1 - x0, y1 - y0))
    if length < 1:
        return
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    for s in np.arange(0, length, dash + gap):
        e = min(length, s + dash)
        draw.line((x0 + ux * s, y0 + uy * s, x0 + ux * e, y0 + uy * e), fill=fill, width=width)


ICONS = ("circle", "heart", "bubble", "repeat", "share", "search", "gear", "bell", "plus", "menu", "star", "lock")


def icon(draw: ImageDraw.ImageDraw, kind: str, box: tuple[float, float, float, float], colour: RGB) -> None:
    """A simple line icon (one of ICONS) inside `box`."""
    x0, y0, x1, y1 = box
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, min(x1 - x0, y1 - y0) / 2
    lw = max(1, int(r / 5))
    if kind == "heart":
        t = np.linspace(0, 2 * np.pi, 40)
        hx, hy = 16 * np.sin(t) ** 3, 13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t)
        draw.polygon(list(zip(cx + hx * r / 17, cy - hy * r / 17)), outline=colour, width=lw)
    elif kind == "bubble":
        draw.rounded_rectangle((x0, y0, x1, cy + r * 0.5), radius=r / 2, outline=colour, width=lw)
        draw.line((cx - r / 3, cy + r * 0.5, cx - r / 2, y1), fill=colour, width=lw)
    elif kind == "repeat":
        draw.line((x0, cy - r / 3, x1 - r / 3, cy - r / 3), fill=colour, width=lw)
        draw.line((x0 + r / 3, cy + r / 3, x1, cy + r / 3), fill=colour, width=lw)
        draw.polygon([(x1 - r / 3, cy - r * 0.7), (x1, cy - r / 3), (x1 - r / 3, cy)], fill=colour)
        draw.polygon([(x0 + r / 3, cy), (x0, cy + r / 3), (x0 + r / 3, cy + r * 0.7)], fill=colour)
    elif kind == "share":
        draw.line((cx, y0, cx, cy + r / 3), fill=colour, width=lw)
        draw.line((cx - r / 2, y0 + r / 2, cx, y0, cx + r / 2, y0 + r / 2), fill=colour, width=lw)
        draw.line((x0, cy, x0, y1, x1, y1, x1, cy), fill=colour, width=lw)
    elif kind == "search":
        circle(draw, (cx - r / 4, cy - r / 4), r * 0.6, outline=colour, width=lw)
        draw.line((cx + r / 5, cy + r / 5, x1, y1), fill=colour, width=lw + 1)
    elif kind == "gear":
        for angle in np.arange(0, np.pi, np.pi / 4):
            dx, dy = np.cos(angle) * r, np.sin(angle) * r
            draw.line((cx - dx, cy - dy, cx + dx, cy + dy), fill=colour, width=lw * 2)
        circle(draw, (cx, cy), r * 0.65, fill=colour)
    elif kind == "bell":
        draw.chord((x0 + r / 4, y0, x1 - r / 4, y1 + r * 0.6), 180, 360, outline=colour, width=lw)
        draw.line((x0, cy + r * 0.3, x1, cy + r * 0.3), fill=colour, width=lw)
        circle(draw, (cx, y1 - r / 6), r / 6, fill=colour)
    elif kind == "plus":
        draw.line((cx, y0, cx, y1), fill=colour, width=lw + 1)
        draw.line((x0, cy, x1, cy), fill=colour, width=lw + 1)
    elif kind == "menu":
        for y in (y0 + r / 3, cy, y1 - r / 3):
            draw.line((x0, y, x1, y), fill=colour, width=lw + 1)
    elif kind == "star":
        angles = np.arange(10) * np.pi / 5 - np.pi / 2
        radii = np.where(np.arange(10) % 2 == 0, r, r * 0.45)
        draw.polygon(list(zip(cx + radii * np.cos(angles), cy + radii * np.sin(angles))), outline=colour, width=lw)
    elif kind == "lock":
        draw.rounded_rectangle((x0, cy - r * 0.1, x1, y1), radius=r / 5, fill=colour)
        draw.arc((x0 + r / 3, y0, x1 - r / 3, cy + r * 0.4), 180, 360, fill=colour, width=lw)
    else:
        circle(draw, (cx, cy), r, outline=colour, width=lw)


# --------------------------------------------------------------------------------------
# Plotting engine
# --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Pane:
    """A plot rectangle in pixels mapping bar index -> x and value -> y."""

    x0: float
    y0: float
    x1: float
    y1: float
    n: int
    lo: float
    hi: float

    @classmethod
    def fitted(cls, box: tuple[float, float, float, float], n: int, *series: np.ndarray, pad: float = 0.06) -> Pane:
        """A pane whose value range covers all `series` (NaNs ignored) plus `pad` on both sides."""
        lo = min(float(np.nanmin(s)) for s in series)
        hi = max(float(np.nanmax(s)) for s in series)
        span = (hi - lo) or abs(hi) or 1.0
        return cls(*box, n=n, lo=lo - pad * span, hi=hi + pad * span)

    @property
    def step(self) -> float:
        """Horizontal pixels per bar."""
        return (self.x1 - self.x0) / self.n

    def xs(self, idx: np.ndarray | float) -> np.ndarray:
        """Pixel x of bar centres."""
        return self.x0 + (np.asarray(idx, dtype=float) + 0.5) * self.step

    def ys(self, values: np.ndarray | float) -> np.ndarray:
        """Pixel y of values."""
        return self.y1 - (np.asarray(values, dtype=float) - self.lo) / (self.hi - self.lo) * (self.y1 - self.y0)


def polyline(draw: ImageDraw.ImageDraw, pane: Pane, values: np.ndarray, fill: RGB, width: int = 1) -> None:
    """A line through `values`, skipping leading NaNs (indicator warm-up)."""
    valid = np.flatnonzero(~np.isnan(values))
    if len(valid) < 2:
        return
    idx = np.arange(valid[0], len(values))
    points = np.column_stack([pane.xs(idx), pane.ys(values[idx])]).ravel().tolist()
    draw.line(points, fill=fill, width=width, joint="curve" if width > 2 else None)


def candles(
    draw: ImageDraw.ImageDraw, pane: Pane, bars: Bars, fills: tuple[RGB, RGB], edges: tuple[RGB, RGB], body: float = 0.7
) -> None:
    """Candlesticks; `fills` and `edges` are (up, down) colours (fill = background -> hollow)."""
    xs = pane.xs(np.arange(pane.n))
    half = max(0.5, pane.step * body / 2)
    ys = [pane.ys(v) for v in (bars.open, bars.high, bars.low, bars.close)]
    for x, yo, yh, yl, yc, up in zip(xs, *ys, bars.up):
        edge, fill = edges[0 if up else 1], fills[0 if up else 1]
        draw.line((x, yh, x, yl), fill=edge, width=1)
        top, bottom = min(yo, yc), max(max(yo, yc), min(yo, yc) + 1)
        if half < 1.2:
            draw.line((x, top, x, bottom), fill=edge, width=2)
        else:
            draw.rectangle((x - half, top, x + half, bottom), fill=fill, outline=edge)


def ohlc_bars(draw: ImageDraw.ImageDraw, pane: Pane, bars: Bars, colours: tuple[RGB, RGB], width: int = 1) -> None:
    """OHLC bars: a high-low stroke with an open tick on the left and a close tick on the right."""
    xs = pane.xs(np.arange(pane.n))
    tick = max(1.0, pane.step * 0.35)
    ys = [pane.ys(v) for v in (bars.open, bars.high, bars.low, bars.close)]
    for x, yo, yh, yl, yc, up in zip(xs, *ys, bars.up):
        colour = colours[0 if up else 1]
        draw.line((x, yh, x, yl), fill=colour, width=width)
        draw.line((x - tick, yo, x, yo), fill=colour, width=width)
        draw.line((x, yc, x + tick, yc), fill=colour, width=width)


def columns(
    draw: ImageDraw.ImageDraw,
    pane: Pane,
    values: np.ndarray,
    colours: Sequence[RGB],
    base: float = 0.0,
    width: float = 0.7,
) -> None:
    """Vertical bars from `base` to each value (volume, histograms); colours cycle per bar."""
    xs = pane.xs(np.arange(len(values)))
    half = max(0.5, pane.step * width / 2)
    y_base = float(pane.ys(base))
    for i, (x, y) in enumerate(zip(xs, pane.ys(values))):
        if not np.isnan(y):
            draw.rectangle((x - half, min(y, y_base), x + half, max(y, y_base)), fill=colours[i % len(colours)])


def band(draw: ImageDraw.ImageDraw, pane: Pane, upper: np.ndarray, lower: np.ndarray, fill: RGB) -> None:
    """Fill the region between two series (NaNs skipped at the start)."""
    valid = np.flatnonzero(~np.isnan(upper) & ~np.isnan(lower))
    if len(valid) < 2:
        return
    idx = np.arange(valid[0], len(upper))
    xs = pane.xs(idx)
    top = list(zip(xs, pane.ys(upper[idx])))
    bottom = list(zip(xs[::-1], pane.ys(lower[idx][::-1])))
    draw.polygon(top + bottom, fill=fill)


def area(image: Image.Image, pane: Pane, values: np.ndarray, top: RGB, bottom: RGB) -> None:
    """Fill under a line with a vertical gradient from `top` (at the line) to `bottom`."""
    xs = pane.xs(np.arange(len(values)))
    outline = list(zip(xs, pane.ys(values)))
    mask = Image.new("L", image.size, 0)
    ImageDraw.Draw(mask).polygon(outline + [(xs[-1], pane.y1), (xs[0], pane.y1)], fill=255)
    image.paste(gradient((image.width, image.height), top, bottom, start=pane.y0, stop=pane.y1), (0, 0), mask)


def nice_ticks(lo: float, hi: float, count: int) -> tuple[np.ndarray, int]:
    """Round tick values inside [lo, hi] about `count` of them, and the decimals to print."""
    raw = (hi - lo) / max(1, count)
    power = 10 ** np.floor(np.log10(raw))
    step = power * min((1, 2, 2.5, 5, 10), key=lambda m: abs(m * power - raw))
    ticks = np.arange(np.ceil(lo / step) * step, hi, step)
    return ticks, max(0, int(-np.floor(np.log10(step)) + (1 if step / power == 2.5 else 0)))


def grid(
    draw: ImageDraw.ImageDraw, pane: Pane, xs: Sequence[float], ys: Sequence[float], fill: RGB, dotted: bool = False
) -> None:
    """Vertical grid lines at pixel xs and horizontal ones at pixel ys."""
    lines = [((x, pane.y0), (x, pane.y1)) for x in xs] + [((pane.x0, y), (pane.x1, y)) for y in ys]
    for p0, p1 in lines:
        if dotted:
            dashed(draw, p0, p1, fill, dash=1, gap=2)
        else:
            draw.line((p0, p1), fill=fill)


def y_axis(
    draw: ImageDraw.ImageDraw,
    pane: Pane,
    fnt: ImageFont.FreeTypeFont,
    fill: RGB,
    side: str,
    count: int = 6,
    suffix: str = "",
) -> list[float]:
    """Value labels at round ticks on the `side` ("left"/"right") of the pane; returns tick ys."""
    ticks, decimals = nice_ticks(pane.lo, pane.hi, count)
    ys = pane.ys(ticks).tolist()
    gap = fnt.size * 0.5
    x, anchor = (pane.x1 + gap, "lm") if side == "right" else (pane.x0 - gap, "rm")
    for value, y in zip(ticks, ys):
        draw.text(
            (x, y), fmt_number(value, decimals, thousands=decimals == 0) + suffix, font=fnt, fill=fill, anchor=anchor
        )
    return ys


def x_axis(
    draw: ImageDraw.ImageDraw, pane: Pane, ticks: Sequence[tuple[int, str]], fnt: ImageFont.FreeTypeFont, fill: RGB
) -> list[float]:
    """Time labels under the pane, dropping ones that would overlap; returns the kept xs."""
    kept: list[float] = []
    right_edge = -1e9
    for i, label in ticks:
        x = float(pane.xs(i))
        half = fnt.getlength(label.split("\n")[0]) / 2
        if x - half > right_edge + fnt.size and x + half < pane.x1 + fnt.size * 2:
            draw.multiline_text((x, pane.y1 + fnt.size * 0.5), label, font=fnt, fill=fill, anchor="ma", align="center")
            kept.append(x)
            right_edge = x + half
    return kept


def price_tag(
    draw: ImageDraw.ImageDraw, pane: Pane, value: float, fnt: ImageFont.FreeTypeFont, background: RGB, side: str
) -> None:
    """The last-price label boxed on the price axis (TradingView/MetaTrader style)."""
    y = float(pane.ys(value))
    label = fmt_number(value, thousands=False)
    width = fnt.getlength(label) + fnt.size
    x0 = pane.x1 + 1 if side == "right" else pane.x0 - width - 1
    draw.rectangle((x0, y - fnt.size * 0.75, x0 + width, y + fnt.size * 0.75), fill=background)
    draw.text((x0 + fnt.size / 2, y), label, font=fnt, fill=ink_on(background), anchor="lm")


def markers(
    draw: ImageDraw.ImageDraw,
    pane: Pane,
    idx: np.ndarray,
    values: np.ndarray,
    colour: RGB,
    size: float,
    pointing_up: bool,
) -> None:
    """Triangle markers (buy/sell signals) below (pointing up) or above the given values."""
    for x, y in zip(pane.xs(idx), pane.ys(values)):
        y += size * 1.2 if pointing_up else -size * 1.2
        tip, base = (y - size, y + size) if pointing_up else (y + size, y - size)
        draw.polygon([(x, tip), (x - size, base), (x + size, base)], fill=colour)


# --------------------------------------------------------------------------------------
# Textures
# --------------------------------------------------------------------------------------


def gradient(
    size: tuple[int, int], top: RGB, bottom: RGB, start: float = 0, stop: float | None = None, horizontal: bool = False
) -> Image.Image:
    """An image of `size` blending `top` into `bottom` between pixel rows (or columns) start..stop."""
    w, h = size
    length = w if horizontal else h
    stop = length if stop is None else stop
    t = np.clip((np.arange(length) - start) / max(1.0, stop - start), 0, 1)[:, None]
    ramp = (np.array(top)[None, :] * (1 - t) + np.array(bottom)[None, :] * t).astype(np.uint8)
    pixels = (
        np.broadcast_to(ramp[None, :, :], (h, w, 3)) if horizontal else np.broadcast_to(ramp[:, None, :], (h, w, 3))
    )
    return Image.fromarray(np.ascontiguousarray(pixels))


def resize_field(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic resize of a 2-D float field to `size` (width, height)."""
    return np.asarray(Image.fromarray(values.astype(np.float32)).resize(size, Image.BICUBIC))


def smooth_noise(rng: np.random.Generator, size: tuple[int, int], cells: int) -> np.ndarray:
    """Smooth random field in [0, 1] of `size`, with about `cells` blobs across the long side."""
    w, h = size
    gx = max(2, int(cells * w / max(w, h)) + 2)
    gy = max(2, int(cells * h / max(w, h)) + 2)
    return resize_field(rng.random((gy, gx)), size).clip(0, 1)


def fractal_noise(
    rng: np.random.Generator, size: tuple[int, int], octaves: int = 4, cells: int = 3, persistence: float = 0.55
) -> np.ndarray:
    """Sum of `smooth_noise` octaves (natural-looking texture), normalised to [0, 1]."""
    total = np.zeros((size[1], size[0]), dtype=np.float32)
    amplitude = 1.0
    for octave in range(octaves):
        total += amplitude * smooth_noise(rng, size, cells * 2**octave)
        amplitude *= persistence
    total -= total.min()
    return total / max(float(total.max()), 1e-6)


def colour_map(values: np.ndarray, stops: Sequence[RGB]) -> Image.Image:
    """Map values in [0, 1] through evenly spaced colour stops."""
    positions = np.linspace(0, 1, len(stops))
    channels = [np.interp(values, positions, [c[k] for c in stops]) for k in range(3)]
    return Image.fromarray(np.stack(channels, axis=-1).astype(np.uint8))


# --------------------------------------------------------------------------------------
# Photo-like pictures and cartoons
# --------------------------------------------------------------------------------------


def shaded_disc(size: tuple[int, int], colour: RGB, light: tuple[float, float] = (-0.4, -0.5)) -> Image.Image:
    """An RGBA ellipse filling `size`, shaded like a lit sphere (coins, fruit, heads, balls)."""
    w, h = size
    yy, xx = np.mgrid[-1 : 1 : h * 1j, -1 : 1 : w * 1j]
    r2 = xx**2 + yy**2
    z = np.sqrt(np.clip(1 - r2, 0, 1))
    shade = np.clip(0.35 + 0.75 * (z * 0.7 - xx * light[0] - yy * light[1]) / 1.4, 0.2, 1.25)
    rgb = np.clip(np.array(colour)[None, None, :] * shade[..., None], 0, 255)
    alpha = np.clip((1 - r2) * min(w, h) / 2, 0, 1) * 255
    return Image.fromarray(np.dstack([rgb, alpha]).astype(np.uint8), "RGBA")


def photo(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    """A photo-like picture: landscape, city, street sign, still life, food, portrait or room."""
    w, h = max(16, size[0] // 2), max(16, size[1] // 2)  # drawn at half size, then upscaled with grain
    kind = weighted(
        rng,
        {
            "landscape": 0.28,
            "city": 0.14,
            "sign": 0.1,
            "still_life": 0.14,
            "food": 0.08,
            "portrait": 0.14,
            "indoor": 0.12,
        },
    )
    if kind == "landscape":
        image = _landscape(rng, (w, h))
    elif kind == "city":
        image = _city(rng, (w, h))
    elif kind == "food":
        image = _food(rng, (w, h))
    else:
        image = _bokeh(rng, (w, h), dark=kind == "portrait" and chance(rng, 0.5))
        if kind == "indoor":
            _room(rng, image)
        if kind == "sign":
            _street_sign(rng, image)
        elif kind != "indoor" or chance(rng, 0.5):
            for _ in range(1 if kind != "still_life" else randint(rng, 1, 3)):
                _subject(rng, image, portrait=kind != "still_life")
    image = image.resize(size, Image.BICUBIC)
    grain = rng.integers(-5, 6, (size[1], size[0], 1), dtype=np.int16)
    return Image.fromarray(np.clip(np.asarray(image, dtype=np.int16) + grain, 0, 255).astype(np.uint8))


def _sky(rng: np.random.Generator, size: tuple[int, int], horizon: int) -> Image.Image:
    """A sky gradient down to `horizon` with soft, horizontally stretched clouds."""
    w, h = size
    top, low = pick(
        rng,
        (
            ((60, 120, 200), (190, 220, 245)),
            ((40, 40, 90), (250, 150, 80)),
            ((120, 130, 140), (205, 208, 212)),
            ((20, 90, 190), (150, 205, 240)),
            ((15, 20, 45), (70, 60, 110)),
        ),
    )
    sky = np.asarray(gradient((w, h), top, low, 0, max(1, horizon)), dtype=np.float32)
    clouds = resize_field(
        fractal_noise(rng, (max(2, w // 3), max(2, horizon)), 5, randint(rng, 2, 5)), (w, max(1, horizon))
    )
    cover = np.clip((clouds - between(rng, 0.45, 0.8)) * 2.5, 0, 0.85)[..., None]
    sky[:horizon] = sky[:horizon] * (1 - cover) + np.array(mix(low, (255, 255, 255), 0.7)) * cover
    return Image.fromarray(sky.astype(np.uint8))


def _ground(rng: np.random.Generator, size: tuple[int, int], stops: tuple[RGB, ...]) -> Image.Image:
    """Ground texture with perspective: stretched sideways, darker and coarser towards the viewer."""
    w, h = size
    texture = resize_field(fractal_noise(rng, (max(2, w // 3), h), 5, randint(rng, 8, 30)), (w, h))
    image = np.asarray(colour_map(np.clip(texture, 0, 1), stops), dtype=np.float32)
    shade = np.linspace(1.0, between(rng, 0.6, 0.9), h)[:, None, None]
    return Image.fromarray((image * shade).astype(np.uint8))


_GROUNDS = (  # dark, mid, light
    ((40, 70, 25), (70, 110, 40), (130, 150, 70)),
    ((120, 100, 60), (170, 150, 100), (215, 200, 160)),
    ((25, 55, 85), (40, 90, 130), (120, 170, 200)),
    ((90, 80, 70), (140, 130, 120), (190, 185, 180)),
)


def _landscape(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    """Sky with clouds, sun, hazy mountain ridges, a tree line, textured ground or water, rocks."""
    w, h = size
    horizon = int(h * between(rng, 0.35, 0.65))
    image = _sky(rng, size, horizon)
    draw = ImageDraw.Draw(image)
    haze = image.getpixel((w // 2, max(0, horizon - 1)))
    if chance(rng, 0.3):
        circle(
            draw,
            (between(rng, 0.1, 0.9) * w, horizon * between(rng, 0.2, 0.8)),
            h * between(rng, 0.02, 0.06),
            fill=(255, 244, 214),
        )
    ground = pick(rng, _GROUNDS)
    for layer in range(randint(rng, 0, 3)):
        ridge = horizon - h * between(rng, 0.05, 0.3) * fractal_noise(rng, (w, 1), 5, randint(rng, 2, 6))[0] * (
            1 - layer * 0.25
        )
        colour = mix(mix(ground[0], (50, 60, 80), 0.5), haze, 0.65 - layer * 0.2)
        draw.polygon(list(zip(range(w), ridge)) + [(w, horizon + 1), (0, horizon + 1)], fill=colour)
    water = chance(rng, 0.3)
    if water:  # the sky's colour, darker towards the viewer, with horizontal ripples
        depth = h - horizon
        surface = np.asarray(gradient((w, depth), mix(haze, (30, 60, 100), 0.3), (15, 35, 60)), dtype=np.float32)
        ripples = resize_field(smooth_noise(rng, (max(4, w // 16), depth), 80), (w, depth))[..., None]
        image.paste(Image.fromarray((surface * (0.8 + 0.35 * ripples)).clip(0, 255).astype(np.uint8)), (0, horizon))
    else:
        image.paste(_ground(rng, (w, h - horizon), ground), (0, horizon))
    if chance(rng, 0.5):  # tree line
        for x in np.arange(0, w, max(1.0, w / 120)):
            radius = h * between(rng, 0.01, 0.035)
            circle(
                draw,
                (x, horizon - radius * between(rng, 0.3, 2)),
                radius,
                fill=jitter(rng, mix(ground[0], (20, 40, 20), 0.6), 10),
            )
    for _ in range(0 if water else randint(rng, 0, 4)):
        radius = int(h * between(rng, 0.03, 0.1))
        rock = shaded_disc((2 * radius, radius), jitter(rng, (120, 115, 110), 25))
        image.paste(rock, (randint(rng, 0, w), randint(rng, horizon + radius, h)), rock)
    return image


def _city(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    """A skyline: buildings with window grids (lit at night) above a street."""
    w, h = size
    street = int(h * between(rng, 0.75, 0.95))
    image = _sky(rng, size, street)
    night = sum(image.getpixel((w // 2, 0))) < 200
    draw = ImageDraw.Draw(image)
    x = -between(rng, 0, 0.1) * w
    while x < w:
        bw, top = w * between(rng, 0.06, 0.2), street - h * between(rng, 0.2, 0.75)
        wall = jitter(
            rng, pick(rng, ((110, 110, 115), (150, 130, 110), (70, 90, 120), (190, 185, 175), (40, 45, 55))), 15
        )
        wall = mix(wall, (10, 10, 20), 0.6) if night else wall
        draw.rectangle((x, top, x + bw, street), fill=wall)
        win = max(2.0, bw / between(rng, 6, 12))
        lit = (255, 220, 140) if night else mix(wall, (200, 220, 240), 0.5)
        for wy in np.arange(top + win, street - win, win * 2):
            for wx in np.arange(x + win * 0.7, x + bw - win, win * 1.8):
                if not night or chance(rng, 0.45):
                    draw.rectangle(
                        (wx, wy, wx + win, wy + win * 1.2), fill=lit if chance(rng, 0.85) else mix(wall, (0, 0, 0), 0.4)
                    )
        x += bw + w * between(rng, 0, 0.02)
    image.paste(_ground(rng, (w, h - street), ((50, 50, 55), (80, 80, 85), (120, 120, 125))), (0, street))
    return image.filter(ImageFilter.GaussianBlur(0.6))


def _street_sign(rng: np.random.Generator, image: Image.Image) -> None:
    """A street or road sign with text on a pole, over the given background."""
    w, h = image.size
    draw = ImageDraw.Draw(image)
    cx = w * between(rng, 0.3, 0.7)
    draw.rectangle((cx - w * 0.012, h * 0.4, cx + w * 0.012, h), fill=(90, 90, 95))
    plate = pick(rng, ((0, 110, 60), (20, 60, 150), (245, 245, 245), (200, 30, 30), (30, 30, 30)))
    sw, sh = w * between(rng, 0.4, 0.8), h * between(rng, 0.15, 0.35)
    box = (cx - sw / 2, h * 0.4 - sh, cx + sw / 2, h * 0.4)
    draw.rounded_rectangle(box, radius=int(sh * 0.08), fill=plate, outline=ink_on(plate), width=max(1, int(sh / 25)))
    lines = [words(rng, randint(rng, 1, 2)).title() for _ in range(randint(rng, 1, 2))]
    longest = max(len(line) for line in lines)
    fnt = font("sans-bold", int(min(sh / (len(lines) + 0.8), sw * 1.5 / longest)))
    for k, line in enumerate(lines):
        draw.text((cx, box[1] + sh * (k + 0.9) / (len(lines) + 0.8)), line, font=fnt, fill=ink_on(plate), anchor="mm")


def _food(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    """A plate of food seen from above on a wooden table."""
    w, h = size
    grain = resize_field(fractal_noise(rng, (max(2, w // 6), h), 4, randint(rng, 3, 8)), (w, h))
    image = colour_map(grain.clip(0, 1), ((70, 45, 25), (130, 90, 55), (175, 130, 85)))
    r = min(w, h) * between(rng, 0.3, 0.45)
    cx, cy = w * between(rng, 0.35, 0.65), h * between(rng, 0.4, 0.6)
    plate = shaded_disc((int(2 * r), int(2 * r * between(rng, 0.8, 1.0))), (235, 235, 230), light=(-0.2, -0.3))
    image.paste(plate, (int(cx - r), int(cy - r)), plate)
    stops = pick(
        rng,
        (
            ((150, 40, 20), (220, 120, 40), (250, 220, 120)),
            ((60, 110, 30), (140, 180, 60), (230, 220, 120)),
            ((90, 50, 20), (170, 110, 50), (240, 200, 140)),
        ),
    )
    for _ in range(randint(rng, 2, 6)):
        fr = r * between(rng, 0.2, 0.45)
        blob = colour_map(fractal_noise(rng, (int(2 * fr), int(2 * fr)), 4, 4), stops)
        mask = shaded_disc((int(2 * fr), int(2 * fr)), (255, 255, 255)).getchannel("A")
        image.paste(
            blob, (int(cx + between(rng, -0.5, 0.5) * r - fr), int(cy + between(rng, -0.4, 0.4) * r - fr)), mask
        )
    return image


def _bokeh(rng: np.random.Generator, size: tuple[int, int], dark: bool) -> Image.Image:
    """A defocused background: soft overlapping discs over a gradient."""
    w, h = size
    base = random_colour(rng, (0.1, 0.5), (0.1, 0.4) if dark else (0.6, 0.9))
    image = gradient(size, mix(base, (255, 255, 255), 0.2), mix(base, (0, 0, 0), 0.3))
    draw = ImageDraw.Draw(image)
    for _ in range(randint(rng, 10, 40)):
        light = random_colour(rng, (0.1, 0.6), (0.6, 1))
        circle(
            draw,
            (between(rng, 0, w), between(rng, 0, h)),
            between(rng, 0.02, 0.12) * max(w, h),
            fill=mix(base, light, between(rng, 0.1, 0.5)),
        )
    return image.filter(ImageFilter.GaussianBlur(max(w, h) / between(rng, 25, 60)))


def _room(rng: np.random.Generator, image: Image.Image) -> None:
    """Floor, a bright window and furniture blocks drawn over `image`."""
    w, h = image.size
    draw = ImageDraw.Draw(image)
    floor = int(h * between(rng, 0.6, 0.8))
    draw.rectangle((0, floor, w, h), fill=random_colour(rng, (0.2, 0.5), (0.3, 0.6)))
    wx = between(rng, 0.05, 0.6) * w
    draw.rectangle(
        (wx, h * 0.12, wx + w * 0.3, floor - h * 0.15),
        fill=(225, 235, 245),
        outline=(240, 240, 240),
        width=max(2, w // 100),
    )
    for _ in range(randint(rng, 1, 4)):
        x, bw = between(rng, 0, w), between(rng, 0.1, 0.35) * w
        draw.rectangle(
            (x, floor - between(rng, 0.1, 0.35) * h, x + bw, floor + h * 0.05),
            fill=random_colour(rng, (0.2, 0.6), (0.2, 0.6)),
        )
    image.paste(image.filter(ImageFilter.GaussianBlur(2)))


def _subject(rng: np.random.Generator, image: Image.Image, portrait: bool) -> None:
    """A shaded foreground subject: a person (head and shoulders) or a round object on a shadow."""
    w, h = image.size
    draw = ImageDraw.Draw(image)
    if portrait:
        cx, head = w * between(rng, 0.35, 0.65), min(w, h) * between(rng, 0.18, 0.28)
        cloth = random_colour(rng, (0.2, 0.8), (0.15, 0.7))
        draw.rounded_rectangle(
            (cx - head * 1.6, h * 0.55 + head * 0.6, cx + head * 1.6, h * 1.1), radius=int(head * 0.8), fill=cloth
        )
        skin = pick(rng, ((241, 194, 167), (224, 172, 138), (198, 134, 96), (141, 85, 54), (92, 58, 40)))
        draw.rectangle(
            (cx - head * 0.35, h * 0.55, cx + head * 0.35, h * 0.55 + head * 0.8), fill=mix(skin, (0, 0, 0), 0.15)
        )
        face = shaded_disc((int(head * 1.5), int(head * 2)), skin)
        image.paste(face, (int(cx - head * 0.75), int(h * 0.55 - head * 1.6)), face)
        hair = jitter(rng, (40, 30, 20), 20)
        draw.chord(
            (cx - head * 0.8, h * 0.55 - head * 1.75, cx + head * 0.8, h * 0.55 - head * 0.5), 180, 360, fill=hair
        )
        return
    radius = min(w, h) * between(rng, 0.12, 0.3)
    cx, cy = between(rng, 0.25, 0.75) * w, between(rng, 0.45, 0.7) * h
    draw.ellipse(
        (cx - radius * 1.1, cy + radius * 0.7, cx + radius * 1.1, cy + radius * 1.1),
        fill=mix(image.getpixel((int(cx), min(h - 1, int(cy + radius)))), (0, 0, 0), 0.4),
    )
    disc = shaded_disc(
        (int(radius * 2), int(radius * pick(rng, (2, 2, 1.6)))),
        pick(rng, ((212, 175, 55), (190, 190, 195), (200, 40, 30), (250, 160, 30), (90, 160, 60), random_colour(rng))),
    )
    image.paste(disc, (int(cx - radius), int(cy - radius)), disc)


def cartoon(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    """A flat-colour cartoon character with thick outlines."""
    w, h = size
    image = Image.new("RGB", size, random_colour(rng, (0.1, 0.5), (0.7, 1)))
    draw = ImageDraw.Draw(image)
    outline, lw = (0, 0, 0), max(2, min(w, h) // 60)
    cx, r = w * between(rng, 0.35, 0.65), min(w, h) * between(rng, 0.2, 0.3)
    body = random_colour(rng)
    draw.rounded_rectangle(
        (cx - r * 1.2, h * 0.5 + r * 0.6, cx + r * 1.2, h + lw),
        radius=int(r * 0.5),
        fill=body,
        outline=outline,
        width=lw,
    )
    circle(
        draw,
        (cx, h * 0.5),
        r,
        fill=pick(rng, ((255, 220, 180), (250, 200, 60), (200, 200, 200), random_colour(rng))),
        outline=outline,
        width=lw,
    )
    for side in (-1, 1):
        circle(
            draw, (cx + side * r * 0.38, h * 0.5 - r * 0.2), r * 0.22, fill=(255, 255, 255), outline=outline, width=lw
        )
        circle(draw, (cx + side * r * 0.33, h * 0.5 - r * 0.18), r * 0.08, fill=outline)
    draw.arc(
        (cx - r * 0.45, h * 0.5, cx + r * 0.45, h * 0.5 + r * 0.55),
        pick(rng, (20, 200)),
        pick(rng, (160, 340)),
        fill=outline,
        width=lw,
    )
    return image
