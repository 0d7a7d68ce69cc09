"""Chart scenes: price charts in trading-platform and plotting-library looks, economic and equity
series, terminal charts, genuine matplotlib and mplfinance renders, screener pages of small charts and research
reports' grids of small line plots."""

from __future__ import annotations

import dataclasses
import warnings

import mplfinance as mpf
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image, ImageDraw

from synthetic import toolkit as tk
from synthetic.framing import side_table, small_multiples
from synthetic.toolkit import RGB, Canvas, Palette, Pane, Scene, between, chance, pick, randint, weighted


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
        options["edge"] = tk.hex_colours(options["edge"])[0]
    return ChartTheme(*tk.hex_colours(base), tk.hex_colours(lines), **options)


CHART_THEMES = {  # background, plot area, text, grid (- for none), candle up, candle down | line colours
    "tradingview_dark": _theme(
        "#131722 #131722 #b2b5be #242833 #26a69a #ef5350 | #00e5ff #ffd600 #ff4081 #76ff03 #e040fb", **_PLATFORM
    ),
    "tradingview_light": _theme(
        "#ffffff #ffffff #131722 #f0f3fa #089981 #f23645 | #636efa #ef553b #00cc96 #ab63fa #ffa15a", **_PLATFORM
    ),
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
    "bloomberg": _theme(
        "#000000 #000000 #ffa500 #323232 #00dc5a #ff3c3c | #ffffff #00c8ff #ffa500", **_PLATFORM, face="mono"
    ),
    "navy": _theme(
        "#0d1e3c #10264c #becde6 #283e64 #50dc64 #f04646 | #00e5ff #ffd600 #ff4081 #76ff03 #e040fb", **_PLATFORM
    ),
    "matplotlib": _theme(
        "#ffffff #ffffff #000000 - #2ca02c #d62728 | #1f77b4 #ff7f0e #2ca02c #d62728 #9467bd", spines="box"
    ),
    "seaborn": _theme("#ffffff #eaeaf2 #282828 #ffffff #4c72b0 #c44e52 | #4c72b0 #dd8452 #55a868 #c44e52"),
    "ggplot": _theme("#ffffff #e5e5e5 #4d4d4d #ffffff #00ba38 #f8766d | #f8766d #00ba38 #619cff #b79f00 #f564e3"),
    "plotly": _theme("#ffffff #e5ecf6 #2a3f5f #ffffff #3d9970 #ff4136 | #636efa #ef553b #00cc96 #ab63fa #ffa15a"),
    "plotly_dark": _theme("#111111 #111111 #f2f5fa #283442 #00cc96 #ef553b | #636efa #ef553b #00cc96 #ab63fa #ffa15a"),
    "excel": _theme(
        "#ffffff #ffffff #595959 #d9d9d9 #70ad47 #c00000 | #4472c4 #ed7d31 #a5a5a5 #ffc000 #5b9bd5", spines="axes"
    ),
    "fred": _theme(
        "#e1e9f0 #ffffff #333333 #e1e1e1 #4572a7 #aa4643 | #4572a7 #aa4643 #89a54e", spines="axes", badge="FRED"
    ),
    "dark_lib": _theme(
        "#1e1e1e #1e1e1e #dcdcdc #464646 #00c878 #e63c3c | #00e5ff #ffd600 #ff4081 #76ff03 #e040fb", spines="box"
    ),
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
        changes["up"], changes["down"] = pick(rng, tk.UP_DOWN)
    if chance(rng, 0.25):
        changes["lines"] = pick(rng, tk.PALETTES)
    if chance(rng, 0.2):
        changes["axis_side"] = "left" if theme.axis_side == "right" else "right"
    if theme.grid is not None and chance(rng, 0.15):
        changes["grid"] = None
    if chance(rng, 0.3):
        changes["background"] = tk.jitter(rng, theme.background, 8)
    return dataclasses.replace(theme, **changes)


def _stack(
    box: tuple[float, float, float, float], weights: list[float], gap: float
) -> list[tuple[float, float, float, float]]:
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
    c: Canvas,
    theme: ChartTheme,
    pane: Pane,
    ticks: list[tuple[int, str]],
    size: float,
    x_labels: bool,
    suffix: str = "",
) -> None:
    """Plot-area fill, value labels, optional time labels and grid of one pane (drawn before data)."""
    fnt = c.font(size, theme.face)
    if theme.plot != theme.background:
        c.draw.rectangle((pane.x0, pane.y0, pane.x1, pane.y1), fill=theme.plot)
    count = max(2, min(8, int((pane.y1 - pane.y0) / (fnt.size * 3.5))))
    ys = tk.y_axis(c.draw, pane, fnt, theme.text, theme.axis_side, count, suffix)
    xs = tk.x_axis(c.draw, pane, ticks, fnt, theme.text) if x_labels else [float(pane.xs(i)) for i, _ in ticks]
    if theme.grid is not None:
        tk.grid(c.draw, pane, xs, ys, theme.grid, theme.dotted_grid)


