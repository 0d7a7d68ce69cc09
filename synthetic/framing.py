"""Framing and UI chrome shared by both classes, so a frame never gives the label away: window, browser,
phone and desktop-app frames around a scene, the widgets they and the scenes draw (palettes, buttons,
fields, table rows, side tables), and pages of small scenes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageFont

from synthetic import toolkit as tk
from synthetic.toolkit import RGB, Canvas, Palette, Scene, between, chance, pick, randint, weighted


def side_table(
    c: Canvas, rng: np.random.Generator, box: tuple[float, float, float, float], palette: Palette, size: float
) -> None:
    """A watchlist or order book panel filling `box` (used in chart apps and non-chart screens)."""
    x0, y0, x1, y1 = box
    c.draw.rectangle(box, fill=palette["bg"])
    fnt = c.font(size)
    row = fnt.size * between(rng, 1.6, 2.2)
    book = chance(rng, 0.5)
    header = ("Price", "Amount", "Total") if book else ("Symbol", "Last", "Chg%")
    table_row(c, (x0, x1), y0, row, header, [palette["muted"]] * 3, fnt)
    y = y0 + row
    mid = 10 ** between(rng, 0, 4.5)
    i = 0
    while y + row < y1:
        if book:
            side = 1 if y < (y0 + y1) / 2 else -1
            price = mid * (1 + side * 0.0008 * (abs((y0 + y1) / 2 - y) / row + 1))
            amount = 10 ** between(rng, -2, 2)
            cells = (tk.fmt_number(price, thousands=False), f"{amount:.4f}", f"{price * amount:,.2f}")
            colours = (palette["down"] if side > 0 else palette["up"], palette["text"], palette["text"])
            depth = (x1 - x0) * min(1.0, amount / 60)
            c.draw.rectangle((x1 - depth, y, x1, y + row), fill=tk.mix(colours[0], palette["bg"], 0.82))
        else:
            change = rng.normal(0, 3)
            cells = (
                tk.TICKERS[(i * 7 + randint(rng, 0, 3)) % len(tk.TICKERS)],
                tk.fmt_number(10 ** between(rng, 0, 4.5)),
                f"{change:+.2f}%",
            )
            colours = (palette["text"], palette["text"], palette["up"] if change >= 0 else palette["down"])
        table_row(c, (x0, x1), y, row, cells, colours, fnt)
        y += row
        i += 1


def table_row(
    c: Canvas,
    span: tuple[float, float],
    y: float,
    height: float,
    cells: Sequence[str],
    colours: Sequence[RGB],
    fnt: ImageFont.FreeTypeFont,
) -> None:
    """One table row across `span`: first cell left-aligned, the others right-aligned in equal columns."""
    x0, x1 = span
    width = (x1 - x0) / len(cells)
    for k, (cell, colour) in enumerate(zip(cells, colours)):
        x, anchor = (x0 + c.px(6), "lm") if k == 0 else (x0 + width * (k + 1) - c.px(6), "rm")
        c.draw.text((x, y + height / 2), cell, font=fnt, fill=colour, anchor=anchor)


def ui_palette(rng: np.random.Generator) -> Palette:
    """Light or dark app colours with a random accent."""
    if chance(rng, 0.45):
        bg = pick(rng, ((17, 20, 24), (24, 26, 32), (30, 34, 45), (21, 32, 43), (0, 0, 0), (54, 57, 63), (11, 14, 17)))
    else:
        bg = pick(rng, ((255, 255, 255), (246, 247, 249), (240, 242, 245), (250, 250, 250)))
    text = tk.ink_on(bg)
    up, down = pick(rng, tk.UP_DOWN)
    return {
        "bg": bg,
        "panel": tk.mix(bg, text, 0.05),
        "text": text,
        "muted": tk.mix(text, bg, 0.45),
        "border": tk.mix(text, bg, 0.82),
        "input": tk.mix(bg, text, 0.06),
        "up": up,
        "down": down,
        "accent": tk.random_colour(rng, (0.55, 0.9), (0.6, 0.95)),
    }


def button(
    c: Canvas, box: tuple[float, float, float, float], label: str, fill: RGB, size: float, radius: float = 5
) -> None:
    """A filled rounded button with a centred label."""
    c.draw.rounded_rectangle(box, radius=c.px(radius), fill=fill)
    c.text(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), label, size, tk.ink_on(fill), "sans-bold", anchor="mm")


def field(
    c: Canvas, pal: Palette, box: tuple[float, float, float, float], text: str, size: float, placeholder: bool
) -> None:
    """A text input with its value (or greyed placeholder)."""
    c.draw.rounded_rectangle(box, radius=c.px(4), fill=pal["input"], outline=pal["border"])
    c.text(
        (box[0] + c.px(10), (box[1] + box[3]) / 2),
        text,
        size,
        pal["muted"] if placeholder else pal["text"],
        anchor="lm",
    )


def window_bar(c: Canvas, box: tuple[float, float, float, float], title: str, colour: RGB, mac: bool) -> None:
    """A desktop window title bar across `box` (macOS traffic lights or Windows buttons)."""
    x0, y0, x1, y1 = box
    c.draw.rectangle(box, fill=colour)
    ink = tk.ink_on(colour)
    cy = (y0 + y1) / 2
    if mac:
        for k, dot in enumerate(((255, 95, 87), (254, 188, 46), (40, 200, 64))):
            tk.circle(c.draw, (x0 + c.px(16 + 20 * k), cy), c.px(6), fill=dot)
        c.text(((x0 + x1) / 2, cy), title, 12.5, ink, anchor="mm")
        return
    c.text((x0 + c.px(10), cy), title, 12, ink, anchor="lm")
    for k, glyph in enumerate(("✕", "□", "–")):
        c.text((x1 - c.px(22 + 42 * k), cy), glyph, 12, ink, anchor="mm")


def app_window(c: Canvas, rng: np.random.Generator, bar: RGB) -> tuple[float, float, float, float]:
    """A desktop tool around the scene: title and menu bars, a side panel of controls, tabs.

    Returns the box left for the scene (tab page). Both classes get this frame, so a
    chart inside a home-made analysis tool is still a chart and a form is not.
    """
    pal = ui_palette(rng)
    pal["bg"] = c.image.getpixel((0, 0))
    pal.update(text=tk.ink_on(pal["bg"]), panel=tk.mix(pal["bg"], tk.ink_on(pal["bg"]), 0.06))
    pal.update(
        muted=tk.mix(pal["text"], pal["bg"], 0.45), border=tk.mix(pal["text"], pal["bg"], 0.7), input=pal["panel"]
    )
    window_bar(c, (0, 0, c.w, c.px(30)), pick(rng, ("Stock price forecast tool", "Backtester", "Crypto Analyzer",
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
        c.draw.rounded_rectangle((x0, y, x1, y + c.px(20)), radius=c.px(5), fill=tk.mix(pal["accent"], pal["bg"], 0.5))
        c.text(
            (x0 + c.px(8), y + c.px(10)), heading, size, tk.ink_on(tk.mix(pal["accent"], pal["bg"], 0.5)), anchor="lm"
        )
        y += c.px(26)
        if chance(rng, 0.5):  # a list box with one row selected
            rows = randint(rng, 3, 7)
            c.draw.rectangle((x0, y, x1, y + c.px(18) * rows + c.px(4)), fill=pal["input"], outline=pal["border"])
            chosen = randint(rng, 0, rows - 1)
            for k in range(rows):
                top = y + c.px(2) + c.px(18) * k
                if k == chosen:
                    c.draw.rectangle((x0 + c.px(2), top, x1 - c.px(2), top + c.px(18)), fill=pal["accent"])
                c.text(
                    (x0 + c.px(6), top + c.px(9)),
                    pick(rng, tk.TICKERS),
                    size,
                    tk.ink_on(pal["accent"]) if k == chosen else pal["text"],
                    anchor="lm",
                )
            y += c.px(18) * rows + c.px(14)
        else:  # labelled inputs and check boxes
            for _ in range(randint(rng, 1, 3)):
                c.text(
                    (x0, y + c.px(8)),
                    tk.words(rng, randint(rng, 1, 3)).capitalize() + ":",
                    size,
                    pal["text"],
                    anchor="lm",
                )
                field(
                    c,
                    pal,
                    (x0, y + c.px(18), x1, y + c.px(40)),
                    pick(rng, (f"{tk.moment(rng):%Y. %m. %d.}", str(randint(rng, 5, 200)), "Close")),
                    size,
                    False,
                )
                y += c.px(48)
            for _ in range(randint(rng, 0, 2)):
                c.draw.rectangle((x0, y, x0 + c.px(13), y + c.px(13)), outline=pal["muted"], fill=pal["input"])
                c.text(
                    (x0 + c.px(20), y + c.px(7)),
                    pick(rng, ("Today", "Tomorrow", "Log scale", "Show volume", "Live")),
                    size,
                    pal["text"],
                    anchor="lm",
                )
                y += c.px(22)
            y += c.px(8)
    if chance(rng, 0.7):
        button(
            c,
            (x0, c.h - c.px(44), x1, c.h - c.px(16)),
            pick(rng, ("Calculate", "Run", "Start", "Update")),
            pal["accent"],
            12,
        )
    page_x0, page_x1 = (side + c.px(12), c.w - c.px(6)) if left else (c.px(6), c.w - side - c.px(12))
    tab_y = c.px(60)
    x = page_x0
    for k, tab in enumerate(
        pick(rng, (("Indicator settings", "Histogram", "Chart"), ("Overview", "Results", "Log"), ("Data", "Plot")))
    ):
        width = c.font(12).getlength(tab) + c.px(20)
        c.draw.rectangle(
            (x, tab_y, x + width, tab_y + c.px(22)), fill=pal["bg"] if k == 0 else pal["panel"], outline=pal["border"]
        )
        c.text((x + width / 2, tab_y + c.px(11)), tab, 12, pal["text"], anchor="mm")
        x += width
    return page_x0, tab_y + c.px(30), page_x1, c.h - c.px(8)


def small_multiples(
    rng: np.random.Generator, size: tuple[int, int], scale: float, cells: tuple[Scene, ...]
) -> Image.Image:
    """Small multiples: a screener or gallery page, filter rows over a grid of cells of one class."""
    pal = ui_palette(rng)
    c = Canvas(size, pal["bg"], scale)
    top = 0
    if chance(rng, 0.6):  # screener filters: labels with drop-downs
        y = c.px(8)
        for _ in range(randint(rng, 1, 4)):
            x = c.px(8)
            while x < c.w - c.px(200):
                x += c.text(
                    (x, y + c.px(11)), tk.words(rng, randint(rng, 1, 3)).capitalize(), 11, pal["text"], anchor="lm"
                ) + c.px(6)
                field(
                    c,
                    pal,
                    (x, y, x + c.px(100), y + c.px(22)),
                    pick(rng, ("Any", "Price above SMA50", "Over 1M")),
                    11,
                    False,
                )
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


def framed(rng: np.random.Generator, scene: Scene, size: tuple[int, int], scale: float) -> Image.Image:
    """Render `scene`, sometimes inside a window, browser, phone status bars or a plain margin."""
    w, h = size
    frame = weighted(rng, {"none": 0.5, "window": 0.1, "browser": 0.12, "app": 0.1 if w > 560 else 0.0,
                           "phone": 0.06 if h > 1.3 * w else 0.0, "margin": 0.13})
    if frame == "none":
        return scene(rng, size, scale)
    c = Canvas(size, pick(rng, ((255, 255, 255), (240, 240, 240), (32, 33, 36), (0, 0, 0), (200, 200, 200))), scale)
    bar = tk.mix(c.image.getpixel((0, 0)), (128, 128, 128), between(rng, 0.1, 0.3))
    if frame == "window":
        inner = (c.px(2), c.px(30), w - c.px(2), h - c.px(2))
        window_bar(c, (0, 0, w, c.px(30)), pick(rng, _FRAME_TITLES), bar, chance(rng, 0.4))
    elif frame == "browser":
        inner = (0, c.px(74), w, h)
        window_bar(c, (0, 0, w, c.px(34)), pick(rng, _FRAME_TITLES), bar, chance(rng, 0.5))
        c.draw.rectangle((0, c.px(34), w, c.px(74)), fill=tk.mix(bar, (255, 255, 255), 0.5))
        c.draw.rounded_rectangle(
            (c.px(90), c.px(41), w - c.px(60), c.px(67)), radius=c.px(13), fill=tk.mix(bar, (255, 255, 255), 0.8)
        )
        c.text((c.px(110), c.px(54)), "https://" + pick(rng, _URLS), 12.5, (60, 60, 60), anchor="lm")
    elif frame == "app":
        inner = app_window(c, rng, bar)
    elif frame == "phone":
        inner = (0, c.px(30), w, h - c.px(22))
        ink = tk.ink_on(c.image.getpixel((0, 0)))
        c.text((c.px(22), c.px(15)), f"{tk.moment(rng):%H:%M}", 13, ink, "sans-bold", anchor="lm")
        c.draw.rounded_rectangle((w - c.px(40), c.px(9), w - c.px(16), c.px(21)), radius=c.px(3), outline=ink)
        c.draw.rounded_rectangle(
            (w / 2 - c.px(60), h - c.px(12), w / 2 + c.px(60), h - c.px(8)), radius=c.px(2), fill=ink
        )
    else:
        pad_x, pad_y = int(w * between(rng, 0.02, 0.08)), int(h * between(rng, 0.02, 0.08))
        inner = (pad_x, pad_y, w - pad_x, h - pad_y)
    x0, y0, x1, y1 = (int(v) for v in inner)
    c.image.paste(scene(rng, (x1 - x0, y1 - y0), scale), (x0, y0))
    return c.image
