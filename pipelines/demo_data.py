"""Embedded demo dataset: labelled synthetic "chart" and "non_chart" images.

Design
------
`render_demo_image(seed, index)` is a pure function: every random choice comes from
`numpy.random.default_rng([seed, index])` (the class from a per-pair stream, see `_label`), no
global random state is touched, and encoding writes no timestamps, so the same inputs give the
same bytes. Each image goes through the same five steps:

1. **label** - consecutive index pairs hold one chart and one non-chart in seeded order, so any
   index range is balanced to within one image and index parity does not give the label away;
2. **canvas** - size, aspect ratio and UI scale come from one distribution shared by both classes
   (wide screenshots, landscape, square, portrait, phone);
3. **scene** - a recipe drawn from the class's weighted table (`CHART_SCENES` /
   `NON_CHART_SCENES`), optionally wrapped in a screen frame (window title bar, browser bar,
   phone status bar, plain margin, or a home-made desktop tool with a side panel of controls and
   tabs) shared by both classes;
4. **wear** - rescaling, blur, sensor-like noise, an earlier JPEG pass, greyscale: same odds
   for both classes;
5. **encoding** - PNG (RGB or opaque RGBA) or JPEG (quality 60-95, baseline or progressive),
   same odds for both classes.

So file format, size, frame and artefacts carry no label information; only the content does.

Charts are financial/economic time series that dominate the image: candles, OHLC bars, line and
area prices with volume/RSI/MACD panes, moving averages, Bollinger bands, signals, levels and
Pine-style trade-plan boxes, in platform looks (TradingView, Binance, MetaTrader, Yahoo,
Bloomberg) and plotting-library looks (matplotlib, seaborn, ggplot, plotly, Excel, FRED), plus
equity curves, macro series, support/resistance plots, terminal charts, screener grids of small
charts, and real matplotlib / mplfinance renders (from a handful of wide candles to hundreds).
Prices are geometric Brownian motion with regime changes (`demo_render.price_path`).
Non-charts are what a finance feed also shows: tweets, chats, tables and order books, photo-like
scenes, logos, memes, app/desktop UI screens, documents, receipts, code and terminal logs, and
galleries of them laid out like screener grids. Pie/bar charts of non-time-series data belong to
neither class and are never drawn.

Pillow does almost all drawing (`pipelines/demo_render.py`); matplotlib (Agg, object-oriented
`Figure` API, no pyplot state, so it is thread safe) and mplfinance (external-axes mode on such
a figure) draw about 14% of the charts for a genuine library look. They cost 100-250 ms an
image against 10-50 ms for the Pillow scenes; the average is about 40 ms of CPU per image
(Python 3.11, one core), which is what keeps them to that share.
"""

from __future__ import annotations

import dataclasses
import io
import posixpath
from collections.abc import Callable, Sequence

import fsspec
import matplotlib

matplotlib.use("Agg")
import mplfinance as mpf  # noqa: E402  (after selecting the backend)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps  # noqa: E402

from core.features import CHART, NON_CHART  # noqa: E402
from pipelines import demo_render as dr  # noqa: E402
from pipelines.demo_render import RGB, Canvas, Pane, between, chance, pick, randint, weighted  # noqa: E402


@dataclasses.dataclass(frozen=True)
class DemoImage:
    """One generated image: file name, encoded bytes and label."""

    name: str  # e.g. "demo_000042.png" / ".jpg", unique per (seed, index)
    data: bytes  # encoded image file bytes
    label: str  # CHART or NON_CHART


Scene = Callable[[np.random.Generator, tuple[int, int], float], Image.Image]  # (rng, (w, h), ui scale)
Palette = dict[str, RGB]  # UI colours: bg, panel, text, muted, border, input, up, down, accent

# ======================================================================================
# Chart scenes
# ======================================================================================


@dataclasses.dataclass(frozen=True)
class ChartTheme:
    """Colours and conventions of one charting platform or plotting library."""

    background: RGB
    plot: RGB  # plot-area fill
    text: RGB
    grid: RGB | None
    up: RGB  # candle body colours (up, down)
    down: RGB
    lines: tuple[RGB, ...]
    edge: RGB | None = None  # candle outline and wick colour; None -> body colour
    spines: str = "none"  # "box", "axes" (left + bottom) or "none"
    dotted_grid: bool = False
    axis_side: str = "left"
    platform: bool = False  # trading app: toolbars, OHLC header, last-price tag, watermark
    face: str = "sans"
    badge: str = ""  # site logo text in the top-left corner (FRED)


_PLATFORM = {"axis_side": "right", "platform": True}


def _theme(colours: str, **options) -> ChartTheme:
    """A theme from "background plot text grid up down | line colours" hex codes plus options."""
    base, lines = colours.split("|")
    if "edge" in options:
        options["edge"] = dr.hex_colours(options["edge"])[0]
    return ChartTheme(*dr.hex_colours(base), dr.hex_colours(lines), **options)


CHART_THEMES = {  # background, plot area, text, grid (- for none), candle up, candle down | line colours
    "tradingview_dark": _theme("#131722 #131722 #b2b5be #242833 #26a69a #ef5350 | #00e5ff #ffd600 #ff4081 #76ff03 #e040fb", **_PLATFORM),
    "tradingview_light": _theme("#ffffff #ffffff #131722 #f0f3fa #089981 #f23645 | #636efa #ef553b #00cc96 #ab63fa #ffa15a", **_PLATFORM),
    "binance": _theme("#161a1e #161a1e #848e9c #252930 #0ecb81 #f6465d | #f0b90b #d64adc #3ca0ff", **_PLATFORM),
    "metatrader_black": _theme(
        "#000000 #000000 #ffffff #46505f #000000 #ffffff | #ff0000 #ffff00 #1e90ff #ff00ff",
        **_PLATFORM,
        edge="#00ff00",
        spines="box",
        dotted_grid=True,
    ),
    "metatrader_white": _theme(
        "#ffffff #ffffff #000000 #c8c8c8 #ffffff #000000 | #ff0000 #0000ff #00a000 #ff8c00",
        **_PLATFORM,
        edge="#000000",
        spines="box",
        dotted_grid=True,
    ),
    "yahoo": _theme("#ffffff #ffffff #464650 #e8eaed #009650 #dc2828 | #0072e6 #ff8200 #7850c8", **_PLATFORM),
    "bloomberg": _theme("#000000 #000000 #ffa500 #323232 #00dc5a #ff3c3c | #ffffff #00c8ff #ffa500", **_PLATFORM, face="mono"),
    "navy": _theme("#0d1e3c #10264c #becde6 #283e64 #50dc64 #f04646 | #00e5ff #ffd600 #ff4081 #76ff03 #e040fb", **_PLATFORM),
    "matplotlib": _theme("#ffffff #ffffff #000000 - #2ca02c #d62728 | #1f77b4 #ff7f0e #2ca02c #d62728 #9467bd", spines="box"),
    "seaborn": _theme("#ffffff #eaeaf2 #282828 #ffffff #4c72b0 #c44e52 | #4c72b0 #dd8452 #55a868 #c44e52"),
    "ggplot": _theme("#ffffff #e5e5e5 #4d4d4d #ffffff #00ba38 #f8766d | #f8766d #00ba38 #619cff #b79f00 #f564e3"),
    "plotly": _theme("#ffffff #e5ecf6 #2a3f5f #ffffff #3d9970 #ff4136 | #636efa #ef553b #00cc96 #ab63fa #ffa15a"),
    "plotly_dark": _theme("#111111 #111111 #f2f5fa #283442 #00cc96 #ef553b | #636efa #ef553b #00cc96 #ab63fa #ffa15a"),
    "excel": _theme("#ffffff #ffffff #595959 #d9d9d9 #70ad47 #c00000 | #4472c4 #ed7d31 #a5a5a5 #ffc000 #5b9bd5", spines="axes"),
    "fred": _theme("#e1e9f0 #ffffff #333333 #e1e1e1 #4572a7 #aa4643 | #4572a7 #aa4643 #89a54e", spines="axes", badge="FRED"),
    "dark_lib": _theme("#1e1e1e #1e1e1e #dcdcdc #464646 #00c878 #e63c3c | #00e5ff #ffd600 #ff4081 #76ff03 #e040fb", spines="box"),
}
PRICE_THEME_WEIGHTS = {
    "tradingview_dark": 3,
    "tradingview_light": 2,
    "binance": 1.5,
    "metatrader_black": 2.5,
    "metatrader_white": 2,
    "yahoo": 1,
    "bloomberg": 0.5,
    "navy": 0.5,
    "matplotlib": 2.5,
    "seaborn": 1,
    "ggplot": 0.7,
    "plotly": 1.5,
    "plotly_dark": 0.7,
    "excel": 0.5,
    "dark_lib": 0.8,
}
SERIES_THEME_WEIGHTS = {
    "matplotlib": 3,
    "seaborn": 1.2,
    "ggplot": 1,
    "plotly": 1.5,
    "plotly_dark": 0.7,
    "excel": 1,
    "fred": 2,
    "dark_lib": 0.8,
    "tradingview_dark": 0.7,
    "yahoo": 0.6,
    "metatrader_white": 0.4,
}
EXCHANGES = ("BINANCE", "NASDAQ", "NYSE", "FXCM", "OANDA", "COINBASE", "BYBIT", "CME", "TVC", "B3")
ECON_TITLES = (
    "Unemployment Rate",
    "Consumer Price Index for All Urban Consumers",
    "Real Gross Domestic Product",
    "10-Year Treasury Constant Maturity Minus 2-Year",
    "Industrial Production: Total Index",
    "Initial Claims",
    "Federal Funds Effective Rate",
    "Personal Saving Rate",
    "Housing Starts",
    "M2 Money Stock",
    "Core PCE Price Index, YoY",
    "Output Gap",
    "Inflation (CPI, % y/y)",
)


def _chart_theme(rng: np.random.Generator, weights: dict[str, float]) -> ChartTheme:
    """A theme from `weights`, sometimes with other candle colours, palette, axis side or no grid."""
    theme = CHART_THEMES[weighted(rng, weights)]
    changes: dict = {}
    if theme.edge is None and chance(rng, 0.35):
        changes["up"], changes["down"] = pick(rng, dr.UP_DOWN)
    if chance(rng, 0.25):
        changes["lines"] = pick(rng, dr.PALETTES)
    if chance(rng, 0.2):
        changes["axis_side"] = "left" if theme.axis_side == "right" else "right"
    if theme.grid is not None and chance(rng, 0.15):
        changes["grid"] = None
    if chance(rng, 0.3):
        changes["background"] = dr.jitter(rng, theme.background, 8)
    return dataclasses.replace(theme, **changes)


def _stack(box: tuple[float, float, float, float], weights: list[float], gap: float) -> list[tuple[float, float, float, float]]:
    """Split `box` vertically into panes proportional to `weights`, `gap` pixels apart."""
    x0, y0, x1, y1 = box
    usable = y1 - y0 - gap * (len(weights) - 1)
    out, y = [], y0
    for weight in weights:
        height = usable * weight / sum(weights)
        out.append((x0, y, x1, y + height))
        y += height + gap
    return out


def _axes_frame(
    c: Canvas, theme: ChartTheme, pane: Pane, ticks: list[tuple[int, str]], size: float, x_labels: bool, suffix: str = ""
) -> None:
    """Plot-area fill, value labels, optional time labels and grid of one pane (drawn before data)."""
    fnt = c.font(size, theme.face)
    if theme.plot != theme.background:
        c.draw.rectangle((pane.x0, pane.y0, pane.x1, pane.y1), fill=theme.plot)
    count = max(2, min(8, int((pane.y1 - pane.y0) / (fnt.size * 3.5))))
    ys = dr.y_axis(c.draw, pane, fnt, theme.text, theme.axis_side, count, suffix)
    xs = dr.x_axis(c.draw, pane, ticks, fnt, theme.text) if x_labels else [float(pane.xs(i)) for i, _ in ticks]
    if theme.grid is not None:
        dr.grid(c.draw, pane, xs, ys, theme.grid, theme.dotted_grid)


def _spines(c: Canvas, theme: ChartTheme, pane: Pane) -> None:
    """Pane outline (box, left+bottom axes) or the platform-style axis separator line."""
    colour = dr.mix(theme.text, theme.background, 0.3)
    box = (pane.x0, pane.y0, pane.x1, pane.y1)
    if theme.spines == "box":
        c.draw.rectangle(box, outline=colour)
    elif theme.spines == "axes":
        c.draw.line((pane.x0, pane.y0, pane.x0, pane.y1, pane.x1, pane.y1), fill=colour)
    elif theme.platform:
        x = pane.x1 if theme.axis_side == "right" else pane.x0
        c.draw.line((x, pane.y0, x, pane.y1), fill=dr.mix(theme.text, theme.background, 0.75))


def _legend(c: Canvas, theme: ChartTheme, entries: list[tuple[str, RGB]], anchor: tuple[float, float], size: float) -> None:
    """A legend box with a short line sample per entry, top-left corner at `anchor`."""
    fnt = c.font(size, theme.face)
    row = fnt.size * 1.5
    width = max(fnt.getlength(label) for label, _ in entries) + fnt.size * 3.5
    x, y = anchor
    if theme.spines != "none" or not theme.platform:
        c.draw.rectangle(
            (x, y, x + width, y + row * len(entries) + fnt.size * 0.4), fill=theme.plot, outline=dr.mix(theme.text, theme.plot, 0.7)
        )
    for i, (label, colour) in enumerate(entries):
        cy = y + fnt.size * 0.2 + row * (i + 0.5)
        c.draw.line((x + fnt.size * 0.4, cy, x + fnt.size * 2.2, cy), fill=colour, width=c.px(2))
        c.draw.text((x + fnt.size * 2.8, cy), label, font=fnt, fill=theme.text, anchor="lm")


def _vertical_text(c: Canvas, centre: tuple[float, float], text: str, size: float, fill: RGB, face: str = "sans") -> None:
    """Text rotated 90 degrees (y-axis titles), centred on `centre`."""
    fnt = c.font(size, face)
    mask = Image.new("L", (int(fnt.getlength(text)) + 2, int(fnt.size * 1.3)), 0)
    ImageDraw.Draw(mask).text((1, 0), text, font=fnt, fill=255)
    mask = mask.rotate(90, expand=True)
    c.image.paste(Image.new("RGB", mask.size, fill), (int(centre[0] - mask.width / 2), int(centre[1] - mask.height / 2)), mask)


def _watermark(c: Canvas, pane: Pane, text: str, colour: RGB, face: str) -> None:
    """Big faint ticker text in the middle of the pane (TradingView style)."""
    size = min((pane.x1 - pane.x0) / max(4, len(text)) * 1.4, (pane.y1 - pane.y0) / 3)
    fnt = dr.font(face + "-bold" if face == "sans" else face, int(size))
    c.draw.text(((pane.x0 + pane.x1) / 2, (pane.y0 + pane.y1) / 2), text, font=fnt, fill=colour, anchor="mm")