def _spines(c: Canvas, theme: ChartTheme, pane: Pane) -> None:
    """Pane outline (box, left+bottom axes) or the platform-style axis separator line."""
    colour = tk.mix(theme.text, theme.background, 0.3)
    box = (pane.x0, pane.y0, pane.x1, pane.y1)
    if theme.spines == "box":
        c.draw.rectangle(box, outline=colour)
    elif theme.spines == "axes":
        c.draw.line((pane.x0, pane.y0, pane.x0, pane.y1, pane.x1, pane.y1), fill=colour)
    elif theme.platform:
        x = pane.x1 if theme.axis_side == "right" else pane.x0
        c.draw.line((x, pane.y0, x, pane.y1), fill=tk.mix(theme.text, theme.background, 0.75))


def _legend(
    c: Canvas, theme: ChartTheme, entries: list[tuple[str, RGB]], anchor: tuple[float, float], size: float
) -> None:
    """A legend box with a short line sample per entry, top-left corner at `anchor`."""
    fnt = c.font(size, theme.face)
    row = fnt.size * 1.5
    width = max(fnt.getlength(label) for label, _ in entries) + fnt.size * 3.5
    x, y = anchor
    if theme.spines != "none" or not theme.platform:
        c.draw.rectangle(
            (x, y, x + width, y + row * len(entries) + fnt.size * 0.4),
            fill=theme.plot,
            outline=tk.mix(theme.text, theme.plot, 0.7),
        )
    for i, (label, colour) in enumerate(entries):
        cy = y + fnt.size * 0.2 + row * (i + 0.5)
        c.draw.line((x + fnt.size * 0.4, cy, x + fnt.size * 2.2, cy), fill=colour, width=c.px(2))
        c.draw.text((x + fnt.size * 2.8, cy), label, font=fnt, fill=theme.text, anchor="lm")


def _vertical_text(
    c: Canvas, centre: tuple[float, float], text: str, size: float, fill: RGB, face: str = "sans"
) -> None:
    """Text rotated 90 degrees (y-axis titles), centred on `centre`."""
    fnt = c.font(size, face)
    mask = Image.new("L", (int(fnt.getlength(text)) + 2, int(fnt.size * 1.3)), 0)
    ImageDraw.Draw(mask).text((1, 0), text, font=fnt, fill=255)
    mask = mask.rotate(90, expand=True)
    c.image.paste(
        Image.new("RGB", mask.size, fill), (int(centre[0] - mask.width / 2), int(centre[1] - mask.height / 2)), mask
    )


def _watermark(c: Canvas, pane: Pane, text: str, colour: RGB, face: str) -> None:
    """Big faint ticker text in the middle of the pane (TradingView style)."""
    size = min((pane.x1 - pane.x0) / max(4, len(text)) * 1.4, (pane.y1 - pane.y0) / 3)
    fnt = tk.font(face + "-bold" if face == "sans" else face, int(size))
    c.draw.text(((pane.x0 + pane.x1) / 2, (pane.y0 + pane.y1) / 2), text, font=fnt, fill=colour, anchor="mm")


def _toolbar(
    c: Canvas, rng: np.random.Generator, theme: ChartTheme, box: tuple[float, float, float, float], ticker: str
) -> float:
    """A trading-app toolbar row (ticker, timeframes, icons) at the top of `box`; returns its height."""
    x0, y0, x1, _ = box
    height = c.px(between(rng, 30, 42))
    bar_bg = tk.mix(theme.background, theme.text, 0.06)
    c.draw.rectangle((x0, y0, x1, y0 + height), fill=bar_bg)
    c.draw.line((x0, y0 + height, x1, y0 + height), fill=tk.mix(theme.background, theme.text, 0.2))
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
        tk.icon(c.draw, kind, (x, cy - size, x + 2 * size, cy + size), theme.text)
        x += 2 * size + c.px(14)
    if chance(rng, 0.6):
        label = pick(rng, ("Publish", "Trade", "Buy / Sell", "Share", "Log in"))
        width = small.getlength(label) + c.px(20)
        c.draw.rounded_rectangle(
            (x1 - width - c.px(10), y0 + c.px(5), x1 - c.px(10), y0 + height - c.px(5)),
            radius=c.px(4),
            fill=theme.lines[0],
        )
        c.draw.text((x1 - width / 2 - c.px(10), cy), label, font=small, fill=tk.ink_on(theme.lines[0]), anchor="mm")
    return height


def _tool_strip(
    c: Canvas, rng: np.random.Generator, theme: ChartTheme, box: tuple[float, float, float, float]
) -> float:
    """A vertical strip of drawing-tool icons at the left of `box`; returns its width."""
    x0, y0, _, y1 = box
    width = c.px(between(rng, 32, 46))
    c.draw.rectangle((x0, y0, x0 + width, y1), fill=tk.mix(theme.background, theme.text, 0.05))
    y = y0 + c.px(10)
    while y + width < y1:
        tk.icon(
            c.draw,
            pick(rng, tk.ICONS),
            (x0 + width * 0.28, y, x0 + width * 0.72, y + width * 0.44),
            tk.mix(theme.text, theme.background, 0.2),
        )
        y += width
    return width


def _theme_palette(theme: ChartTheme) -> Palette:
    """Table colours derived from a chart theme (for side panels)."""
    bg = tk.mix(theme.background, theme.text, 0.04)
    return {
        "bg": bg,
        "text": theme.text,
        "muted": tk.mix(theme.text, bg, 0.45),
        "up": tk.UP_DOWN[0][0] if theme.edge else theme.up,
        "down": tk.UP_DOWN[0][1] if theme.edge else theme.down,
    }


def _app_chrome(
    c: Canvas, rng: np.random.Generator, theme: ChartTheme, ticker: str, size: float
) -> tuple[float, float, float, float]:
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
        side_table(c, rng, (x1 - width, y0, x1, y1), _theme_palette(theme), size)
        c.draw.line((x1 - width, y0, x1 - width, y1), fill=tk.mix(theme.background, theme.text, 0.2))
        x1 -= width
    return x0, y0, x1, y1


def _heading(
    c: Canvas,
    rng: np.random.Generator,
    theme: ChartTheme,
    box: tuple[float, float, float, float],
    title: str,
    bars: tk.Bars | None,
    size: float,
) -> float:
    """Platform OHLC header or library title at the top of `box`; returns the height used."""
    x0, y0, x1, _ = box
    if theme.platform and bars is not None:
        title_size = size * between(rng, 1.0, 1.25)
        x, y = x0 + c.px(8), y0 + c.px(6)
        x += c.text((x, y), title, title_size, theme.text, "sans-bold" if theme.face == "sans" else theme.face) + c.px(
            12
        )
        change = (bars.close[-1] / bars.open[-1] - 1) * 100
        colour = theme.edge or (theme.up if change >= 0 else theme.down)
        values = "  ".join(
            f"{k}{tk.fmt_number(v, thousands=False)}"
            for k, v in zip("OHLC", (bars.open[-1], bars.high[-1], bars.low[-1], bars.close[-1]))
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
    label = fnt.getlength(tk.fmt_number(hi)) + fnt.size * 1.2
    extra = fnt.size * 1.8 if y_title else 0
    x0, y0, x1, y1 = box
    left, right = (label + extra, fnt.size) if theme.axis_side == "left" else (fnt.size + extra, label)
    return x0 + left, y0, x1 - right, y1 - fnt.size * 2.4


def _price_chart(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """A price chart in a platform or library look: candles/bars/line/area, overlays and panes."""
    theme = _chart_theme(rng, PRICE_THEME_WEIGHTS)
    c = Canvas(size, theme.background, scale)
    text_size = between(rng, 9, 12.5)
    ticker, timeframe = pick(rng, tk.TICKERS), pick(rng, tuple(tk.TIMEFRAMES))
    box = _app_chrome(c, rng, theme, ticker, text_size)
    style = weighted(
        rng, {"candles": 0.45, "hollow": 0.07, "ohlc": 0.4 if theme.edge else 0.16, "line": 0.17, "area": 0.15}
    )
    spacing = between(rng, 3, 14) if style in ("candles", "hollow", "ohlc") else between(rng, 1, 6)
    n = max(12, int((box[2] - box[0]) * 0.85 / (spacing * scale)))
    bars = tk.ohlcv(rng, n)
    title = (
        f"{ticker} · {timeframe} · {pick(rng, EXCHANGES)}"
        if theme.platform
        else pick(
            rng,
            (
                f"{ticker} Price",
                f"{pick(rng, tk.COMPANIES)} Stock Price",
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
    ticks = tk.time_ticks(rng, n, max(2, int((plot_box[2] - plot_box[0]) / c.px(95))), timeframe)
    overlays = _price_overlays(rng, bars.close)
    main = Pane.fitted(boxes[0], n, bars.low, bars.high, *[s for _, s, _ in overlays])
    _axes_frame(c, theme, main, ticks, text_size, x_labels=not subpanes)
    if theme.platform and chance(rng, 0.25):
        _watermark(c, main, ticker, tk.mix(theme.plot, theme.text, 0.07), theme.face)
    if overlay_volume:
        vol_pane = Pane(main.x0, main.y0 + (main.y1 - main.y0) * 0.78, main.x1, main.y1, n, 0, float(bars.volume.max()))
        tk.columns(
            c.draw,
            vol_pane,
            bars.volume,
            [tk.mix(theme.edge or (theme.up if u else theme.down), theme.plot, 0.65) for u in bars.up],
        )
    _draw_price(c, rng, theme, main, bars, style, overlays)
    if theme.platform and chance(rng, 0.8):
        tk.price_tag(
            c.draw,
            main,
            float(bars.close[-1]),
            c.font(text_size, theme.face),
            theme.up if bars.up[-1] else theme.down,
            theme.axis_side,
        )
    _spines(c, theme, main)
    if y_title:
        x = main.x0 - c.px(text_size * 5.5) if theme.axis_side == "left" else main.x1 + c.px(text_size * 5.5)
        _vertical_text(
            c,
            (x, (main.y0 + main.y1) / 2),
            pick(rng, ("Price", "Price (USD)", "Close", "USD", "Price ($)")),
            text_size * 1.1,
            theme.text,
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
    palette = pick(rng, tk.PALETTES)
    for k, window in enumerate(
        sorted(
            rng.choice(
                [9, 20, 21, 50, 100, 200], size=weighted(rng, {0: 0.35, 1: 0.25, 2: 0.25, 3: 0.15}), replace=False
            )
        )
    ):
        window = int(min(window, max(3, len(close) // 3)))
        kind = pick(rng, ("SMA", "EMA", "MA"))
        series = tk.ema(close, window) if kind == "EMA" else tk.sma(close, window)
        overlays.append((f"{kind} {window}", series, palette[(k + 1) % len(palette)]))
    if chance(rng, 0.15):
        mid, upper, lower = tk.bollinger(close, min(20, max(3, len(close) // 4)))
        colour = palette[-1]
        overlays += [
            ("BB upper", upper, colour),
            ("", mid, tk.mix(colour, (128, 128, 128), 0.4)),
            ("BB lower", lower, colour),
        ]
    return overlays


def _draw_price(
    c: Canvas, rng: np.random.Generator, theme: ChartTheme, pane: Pane, bars: tk.Bars, style: str, overlays: list
) -> None:
    """The price series in `style` plus overlays, signals, levels and position boxes."""
    d = c.draw
    line_colour = theme.lines[0] if theme.edge is None else theme.edge
    bands = [s for label, s, _ in overlays if label.startswith("BB")]
    if len(bands) == 2 and chance(rng, 0.5):
        tk.band(d, pane, bands[0], bands[1], tk.mix(overlays[-1][2], theme.plot, 0.85))
    if chance(rng, 0.12):
        _position_box(c, rng, pane, bars.close, theme)
    if style == "area":
        tk.area(c.image, pane, bars.close, tk.mix(line_colour, theme.plot, 0.55), tk.mix(line_colour, theme.plot, 0.95))
    if style in ("line", "area"):
        tk.polyline(d, pane, bars.close, line_colour, c.px(between(rng, 1, 2.5)))
    elif style == "ohlc":
        tk.ohlc_bars(d, pane, bars, (theme.edge or theme.up, theme.edge or theme.down), width=c.px(1))
    else:
        fills = (theme.up, theme.down) if style == "candles" or theme.edge else (theme.plot, theme.down)
        edges = (theme.edge or theme.up, theme.edge or theme.down)
        tk.candles(d, pane, bars, fills, edges)
    for _, series, colour in overlays:
        tk.polyline(d, pane, series, colour, c.px(pick(rng, (1, 1, 1.5, 2))))
    if chance(rng, 0.15):
        _signals(c, rng, pane, bars)
    if chance(rng, 0.15):
        _trade_panel(c, rng, pane, bars.close, theme)
    for _ in range(weighted(rng, {0: 0.7, 1: 0.1, 2: 0.1, 3: 0.1})):
        level = float(np.quantile(bars.close, rng.random()))
        y = float(pane.ys(level))
        tk.dashed(
            d,
            (pane.x0, y),
            (pane.x1, y),
            pick(rng, theme.lines),
            width=c.px(1),
            dash=c.px(pick(rng, (3, 6, 10))),
            gap=c.px(3),
        )


def _signals(c: Canvas, rng: np.random.Generator, pane: Pane, bars: tk.Bars) -> None:
    """Buy/sell triangles under local lows and above local highs."""
    window = max(3, pane.n // 12)
    low_idx = [
        i for i in range(window, pane.n - window, window) if bars.low[i] == bars.low[i - window : i + window].min()
    ]
    high_idx = [
        i for i in range(window, pane.n - window, window) if bars.high[i] == bars.high[i - window : i + window].max()
    ]
    size = c.px(between(rng, 3.5, 6))
    tk.markers(c.draw, pane, np.array(low_idx, dtype=int), bars.low[low_idx], tk.UP_DOWN[0][0], size, pointing_up=True)
    tk.markers(
        c.draw, pane, np.array(high_idx, dtype=int), bars.high[high_idx], tk.UP_DOWN[0][1], size, pointing_up=False
    )


def _trade_panel(c: Canvas, rng: np.random.Generator, pane: Pane, close: np.ndarray, theme: ChartTheme) -> None:
    """A Pine-script style info box of trade-plan text over the chart, with price-label bubbles."""
    entry = float(close[-1])
    lines = [
        f"{pick(rng, tk.TICKERS)} | {pick(rng, ('Zone-Pyramid', 'Breakout', 'Mean reversion', 'Signal'))}",
        "=" * 22,
        f"ENTRY: {entry:.2f}",
        f"STOP LOSS: {entry * between(rng, 0.97, 1.03):.2f}",
        f"RISK: ${randint(rng, 50, 500)} (1.5%)",
        "TARGETS:",
    ] + [f"T{k + 1} (1:{k + 1}): {entry * between(rng, 0.95, 1.05):.2f}" for k in range(randint(rng, 1, 4))]
    fnt = c.font(between(rng, 8, 14), "mono")
    width = max(fnt.getlength(line) for line in lines) + c.px(16)
    height = len(lines) * fnt.size * 1.4 + c.px(12)
    x0 = pane.x0 + (pane.x1 - pane.x0 - width) * between(rng, 0.1, 0.9)
    y0 = pane.y0 + max(0.0, (pane.y1 - pane.y0 - height)) * between(rng, 0.0, 1.0)
    fill = pick(rng, ((33, 33, 33), (20, 24, 34), (250, 250, 250), tk.mix(theme.plot, theme.text, 0.1)))
    c.draw.rectangle((x0, y0, x0 + width, y0 + height), fill=fill, outline=tk.mix(fill, tk.ink_on(fill), 0.3))
    for k, line in enumerate(lines):
        c.draw.text((x0 + c.px(8), y0 + c.px(6) + k * fnt.size * 1.4), line, font=fnt, fill=tk.ink_on(fill))
    bubble = pick(rng, ((245, 124, 0), (255, 152, 0), (41, 98, 255), (233, 30, 99)))
    for _ in range(randint(rng, 0, 5)):
        i = randint(rng, pane.n // 2, pane.n - 1)
        bx, by = float(pane.xs(i)), float(pane.ys(float(close[i])))
        c.draw.rounded_rectangle((bx, by - c.px(24), bx + c.px(52), by - c.px(4)), radius=c.px(3), fill=bubble)
        c.text((bx + c.px(4), by - c.px(14)), f"{float(close[i]):.1f}", 8, tk.ink_on(bubble), anchor="lm")


def _position_box(c: Canvas, rng: np.random.Generator, pane: Pane, close: np.ndarray, theme: ChartTheme) -> None:
    """TradingView-style long/short position tool: profit and loss zones to the right."""
    start = randint(rng, pane.n // 2, pane.n - 2)
    entry = float(close[start])
    risk = float(np.std(close)) * between(rng, 0.2, 0.6)
    x0 = float(pane.xs(start))
    x1 = max(x0 + 1, pane.x1 - c.px(4))
    for top, bottom, colour in ((entry + 2 * risk, entry, tk.UP_DOWN[0][0]), (entry, entry - risk, tk.UP_DOWN[0][1])):
        c.draw.rectangle((x0, float(pane.ys(top)), x1, float(pane.ys(bottom))), fill=tk.mix(colour, theme.plot, 0.75))


def _indicator_pane(
    c: Canvas, theme: ChartTheme, kind: str, box: tuple, bars: tk.Bars, ticks: list, size: float, last: bool
) -> None:
    """A volume, RSI or MACD sub-pane under the main chart."""
    n = len(bars.close)
    colours = [theme.edge or (theme.up if u else theme.down) for u in bars.up]
    if kind == "volume":
        pane = Pane(*box, n=n, lo=0.0, hi=float(bars.volume.max()) * 1.05)
        _axes_frame(c, theme, pane, ticks, size, x_labels=last)
        tk.columns(c.draw, pane, bars.volume, colours)
    elif kind == "rsi":
        values = tk.rsi(bars.close)
        pane = Pane(*box, n=n, lo=0.0, hi=100.0)
        _axes_frame(c, theme, pane, ticks, size, x_labels=last)
        for level in (30, 70):
            tk.dashed(
                c.draw,
                (pane.x0, float(pane.ys(level))),
                (pane.x1, float(pane.ys(level))),
                tk.mix(theme.text, theme.plot, 0.5),
            )
        tk.polyline(c.draw, pane, values, theme.lines[1 % len(theme.lines)], c.px(1.2))
    else:
        line, signal, hist = tk.macd(bars.close)
        pane = Pane.fitted(box, n, line, signal, hist)
        _axes_frame(c, theme, pane, ticks, size, x_labels=last)
        tk.columns(
            c.draw,
            pane,
            hist,
            [theme.up if v >= 0 else theme.down for v in hist] if theme.edge is None else [theme.edge],
        )
        tk.polyline(c.draw, pane, line, theme.lines[0], c.px(1.2))
        tk.polyline(c.draw, pane, signal, theme.lines[1 % len(theme.lines)], c.px(1.2))
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
        slumps = tk.recessions(rng, n)
        values = [tk.econ_series(rng, n, slumps) for _ in range(weighted(rng, {1: 0.7, 2: 0.3}))]
        labels = [pick(rng, ECON_TITLES) for _ in values]
        return _Series(values, labels, labels[0], "1M", pick(rng, ("", "%")), slumps)
    if kind == "equity":
        equity = tk.equity_curve(rng, n)
        data = _Series(
            [equity],
            ["Strategy"],
            pick(rng, ("Equity Curve", "Portfolio Value", "Backtest Performance", "Cumulative Returns")),
            timeframe,
        )
        if chance(rng, 0.5):
            data.values.append(equity[0] * tk.price_path(rng, n, start=1.0))
            data.labels.append(pick(rng, ("Buy & Hold", "Benchmark", "SPY")))
        if chance(rng, 0.4):
            data.drawdown = equity / np.maximum.accumulate(equity) * 100 - 100
        return data
    if kind == "compare":
        tickers = [str(t) for t in rng.choice(tk.TICKERS, size=randint(rng, 2, 5), replace=False)]
        title = pick(rng, ("Relative Performance", "Normalized Prices (base 100)", "Stock Prices"))
        return _Series([100 * tk.price_path(rng, n, start=1.0) for _ in tickers], tickers, title, timeframe)
    if kind == "volatility":
        returns = np.diff(np.log(tk.price_path(rng, n + 1)))
        window = pick(rng, (20, 30))
        title = pick(rng, (f"{window}-Day Rolling Volatility", "Realized Volatility (annualized)"))
        return _Series(
            [np.sqrt(252) * 100 * np.sqrt(tk.sma(returns**2, window))], ["Rolling vol"], title, timeframe, "%"
        )
    actual = tk.price_path(rng, n)
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
        c.text(
            (c.w / 2, box[3] + c.px(text_size * 0.6)), pick(rng, ECON_SOURCES), text_size * 0.9, theme.text, anchor="ma"
        )
    y_title = chance(rng, 0.5)
    plot_box = _margins(c, theme, box, float(np.nanmax(data.values[0])), text_size, y_title)
    boxes = _stack(
        plot_box, [1.0] + ([between(rng, 0.25, 0.4)] if data.drawdown is not None else []), c.px(text_size * 1.6)
    )
    ticks = tk.time_ticks(rng, n, max(2, int((plot_box[2] - plot_box[0]) / c.px(90))), data.timeframe)
    pane = Pane.fitted(boxes[0], n, *data.values)
    _axes_frame(c, theme, pane, ticks, text_size, x_labels=data.drawdown is None, suffix=data.suffix)
    for start, end in data.recessions:
        c.draw.rectangle(
            (float(pane.xs(start)), pane.y0, float(pane.xs(end)), pane.y1),
            fill=tk.mix(theme.plot, (128, 128, 128), 0.25),
        )
    if pane.lo < 0 < pane.hi:
        c.draw.line((pane.x0, float(pane.ys(0)), pane.x1, float(pane.ys(0))), fill=tk.mix(theme.text, theme.plot, 0.3))
    width = c.px(pick(rng, (1, 1.5, 2, 2.5)))
    for values, colour in zip(data.values, theme.lines):
        tk.polyline(c.draw, pane, values, colour, width)
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
        tk.band(c.draw, sub, np.zeros(n), data.drawdown, tk.mix(tk.UP_DOWN[0][1], theme.plot, 0.45))
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
    up, down = pick(rng, tk.UP_DOWN)
    ticker = pick(rng, tk.TICKERS)
    bars = tk.ohlcv(rng, max(10, int(c.w / cell_w) - 12))
    change = (bars.close[-1] / bars.close[0] - 1) * 100
    c.draw.text(
        (cell_w, cell_h * 0.5),
        f"{ticker} | {tk.fmt_number(bars.close[-1])} ({change:+.2f}%) | Vol {tk.fmt_compact(bars.volume.sum())}",
        font=fnt,
        fill=up if change >= 0 else down,
    )
    x0, y0, x1, y1 = cell_w * 10, cell_h * 2.5, c.w - cell_w, c.h - cell_h * 2.5
    c.draw.rectangle((x0 - cell_w * 0.5, y0 - cell_h * 0.5, x1, y1 + cell_h * 0.5), outline=tk.mix(fg, background, 0.4))
    rows = int((y1 - y0) / cell_h)
    pane = Pane(x0, y0, x1 - cell_w, y0 + rows * cell_h, len(bars.close), float(bars.low.min()), float(bars.high.max()))
    for value in np.linspace(pane.lo, pane.hi, max(2, rows // 3)):
        c.draw.text(
            (cell_w, float(pane.ys(value))), tk.fmt_number(value, thousands=False)[:8], font=fnt, fill=fg, anchor="lm"
        )
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
    ticks = [(i, label.split("\n")[0]) for i, label in tk.time_ticks(rng, pane.n, 6, pick(rng, ("1H", "1D")))]
    tk.x_axis(c.draw, dataclasses.replace(pane, y1=y1 + cell_h * 0.5), ticks, fnt, fg)
    return c.image


def _set_margins(fig: Figure, size: tuple[int, int], scale: float, right_labels: bool, bottom: float) -> None:
    """Fixed pixel margins for tick labels and titles (cheaper than tight_layout, which draws twice)."""
    w, h = size
    side = 80 * scale / w
    fig.subplots_adjust(
        left=side,
        right=1 - (side if right_labels else 25 * scale / w),
        bottom=bottom * scale / h,
        top=1 - 36 * scale / h,
        hspace=0.12,
    )


def _figure_to_image(fig: Figure) -> Image.Image:
    """Render a matplotlib figure with Agg and return it as an RGB Pillow image.

    A pane too small for the tight layout (a research plot in a grid) keeps its margins, without a warning.
    """
    canvas = FigureCanvasAgg(fig)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Tight layout not applied", UserWarning)
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
    end = np.datetime64(tk.moment(rng).date())
    dates = end - np.arange(n)[::-1] * np.timedelta64(pick(rng, (1, 1, 7, 30)), "D")
    close = tk.price_path(rng, n)
    panes = {"price": 1, "econ": 1, "equity": 2, "indicator": randint(rng, 2, 3)}[kind]
    axes = fig.subplots(panes, 1, sharex=True, squeeze=False, height_ratios=[3, 1, 1.5][:panes])[:, 0]
    colours = ["#%02x%02x%02x" % c for c in pick(rng, tk.PALETTES)]
    ax = axes[0]
    if kind == "econ":
        slumps = tk.recessions(rng, n)
        ax.plot(dates, tk.econ_series(rng, n, slumps), color=colours[0], linewidth=between(rng, 1, 2.2))
        for start, end in slumps:
            ax.axvspan(dates[start], dates[end - 1], color="grey", alpha=0.3, linewidth=0)
        ax.set_title(pick(rng, ECON_TITLES))
    elif kind == "equity":
        equity = tk.equity_curve(rng, n)
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
            ax.plot(dates, tk.sma(close, int(window)), color=colours[k + 1], linewidth=1, label=f"SMA {window}")
        if chance(rng, 0.3):
            _, upper, lower = tk.bollinger(close)
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
            pick(
                rng,
                (
                    f"{pick(rng, tk.TICKERS)} Closing Price",
                    f"{pick(rng, tk.COMPANIES)} stock price",
                    "Price with moving averages",
                ),
            )
        )
        ax.set_ylabel(pick(rng, ("Price", "Price (USD)", "Close")))
        if kind == "indicator":
            axes[1].plot(dates, tk.rsi(close), color=colours[2], linewidth=1)
            axes[1].axhline(70, color="grey", linestyle="--", linewidth=0.8)
            axes[1].axhline(30, color="grey", linestyle="--", linewidth=0.8)
            axes[1].set_ylabel("RSI")
        if panes == 3:  # pyalgotrade-style backtest plot: price, oscillator, portfolio
            axes[2].plot(dates, tk.equity_curve(rng, n, start=1_000_000.0), color=colours[0], label="Portfolio")
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


_MPF_STYLES = (
    "binance",
    "blueskies",
    "charles",
    "checkers",
    "classic",
    "default",
    "ibd",
    "kenan",
    "mike",
    "nightclouds",
    "yahoo",
)


def _mplfinance_chart(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """A genuine mplfinance chart, drawn in external-axes mode on an object-oriented Figure."""
    base = pick(rng, _MPF_STYLES)
    style = mpf.make_mpf_style(base_mpf_style=base)
    look = _MPL_LOOKS[
        "dark"
        if base in ("mike", "nightclouds")
        else pick(rng, ("classic", "grid", "seaborn", "ggplot", "fivethirtyeight"))
    ]
    dpi = 100 * scale * between(rng, 0.8, 1.2)
    fig = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi, facecolor=look[0])
    n = randint(rng, 3, 20) if chance(rng, 0.25) else randint(rng, 30, 160)  # a handful of wide candles, or a run
    bars = tk.ohlcv(rng, n)
    index = pd.date_range(end=tk.moment(rng).date(), periods=n, freq=pick(rng, ("D", "B", "h", "W")))
    frame = pd.DataFrame(
        {"Open": bars.open, "High": bars.high, "Low": bars.low, "Close": bars.close, "Volume": bars.volume}, index=index
    )
    with_volume = chance(rng, 0.6)
    axes = fig.subplots(
        2 if with_volume else 1, 1, sharex=True, squeeze=False, height_ratios=[3, 1][: 1 + with_volume]
    )[:, 0]
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
    axes[0].set_title(f"{pick(rng, tk.TICKERS)} {pick(rng, ('Daily', 'Candlestick', '1h', 'Price'))}")
    for ax in axes:
        _style_axes(ax, look)
    _set_margins(fig, size, scale, right_labels=bool(style["y_on_right"]), bottom=60)
    return _figure_to_image(fig)


_RESEARCH_TITLES = ("Cumulative returns", "Strategy vs benchmark", "Monthly returns", "Underwater plot",
                    "Rolling Sharpe (6M)", "Signals", "Position", "Spread z-score", "Exposure", "Price and trades")


def _research_pane(ax, rng: np.random.Generator, dates: np.ndarray, colours: list[str]) -> None:
    """One pane of a quant-research figure: compared lines, a filled area, return bars or price with trades."""
    n = len(dates)
    kind = weighted(rng, {"lines": 0.35, "area": 0.2, "bars": 0.2, "trades": 0.15, "step": 0.1})
    if kind == "lines":
        names = [str(t) for t in rng.choice(tk.TICKERS, size=randint(rng, 2, 5), replace=False)]
        for name, colour in zip(names, colours):
            ax.plot(dates, 100 * tk.price_path(rng, n, start=1.0), color=colour, linewidth=between(rng, 0.8, 1.8),
                    label=name)
        ax.legend(loc=pick(rng, ("upper left", "lower left", "best")), fontsize="small")
    elif kind == "area":
        values = tk.equity_curve(rng, n)
        if chance(rng, 0.5):  # underwater: distance below the running peak
            values = 100 * (values / np.maximum.accumulate(values) - 1)
        base = 0.0 if values.min() < 0 else float(values.min())
        ax.fill_between(dates, values, base, color=colours[0], alpha=between(rng, 0.3, 0.9), linewidth=0)
        ax.plot(dates, values, color=colours[0], linewidth=1)
    elif kind == "bars":
        step = max(1, n // randint(rng, 12, 60))
        returns = rng.normal(0.5, 4.0, len(dates[::step]))
        up, down = pick(rng, tk.UP_DOWN)
        days = float((dates[min(step, n - 1)] - dates[0]) / np.timedelta64(1, "D")) or 1.0
        ax.bar(dates[::step], returns, width=0.8 * days,
               color=["#%02x%02x%02x" % (up if r >= 0 else down) for r in returns] if chance(rng, 0.6) else colours[0])
        ax.axhline(0, color="grey", linewidth=0.8)
    elif kind == "trades":
        close = tk.price_path(rng, n)
        ax.plot(dates, close, color=colours[0], linewidth=1)
        for marker, colour in (("^", "green"), ("v", "red")):
            at = rng.choice(n, size=randint(rng, 3, 25), replace=False)
            ax.scatter(dates[at], close[at], marker=marker, color=colour, s=40, zorder=3)
    else:
        ax.step(dates, np.cumsum(rng.choice([-1, 0, 0, 1], n)), color=colours[0], linewidth=1, where="post")
    ax.set_title(pick(rng, _RESEARCH_TITLES), fontsize="medium")


def _research_plot(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """A quant-research figure (backtest report, notebook output): stacked or gridded panes of different kinds."""
    dpi = 100 * scale * between(rng, 0.8, 1.2)
    look = _MPL_LOOKS[pick(rng, tuple(_MPL_LOOKS))]
    fig = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi, facecolor=look[0])
    rows, cols = pick(rng, ((2, 1), (3, 1), (4, 1), (2, 2), (1, 2), (3, 2)))
    axes = fig.subplots(rows, cols, squeeze=False, sharex=chance(rng, 0.6)).ravel()
    n = randint(rng, 60, 1000)
    end = np.datetime64(tk.moment(rng).date())
    dates = end - np.arange(n)[::-1] * np.timedelta64(pick(rng, (1, 1, 7)), "D")
    colours = ["#%02x%02x%02x" % c for c in pick(rng, tk.PALETTES)]
    for ax in axes:
        _research_pane(ax, rng, dates, colours)
        _style_axes(ax, look)
    if chance(rng, 0.5):
        fig.suptitle(pick(rng, ("Backtest report", "Strategy tear sheet", "Pairs trading", "Walk-forward results")),
                     color=look[3])
    fig.set_layout_engine("tight")
    return _figure_to_image(fig)


def _chart_grid(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """A screener page of small price charts (finviz, TradingView watchlists) or a research report's grid of
    small line plots (CPI components, rolling statistics per asset)."""
    if chance(rng, 0.5):
        return small_multiples(rng, size, scale, (_series_chart, _matplotlib_chart, _research_plot))
    return small_multiples(rng, size, scale, (_price_chart, _price_chart, _series_chart))


CHART_SCENES: dict[str, tuple[float, Scene]] = {
    "price": (0.46, _price_chart),
    "series": (0.23, _series_chart),
    "matplotlib": (0.09, _matplotlib_chart),
    "research": (0.08, _research_plot),
    "mplfinance": (0.05, _mplfinance_chart),
    "terminal": (0.05, _terminal_chart),
    "grid": (0.08, _chart_grid),
}