def _toolbar(c: Canvas, rng: np.random.Generator, theme: ChartTheme, box: tuple[float, float, float, float], ticker: str) -> float:
    """A trading-app toolbar row (ticker, timeframes, icons) at the top of `box`; returns its height."""
    x0, y0, x1, _ = box
    height = c.px(between(rng, 30, 42))
    bar_bg = dr.mix(theme.background, theme.text, 0.06)
    c.draw.rectangle((x0, y0, x1, y0 + height), fill=bar_bg)
    c.draw.line((x0, y0 + height, x1, y0 + height), fill=dr.mix(theme.background, theme.text, 0.2))
    fnt = c.font(between(rng, 10.5, 13), "sans-bold")
    cy = y0 + height / 2
    x = x0 + c.px(10)
    c.draw.text((x, cy), ticker, font=fnt, fill=theme.text, anchor="lm")
    x += fnt.getlength(ticker) + c.px(18)
    small = c.font(between(rng, 10, 12))
    active = randint(rng, 0, 6)
    for i, label in enumerate(("1m", "5m", "15m", "1h", "4h", "D", "W")):
        colour = theme.lines[0] if i == active else theme.text
        c.draw.text((x, cy), label, font=small, fill=colour, anchor="lm")
        x += small.getlength(label) + c.px(12)
    for kind in pick(rng, (("search", "gear"), ("plus", "star", "bell"), ("menu",))):
        size = c.px(8)
        dr.icon(c.draw, kind, (x, cy - size, x + 2 * size, cy + size), theme.text)
        x += 2 * size + c.px(14)
    if chance(rng, 0.6):
        label = pick(rng, ("Publish", "Trade", "Buy / Sell", "Share", "Log in"))
        width = small.getlength(label) + c.px(20)
        c.draw.rounded_rectangle(
            (x1 - width - c.px(10), y0 + c.px(5), x1 - c.px(10), y0 + height - c.px(5)), radius=c.px(4), fill=theme.lines[0]
        )
        c.draw.text((x1 - width / 2 - c.px(10), cy), label, font=small, fill=dr.ink_on(theme.lines[0]), anchor="mm")
    return height


def _tool_strip(c: Canvas, rng: np.random.Generator, theme: ChartTheme, box: tuple[float, float, float, float]) -> float:
    """A vertical strip of drawing-tool icons at the left of `box`; returns its width."""
    x0, y0, _, y1 = box
    width = c.px(between(rng, 32, 46))
    c.draw.rectangle((x0, y0, x0 + width, y1), fill=dr.mix(theme.background, theme.text, 0.05))
    y = y0 + c.px(10)
    while y + width < y1:
        dr.icon(
            c.draw,
            pick(rng, dr.ICONS),
            (x0 + width * 0.28, y, x0 + width * 0.72, y + width * 0.44),
            dr.mix(theme.text, theme.background, 0.2),
        )
        y += width
    return width


def _side_table(c: Canvas, rng: np.random.Generator, box: tuple[float, float, float, float], palette: Palette, size: float) -> None:
    """A watchlist or order book panel filling `box` (used in chart apps and non-chart screens)."""
    x0, y0, x1, y1 = box
    c.draw.rectangle(box, fill=palette["bg"])
    fnt = c.font(size)
    row = fnt.size * between(rng, 1.6, 2.2)
    book = chance(rng, 0.5)
    header = ("Price", "Amount", "Total") if book else ("Symbol", "Last", "Chg%")
    _table_row(c, (x0, x1), y0, row, header, [palette["muted"]] * 3, fnt)
    y = y0 + row
    mid = 10 ** between(rng, 0, 4.5)
    i = 0
    while y + row < y1:
        if book:
            side = 1 if y < (y0 + y1) / 2 else -1
            price = mid * (1 + side * 0.0008 * (abs((y0 + y1) / 2 - y) / row + 1))
            amount = 10 ** between(rng, -2, 2)
            cells = (dr.fmt_number(price, thousands=False), f"{amount:.4f}", f"{price * amount:,.2f}")
            colours = (palette["down"] if side > 0 else palette["up"], palette["text"], palette["text"])
            depth = (x1 - x0) * min(1.0, amount / 60)
            c.draw.rectangle((x1 - depth, y, x1, y + row), fill=dr.mix(colours[0], palette["bg"], 0.82))
        else:
            change = rng.normal(0, 3)
            cells = (
                dr.TICKERS[(i * 7 + randint(rng, 0, 3)) % len(dr.TICKERS)],
                dr.fmt_number(10 ** between(rng, 0, 4.5)),
                f"{change:+.2f}%",
            )
            colours = (palette["text"], palette["text"], palette["up"] if change >= 0 else palette["down"])
        _table_row(c, (x0, x1), y, row, cells, colours, fnt)
        y += row
        i += 1


def _table_row(
    c: Canvas, span: tuple[float, float], y: float, height: float, cells: Sequence[str], colours: Sequence[RGB], fnt: ImageFont.FreeTypeFont
) -> None:
    """One table row across `span`: first cell left-aligned, the others right-aligned in equal columns."""
    x0, x1 = span
    width = (x1 - x0) / len(cells)
    for k, (cell, colour) in enumerate(zip(cells, colours)):
        x, anchor = (x0 + c.px(6), "lm") if k == 0 else (x0 + width * (k + 1) - c.px(6), "rm")
        c.draw.text((x, y + height / 2), cell, font=fnt, fill=colour, anchor=anchor)


def _theme_palette(theme: ChartTheme) -> Palette:
    """Table colours derived from a chart theme (for side panels)."""
    bg = dr.mix(theme.background, theme.text, 0.04)
    return {
        "bg": bg,
        "text": theme.text,
        "muted": dr.mix(theme.text, bg, 0.45),
        "up": dr.UP_DOWN[0][0] if theme.edge else theme.up,
        "down": dr.UP_DOWN[0][1] if theme.edge else theme.down,
    }


def _app_chrome(c: Canvas, rng: np.random.Generator, theme: ChartTheme, ticker: str, size: float) -> tuple[float, float, float, float]:
    """Trading-app furniture around the chart (toolbar, tool strip, side panel); returns the chart box."""
    x0, y0, x1, y1 = 0.0, 0.0, float(c.w), float(c.h)
    if not theme.platform:
        return x0, y0, x1, y1
    if chance(rng, 0.45):
        y0 += _toolbar(c, rng, theme, (x0, y0, x1, y1), ticker)
    if chance(rng, 0.3) and c.w > 500:
        x0 += _tool_strip(c, rng, theme, (x0, y0, x1, y1))
    if chance(rng, 0.3) and c.w > 900:
        width = (x1 - x0) * between(rng, 0.16, 0.24)
        _side_table(c, rng, (x1 - width, y0, x1, y1), _theme_palette(theme), size)
        c.draw.line((x1 - width, y0, x1 - width, y1), fill=dr.mix(theme.background, theme.text, 0.2))
        x1 -= width
    return x0, y0, x1, y1


def _heading(
    c: Canvas,
    rng: np.random.Generator,
    theme: ChartTheme,
    box: tuple[float, float, float, float],
    title: str,
    bars: dr.Bars | None,
    size: float,
) -> float:
    """Platform OHLC header or library title at the top of `box`; returns the height used."""
    x0, y0, x1, _ = box
    if theme.platform and bars is not None:
        title_size = size * between(rng, 1.0, 1.25)
        x, y = x0 + c.px(8), y0 + c.px(6)
        x += c.text((x, y), title, title_size, theme.text, "sans-bold" if theme.face == "sans" else theme.face) + c.px(12)
        change = (bars.close[-1] / bars.open[-1] - 1) * 100
        colour = theme.edge or (theme.up if change >= 0 else theme.down)
        values = "  ".join(
            f"{k}{dr.fmt_number(v, thousands=False)}" for k, v in zip("OHLC", (bars.open[-1], bars.high[-1], bars.low[-1], bars.close[-1]))
        )
        c.text((x, y), f"{values}  {change:+.2f}%", size, colour, theme.face)
        return c.px(title_size * 1.8)
    if not chance(rng, 0.75):
        return c.px(8)
    fnt_size = size * between(rng, 1.1, 1.6)
    face = pick(rng, ("sans", "sans-bold", "serif"))
    anchor_x, anchor = ((x0 + x1) / 2, "ma") if chance(rng, 0.7) else (x0 + c.px(12), "la")
    c.text((anchor_x, y0 + c.px(6)), title, fnt_size, theme.text, face, anchor=anchor)
    return c.px(fnt_size * 1.9)


def _margins(
    c: Canvas, theme: ChartTheme, box: tuple[float, float, float, float], hi: float, size: float, y_title: bool
) -> tuple[float, float, float, float]:
    """Shrink `box` to leave room for value labels, time labels and an optional y-axis title."""
    fnt = c.font(size, theme.face)
    label = fnt.getlength(dr.fmt_number(hi)) + fnt.size * 1.2
    extra = fnt.size * 1.8 if y_title else 0
    x0, y0, x1, y1 = box
    left, right = (label + extra, fnt.size) if theme.axis_side == "left" else (fnt.size + extra, label)
    return x0 + left, y0, x1 - right, y1 - fnt.size * 2.4


def _price_chart(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """A price chart in a platform or library look: candles/bars/line/area, overlays and panes."""
    theme = _chart_theme(rng, PRICE_THEME_WEIGHTS)
    c = Canvas(size, theme.background, scale)
    text_size = between(rng, 9, 12.5)
    ticker, timeframe = pick(rng, dr.TICKERS), pick(rng, tuple(dr.TIMEFRAMES))
    box = _app_chrome(c, rng, theme, ticker, text_size)
    style = weighted(rng, {"candles": 0.45, "hollow": 0.07, "ohlc": 0.4 if theme.edge else 0.16, "line": 0.17, "area": 0.15})
    spacing = between(rng, 3, 14) if style in ("candles", "hollow", "ohlc") else between(rng, 1, 6)
    n = max(12, int((box[2] - box[0]) * 0.85 / (spacing * scale)))
    bars = dr.ohlcv(rng, n)
    title = (
        f"{ticker} · {timeframe} · {pick(rng, EXCHANGES)}"
        if theme.platform
        else pick(
            rng,
            (
                f"{ticker} Price",
                f"{pick(rng, dr.COMPANIES)} Stock Price",
                f"Candlestick chart for {ticker}",
                f"{ticker} - {timeframe}",
                f"{ticker} Close Price",
            ),
        )
    )
    box = (box[0], box[1] + _heading(c, rng, theme, box, title, bars, text_size), box[2], box[3])
    y_title = not theme.platform and chance(rng, 0.5)
    plot_box = _margins(c, theme, box, float(bars.high.max()), text_size, y_title)
    subpanes = [k for k, p in (("volume", 0.45), ("rsi", 0.22), ("macd", 0.18)) if chance(rng, p)][: 1 + int(c.h > 450)]
    overlay_volume = "volume" in subpanes and chance(rng, 0.4)
    if overlay_volume:
        subpanes.remove("volume")
    gap = c.px(pick(rng, (0, 3, 6))) if theme.platform else c.px(text_size * 1.5)
    boxes = _stack(plot_box, [1.0] + [between(rng, 0.2, 0.32)] * len(subpanes), gap)
    ticks = dr.time_ticks(rng, n, max(2, int((plot_box[2] - plot_box[0]) / c.px(95))), timeframe)
    overlays = _price_overlays(rng, bars.close)
    main = Pane.fitted(boxes[0], n, bars.low, bars.high, *[s for _, s, _ in overlays])
    _axes_frame(c, theme, main, ticks, text_size, x_labels=not subpanes)
    if theme.platform and chance(rng, 0.25):
        _watermark(c, main, ticker, dr.mix(theme.plot, theme.text, 0.07), theme.face)
    if overlay_volume:
        vol_pane = Pane(main.x0, main.y0 + (main.y1 - main.y0) * 0.78, main.x1, main.y1, n, 0, float(bars.volume.max()))
        dr.columns(
            c.draw, vol_pane, bars.volume, [dr.mix(theme.edge or (theme.up if u else theme.down), theme.plot, 0.65) for u in bars.up]
        )
    _draw_price(c, rng, theme, main, bars, style, overlays)
    if theme.platform and chance(rng, 0.8):
        dr.price_tag(
            c.draw, main, float(bars.close[-1]), c.font(text_size, theme.face), theme.up if bars.up[-1] else theme.down, theme.axis_side
        )
    _spines(c, theme, main)
    if y_title:
        x = main.x0 - c.px(text_size * 5.5) if theme.axis_side == "left" else main.x1 + c.px(text_size * 5.5)
        _vertical_text(
            c, (x, (main.y0 + main.y1) / 2), pick(rng, ("Price", "Price (USD)", "Close", "USD", "Price ($)")), text_size * 1.1, theme.text
        )
    legend = [(label, colour) for label, _, colour in overlays if label]
    if legend and not theme.platform and chance(rng, 0.7):
        _legend(
            c,
            theme,
            [("Close" if style in ("line", "area") else ticker, theme.lines[0])] + legend,
            (main.x0 + c.px(10), main.y0 + c.px(10)),
            text_size,
        )
    for k, (kind, sub_box) in enumerate(zip(subpanes, boxes[1:])):
        _indicator_pane(c, theme, kind, sub_box, bars, ticks, text_size, last=k == len(subpanes) - 1)
    return c.image


def _price_overlays(rng: np.random.Generator, close: np.ndarray) -> list[tuple[str, np.ndarray, RGB]]:
    """Moving averages and/or Bollinger bands as (legend label, series, colour) triples."""
    overlays: list[tuple[str, np.ndarray, RGB]] = []
    palette = pick(rng, dr.PALETTES)
    for k, window in enumerate(
        sorted(rng.choice([9, 20, 21, 50, 100, 200], size=weighted(rng, {0: 0.35, 1: 0.25, 2: 0.25, 3: 0.15}), replace=False))
    ):
        window = int(min(window, max(3, len(close) // 3)))
        kind = pick(rng, ("SMA", "EMA", "MA"))
        series = dr.ema(close, window) if kind == "EMA" else dr.sma(close, window)
        overlays.append((f"{kind} {window}", series, palette[(k + 1) % len(palette)]))
    if chance(rng, 0.15):
        mid, upper, lower = dr.bollinger(close, min(20, max(3, len(close) // 4)))
        colour = palette[-1]
        overlays += [("BB upper", upper, colour), ("", mid, dr.mix(colour, (128, 128, 128), 0.4)), ("BB lower", lower, colour)]
    return overlays


def _draw_price(c: Canvas, rng: np.random.Generator, theme: ChartTheme, pane: Pane, bars: dr.Bars, style: str, overlays: list) -> None:
    """The price series in `style` plus overlays, signals, levels and position boxes."""
    d = c.draw
    line_colour = theme.lines[0] if theme.edge is None else theme.edge
    bands = [s for label, s, _ in overlays if label.startswith("BB")]
    if len(bands) == 2 and chance(rng, 0.5):
        dr.band(d, pane, bands[0], bands[1], dr.mix(overlays[-1][2], theme.plot, 0.85))
    if chance(rng, 0.12):
        _position_box(c, rng, pane, bars.close, theme)
    if style == "area":
        dr.area(c.image, pane, bars.close, dr.mix(line_colour, theme.plot, 0.55), dr.mix(line_colour, theme.plot, 0.95))
    if style in ("line", "area"):
        dr.polyline(d, pane, bars.close, line_colour, c.px(between(rng, 1, 2.5)))
    elif style == "ohlc":
        dr.ohlc_bars(d, pane, bars, (theme.edge or theme.up, theme.edge or theme.down), width=c.px(1))
    else:
        fills = (theme.up, theme.down) if style == "candles" or theme.edge else (theme.plot, theme.down)
        edges = (theme.edge or theme.up, theme.edge or theme.down)
        dr.candles(d, pane, bars, fills, edges)
    for _, series, colour in overlays:
        dr.polyline(d, pane, series, colour, c.px(pick(rng, (1, 1, 1.5, 2))))
    if chance(rng, 0.15):
        _signals(c, rng, pane, bars)
    if chance(rng, 0.15):
        _trade_panel(c, rng, pane, bars.close, theme)
    for _ in range(weighted(rng, {0: 0.7, 1: 0.1, 2: 0.1, 3: 0.1})):
        level = float(np.quantile(bars.close, rng.random()))
        y = float(pane.ys(level))
        dr.dashed(d, (pane.x0, y), (pane.x1, y), pick(rng, theme.lines), width=c.px(1), dash=c.px(pick(rng, (3, 6, 10))), gap=c.px(3))


def _signals(c: Canvas, rng: np.random.Generator, pane: Pane, bars: dr.Bars) -> None:
    """Buy/sell triangles under local lows and above local highs."""
    window = max(3, pane.n // 12)
    low_idx = [i for i in range(window, pane.n - window, window) if bars.low[i] == bars.low[i - window : i + window].min()]
    high_idx = [i for i in range(window, pane.n - window, window) if bars.high[i] == bars.high[i - window : i + window].max()]
    size = c.px(between(rng, 3.5, 6))
    dr.markers(c.draw, pane, np.array(low_idx, dtype=int), bars.low[low_idx], dr.UP_DOWN[0][0], size, pointing_up=True)
    dr.markers(c.draw, pane, np.array(high_idx, dtype=int), bars.high[high_idx], dr.UP_DOWN[0][1], size, pointing_up=False)


def _trade_panel(c: Canvas, rng: np.random.Generator, pane: Pane, close: np.ndarray, theme: ChartTheme) -> None:
    """A Pine-script style info box of trade-plan text over the chart, with price-label bubbles."""
    entry = float(close[-1])
    lines = [f"{pick(rng, dr.TICKERS)} | {pick(rng, ('Zone-Pyramid', 'Breakout', 'Mean reversion', 'Signal'))}", "=" * 22,
             f"ENTRY: {entry:.2f}", f"STOP LOSS: {entry * between(rng, 0.97, 1.03):.2f}", f"RISK: ${randint(rng, 50, 500)} (1.5%)",
             "TARGETS:"] + [f"T{k + 1} (1:{k + 1}): {entry * between(rng, 0.95, 1.05):.2f}" for k in range(randint(rng, 1, 4))]
    fnt = c.font(between(rng, 8, 14), "mono")
    width = max(fnt.getlength(line) for line in lines) + c.px(16)
    height = len(lines) * fnt.size * 1.4 + c.px(12)
    x0 = pane.x0 + (pane.x1 - pane.x0 - width) * between(rng, 0.1, 0.9)
    y0 = pane.y0 + max(0.0, (pane.y1 - pane.y0 - height)) * between(rng, 0.0, 1.0)
    fill = pick(rng, ((33, 33, 33), (20, 24, 34), (250, 250, 250), dr.mix(theme.plot, theme.text, 0.1)))
    c.draw.rectangle((x0, y0, x0 + width, y0 + height), fill=fill, outline=dr.mix(fill, dr.ink_on(fill), 0.3))
    for k, line in enumerate(lines):
        c.draw.text((x0 + c.px(8), y0 + c.px(6) + k * fnt.size * 1.4), line, font=fnt, fill=dr.ink_on(fill))
    bubble = pick(rng, ((245, 124, 0), (255, 152, 0), (41, 98, 255), (233, 30, 99)))
    for _ in range(randint(rng, 0, 5)):
        i = randint(rng, pane.n // 2, pane.n - 1)
        bx, by = float(pane.xs(i)), float(pane.ys(float(close[i])))
        c.draw.rounded_rectangle((bx, by - c.px(24), bx + c.px(52), by - c.px(4)), radius=c.px(3), fill=bubble)
        c.text((bx + c.px(4), by - c.px(14)), f"{float(close[i]):.1f}", 8, dr.ink_on(bubble), anchor="lm")


def _position_box(c: Canvas, rng: np.random.Generator, pane: Pane, close: np.ndarray, theme: ChartTheme) -> None:
    """TradingView-style long/short position tool: profit and loss zones to the right."""
    start = randint(rng, pane.n // 2, pane.n - 2)
    entry = float(close[start])
    risk = float(np.std(close)) * between(rng, 0.2, 0.6)
    x0 = float(pane.xs(start))
    x1 = max(x0 + 1, pane.x1 - c.px(4))
    for top, bottom, colour in ((entry + 2 * risk, entry, dr.UP_DOWN[0][0]), (entry, entry - risk, dr.UP_DOWN[0][1])):
        c.draw.rectangle((x0, float(pane.ys(top)), x1, float(pane.ys(bottom))), fill=dr.mix(colour, theme.plot, 0.75))


def _indicator_pane(c: Canvas, theme: ChartTheme, kind: str, box: tuple, bars: dr.Bars, ticks: list, size: float, last: bool) -> None:
    """A volume, RSI or MACD sub-pane under the main chart."""
    n = len(bars.close)
    colours = [theme.edge or (theme.up if u else theme.down) for u in bars.up]
    if kind == "volume":
        pane = Pane(*box, n=n, lo=0.0, hi=float(bars.volume.max()) * 1.05)
        _axes_frame(c, theme, pane, ticks, size, x_labels=last)
        dr.columns(c.draw, pane, bars.volume, colours)
    elif kind == "rsi":
        values = dr.rsi(bars.close)
        pane = Pane(*box, n=n, lo=0.0, hi=100.0)
        _axes_frame(c, theme, pane, ticks, size, x_labels=last)
        for level in (30, 70):
            dr.dashed(c.draw, (pane.x0, float(pane.ys(level))), (pane.x1, float(pane.ys(level))), dr.mix(theme.text, theme.plot, 0.5))
        dr.polyline(c.draw, pane, values, theme.lines[1 % len(theme.lines)], c.px(1.2))
    else:
        line, signal, hist = dr.macd(bars.close)
        pane = Pane.fitted(box, n, line, signal, hist)
        _axes_frame(c, theme, pane, ticks, size, x_labels=last)
        dr.columns(c.draw, pane, hist, [theme.up if v >= 0 else theme.down for v in hist] if theme.edge is None else [theme.edge])
        dr.polyline(c.draw, pane, line, theme.lines[0], c.px(1.2))
        dr.polyline(c.draw, pane, signal, theme.lines[1 % len(theme.lines)], c.px(1.2))
    c.text(
        (pane.x0 + c.px(6), pane.y0 + c.px(3)),
        {"volume": "Volume", "rsi": "RSI(14)", "macd": "MACD(12,26,9)"}[kind],
        size * 0.95,
        theme.text,
        theme.face,
    )
    _spines(c, theme, pane)


@dataclasses.dataclass
class _Series:
    """What a time-series line chart shows."""

    values: list[np.ndarray]
    labels: list[str]
    title: str
    timeframe: str = "1D"
    suffix: str = ""  # after value labels, e.g. "%"
    recessions: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    drawdown: np.ndarray | None = None  # percent below the running peak, drawn in a sub-pane


def _series_data(rng: np.random.Generator, n: int) -> _Series:
    """Macro data, an equity curve, an asset comparison, rolling volatility or a forecast."""
    kind = weighted(rng, {"econ": 0.3, "equity": 0.25, "compare": 0.2, "volatility": 0.1, "forecast": 0.15})
    timeframe = pick(rng, ("1D", "1D", "1W", "1H"))
    if kind == "econ":
        slumps = dr.recessions(rng, n)
        values = [dr.econ_series(rng, n, slumps) for _ in range(weighted(rng, {1: 0.7, 2: 0.3}))]
        labels = [pick(rng, ECON_TITLES) for _ in values]
        return _Series(values, labels, labels[0], "1M", pick(rng, ("", "%")), slumps)
    if kind == "equity":
        equity = dr.equity_curve(rng, n)
        data = _Series(
            [equity], ["Strategy"], pick(rng, ("Equity Curve", "Portfolio Value", "Backtest Performance", "Cumulative Returns")), timeframe
        )
        if chance(rng, 0.5):
            data.values.append(equity[0] * dr.price_path(rng, n, start=1.0))
            data.labels.append(pick(rng, ("Buy & Hold", "Benchmark", "SPY")))
        if chance(rng, 0.4):
            data.drawdown = equity / np.maximum.accumulate(equity) * 100 - 100
        return data
    if kind == "compare":
        tickers = [str(t) for t in rng.choice(dr.TICKERS, size=randint(rng, 2, 5), replace=False)]
        title = pick(rng, ("Relative Performance", "Normalized Prices (base 100)", "Stock Prices"))
        return _Series([100 * dr.price_path(rng, n, start=1.0) for _ in tickers], tickers, title, timeframe)
    if kind == "volatility":
        returns = np.diff(np.log(dr.price_path(rng, n + 1)))
        window = pick(rng, (20, 30))
        title = pick(rng, (f"{window}-Day Rolling Volatility", "Realized Volatility (annualized)"))
        return _Series([np.sqrt(252) * 100 * np.sqrt(dr.sma(returns**2, window))], ["Rolling vol"], title, timeframe, "%")
    actual = dr.price_path(rng, n)
    split = int(n * between(rng, 0.6, 0.85))
    predicted = np.full(n, np.nan)
    predicted[split:] = actual[split:] * np.exp(np.cumsum(rng.normal(0, 0.01, n - split)))
    title = pick(rng, ("Actual vs Predicted Price", "Price Forecast", "Train / Test Split"))
    return _Series([actual, predicted], ["Actual", "Predicted"], title, timeframe)


ECON_SOURCES = (
    "Source: U.S. Bureau of Labor Statistics",
    "Source: Federal Reserve Bank of St. Louis",
    "Shaded areas indicate U.S. recessions",
)


def _series_chart(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """Line charts of time series in a library look, with legend, recession shading, drawdown pane."""
    theme = _chart_theme(rng, SERIES_THEME_WEIGHTS)
    c = Canvas(size, theme.background, scale)
    text_size = between(rng, 9, 13)
    n = randint(rng, 60, 900)
    data = _series_data(rng, n)
    if theme.badge:
        c.text((c.px(10), c.px(6)), theme.badge, text_size * 1.8, (28, 57, 105), "sans-bold")
    box = (0.0, 0.0, float(c.w), float(c.h))
    box = (box[0], box[1] + _heading(c, rng, theme, box, data.title, None, text_size), box[2], box[3])
    if data.recessions and chance(rng, 0.6):
        box = (box[0], box[1], box[2], box[3] - c.px(text_size * 2.2))
        c.text((c.w / 2, box[3] + c.px(text_size * 0.6)), pick(rng, ECON_SOURCES), text_size * 0.9, theme.text, anchor="ma")
    y_title = chance(rng, 0.5)
    plot_box = _margins(c, theme, box, float(np.nanmax(data.values[0])), text_size, y_title)
    boxes = _stack(plot_box, [1.0] + ([between(rng, 0.25, 0.4)] if data.drawdown is not None else []), c.px(text_size * 1.6))
    ticks = dr.time_ticks(rng, n, max(2, int((plot_box[2] - plot_box[0]) / c.px(90))), data.timeframe)
    pane = Pane.fitted(boxes[0], n, *data.values)
    _axes_frame(c, theme, pane, ticks, text_size, x_labels=data.drawdown is None, suffix=data.suffix)
    for start, end in data.recessions:
        c.draw.rectangle((float(pane.xs(start)), pane.y0, float(pane.xs(end)), pane.y1), fill=dr.mix(theme.plot, (128, 128, 128), 0.25))
    if pane.lo < 0 < pane.hi:
        c.draw.line((pane.x0, float(pane.ys(0)), pane.x1, float(pane.ys(0))), fill=dr.mix(theme.text, theme.plot, 0.3))
    width = c.px(pick(rng, (1, 1.5, 2, 2.5)))
    for values, colour in zip(data.values, theme.lines):
        dr.polyline(c.draw, pane, values, colour, width)
    _spines(c, theme, pane)
    if y_title:
        x = pane.x0 - c.px(text_size * 5.5) if theme.axis_side == "left" else pane.x1 + c.px(text_size * 5.5)
        label = pick(rng, ("Percent", "Value", "USD", "Index", "Return (%)", "Billions of Dollars"))
        _vertical_text(c, (x, (pane.y0 + pane.y1) / 2), label, text_size, theme.text)
    if len(data.values) > 1 or chance(rng, 0.4):
        _legend(c, theme, list(zip(data.labels, theme.lines)), (pane.x0 + c.px(10), pane.y0 + c.px(10)), text_size)
    if data.drawdown is not None:
        sub = Pane.fitted(boxes[1], n, data.drawdown, np.zeros(1))
        _axes_frame(c, theme, sub, ticks, text_size, x_labels=True, suffix="%")
        dr.band(c.draw, sub, np.zeros(n), data.drawdown, dr.mix(dr.UP_DOWN[0][1], theme.plot, 0.45))
        c.text((sub.x0 + c.px(6), sub.y0 + c.px(3)), "Drawdown", text_size, theme.text)
        _spines(c, theme, sub)
    return c.image


def _terminal_chart(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """A text-mode chart (terminal charting tools): character-grid candles or a dotted line."""
    background = pick(rng, ((0, 0, 0), (30, 30, 30), (40, 42, 54), (12, 16, 28)))
    c = Canvas(size, background, scale)
    fnt = c.font(between(rng, 10, 14), "mono")
    cell_w, cell_h = fnt.getlength("M"), fnt.size * 1.25
    fg = pick(rng, ((204, 204, 204), (230, 230, 230), (150, 220, 150)))
    up, down = pick(rng, dr.UP_DOWN)
    ticker = pick(rng, dr.TICKERS)
    bars = dr.ohlcv(rng, max(10, int(c.w / cell_w) - 12))
    change = (bars.close[-1] / bars.close[0] - 1) * 100
    c.draw.text(
        (cell_w, cell_h * 0.5),
        f"{ticker} | {dr.fmt_number(bars.close[-1])} ({change:+.2f}%) | Vol {dr.fmt_compact(bars.volume.sum())}",
        font=fnt,
        fill=up if change >= 0 else down,
    )
    x0, y0, x1, y1 = cell_w * 10, cell_h * 2.5, c.w - cell_w, c.h - cell_h * 2.5
    c.draw.rectangle((x0 - cell_w * 0.5, y0 - cell_h * 0.5, x1, y1 + cell_h * 0.5), outline=dr.mix(fg, background, 0.4))
    rows = int((y1 - y0) / cell_h)
    pane = Pane(x0, y0, x1 - cell_w, y0 + rows * cell_h, len(bars.close), float(bars.low.min()), float(bars.high.max()))
    for value in np.linspace(pane.lo, pane.hi, max(2, rows // 3)):
        c.draw.text((cell_w, float(pane.ys(value))), dr.fmt_number(value, thousands=False)[:8], font=fnt, fill=fg, anchor="lm")
    xs = pane.xs(np.arange(pane.n))
    if chance(rng, 0.6):  # block candles snapped to character rows
        rows_of = [
            y0 + np.round((pane.ys(v) - y0) / cell_h) * cell_h
            for v in (bars.high, bars.low, np.maximum(bars.open, bars.close), np.minimum(bars.open, bars.close))
        ]
        for x, high, low, top, bottom, is_up in zip(xs, *rows_of, bars.up):
            colour = up if is_up else down
            c.draw.rectangle((x - cell_w * 0.08, high, x + cell_w * 0.08, low + cell_h * 0.5), fill=colour)
            c.draw.rectangle((x - cell_w * 0.35, top, x + cell_w * 0.35, bottom + cell_h * 0.5), fill=colour)
    else:  # braille-like dotted line snapped to quarter rows
        for x, y in zip(xs, np.round(pane.ys(bars.close) / (cell_h / 4)) * (cell_h / 4)):
            c.draw.rectangle((x - cell_w * 0.15, y, x + cell_w * 0.15, y + cell_h * 0.12), fill=up)
    ticks = [(i, label.split("\n")[0]) for i, label in dr.time_ticks(rng, pane.n, 6, pick(rng, ("1H", "1D")))]
    dr.x_axis(c.draw, dataclasses.replace(pane, y1=y1 + cell_h * 0.5), ticks, fnt, fg)
    return c.image


def _set_margins(fig: Figure, size: tuple[int, int], scale: float, right_labels: bool, bottom: float) -> None:
    """Fixed pixel margins for tick labels and titles (cheaper than tight_layout, which draws twice)."""
    w, h = size
    side = 80 * scale / w
    fig.subplots_adjust(
        left=side, right=1 - (side if right_labels else 25 * scale / w), bottom=bottom * scale / h, top=1 - 36 * scale / h, hspace=0.12
    )


def _figure_to_image(fig: Figure) -> Image.Image:
    """Render a matplotlib figure with Agg and return it as an RGB Pillow image."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    image = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy())
    fig.clear()
    return image


_MPL_LOOKS = {  # (figure colour, axes colour, grid colour or None, text colour, hide top/right spines)
    "classic": ("white", "white", None, "black", False),
    "grid": ("white", "white", "#dddddd", "black", False),
    "seaborn": ("white", "#eaeaf2", "white", "#333333", True),
    "ggplot": ("white", "#e5e5e5", "white", "#555555", True),
    "fivethirtyeight": ("#f0f0f0", "#f0f0f0", "#cbcbcb", "#333333", True),
    "dark": ("#1e1e1e", "#1e1e1e", "#444444", "#e0e0e0", False),
    "solarized": ("#fdf6e3", "#fdf6e3", "#e0dccb", "#586e75", True),
}


def _style_axes(ax, look: tuple) -> None:
    """Apply a `_MPL_LOOKS` entry to matplotlib axes (per axes, no global rcParams)."""
    _, face, grid, text, open_spines = look
    ax.set_facecolor(face)
    if grid:
        ax.grid(True, color=grid, linewidth=0.8)
        ax.set_axisbelow(True)
    ax.tick_params(colors=text, labelsize="small")
    for name, spine in ax.spines.items():
        spine.set_color(text)
        spine.set_visible(not (open_spines and name in ("top", "right")))
    ax.title.set_color(text)
    ax.xaxis.label.set_color(text)
    ax.yaxis.label.set_color(text)


def _matplotlib_chart(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """A genuine matplotlib time-series chart (price + MAs, macro series, equity + drawdown, RSI)."""
    dpi = 100 * scale * between(rng, 0.8, 1.2)
    look = _MPL_LOOKS[pick(rng, tuple(_MPL_LOOKS))]
    fig = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi, facecolor=look[0])
    kind = weighted(rng, {"price": 0.4, "econ": 0.2, "equity": 0.2, "indicator": 0.2})
    n = randint(rng, 60, 1500)
    end = np.datetime64(dr.moment(rng).date())
    dates = end - np.arange(n)[::-1] * np.timedelta64(pick(rng, (1, 1, 7, 30)), "D")
    close = dr.price_path(rng, n)
    panes = {"price": 1, "econ": 1, "equity": 2, "indicator": randint(rng, 2, 3)}[kind]
    axes = fig.subplots(panes, 1, sharex=True, squeeze=False, height_ratios=[3, 1, 1.5][:panes])[:, 0]
    colours = ["#%02x%02x%02x" % c for c in pick(rng, dr.PALETTES)]
    ax = axes[0]
    if kind == "econ":
        slumps = dr.recessions(rng, n)
        ax.plot(dates, dr.econ_series(rng, n, slumps), color=colours[0], linewidth=between(rng, 1, 2.2))
        for start, end in slumps:
            ax.axvspan(dates[start], dates[end - 1], color="grey", alpha=0.3, linewidth=0)
        ax.set_title(pick(rng, ECON_TITLES))
    elif kind == "equity":
        equity = dr.equity_curve(rng, n)
        ax.plot(dates, equity, color=colours[0], label="Strategy")
        if chance(rng, 0.6):
            ax.plot(dates, equity[0] * close / close[0], color=colours[1], label="Benchmark")
            ax.legend(loc="upper left")
        drawdown = equity / np.maximum.accumulate(equity) - 1
        axes[1].fill_between(dates, drawdown * 100, 0, color="#d62728", alpha=0.5)
        axes[1].set_ylabel("Drawdown %")
        ax.set_title(pick(rng, ("Portfolio value", "Equity curve", "Backtest")))
    else:
        ax.plot(dates, close, color=colours[0], linewidth=between(rng, 0.8, 1.8), label="Close")
        for k, window in enumerate(rng.choice([10, 20, 50, 100, 200], size=randint(rng, 0, 2), replace=False)):
            ax.plot(dates, dr.sma(close, int(window)), color=colours[k + 1], linewidth=1, label=f"SMA {window}")
        if chance(rng, 0.3):
            _, upper, lower = dr.bollinger(close)
            ax.fill_between(dates, lower, upper, color=colours[-1], alpha=0.2, label="Bollinger")
        if chance(rng, 0.25):  # support/resistance levels through turning points, as S/R scripts plot them
            turns = np.sort(rng.choice(np.arange(1, n - 1), size=randint(rng, 6, 24), replace=False))
            peaks = close[turns] >= np.median(close)
            ax.scatter(dates[turns], close[turns], c=np.where(peaks, "green", "red"), s=30, zorder=3)
            ax.plot(dates[turns], close[turns], color="grey", linestyle=":", linewidth=1)
            for level in rng.choice(close[turns], size=randint(rng, 2, min(8, len(turns))), replace=False):
                ax.axhline(level, color="black", linewidth=1.2)
        ax.legend(loc=pick(rng, ("upper left", "lower right", "lower left")))
        ax.set_title(
            pick(rng, (f"{pick(rng, dr.TICKERS)} Closing Price", f"{pick(rng, dr.COMPANIES)} stock price", "Price with moving averages"))
        )
        ax.set_ylabel(pick(rng, ("Price", "Price (USD)", "Close")))
        if kind == "indicator":
            axes[1].plot(dates, dr.rsi(close), color=colours[2], linewidth=1)
            axes[1].axhline(70, color="grey", linestyle="--", linewidth=0.8)
            axes[1].axhline(30, color="grey", linestyle="--", linewidth=0.8)
            axes[1].set_ylabel("RSI")
        if panes == 3:  # pyalgotrade-style backtest plot: price, oscillator, portfolio
            axes[2].plot(dates, dr.equity_curve(rng, n, start=1_000_000.0), color=colours[0], label="Portfolio")
            axes[2].legend(loc="upper left")
    for axis in axes:
        _style_axes(axis, look)
    if chance(rng, 0.4):
        axes[-1].set_xlabel("Date")
    rotate = chance(rng, 0.3)
    if rotate:
        fig.autofmt_xdate()
    _set_margins(fig, size, scale, right_labels=False, bottom=75 if rotate else 50)
    return _figure_to_image(fig)


_MPF_STYLES = ("binance", "blueskies", "charles", "checkers", "classic", "default", "ibd", "kenan", "mike", "nightclouds", "yahoo")


def _mplfinance_chart(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """A genuine mplfinance chart, drawn in external-axes mode on an object-oriented Figure."""
    base = pick(rng, _MPF_STYLES)
    style = mpf.make_mpf_style(base_mpf_style=base)
    look = _MPL_LOOKS["dark" if base in ("mike", "nightclouds") else pick(rng, ("classic", "grid", "seaborn", "ggplot", "fivethirtyeight"))]
    dpi = 100 * scale * between(rng, 0.8, 1.2)
    fig = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi, facecolor=look[0])
    n = randint(rng, 3, 20) if chance(rng, 0.25) else randint(rng, 30, 160)  # a handful of wide candles, or a run
    bars = dr.ohlcv(rng, n)
    index = pd.date_range(end=dr.moment(rng).date(), periods=n, freq=pick(rng, ("D", "B", "h", "W")))
    frame = pd.DataFrame({"Open": bars.open, "High": bars.high, "Low": bars.low, "Close": bars.close, "Volume": bars.volume}, index=index)
    with_volume = chance(rng, 0.6)
    axes = fig.subplots(2 if with_volume else 1, 1, sharex=True, squeeze=False, height_ratios=[3, 1][: 1 + with_volume])[:, 0]
    mavs = tuple(int(w) for w in rng.choice([5, 10, 20, 50], size=randint(rng, 0, 2), replace=False))
    kwargs = {"mav": mavs} if mavs else {}
    mpf.plot(
        frame,
        ax=axes[0],
        volume=axes[1] if with_volume else False,
        style=style,
        warn_too_much_data=10_000,
        type=weighted(rng, {"candle": 0.6, "ohlc": 0.2, "line": 0.1, "hollow_and_filled": 0.1}),
        **kwargs,
    )
    axes[0].set_title(f"{pick(rng, dr.TICKERS)} {pick(rng, ('Daily', 'Candlestick', '1h', 'Price'))}")
    for ax in axes:
        _style_axes(ax, look)
    _set_margins(fig, size, scale, right_labels=bool(style["y_on_right"]), bottom=60)
    return _figure_to_image(fig)


# ======================================================================================
# Non-chart scenes
# ======================================================================================


def _ui_palette(rng: np.random.Generator) -> Palette:
    """Light or dark app colours with a random accent."""
    if chance(rng, 0.45):
        bg = pick(rng, ((17, 20, 24), (24, 26, 32), (30, 34, 45), (21, 32, 43), (0, 0, 0), (54, 57, 63), (11, 14, 17)))
    else:
        bg = pick(rng, ((255, 255, 255), (246, 247, 249), (240, 242, 245), (250, 250, 250)))
    text = dr.ink_on(bg)
    up, down = pick(rng, dr.UP_DOWN)
    return {
        "bg": bg,
        "panel": dr.mix(bg, text, 0.05),
        "text": text,
        "muted": dr.mix(text, bg, 0.45),
        "border": dr.mix(text, bg, 0.82),
        "input": dr.mix(bg, text, 0.06),
        "up": up,
        "down": down,
        "accent": dr.random_colour(rng, (0.55, 0.9), (0.6, 0.95)),
    }


def _button(c: Canvas, box: tuple[float, float, float, float], label: str, fill: RGB, size: float, radius: float = 5) -> None:
    """A filled rounded button with a centred label."""
    c.draw.rounded_rectangle(box, radius=c.px(radius), fill=fill)
    c.text(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), label, size, dr.ink_on(fill), "sans-bold", anchor="mm")


def _field(c: Canvas, pal: Palette, box: tuple[float, float, float, float], text: str, size: float, placeholder: bool) -> None:
    """A text input with its value (or greyed placeholder)."""
    c.draw.rounded_rectangle(box, radius=c.px(4), fill=pal["input"], outline=pal["border"])
    c.text((box[0] + c.px(10), (box[1] + box[3]) / 2), text, size, pal["muted"] if placeholder else pal["text"], anchor="lm")


def _coin_icon(c: Canvas, centre: tuple[float, float], radius: float, colour: RGB, letter: str) -> None:
    """A round token/company icon with a letter."""
    dr.circle(c.draw, centre, radius, fill=colour)
    c.draw.text(centre, letter, font=dr.font("sans-bold", int(radius * 1.1)), fill=dr.ink_on(colour), anchor="mm")


def _avatar(c: Canvas, rng: np.random.Generator, centre: tuple[float, float], radius: float) -> None:
    """A default profile picture: a coloured disc with an initial."""
    _coin_icon(c, centre, radius, dr.random_colour(rng), pick(rng, "ABCDEFGHJKLMNPRSTW"))


def _signal(rng: np.random.Generator) -> list[str]:
    """A trade call as posted in signal channels: side, symbol and entry, then target and stop."""
    entry = 10 ** between(rng, 0, 4)
    side = pick(rng, ("BUY", "SELL", "Long", "Short"))
    return [
        f"{side} {pick(rng, dr.TICKERS)} @ {dr.fmt_number(entry)}",
        f"TP {dr.fmt_number(entry * between(rng, 0.9, 1.1))}",
        f"SL {dr.fmt_number(entry * between(rng, 0.9, 1.1))}",
    ]


def _rich_text(c: Canvas, x: float, y: float, width: float, text: str, size: float, fill: RGB, accent: RGB, bottom: float) -> float:
    """Word-wrapped text where $cashtags, #hashtags and @mentions take the accent colour; returns end y."""
    fnt = c.font(size)
    space, step = dr.text_width(fnt, " "), fnt.size * 1.4
    cx = x
    for word in text.split():
        length = dr.text_width(fnt, word)
        if cx > x and cx + length > x + width:
            cx, y = x, y + step
        if y + step > bottom:
            break
        cx += c.words((cx, y), word, fnt, accent if word[0] in "$#@" else fill) + space
    return y + step


def _tweet(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """Tweet screenshots: one card on a gradient, or a timeline of tweets."""
    bg = pick(rng, ((255, 255, 255), (21, 32, 43), (0, 0, 0)))
    c = Canvas(size, bg, scale)
    x0, y0, x1, y1 = 0.0, 0.0, float(c.w), float(c.h)
    card = chance(rng, 0.35)
    if card:
        c.image.paste(
            dr.gradient(size, dr.random_colour(rng, val=(0.8, 1)), dr.random_colour(rng, val=(0.8, 1)), horizontal=chance(rng, 0.5))
        )
        margin_x, margin_y = c.w * between(rng, 0.08, 0.2), c.h * between(rng, 0.08, 0.2)
        x0, y0, x1, y1 = margin_x, margin_y, c.w - margin_x, c.h - margin_y
        c.draw.rounded_rectangle((x0, y0, x1, y1), radius=c.px(16), fill=bg)
    text, muted = dr.ink_on(bg), dr.mix(dr.ink_on(bg), bg, 0.45)
    accent = (29, 155, 240)
    pad = c.px(16)
    y = y0 + pad
    while y < y1 - c.px(120):
        y = _tweet_block(c, rng, (x0 + pad, y, x1 - pad, y1 - pad), text, muted, accent)
        if card:
            break
        c.draw.line((x0, y, x1, y), fill=dr.mix(text, bg, 0.85))
        y += pad
    return c.image


def _tweet_block(c: Canvas, rng: np.random.Generator, box: tuple[float, float, float, float], text: RGB, muted: RGB, accent: RGB) -> float:
    """One tweet (avatar, names, text, optional picture, counts) from the top of `box`; returns end y."""
    x0, y, x1, bottom = box
    radius = c.px(between(rng, 18, 26))
    _avatar(c, rng, (x0 + radius, y + radius), radius)
    name, handle = dr.person(rng)
    tx = x0 + 2 * radius + c.px(10)
    size = between(rng, 13, 17)
    width = c.text((tx, y + c.px(2)), name, size, text, "sans-bold")
    if chance(rng, 0.4):
        dr.circle(c.draw, (tx + width + c.px(10), y + c.px(2 + size * 0.6)), c.px(size * 0.45), fill=accent)
    c.text((tx, y + c.px(size * 1.5)), f"{handle} · {randint(rng, 1, 23)}{pick(rng, 'hm')}", size * 0.92, muted)
    y += max(2 * radius, c.px(size * 3)) + c.px(8)
    y = _rich_text(c, x0, y, x1 - x0, dr.paragraph(rng, randint(rng, 1, 4)), between(rng, 14, 22), text, accent, bottom)
    if chance(rng, 0.3) and bottom - y > c.px(160):
        height = min(bottom - y - c.px(80), (x1 - x0) * between(rng, 0.4, 0.6))
        c.paste_fit(dr.photo(rng, (int(x1 - x0), int(height))), (int(x0), int(y + c.px(6)), int(x1), int(y + c.px(6) + height)))
        y += height + c.px(12)
    c.text((x0, y + c.px(6)), f"{dr.moment(rng):%I:%M %p · %b %d, %Y}", 13, muted)
    y += c.px(30)
    x = x0
    for kind in ("bubble", "repeat", "heart", "share"):
        s = c.px(8)
        dr.icon(c.draw, kind, (x, y, x + 2 * s, y + 2 * s), muted)
        c.text((x + 2 * s + c.px(6), y + s), dr.fmt_compact(10 ** between(rng, 0, 4.5)), 12.5, muted, anchor="lm")
        x += (x1 - x0) / 4
    return y + c.px(30)


_CHAT_STYLES = {  # background, incoming bubble, outgoing bubble, header
    "telegram": ((214, 230, 200), (255, 255, 255), (225, 250, 200), (82, 136, 193)),
    "telegram_dark": ((14, 22, 33), (24, 37, 51), (43, 82, 120), (23, 33, 43)),
    "whatsapp": ((236, 229, 221), (255, 255, 255), (220, 248, 198), (7, 94, 84)),
    "imessage": ((255, 255, 255), (233, 233, 235), (0, 122, 255), (247, 247, 247)),
}


def _chat(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """Messenger screenshots: Telegram/WhatsApp/iMessage bubbles or a Discord channel."""
    if chance(rng, 0.3):
        return _discord(rng, size, scale)
    background, incoming, outgoing, header = _CHAT_STYLES[pick(rng, tuple(_CHAT_STYLES))]
    c = Canvas(size, background, scale)
    if chance(rng, 0.5):
        noise = dr.smooth_noise(rng, (c.w, c.h), 40)[..., None]
        c.image.paste(Image.fromarray((np.array(background) * (0.94 + 0.08 * noise)).clip(0, 255).astype(np.uint8)))
    top = c.px(56)
    c.draw.rectangle((0, 0, c.w, top), fill=header)
    _avatar(c, rng, (c.px(30), top / 2), c.px(18))
    c.text(
        (c.px(58), top / 2 - c.px(8)),
        pick(rng, ("Crypto Signals VIP", "Trading Group", "Forex Room", dr.person(rng)[0])),
        15,
        dr.ink_on(header),
        "sans-bold",
        anchor="lm",
    )
    c.text(
        (c.px(58), top / 2 + c.px(10)),
        pick(rng, ("online", "last seen recently", f"{randint(rng, 200, 90000):,} members")),
        12,
        dr.mix(dr.ink_on(header), header, 0.35),
        anchor="lm",
    )
    y, size = top + c.px(12), between(rng, 13, 16)
    fnt = c.font(size)
    while y < c.h - c.px(110):
        mine = chance(rng, 0.4)
        body = pick(rng, (dr.sentence(rng, 3, 20), dr.paragraph(rng, 2), "\n".join(_signal(rng))))
        lines = [part for chunk in body.split("\n") for part in dr.wrap(chunk, fnt, c.w * 0.62)]
        width = max(dr.text_width(fnt, line) for line in lines) + c.px(28)
        height = fnt.size * 1.35 * len(lines) + c.px(26)
        x = c.w - width - c.px(14) if mine else c.px(14)
        fill = outgoing if mine else incoming
        c.draw.rounded_rectangle((x, y, x + width, y + height), radius=c.px(12), fill=fill)
        for k, line in enumerate(lines):
            c.words((x + c.px(14), y + c.px(8) + k * fnt.size * 1.35), line, fnt, dr.ink_on(fill))
        c.text(
            (x + width - c.px(10), y + height - c.px(6)), f"{dr.moment(rng):%H:%M}", 10, dr.mix(dr.ink_on(fill), fill, 0.45), anchor="rd"
        )
        y += height + c.px(between(rng, 6, 16))
    c.draw.rectangle(
        (0, c.h - c.px(52), c.w, c.h), fill=dr.mix(header, background, 0.7) if background != (255, 255, 255) else (247, 247, 247)
    )
    c.draw.rounded_rectangle(
        (c.px(12), c.h - c.px(42), c.w - c.px(56), c.h - c.px(10)), radius=c.px(16), fill=dr.mix(background, (255, 255, 255), 0.6)
    )
    c.text((c.px(28), c.h - c.px(26)), "Message", 13, (140, 140, 140), anchor="lm")
    return c.image


def _discord(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """A Discord/Slack-like channel: avatars, coloured names, timestamps, messages and embeds."""
    bg = pick(rng, ((54, 57, 63), (49, 51, 56), (255, 255, 255), (26, 29, 33)))
    c = Canvas(size, bg, scale)
    text, muted = dr.ink_on(bg), dr.mix(dr.ink_on(bg), bg, 0.45)
    x0 = 0.0
    if c.w > 700 and chance(rng, 0.6):
        x0 = c.w * between(rng, 0.15, 0.22)
        side = dr.mix(bg, (0, 0, 0), 0.2)
        c.draw.rectangle((0, 0, x0, c.h), fill=side)
        for k in range(int(c.h / c.px(30)) - 2):
            c.text((c.px(14), c.px(50) + k * c.px(30)), "# " + dr.words(rng, 2).replace(" ", "-"), 13, muted)
    c.text((x0 + c.px(16), c.px(16)), "# " + pick(rng, ("trading-signals", "general", "btc-talk", "alerts")), 15, text, "sans-bold")
    c.draw.line((x0, c.px(46), c.w, c.px(46)), fill=dr.mix(text, bg, 0.85))
    y = c.px(60)
    while y < c.h - c.px(90):
        radius = c.px(19)
        _avatar(c, rng, (x0 + c.px(16) + radius, y + radius), radius)
        tx = x0 + c.px(26) + 2 * radius
        width = c.text(
            (tx, y),
            dr.person(rng)[0],
            14.5,
            dr.random_colour(rng, val=(0.75, 1)) if dr.is_dark(bg) else dr.random_colour(rng, val=(0.4, 0.7)),
            "sans-bold",
        )
        c.text((tx + width + c.px(8), y + c.px(2)), f"Today at {dr.moment(rng):%I:%M %p}", 11, muted)
        y = c.paragraph(tx, y + c.px(22), c.w - tx - c.px(20), dr.paragraph(rng, randint(rng, 1, 2)), 14, text, bottom=c.h)
        if chance(rng, 0.25) and y < c.h - c.px(200):
            embed = (tx, y + c.px(4), min(c.w - c.px(20), tx + c.px(420)), y + c.px(110))
            c.draw.rectangle(embed, fill=dr.mix(bg, (0, 0, 0), 0.15))
            c.draw.rectangle((embed[0], embed[1], embed[0] + c.px(4), embed[3]), fill=dr.random_colour(rng))
            for k, label in enumerate(_signal(rng)):
                c.text((embed[0] + c.px(14), embed[1] + c.px(10 + 30 * k)), label, 13.5, text, "sans-bold" if k == 0 else "sans")
            y = embed[3]
        y += c.px(18)
    c.draw.rounded_rectangle((x0 + c.px(16), c.h - c.px(56), c.w - c.px(16), c.h - c.px(14)), radius=c.px(8), fill=dr.mix(bg, text, 0.08))
    c.text((x0 + c.px(30), c.h - c.px(35)), "Message #channel", 14, muted, anchor="lm")
    return c.image


def _grid_table(
    c: Canvas,
    box: tuple[float, float, float, float],
    header: list[str],
    rows: list[list[str]],
    colours: list[list[RGB]],
    pal: Palette,
    size: float,
    ruled: bool,
    zebra: bool,
) -> None:
    """A table with a bold header; first column left-aligned, the others right-aligned."""
    x0, y0, x1, y1 = box
    fnt = c.font(size)
    row_h = fnt.size * 2.0
    col_w = (x1 - x0) / len(header)
    _table_row(c, (x0, x1), y0, row_h, header, [pal["text"]] * len(header), c.font(size, "sans-bold"))
    c.draw.line((x0, y0 + row_h, x1, y0 + row_h), fill=pal["muted"], width=c.px(1))
    y = y0 + row_h
    for i, (row, row_colours) in enumerate(zip(rows, colours)):
        if y + row_h > y1:
            break
        if zebra and i % 2 == 0:
            c.draw.rectangle((x0, y, x1, y + row_h), fill=pal["panel"])
        _table_row(c, (x0, x1), y, row_h, row, row_colours, fnt)
        y += row_h
        if ruled:
            c.draw.line((x0, y, x1, y), fill=pal["border"])
    if ruled:
        for k in range(1, len(header)):
            c.draw.line((x0 + col_w * k, y0, x0 + col_w * k, y), fill=pal["border"])


def _number_rows(
    rng: np.random.Generator, pal: Palette, n_rows: int, n_cols: int, kind: str
) -> tuple[list[str], list[list[str]], list[list[RGB]]]:
    """Header, cell texts and cell colours for a financial table of `kind`."""
    headers = {
        "market": ["Name", "Price", "24h %", "Volume", "Market Cap", "Supply", "7d %"],
        "dataframe": ["", "Open", "High", "Low", "Close", "Adj Close", "Volume"],
        "positions": ["Symbol", "Type", "Volume", "Open Price", "S/L", "T/P", "Profit"],
        "stats": ["Portfolio", "Return (%)", "Volatility", "Sharpe", "Max DD", "Sortino", "Beta"],
    }
    header = headers[kind][: max(3, n_cols)]
    rows, colours = [], []
    base = 10 ** between(rng, 0, 4)
    signed_columns = {"market": (2, 6), "positions": (6,), "stats": (1, 4), "dataframe": ()}[kind]
    for i in range(n_rows):
        first = {
            "market": f"{pick(rng, dr.TICKERS)}",
            "dataframe": str(i) if chance(rng, 0.5) else f"2024-0{randint(rng, 1, 9)}-{randint(rng, 10, 28)}",
            "positions": pick(rng, dr.TICKERS),
            "stats": dr.words(rng, 2).replace(" ", "_"),
        }[kind]
        row, row_colours = [first], [pal["text"]]
        for k in range(1, len(header)):
            if kind == "positions" and k == 1:
                row.append(pick(rng, ("buy", "sell", "buy limit", "sell stop")))
                row_colours.append(pal["text"])
                continue
            signed = k in signed_columns
            value = rng.normal(0, 5) if signed else base * np.exp(rng.normal(0, 0.3))
            row.append(f"{value:+.2f}%" if signed and kind != "positions" else dr.fmt_number(value, 2 if signed else None))
            row_colours.append((pal["up"] if value >= 0 else pal["down"]) if signed else pal["text"])
        rows.append(row)
        colours.append(row_colours)
    return header, rows, colours


def _table(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """Tables of numbers: spreadsheets, dataframes, market lists, positions, order books."""
    pal = _ui_palette(rng)
    kind = pick(rng, ("market", "dataframe", "positions", "stats", "orderbook", "spreadsheet"))
    if kind in ("dataframe", "spreadsheet") and chance(rng, 0.7):
        pal.update(bg=(255, 255, 255), panel=(245, 245, 245), text=(20, 20, 20), muted=(110, 110, 110), border=(218, 220, 224))
    c = Canvas(size, pal["bg"], scale)
    size_pt = between(rng, 10.5, 14)
    top = c.px(10)
    if kind == "spreadsheet":
        top = _spreadsheet_chrome(c, rng)
    elif chance(rng, 0.6):
        c.text(
            (c.px(16), c.px(14)),
            pick(
                rng, ("Markets", "Top Gainers", "Open Positions", "Portfolio Summary", "AMZN Stock Data Table", "Order Book", "Watchlist")
            ),
            size_pt * 1.5,
            pal["text"],
            "sans-bold",
        )
        top = c.px(size_pt * 3.4)
    box = (c.px(12), top, c.w - c.px(12), c.h - c.px(10))
    if kind == "orderbook":
        mid = (box[0] + box[2]) / 2 if c.w > 600 else box[2]
        _side_table(c, rng, (box[0], box[1], mid - c.px(6), box[3]), pal, size_pt)
        if mid < box[2]:
            _side_table(c, rng, (mid + c.px(6), box[1], box[2], box[3]), pal, size_pt)
        return c.image
    n_cols = max(3, min(7, int((box[2] - box[0]) / c.px(95))))
    n_rows = int((box[3] - box[1]) / (c.font(size_pt).size * 2.0))
    header, rows, colours = _number_rows(rng, pal, n_rows, n_cols, "dataframe" if kind == "spreadsheet" else kind)
    _grid_table(
        c, box, header, rows, colours, pal, size_pt, ruled=kind in ("spreadsheet", "positions") or chance(rng, 0.3), zebra=chance(rng, 0.5)
    )
    return c.image


def _spreadsheet_chrome(c: Canvas, rng: np.random.Generator) -> float:
    """Excel/Sheets-like ribbon, formula bar and column letters; returns the table top."""
    ribbon = pick(rng, ((33, 115, 70), (15, 157, 88), (240, 240, 240)))
    c.draw.rectangle((0, 0, c.w, c.px(30)), fill=ribbon)
    x = c.px(12)
    for label in ("File", "Home", "Insert", "Page Layout", "Formulas", "Data", "Review", "View"):
        x += c.text((x, c.px(15)), label, 12, dr.ink_on(ribbon), anchor="lm") + c.px(18)
    c.draw.rectangle((0, c.px(30), c.w, c.px(56)), fill=(250, 250, 250), outline=(210, 210, 210))
    c.text(
        (c.px(12), c.px(43)), f"fx   ={pick(rng, ('SUM', 'AVERAGE', 'VLOOKUP'))}(B2:B{randint(rng, 10, 90)})", 12, (60, 60, 60), anchor="lm"
    )
    c.draw.rectangle((0, c.px(56), c.w, c.px(74)), fill=(235, 235, 235))
    for k in range(12):
        c.text((c.px(12) + (c.w / 7) * (k + 0.5), c.px(65)), "ABCDEFGHIJKL"[k], 11, (90, 90, 90), anchor="mm")
    return c.px(78)


def _photo(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """A photo-like scene filling the canvas (photos have no UI, so `scale` does not apply)."""
    return dr.photo(rng, size)


def _brand(rng: np.random.Generator) -> str:
    """A made-up exchange/app/company name."""
    first = pick(rng, ("Bit", "Coin", "Trade", "Swap", "Nova", "Pay", "Vault", "Flux", "Mint", "Quant", "Apex", "Luna", "Blue", "Sure"))
    return first + pick(rng, ("get", "base", "hub", "ly", "X", "fi", " Wallet", " Capital", "ex", "Pro", " Labs", "io"))


def _logo(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """A logo or app icon: geometric mark with letters and/or a wordmark on a flat or gradient field."""
    bg = pick(rng, ((255, 255, 255), (0, 0, 0), (18, 22, 30), dr.random_colour(rng), dr.random_colour(rng, (0.05, 0.2), (0.9, 1))))
    c = Canvas(size, bg, scale)
    if chance(rng, 0.25):
        c.image.paste(dr.gradient(size, dr.random_colour(rng), dr.random_colour(rng), horizontal=chance(rng, 0.5)))
        bg = c.image.getpixel((c.w // 2, c.h // 2))
    colour = dr.random_colour(rng, (0.5, 1), (0.6, 1)) if chance(rng, 0.7) else dr.ink_on(bg)
    name = _brand(rng)
    layout = pick(rng, ("stacked", "inline", "wordmark", "icon"))
    mark = min(c.w, c.h) * (0.7 if layout == "icon" else 0.4)
    cx, cy = c.w / 2, c.h / 2
    if layout == "inline":
        cx = c.w / 2 - dr.font("sans-bold", int(mark * 0.5)).getlength(name) / 2 - mark * 0.1
    elif layout == "stacked":
        cy = c.h / 2 - mark * 0.25
    if layout != "wordmark":
        _mark(c, rng, (cx, cy), mark / 2, colour, bg, name[0])
    if layout == "icon":
        return c.image
    text_size = mark * (0.5 if layout == "inline" else 0.3)
    fnt = dr.font(pick(rng, ("sans-bold", "sans", "serif-bold")), int(text_size))
    text = name.upper() if chance(rng, 0.4) else name
    ink = dr.ink_on(bg) if chance(rng, 0.6) else colour
    anchor_xy = {"inline": (cx + mark * 0.62, cy), "stacked": (c.w / 2, cy + mark * 0.65), "wordmark": (c.w / 2, c.h / 2)}[layout]
    c.draw.text(anchor_xy, text, font=fnt, fill=ink, anchor="lm" if layout == "inline" else "mm")
    if chance(rng, 0.3):
        c.draw.text(
            (c.w / 2, c.h * 0.88),
            pick(rng, ("Powered by " + _brand(rng), "Trade smarter", "EXCHANGE", "Since 2017")),
            font=dr.font("sans", int(text_size * 0.35)),
            fill=dr.mix(ink, bg, 0.3),
            anchor="mm",
        )
    return c.image


def _mark(c: Canvas, rng: np.random.Generator, centre: tuple[float, float], r: float, colour: RGB, bg: RGB, letter: str) -> None:
    """A geometric logo mark of radius `r` with an optional letter or glyph inside."""
    cx, cy = centre
    shape = pick(rng, ("circle", "ring", "rounded", "hexagon", "diamond", "triangle", "circles", "coin"))
    inner = dr.ink_on(colour)
    if shape in ("circle", "coin"):
        if shape == "coin":
            disc = dr.shaded_disc((int(2 * r), int(2 * r)), pick(rng, ((247, 147, 26), (212, 175, 55), (98, 126, 234))))
            c.image.paste(disc, (int(cx - r), int(cy - r)), disc)
            inner = (255, 255, 255)
        else:
            dr.circle(c.draw, centre, r, fill=colour)
    elif shape == "ring":
        dr.circle(c.draw, centre, r, outline=colour, width=max(2, int(r / 6)))
        inner = colour
    elif shape == "rounded":
        c.draw.rounded_rectangle((cx - r, cy - r, cx + r, cy + r), radius=r * 0.35, fill=colour)
    elif shape == "circles":
        for k, offset in enumerate((-0.5, 0.0, 0.5)):
            dr.circle(c.draw, (cx + offset * r, cy), r * 0.55, fill=dr.mix(colour, bg, k * 0.25))
        return
    else:
        sides = {"hexagon": 6, "diamond": 4, "triangle": 3}[shape]
        angles = np.arange(sides) * 2 * np.pi / sides - np.pi / 2
        c.draw.polygon(list(zip(cx + r * np.cos(angles), cy + r * np.sin(angles))), fill=colour)
    glyph = weighted(rng, {"letter": 0.6, "zigzag": 0.15, "none": 0.25})
    if glyph == "letter":
        c.draw.text(centre, letter.upper(), font=dr.font("sans-bold", int(r * 1.1)), fill=inner, anchor="mm")
    elif glyph == "zigzag":  # a stock-app style arrow glyph: a deliberate hard negative
        pts = [(cx - r * 0.5, cy + r * 0.3), (cx - r * 0.15, cy - r * 0.05), (cx + r * 0.1, cy + r * 0.15), (cx + r * 0.5, cy - r * 0.3)]
        c.draw.line(pts, fill=inner, width=max(2, int(r / 7)), joint="curve")


def _meme(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """A meme: picture with big outlined top/bottom caption, or a white caption bar above."""
    c = Canvas(size, (255, 255, 255), scale)
    caption_bar = chance(rng, 0.35)
    top = int(c.h * between(rng, 0.18, 0.3)) if caption_bar else 0
    picture = dr.cartoon(rng, (c.w, c.h - top)) if chance(rng, 0.3) else dr.photo(rng, (c.w, c.h - top))
    c.image.paste(picture, (0, top))
    if caption_bar:
        size_pt = c.w * between(rng, 0.035, 0.055) / c.scale
        c.paragraph(c.px(14), c.px(10), c.w - c.px(28), dr.sentence(rng, 5, 16), size_pt, (0, 0, 0), bottom=top)
        return c.image
    for anchor_y, anchor in ((c.h * 0.03, "ma"), (c.h * 0.97, "md")):
        text = dr.words(rng, randint(rng, 2, 6)).upper()
        fnt = dr.font("sans-bold", int(c.h * 0.12))
        fnt = dr.font("sans-bold", int(fnt.size * min(1.0, c.w * 0.94 / fnt.getlength(text))))
        c.draw.text(
            (c.w / 2, anchor_y),
            text,
            font=fnt,
            fill=(255, 255, 255),
            anchor=anchor,
            stroke_width=max(1, fnt.size // 14),
            stroke_fill=(0, 0, 0),
        )
    return c.image


def _illustration(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """Clip art: a cartoon character or an abstract pattern (spinner, rings, colour wheel), maybe with coins."""
    image = dr.cartoon(rng, size) if chance(rng, 0.5) else _abstract(rng, size)
    for _ in range(randint(rng, 0, 6)):
        radius = int(min(size) * between(rng, 0.04, 0.09))
        disc = dr.shaded_disc((2 * radius, 2 * radius), (230, 180, 40))
        image.paste(disc, (randint(rng, 0, size[0] - 2 * radius), randint(rng, 0, size[1] - 2 * radius)), disc)
    return image


def _abstract(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    """Flat geometric art: a ring of dots, concentric rings, a wheel of wedges or scattered shapes."""
    w, h = size
    image = Image.new("RGB", size, pick(rng, ((255, 255, 255), (200, 200, 200), (20, 20, 30), dr.random_colour(rng, (0.1, 0.4), (0.8, 1)))))
    draw = ImageDraw.Draw(image)
    cx, cy, r = w / 2, h / 2, min(w, h) * between(rng, 0.3, 0.45)
    colour = dr.random_colour(rng)
    pattern = pick(rng, ("dots", "rings", "wheel", "shapes"))
    count = randint(rng, 6, 24)
    for k in range(count):
        angle = 2 * np.pi * k / count
        if pattern == "dots":
            dr.circle(draw, (cx + r * np.cos(angle), cy + r * np.sin(angle)), r * 0.18, fill=dr.mix(colour, (255, 255, 255), k / count))
        elif pattern == "rings":
            dr.circle(draw, (cx, cy), r * (1 - k / count), outline=dr.random_colour(rng), width=max(1, int(r / count / 2)))
        elif pattern == "wheel":
            hue = dr.random_colour(rng, (0.3, 0.7), (0.8, 1))
            draw.pieslice((cx - r, cy - r, cx + r, cy + r), 360 * k / count, 360 * (k + 1) / count, fill=hue, outline=(255, 255, 255))
        else:
            x, y, s = between(rng, 0, w), between(rng, 0, h), min(w, h) * between(rng, 0.03, 0.15)
            draw.regular_polygon((x, y, s), randint(rng, 3, 8), rotation=between(rng, 0, 90), fill=dr.random_colour(rng))
    return image


def _window_bar(c: Canvas, box: tuple[float, float, float, float], title: str, colour: RGB, mac: bool) -> None:
    """A desktop window title bar across `box` (macOS traffic lights or Windows buttons)."""
    x0, y0, x1, y1 = box
    c.draw.rectangle(box, fill=colour)
    ink = dr.ink_on(colour)
    cy = (y0 + y1) / 2
    if mac:
        for k, dot in enumerate(((255, 95, 87), (254, 188, 46), (40, 200, 64))):
            dr.circle(c.draw, (x0 + c.px(16 + 20 * k), cy), c.px(6), fill=dot)
        c.text(((x0 + x1) / 2, cy), title, 12.5, ink, anchor="mm")
        return
    c.text((x0 + c.px(10), cy), title, 12, ink, anchor="lm")
    for k, glyph in enumerate(("✕", "□", "–")):
        c.text((x1 - c.px(22 + 42 * k), cy), glyph, 12, ink, anchor="mm")


def _app_window(c: Canvas, rng: np.random.Generator, bar: RGB) -> tuple[float, float, float, float]:
    """A desktop tool around the scene: title and menu bars, a side panel of controls, tabs.

    Returns the box left for the scene (tab page). Both classes get this frame, so a
    chart inside a home-made analysis tool is still a chart and a form is not.
    """
    pal = _ui_palette(rng)
    pal["bg"] = c.image.getpixel((0, 0))
    pal.update(text=dr.ink_on(pal["bg"]), panel=dr.mix(pal["bg"], dr.ink_on(pal["bg"]), 0.06))
    pal.update(muted=dr.mix(pal["text"], pal["bg"], 0.45), border=dr.mix(pal["text"], pal["bg"], 0.7), input=pal["panel"])
    _window_bar(c, (0, 0, c.w, c.px(30)), pick(rng, ("Stock price forecast tool", "Backtester", "Crypto Analyzer",
                                                     "Portfolio Manager", "Trading Bot v2")), bar, chance(rng, 0.3))
    x = c.px(12)
    for item in ("File", "Edit", "View", "Data", "Help")[: randint(rng, 2, 5)]:
        x += c.text((x, c.px(44)), item, 12, pal["text"], anchor="lm") + c.px(22)
    side = c.w * between(rng, 0.2, 0.32)
    left = chance(rng, 0.75)
    x0, x1 = (c.px(10), side) if left else (c.w - side, c.w - c.px(10))
    y, size = c.px(64), between(rng, 11, 13)
    while y < c.h - c.px(60):
        heading = pick(rng, ("Choose ticker:", "Indicator setup:", "Date range:", "Parameters", "Strategy", "Symbols"))
        c.draw.rounded_rectangle((x0, y, x1, y + c.px(20)), radius=c.px(5), fill=dr.mix(pal["accent"], pal["bg"], 0.5))
        c.text((x0 + c.px(8), y + c.px(10)), heading, size, dr.ink_on(dr.mix(pal["accent"], pal["bg"], 0.5)), anchor="lm")
        y += c.px(26)
        if chance(rng, 0.5):  # a list box with one row selected
            rows = randint(rng, 3, 7)
            c.draw.rectangle((x0, y, x1, y + c.px(18) * rows + c.px(4)), fill=pal["input"], outline=pal["border"])
            chosen = randint(rng, 0, rows - 1)
            for k in range(rows):
                top = y + c.px(2) + c.px(18) * k
                if k == chosen:
                    c.draw.rectangle((x0 + c.px(2), top, x1 - c.px(2), top + c.px(18)), fill=pal["accent"])
                c.text((x0 + c.px(6), top + c.px(9)), pick(rng, dr.TICKERS), size, dr.ink_on(pal["accent"]) if k == chosen else pal["text"], anchor="lm")
            y += c.px(18) * rows + c.px(14)
        else:  # labelled inputs and check boxes
            for _ in range(randint(rng, 1, 3)):
                c.text((x0, y + c.px(8)), dr.words(rng, randint(rng, 1, 3)).capitalize() + ":", size, pal["text"], anchor="lm")
                _field(c, pal, (x0, y + c.px(18), x1, y + c.px(40)), pick(rng, (f"{dr.moment(rng):%Y. %m. %d.}", str(randint(rng, 5, 200)), "Close")), size, False)
                y += c.px(48)
            for _ in range(randint(rng, 0, 2)):
                c.draw.rectangle((x0, y, x0 + c.px(13), y + c.px(13)), outline=pal["muted"], fill=pal["input"])
                c.text((x0 + c.px(20), y + c.px(7)), pick(rng, ("Today", "Tomorrow", "Log scale", "Show volume", "Live")), size, pal["text"], anchor="lm")
                y += c.px(22)
            y += c.px(8)
    if chance(rng, 0.7):
        _button(c, (x0, c.h - c.px(44), x1, c.h - c.px(16)), pick(rng, ("Calculate", "Run", "Start", "Update")), pal["accent"], 12)
    page_x0, page_x1 = (side + c.px(12), c.w - c.px(6)) if left else (c.px(6), c.w - side - c.px(12))
    tab_y = c.px(60)
    x = page_x0
    for k, tab in enumerate(pick(rng, (("Indicator settings", "Histogram", "Chart"), ("Overview", "Results", "Log"), ("Data", "Plot")))):
        width = c.font(12).getlength(tab) + c.px(20)
        c.draw.rectangle((x, tab_y, x + width, tab_y + c.px(22)), fill=pal["bg"] if k == 0 else pal["panel"], outline=pal["border"])
        c.text((x + width / 2, tab_y + c.px(11)), tab, 12, pal["text"], anchor="mm")
        x += width
    return page_x0, tab_y + c.px(30), page_x1, c.h - c.px(8)


def _ui(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """App and desktop screens without charts: dialogs, sign-in, wallets, order forms, dashboards."""
    pal = _ui_palette(rng)
    c = Canvas(size, pal["bg"], scale)
    draw_screen = pick(rng, (_settings_dialog, _sign_in, _wallet, _order_form, _dashboard))
    draw_screen(c, rng, pal)
    return c.image


def _settings_dialog(c: Canvas, rng: np.random.Generator, pal: Palette) -> None:
    """A desktop settings dialog: title bar, tabs, labelled inputs, checkboxes, OK/Cancel."""
    _window_bar(
        c,
        (0, 0, c.w, c.px(30)),
        pick(rng, ("Connection Settings", "Options", "Preferences", "Expert Properties", "Alert")),
        dr.mix(pal["bg"], pal["text"], 0.1),
        chance(rng, 0.4),
    )
    x = c.px(12)
    for k, tab in enumerate(
        pick(rng, (("General", "Inputs", "Colors", "Visualization"), ("Server", "Charts", "Trade", "Events", "Email")))
    ):
        width = c.font(12).getlength(tab) + c.px(20)
        c.draw.rectangle((x, c.px(40), x + width, c.px(64)), fill=pal["bg"] if k == 0 else pal["panel"], outline=pal["border"])
        c.text((x + width / 2, c.px(52)), tab, 12, pal["text"], anchor="mm")
        x += width
    y, size = c.px(80), between(rng, 11, 13.5)
    while y < c.h - c.px(70):
        label = dr.words(rng, randint(rng, 1, 4)).capitalize()
        c.text((c.px(20), y + c.px(11)), label, size, pal["text"], anchor="lm")
        if chance(rng, 0.3):
            c.draw.rectangle(
                (c.w * 0.45, y + c.px(4), c.w * 0.45 + c.px(14), y + c.px(18)),
                outline=pal["muted"],
                fill=pal["accent"] if chance(rng, 0.5) else pal["input"],
            )
        else:
            _field(
                c,
                pal,
                (c.w * 0.45, y, c.w - c.px(20), y + c.px(24)),
                pick(rng, (f"{between(rng, 0, 500):.2f}", dr.words(rng, 2), str(randint(rng, 1, 9999)), "true", "Smoothed")),
                size,
                placeholder=False,
            )
        y += c.px(between(rng, 30, 38))
    for k, label in enumerate(("Cancel", "OK")):
        x1 = c.w - c.px(16 + 100 * (1 - k))
        c.draw.rectangle((x1 - c.px(88), c.h - c.px(44), x1, c.h - c.px(16)), fill=pal["panel"], outline=pal["muted"])
        c.text((x1 - c.px(44), c.h - c.px(30)), label, 12, pal["text"], anchor="mm")


def _sign_in(c: Canvas, rng: np.random.Generator, pal: Palette) -> None:
    """A centred sign-in / verification card."""
    width = min(c.w - c.px(40), c.px(between(rng, 340, 460)))
    x0, y0 = (c.w - width) / 2, max(c.px(20), c.h * between(rng, 0.08, 0.2))
    card = pal["panel"] if chance(rng, 0.6) else pal["bg"]
    c.draw.rounded_rectangle((x0, y0, x0 + width, c.h - y0), radius=c.px(12), fill=card, outline=pal["border"])
    x, y = x0 + c.px(24), y0 + c.px(26)
    _mark(c, rng, (c.w / 2, y + c.px(20)), c.px(20), pal["accent"], card, _brand(rng)[0])
    y += c.px(56)
    c.text(
        (c.w / 2, y),
        pick(rng, ("Sign in", "Create your login", "Account verification", "Welcome back")),
        22,
        pal["text"],
        "sans-bold",
        anchor="ma",
    )
    y = c.paragraph(x, y + c.px(40), width - c.px(48), dr.sentence(rng, 8, 20), 12.5, pal["muted"])
    for label in pick(rng, (("Email", "Password"), ("Phone number", "Verification code"), ("Username", "Password", "2FA code"))):
        if y > c.h - y0 - c.px(120):
            break
        c.text((x, y + c.px(10)), label, 12.5, pal["text"])
        _field(c, pal, (x, y + c.px(30), x0 + width - c.px(24), y + c.px(66)), "Enter " + label.lower(), 12.5, placeholder=True)
        y += c.px(80)
    _button(
        c,
        (x, y + c.px(6), x0 + width - c.px(24), y + c.px(46)),
        pick(rng, ("Sign in", "Submit", "Continue", "Log In")),
        pal["accent"],
        14,
        8,
    )


def _wallet(c: Canvas, rng: np.random.Generator, pal: Palette) -> None:
    """A wallet app: big balance, round action buttons and a token list."""
    c.text((c.px(20), c.px(18)), pick(rng, ("Wallet 1", "Balance", "Portfolio", "Main account")), 16, pal["muted"])
    balance = 10 ** between(rng, 2, 6)
    c.text((c.w / 2, c.px(60)), f"${balance:,.2f}", between(rng, 28, 40), pal["text"], "sans-bold", anchor="ma")
    change = rng.normal(0, 4)
    c.text((c.w / 2, c.px(112)), f"{change:+.2f}% today", 13, pal["up"] if change >= 0 else pal["down"], anchor="ma")
    actions = ("Send", "Receive", "Swap", "Buy")
    for k, label in enumerate(actions):
        cx = c.w * (k + 0.5) / len(actions)
        dr.circle(c.draw, (cx, c.px(160)), c.px(22), fill=pal["accent"] if k == 0 else pal["panel"])
        dr.icon(
            c.draw,
            pick(rng, ("plus", "share", "repeat", "lock")),
            (cx - c.px(9), c.px(151), cx + c.px(9), c.px(169)),
            pal["text"] if k else dr.ink_on(pal["accent"]),
        )
        c.text((cx, c.px(192)), label, 12, pal["text"], anchor="ma")
    y = c.px(230)
    while y < c.h - c.px(60):
        ticker = pick(rng, dr.TICKERS)[:4]
        _coin_icon(c, (c.px(38), y + c.px(22)), c.px(18), dr.random_colour(rng), ticker[0])
        c.text((c.px(66), y + c.px(6)), ticker, 14.5, pal["text"], "sans-bold")
        c.text((c.px(66), y + c.px(26)), f"${between(rng, 0.1, 900):,.2f}", 12, pal["muted"])
        c.text((c.w - c.px(20), y + c.px(6)), f"{10 ** between(rng, -2, 4):,.4f}", 14.5, pal["text"], anchor="ra")
        move = rng.normal(0, 3)
        c.text((c.w - c.px(20), y + c.px(26)), f"{move:+.2f}%", 12, pal["up"] if move >= 0 else pal["down"], anchor="ra")
        y += c.px(58)


def _order_form(c: Canvas, rng: np.random.Generator, pal: Palette) -> None:
    """An exchange order entry panel (buy/sell, inputs, percent chips) beside an order book."""
    form_w = c.w if c.w < 700 else c.w * between(rng, 0.45, 0.6)
    if form_w < c.w:
        _side_table(c, rng, (form_w + c.px(10), 0, c.w, c.h), pal, between(rng, 11, 13))
    buy = chance(rng, 0.6)
    half = form_w / 2
    for k, label in enumerate(("Buy", "Sell")):
        active = (k == 0) == buy
        fill = (pal["up"] if k == 0 else pal["down"]) if active else pal["panel"]
        c.draw.rectangle((k * half + c.px(12), c.px(12), (k + 1) * half - c.px(4), c.px(48)), fill=fill)
        c.text(((k + 0.5) * half + c.px(4), c.px(30)), label, 14, dr.ink_on(fill), "sans-bold", anchor="mm")
    y = c.px(64)
    for k, label in enumerate(("Limit", "Market", "Stop-limit")):
        c.text((c.px(16) + k * c.px(90), y), label, 13, pal["accent"] if k == 0 else pal["muted"], "sans-bold" if k == 0 else "sans")
    y += c.px(34)
    for label in ("Price", "Amount", "Total"):
        c.text((c.px(16), y), label, 12, pal["muted"])
        _field(
            c, pal, (c.px(16), y + c.px(20), form_w - c.px(12), y + c.px(56)), f"{between(rng, 0.01, 90000):,.2f}", 14, placeholder=False
        )
        y += c.px(72)
        if y > c.h - c.px(120):
            break
    for k, chip in enumerate(("25%", "50%", "75%", "100%")):
        x = c.px(16) + k * (form_w - c.px(28)) / 4
        c.draw.rounded_rectangle((x, y, x + (form_w - c.px(28)) / 4 - c.px(6), y + c.px(26)), radius=c.px(4), outline=pal["border"])
        c.text((x + (form_w - c.px(28)) / 8 - c.px(3), y + c.px(13)), chip, 11.5, pal["muted"], anchor="mm")
    _button(
        c,
        (c.px(16), y + c.px(40), form_w - c.px(12), y + c.px(84)),
        f"{'Buy' if buy else 'Sell'} {pick(rng, dr.TICKERS)[:4]}",
        pal["up"] if buy else pal["down"],
        15,
        6,
    )


def _dashboard(c: Canvas, rng: np.random.Generator, pal: Palette) -> None:
    """A web dashboard without charts: sidebar navigation, stat cards and a settings form."""
    side = c.w * between(rng, 0.16, 0.24) if c.w > 600 else 0
    if side:
        c.draw.rectangle((0, 0, side, c.h), fill=pal["panel"])
        c.text((c.px(16), c.px(18)), _brand(rng), 16, pal["text"], "sans-bold")
        for k in range(int((c.h - c.px(70)) / c.px(34))):
            y = c.px(64) + k * c.px(34)
            dr.icon(c.draw, pick(rng, dr.ICONS), (c.px(16), y, c.px(32), y + c.px(16)), pal["muted"])
            c.text(
                (c.px(42), y + c.px(8)),
                dr.words(rng, randint(rng, 1, 2)).capitalize(),
                12.5,
                pal["accent"] if k == 1 else pal["text"],
                anchor="lm",
            )
    x0 = side + c.px(20)
    c.text((x0, c.px(18)), pick(rng, ("Overview", "Settings", "Bot configuration", "Account")), 20, pal["text"], "sans-bold")
    cards = randint(rng, 2, 4)
    card_w = (c.w - x0 - c.px(20)) / cards
    for k in range(cards):
        box = (x0 + k * card_w, c.px(60), x0 + (k + 1) * card_w - c.px(12), c.px(140))
        c.draw.rounded_rectangle(box, radius=c.px(8), fill=pal["panel"], outline=pal["border"])
        c.text(
            (box[0] + c.px(12), box[1] + c.px(12)),
            pick(rng, ("Total trades", "Win rate", "Balance", "Open orders", "Uptime")),
            12,
            pal["muted"],
        )
        value = pick(rng, (f"{randint(rng, 1, 999)}", f"{between(rng, 30, 80):.1f}%", f"${between(rng, 100, 99999):,.2f}"))
        c.text(
            (box[0] + c.px(12), box[1] + c.px(38)),
            value,
            min(22, (box[2] - box[0] - c.px(24)) / (0.62 * len(value) * c.scale)),
            pal["text"],
            "sans-bold",
        )
    y = c.px(164)
    while y < c.h - c.px(50):
        c.text((x0, y + c.px(12)), dr.words(rng, randint(rng, 2, 5)).capitalize(), 13, pal["text"], anchor="lm")
        if chance(rng, 0.4):
            on = chance(rng, 0.5)
            knob_x = c.w - c.px(40) if on else c.w - c.px(60)
            c.draw.rounded_rectangle(
                (c.w - c.px(70), y + c.px(2), c.w - c.px(30), y + c.px(22)), radius=c.px(10), fill=pal["accent"] if on else pal["border"]
            )
            dr.circle(c.draw, (knob_x, y + c.px(12)), c.px(8), fill=(255, 255, 255))
        else:
            _field(
                c,
                pal,
                (c.w * 0.55, y, c.w - c.px(30), y + c.px(26)),
                pick(rng, (dr.words(rng, 2), f"{between(rng, 0, 100):.2f}", "Enabled")),
                12.5,
                placeholder=False,
            )
        y += c.px(40)


def _document(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """Text documents: news articles, plain docs, book pages, receipts, notebooks, terminal logs."""
    kind = pick(rng, ("news", "doc", "book", "receipt", "notebook", "terminal"))
    if kind == "terminal":
        return _terminal_log(rng, size, scale)
    if kind == "receipt":
        return _receipt(rng, size, scale)
    if kind == "notebook":
        return _notebook(rng, size, scale)
    papers = {
        "news": ((255, 255, 255), (250, 249, 245)),
        "doc": ((255, 255, 255), (250, 250, 250), (30, 30, 30), (205, 205, 205), dr.random_colour(rng, (0.1, 0.5), (0.85, 1))),
        "book": ((243, 234, 210), (250, 246, 235), (255, 255, 255)),
    }
    paper = pick(rng, papers[kind])
    c = Canvas(size, paper, scale)
    ink = dr.ink_on(paper)
    margin = c.w * between(rng, 0.06, 0.14)
    y = c.px(20)
    body_face = "sans" if kind == "doc" else pick(rng, ("times", "serif"))
    if kind == "news":
        c.text(
            (c.w / 2, y),
            pick(rng, ("The Daily Ledger", "The Market Times", "Financial Herald", "The Morning Post")),
            30,
            ink,
            "times-bold",
            anchor="ma",
        )
        y += c.px(48)
        c.draw.line((margin, y, c.w - margin, y), fill=ink)
        y += c.px(8)
        c.text((c.w / 2, y), pick(rng, ("OPINION", "MARKETS", "ECONOMY", "CLIMATE")), 11, (180, 30, 30), "sans-bold", anchor="ma")
        y += c.px(26)
    headline_size = between(rng, 20, 36) if kind != "doc" else between(rng, 18, 26)
    y = c.paragraph(
        margin,
        y,
        c.w - 2 * margin,
        dr.sentence(rng, 5, 12),
        headline_size,
        ink,
        "times-bold" if kind == "news" else "sans-bold" if kind == "doc" else "serif-bold",
        leading=1.2,
    )
    if kind == "news":
        y = c.paragraph(margin, y + c.px(8), c.w - 2 * margin, dr.sentence(rng, 10, 20), 15, dr.mix(ink, paper, 0.25), "times-italic")
        c.text(
            (margin, y + c.px(8)),
            f"By {dr.person(rng)[0].upper()}  |  {pick(rng, ('Feb', 'Jul', 'Nov'))} {randint(rng, 1, 28)}, {randint(rng, 2015, 2025)}",
            11,
            ink,
            "sans-bold",
        )
        y += c.px(36)
        if chance(rng, 0.35):
            height = (c.w - 2 * margin) * 0.45
            c.paste_fit(dr.photo(rng, (int(c.w - 2 * margin), int(height))), (int(margin), int(y), int(c.w - margin), int(y + height)))
            y += height + c.px(12)
    size_pt = between(rng, 11, 15)
    while y < c.h - c.px(30):
        if kind == "doc" and chance(rng, 0.25):
            y = c.paragraph(margin, y, c.w - 2 * margin, dr.words(rng, randint(rng, 2, 5)).title(), size_pt * 1.3, ink, "sans-bold") + c.px(
                4
            )
        if kind == "doc" and chance(rng, 0.3):
            for _ in range(randint(rng, 2, 5)):
                c.text((margin + c.px(6), y), "•", size_pt, ink)
                y = c.paragraph(margin + c.px(22), y, c.w - 2 * margin - c.px(22), dr.sentence(rng), size_pt, ink, body_face)
        y = c.paragraph(
            margin, y, c.w - 2 * margin, dr.paragraph(rng, randint(rng, 2, 5)), size_pt, ink, body_face, leading=between(rng, 1.3, 1.6)
        ) + c.px(size_pt * 0.8)
    if kind == "book":
        c.text((c.w / 2, c.h - c.px(14)), str(randint(rng, 2, 400)), 11, ink, "serif", anchor="md")
    return c.image


def _receipt(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """A till receipt: narrow paper on a table, monospace items, totals and a barcode."""
    table = dr.photo(rng, size) if chance(rng, 0.4) else Image.new("RGB", size, pick(rng, ((90, 70, 55), (200, 200, 200), (40, 40, 40))))
    c = Canvas(size, (0, 0, 0), scale)
    c.image.paste(table)
    width = c.w * between(rng, 0.45, 0.85)
    x0, x1 = (c.w - width) / 2, (c.w + width) / 2
    c.draw.rectangle((x0, c.px(10), x1, c.h - c.px(10)), fill=pick(rng, ((250, 250, 245), (240, 238, 230))))
    ink = (40, 40, 45)
    fnt = c.font(between(rng, 10, 13), "mono")
    y = c.px(24)
    for line in (
        _brand(rng).upper(),
        f"{randint(rng, 1, 99)} {dr.words(rng, 2).title()} St.",
        f"Tel: {randint(rng, 100, 999)}-{randint(rng, 1000, 9999)}",
        "TAX INVOICE",
    ):
        c.draw.text((c.w / 2, y), line, font=fnt, fill=ink, anchor="ma")
        y += fnt.size * 1.4
    total = 0.0
    while y < c.h - c.px(130):
        if chance(rng, 0.12):
            dr.dashed(c.draw, (x0 + c.px(10), y + fnt.size * 0.7), (x1 - c.px(10), y + fnt.size * 0.7), ink)
        price = between(rng, 0.5, 60)
        total += price
        c.draw.text(
            (x0 + c.px(12), y), dr.words(rng, randint(rng, 1, 3)).upper()[: int(width / fnt.getlength("M")) - 10], font=fnt, fill=ink
        )
        c.draw.text((x1 - c.px(12), y), f"{price:.2f}", font=fnt, fill=ink, anchor="ra")
        y += fnt.size * 1.4
    c.draw.text((x0 + c.px(12), y + c.px(8)), "TOTAL", font=dr.font("mono-bold", fnt.size + 2), fill=ink)
    c.draw.text((x1 - c.px(12), y + c.px(8)), f"{total:.2f}", font=dr.font("mono-bold", fnt.size + 2), fill=ink, anchor="ra")
    x = int(x0 + width * 0.2)
    while x < x1 - width * 0.2:  # barcode
        bar = c.px(pick(rng, (1, 1, 2, 3)))
        c.draw.rectangle((x, c.h - c.px(70), x + bar - 1, c.h - c.px(30)), fill=ink)
        x += bar + c.px(pick(rng, (1, 2, 3)))
    return c.image


_CODE_LINES = (
    "import pandas as pd",
    "import numpy as np",
    "df = pd.read_csv('prices.csv', parse_dates=['Date'])",
    "df['returns'] = df['Close'].pct_change()",
    "model.fit(X_train, y_train, epochs=50)",
    "print(df.describe())",
    "for symbol in symbols:",
    "    data[symbol] = client.get_klines(symbol, interval='1h')",
    "def sharpe(r):",
    "    return np.sqrt(252) * r.mean() / r.std()",
    "signals = np.where(fast > slow, 1, -1)",
    "df.head(10)",
)


def _notebook(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """A Jupyter-like notebook: In[]/Out[] prompts, grey code cells, printed output."""
    c = Canvas(size, (255, 255, 255), scale)
    pal = {
        "bg": (255, 255, 255),
        "panel": (245, 245, 245),
        "text": (20, 20, 20),
        "muted": (110, 110, 110),
        "border": (225, 225, 225),
        "up": (0, 128, 0),
        "down": (200, 0, 0),
    }
    y, cell = c.px(14), 1
    keyword = (0, 128, 0)
    while y < c.h - c.px(60):
        lines = [pick(rng, _CODE_LINES) for _ in range(randint(rng, 1, 4))]
        height = c.px(10 + 18 * len(lines))
        c.text((c.px(8), y + c.px(6)), f"In [{cell}]:", 12, (48, 63, 159), "mono")
        c.draw.rectangle((c.px(80), y, c.w - c.px(12), y + height), fill=(247, 247, 247), outline=(224, 224, 224))
        for k, line in enumerate(lines):
            c.text(
                (c.px(88), y + c.px(5 + 18 * k)),
                line,
                12,
                keyword if line.split(" ")[0] in ("import", "for", "def", "print(df.describe())") else (30, 30, 30),
                "mono",
            )
        y += height + c.px(10)
        if chance(rng, 0.5):
            header, rows, colours = _number_rows(rng, pal, randint(rng, 3, 8), min(6, int((c.w - c.px(100)) / c.px(90))), "dataframe")
            bottom = min(c.h - c.px(8), y + c.px(30) * (len(rows) + 1))
            _grid_table(c, (c.px(80), y, c.w - c.px(12), bottom), header, rows, colours, pal, 11.5, ruled=False, zebra=True)
            y = bottom + c.px(10)
        cell += randint(rng, 1, 3)
    return c.image


def _terminal_table(c: Canvas, rng: np.random.Generator, y: float, fnt: ImageFont.FreeTypeFont, text: RGB) -> None:
    """A trading bot's live ticker table in a terminal: aligned columns, coloured changes and cells."""
    up, down = pick(rng, dr.UP_DOWN)
    price = 10 ** between(rng, -3, 4)
    while y < c.h - fnt.size:
        change = rng.normal(0, 2)
        price *= 1 + change / 100
        cells = (
            f"{dr.moment(rng):%H:%M:%S}",
            f"{price:>12.6f}",
            f"{10 ** between(rng, 0, 5):>10.2f}",
            f"{change:+6.2f}%",
            pick(rng, ("BTC", "USDT", "ETH")),
        )
        x = c.px(8)
        for k, cell in enumerate(cells):
            colour = (up if change >= 0 else down) if k == 3 else text
            if k == 3 and abs(change) > 2.5:
                c.draw.rectangle((x, y, x + fnt.getlength(cell), y + fnt.size * 1.2), fill=colour)
                colour = (0, 0, 0)
            c.draw.text((x, y), cell, font=fnt, fill=colour)
            x += fnt.getlength(cell) + fnt.getlength("  ")
        y += fnt.size * 1.35


def _terminal_log(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """Terminal output: timestamped, colour-coded bot logs or a JSON dump."""
    bg = pick(rng, ((0, 0, 0), (30, 30, 30), (40, 42, 54), (1, 36, 86), (12, 12, 12)))
    c = Canvas(size, bg, scale)
    fnt = c.font(between(rng, 10.5, 14), "mono")
    levels = {"INFO": (80, 200, 120), "WARN": (230, 190, 60), "ERROR": (240, 80, 80), "DEBUG": (120, 160, 230)}
    y = c.px(8)
    if chance(rng, 0.4):
        _window_bar(c, (0, 0, c.w, c.px(26)), "bash — 120×40", dr.mix(bg, (255, 255, 255), 0.15), mac=True)
        y = c.px(34)
    text = pick(rng, ((204, 204, 204), (230, 230, 230), (0, 255, 0)))
    if chance(rng, 0.35):
        _terminal_table(c, rng, y, fnt, text)
        return c.image
    while y < c.h - fnt.size:
        level = weighted(rng, {"INFO": 0.6, "WARN": 0.15, "ERROR": 0.1, "DEBUG": 0.15})
        stamp = f"{dr.moment(rng):%Y-%m-%d %H:%M:%S}"
        x = c.px(8)
        for part, colour in (
            (stamp, dr.mix(text, bg, 0.4)),
            (f"[{level}]", levels[level]),
            (
                pick(
                    rng,
                    (
                        dr.sentence(rng, 3, 9),
                        f"{pick(rng, dr.TICKERS)} {pick(rng, ('BUY', 'SELL'))} {between(rng, 0.01, 5):.4f} @ {between(rng, 1, 60000):.2f}",
                        f"Gains since start: {between(rng, -5, 20):.2f}%",
                    ),
                ),
                text,
            ),
        ):
            c.draw.text((x, y), part, font=fnt, fill=colour)
            x += fnt.getlength(part) + fnt.getlength(" ")
        y += fnt.size * 1.35
    return c.image


def _grid(rng: np.random.Generator, size: tuple[int, int], scale: float, cells: tuple[Scene, ...]) -> Image.Image:
    """Small multiples: a screener or gallery page, filter rows over a grid of cells of one class."""
    pal = _ui_palette(rng)
    c = Canvas(size, pal["bg"], scale)
    top = 0
    if chance(rng, 0.6):  # screener filters: labels with drop-downs
        y = c.px(8)
        for _ in range(randint(rng, 1, 4)):
            x = c.px(8)
            while x < c.w - c.px(200):
                x += c.text((x, y + c.px(11)), dr.words(rng, randint(rng, 1, 3)).capitalize(), 11, pal["text"], anchor="lm") + c.px(6)
                _field(c, pal, (x, y, x + c.px(100), y + c.px(22)), pick(rng, ("Any", "Price above SMA50", "Over 1M")), 11, False)
                x += c.px(116)
            y += c.px(28)
        top = y + c.px(6)
    gap = c.px(pick(rng, (2, 6, 12)))
    cols = max(1, min(randint(rng, 2, 4), int(c.w // 240)))
    rows = max(1, min(randint(rng, 1, 4), int((c.h - top) // 170)))
    cell_w, cell_h = (c.w - gap * (cols + 1)) / cols, (c.h - top - gap * (rows + 1)) / rows
    for i in range(rows):
        for j in range(cols):
            cell = pick(rng, cells)(rng, (int(cell_w), int(cell_h)), scale * between(rng, 0.6, 0.9))
            c.image.paste(cell, (int(gap + j * (cell_w + gap)), int(top + gap + i * (cell_h + gap))))
    return c.image


def _chart_grid(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """A screener page of small price charts (finviz, TradingView watchlists)."""
    return _grid(rng, size, scale, (_price_chart, _price_chart, _series_chart))


def _gallery(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """The same page layout filled with photos, logos, tweets and app screens."""
    return _grid(rng, size, scale, (_photo, _logo, _tweet, _ui, _table))


# ======================================================================================
# Shared by both classes: canvas, frame, wear, encoding
# ======================================================================================

CHART_SCENES: dict[str, tuple[float, Scene]] = {
    "price": (0.55, _price_chart),
    "series": (0.26, _series_chart),
    "matplotlib": (0.09, _matplotlib_chart),
    "mplfinance": (0.05, _mplfinance_chart),
    "terminal": (0.05, _terminal_chart),
    "grid": (0.04, _chart_grid),
}
NON_CHART_SCENES: dict[str, tuple[float, Scene]] = {
    "photo": (0.2, _photo),
    "ui": (0.16, _ui),
    "table": (0.14, _table),
    "document": (0.14, _document),
    "tweet": (0.08, _tweet),
    "chat": (0.08, _chat),
    "logo": (0.09, _logo),
    "meme": (0.06, _meme),
    "illustration": (0.05, _illustration),
    "gallery": (0.04, _gallery),
}
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
_FRAME_TITLES = (
    "TradingView",
    "MetaTrader 5 - Demo",
    "Google Chrome",
    "Telegram",
    "Untitled - Notepad",
    "Excel",
    "Terminal",
    "Discord",
    "Binance",
    "Jupyter Notebook",
)
_URLS = (
    "tradingview.com/chart/",
    "x.com/home",
    "app.binance.com/en/trade",
    "finance.yahoo.com/quote/",
    "localhost:8501",
    "github.com/",
    "fred.stlouisfed.org/series/",
    "web.telegram.org/k/",
    "docs.google.com/spreadsheets/d/",
    "news.example.com/markets",
)
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


def _framed(rng: np.random.Generator, scene: Scene, size: tuple[int, int], scale: float) -> Image.Image:
    """Render `scene`, sometimes inside a window, browser, phone status bars or a plain margin."""
    w, h = size
    frame = weighted(rng, {"none": 0.5, "window": 0.1, "browser": 0.12, "app": 0.1 if w > 560 else 0.0,
                           "phone": 0.06 if h > 1.3 * w else 0.0, "margin": 0.13})
    if frame == "none":
        return scene(rng, size, scale)
    c = Canvas(size, pick(rng, ((255, 255, 255), (240, 240, 240), (32, 33, 36), (0, 0, 0), (200, 200, 200))), scale)
    bar = dr.mix(c.image.getpixel((0, 0)), (128, 128, 128), between(rng, 0.1, 0.3))
    if frame == "window":
        inner = (c.px(2), c.px(30), w - c.px(2), h - c.px(2))
        _window_bar(c, (0, 0, w, c.px(30)), pick(rng, _FRAME_TITLES), bar, chance(rng, 0.4))
    elif frame == "browser":
        inner = (0, c.px(74), w, h)
        _window_bar(c, (0, 0, w, c.px(34)), pick(rng, _FRAME_TITLES), bar, chance(rng, 0.5))
        c.draw.rectangle((0, c.px(34), w, c.px(74)), fill=dr.mix(bar, (255, 255, 255), 0.5))
        c.draw.rounded_rectangle((c.px(90), c.px(41), w - c.px(60), c.px(67)), radius=c.px(13), fill=dr.mix(bar, (255, 255, 255), 0.8))
        c.text((c.px(110), c.px(54)), "https://" + pick(rng, _URLS), 12.5, (60, 60, 60), anchor="lm")
    elif frame == "app":
        inner = _app_window(c, rng, bar)
    elif frame == "phone":
        inner = (0, c.px(30), w, h - c.px(22))
        ink = dr.ink_on(c.image.getpixel((0, 0)))
        c.text((c.px(22), c.px(15)), f"{dr.moment(rng):%H:%M}", 13, ink, "sans-bold", anchor="lm")
        c.draw.rounded_rectangle((w - c.px(40), c.px(9), w - c.px(16), c.px(21)), radius=c.px(3), outline=ink)
        c.draw.rounded_rectangle((w / 2 - c.px(60), h - c.px(12), w / 2 + c.px(60), h - c.px(8)), radius=c.px(2), fill=ink)
    else:
        pad_x, pad_y = int(w * between(rng, 0.02, 0.08)), int(h * between(rng, 0.02, 0.08))
        inner = (pad_x, pad_y, w - pad_x, h - pad_y)
    x0, y0, x1, y1 = (int(v) for v in inner)
    c.image.paste(scene(rng, (x1 - x0, y1 - y0), scale), (x0, y0))
    return c.image


def _wear(rng: np.random.Generator, image: Image.Image) -> Image.Image:
    """Same-odds-for-both-classes degradations: rescale, blur, noise, greyscale, earlier JPEG pass."""
    if chance(rng, 0.25):
        factor = between(rng, 0.5, 0.9) if chance(rng, 0.7) else between(rng, 1.15, 1.5)
        size = (max(64, int(image.width * factor)), max(64, int(image.height * factor)))
        image = image.resize(size, pick(rng, (Image.BILINEAR, Image.BICUBIC, Image.LANCZOS, Image.NEAREST)))
    if chance(rng, 0.1):
        image = image.filter(ImageFilter.GaussianBlur(between(rng, 0.4, 1.2)))
    if chance(rng, 0.1):
        noise = (rng.standard_normal((image.height, image.width, 1), dtype=np.float32) * between(rng, 2, 7)).astype(np.int16)
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
        image.save(buffer, "JPEG", quality=randint(rng, 60, 95), progressive=chance(rng, 0.3), subsampling=pick(rng, (0, 2, 2, 2)))
        return buffer.getvalue(), "jpg"
    if chance(rng, 0.3):
        image = image.convert("RGBA")
    image.save(buffer, "PNG", compress_level=pick(rng, (1, 3, 6)))
    return buffer.getvalue(), "png"


# ======================================================================================
# Public API
# ======================================================================================


def render_demo_image(seed: int, index: int) -> DemoImage:
    """The demo image number `index` of the dataset `seed` (pure: same inputs, same bytes)."""
    if seed < 0 or index < 0:
        raise ValueError(f"seed and index must be non-negative integers, got seed={seed}, index={index}")
    rng = np.random.default_rng([seed, index])
    label = _label(seed, index)
    _, scene = SCENES[label][_scene_kind(rng, label)]
    size, scale = _canvas(rng)
    data, extension = _encode(rng, _wear(rng, _framed(rng, scene, size, scale)))
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
