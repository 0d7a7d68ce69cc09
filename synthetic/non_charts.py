"""Non-chart scenes: what a finance feed shows besides charts (tweets, chats, tables and order books,
photo-like scenes, logos, memes, app screens, documents, receipts, code, terminal logs, galleries).
Pie and bar charts of data that is not a time series belong to neither class and are never drawn."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from synthetic import toolkit as tk
from synthetic.framing import button, field, side_table, small_multiples, table_row, ui_palette, window_bar
from synthetic.toolkit import RGB, Canvas, Palette, Scene, between, chance, pick, randint, weighted


def _coin_icon(c: Canvas, centre: tuple[float, float], radius: float, colour: RGB, letter: str) -> None:
    """A round token/company icon with a letter."""
    tk.circle(c.draw, centre, radius, fill=colour)
    c.draw.text(centre, letter, font=tk.font("sans-bold", int(radius * 1.1)), fill=tk.ink_on(colour), anchor="mm")


def _avatar(c: Canvas, rng: np.random.Generator, centre: tuple[float, float], radius: float) -> None:
    """A default profile picture: a coloured disc with an initial."""
    _coin_icon(c, centre, radius, tk.random_colour(rng), pick(rng, "ABCDEFGHJKLMNPRSTW"))


def _signal(rng: np.random.Generator) -> list[str]:
    """A trade call as posted in signal channels: side, symbol and entry, then target and stop."""
    entry = 10 ** between(rng, 0, 4)
    side = pick(rng, ("BUY", "SELL", "Long", "Short"))
    return [
        f"{side} {pick(rng, tk.TICKERS)} @ {tk.fmt_number(entry)}",
        f"TP {tk.fmt_number(entry * between(rng, 0.9, 1.1))}",
        f"SL {tk.fmt_number(entry * between(rng, 0.9, 1.1))}",
    ]


def _rich_text(
    c: Canvas, x: float, y: float, width: float, text: str, size: float, fill: RGB, accent: RGB, bottom: float
) -> float:
    """Word-wrapped text where $cashtags, #hashtags and @mentions take the accent colour; returns end y."""
    fnt = c.font(size)
    space, step = tk.text_width(fnt, " "), fnt.size * 1.4
    cx = x
    for word in text.split():
        length = tk.text_width(fnt, word)
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
            tk.gradient(
                size,
                tk.random_colour(rng, val=(0.8, 1)),
                tk.random_colour(rng, val=(0.8, 1)),
                horizontal=chance(rng, 0.5),
            )
        )
        margin_x, margin_y = c.w * between(rng, 0.08, 0.2), c.h * between(rng, 0.08, 0.2)
        x0, y0, x1, y1 = margin_x, margin_y, c.w - margin_x, c.h - margin_y
        c.draw.rounded_rectangle((x0, y0, x1, y1), radius=c.px(16), fill=bg)
    text, muted = tk.ink_on(bg), tk.mix(tk.ink_on(bg), bg, 0.45)
    accent = (29, 155, 240)
    pad = c.px(16)
    y = y0 + pad
    while y < y1 - c.px(120):
        y = _tweet_block(c, rng, (x0 + pad, y, x1 - pad, y1 - pad), text, muted, accent)
        if card:
            break
        c.draw.line((x0, y, x1, y), fill=tk.mix(text, bg, 0.85))
        y += pad
    return c.image


def _tweet_block(
    c: Canvas, rng: np.random.Generator, box: tuple[float, float, float, float], text: RGB, muted: RGB, accent: RGB
) -> float:
    """One tweet (avatar, names, text, optional picture, counts) from the top of `box`; returns end y."""
    x0, y, x1, bottom = box
    radius = c.px(between(rng, 18, 26))
    _avatar(c, rng, (x0 + radius, y + radius), radius)
    name, handle = tk.person(rng)
    tx = x0 + 2 * radius + c.px(10)
    size = between(rng, 13, 17)
    width = c.text((tx, y + c.px(2)), name, size, text, "sans-bold")
    if chance(rng, 0.4):
        tk.circle(c.draw, (tx + width + c.px(10), y + c.px(2 + size * 0.6)), c.px(size * 0.45), fill=accent)
    c.text((tx, y + c.px(size * 1.5)), f"{handle} · {randint(rng, 1, 23)}{pick(rng, 'hm')}", size * 0.92, muted)
    y += max(2 * radius, c.px(size * 3)) + c.px(8)
    y = _rich_text(c, x0, y, x1 - x0, tk.paragraph(rng, randint(rng, 1, 4)), between(rng, 14, 22), text, accent, bottom)
    if chance(rng, 0.3) and bottom - y > c.px(160):
        height = min(bottom - y - c.px(80), (x1 - x0) * between(rng, 0.4, 0.6))
        c.paste_fit(
            tk.photo(rng, (int(x1 - x0), int(height))), (int(x0), int(y + c.px(6)), int(x1), int(y + c.px(6) + height))
        )
        y += height + c.px(12)
    c.text((x0, y + c.px(6)), f"{tk.moment(rng):%I:%M %p · %b %d, %Y}", 13, muted)
    y += c.px(30)
    x = x0
    for kind in ("bubble", "repeat", "heart", "share"):
        s = c.px(8)
        tk.icon(c.draw, kind, (x, y, x + 2 * s, y + 2 * s), muted)
        c.text((x + 2 * s + c.px(6), y + s), tk.fmt_compact(10 ** between(rng, 0, 4.5)), 12.5, muted, anchor="lm")
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
        noise = tk.smooth_noise(rng, (c.w, c.h), 40)[..., None]
        c.image.paste(Image.fromarray((np.array(background) * (0.94 + 0.08 * noise)).clip(0, 255).astype(np.uint8)))
    top = c.px(56)
    c.draw.rectangle((0, 0, c.w, top), fill=header)
    _avatar(c, rng, (c.px(30), top / 2), c.px(18))
    c.text(
        (c.px(58), top / 2 - c.px(8)),
        pick(rng, ("Crypto Signals VIP", "Trading Group", "Forex Room", tk.person(rng)[0])),
        15,
        tk.ink_on(header),
        "sans-bold",
        anchor="lm",
    )
    c.text(
        (c.px(58), top / 2 + c.px(10)),
        pick(rng, ("online", "last seen recently", f"{randint(rng, 200, 90000):,} members")),
        12,
        tk.mix(tk.ink_on(header), header, 0.35),
        anchor="lm",
    )
    y, size = top + c.px(12), between(rng, 13, 16)
    fnt = c.font(size)
    while y < c.h - c.px(110):
        mine = chance(rng, 0.4)
        body = pick(rng, (tk.sentence(rng, 3, 20), tk.paragraph(rng, 2), "\n".join(_signal(rng))))
        lines = [part for chunk in body.split("\n") for part in tk.wrap(chunk, fnt, c.w * 0.62)]
        width = max(tk.text_width(fnt, line) for line in lines) + c.px(28)
        height = fnt.size * 1.35 * len(lines) + c.px(26)
        x = c.w - width - c.px(14) if mine else c.px(14)
        fill = outgoing if mine else incoming
        c.draw.rounded_rectangle((x, y, x + width, y + height), radius=c.px(12), fill=fill)
        for k, line in enumerate(lines):
            c.words((x + c.px(14), y + c.px(8) + k * fnt.size * 1.35), line, fnt, tk.ink_on(fill))
        c.text(
            (x + width - c.px(10), y + height - c.px(6)),
            f"{tk.moment(rng):%H:%M}",
            10,
            tk.mix(tk.ink_on(fill), fill, 0.45),
            anchor="rd",
        )
        y += height + c.px(between(rng, 6, 16))
    c.draw.rectangle(
        (0, c.h - c.px(52), c.w, c.h),
        fill=tk.mix(header, background, 0.7) if background != (255, 255, 255) else (247, 247, 247),
    )
    c.draw.rounded_rectangle(
        (c.px(12), c.h - c.px(42), c.w - c.px(56), c.h - c.px(10)),
        radius=c.px(16),
        fill=tk.mix(background, (255, 255, 255), 0.6),
    )
    c.text((c.px(28), c.h - c.px(26)), "Message", 13, (140, 140, 140), anchor="lm")
    return c.image


def _discord(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """A Discord/Slack-like channel: avatars, coloured names, timestamps, messages and embeds."""
    bg = pick(rng, ((54, 57, 63), (49, 51, 56), (255, 255, 255), (26, 29, 33)))
    c = Canvas(size, bg, scale)
    text, muted = tk.ink_on(bg), tk.mix(tk.ink_on(bg), bg, 0.45)
    x0 = 0.0
    if c.w > 700 and chance(rng, 0.6):
        x0 = c.w * between(rng, 0.15, 0.22)
        side = tk.mix(bg, (0, 0, 0), 0.2)
        c.draw.rectangle((0, 0, x0, c.h), fill=side)
        for k in range(int(c.h / c.px(30)) - 2):
            c.text((c.px(14), c.px(50) + k * c.px(30)), "# " + tk.words(rng, 2).replace(" ", "-"), 13, muted)
    c.text(
        (x0 + c.px(16), c.px(16)),
        "# " + pick(rng, ("trading-signals", "general", "btc-talk", "alerts")),
        15,
        text,
        "sans-bold",
    )
    c.draw.line((x0, c.px(46), c.w, c.px(46)), fill=tk.mix(text, bg, 0.85))
    y = c.px(60)
    while y < c.h - c.px(90):
        radius = c.px(19)
        _avatar(c, rng, (x0 + c.px(16) + radius, y + radius), radius)
        tx = x0 + c.px(26) + 2 * radius
        width = c.text(
            (tx, y),
            tk.person(rng)[0],
            14.5,
            tk.random_colour(rng, val=(0.75, 1)) if tk.is_dark(bg) else tk.random_colour(rng, val=(0.4, 0.7)),
            "sans-bold",
        )
        c.text((tx + width + c.px(8), y + c.px(2)), f"Today at {tk.moment(rng):%I:%M %p}", 11, muted)
        y = c.paragraph(
            tx, y + c.px(22), c.w - tx - c.px(20), tk.paragraph(rng, randint(rng, 1, 2)), 14, text, bottom=c.h
        )
        if chance(rng, 0.25) and y < c.h - c.px(200):
            embed = (tx, y + c.px(4), min(c.w - c.px(20), tx + c.px(420)), y + c.px(110))
            c.draw.rectangle(embed, fill=tk.mix(bg, (0, 0, 0), 0.15))
            c.draw.rectangle((embed[0], embed[1], embed[0] + c.px(4), embed[3]), fill=tk.random_colour(rng))
            for k, label in enumerate(_signal(rng)):
                c.text(
                    (embed[0] + c.px(14), embed[1] + c.px(10 + 30 * k)),
                    label,
                    13.5,
                    text,
                    "sans-bold" if k == 0 else "sans",
                )
            y = embed[3]
        y += c.px(18)
    c.draw.rounded_rectangle(
        (x0 + c.px(16), c.h - c.px(56), c.w - c.px(16), c.h - c.px(14)), radius=c.px(8), fill=tk.mix(bg, text, 0.08)
    )
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
    table_row(c, (x0, x1), y0, row_h, header, [pal["text"]] * len(header), c.font(size, "sans-bold"))
    c.draw.line((x0, y0 + row_h, x1, y0 + row_h), fill=pal["muted"], width=c.px(1))
    y = y0 + row_h
    for i, (row, row_colours) in enumerate(zip(rows, colours)):
        if y + row_h > y1:
            break
        if zebra and i % 2 == 0:
            c.draw.rectangle((x0, y, x1, y + row_h), fill=pal["panel"])
        table_row(c, (x0, x1), y, row_h, row, row_colours, fnt)
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
            "market": f"{pick(rng, tk.TICKERS)}",
            "dataframe": str(i) if chance(rng, 0.5) else f"2024-0{randint(rng, 1, 9)}-{randint(rng, 10, 28)}",
            "positions": pick(rng, tk.TICKERS),
            "stats": tk.words(rng, 2).replace(" ", "_"),
        }[kind]
        row, row_colours = [first], [pal["text"]]
        for k in range(1, len(header)):
            if kind == "positions" and k == 1:
                row.append(pick(rng, ("buy", "sell", "buy limit", "sell stop")))
                row_colours.append(pal["text"])
                continue
            signed = k in signed_columns
            value = rng.normal(0, 5) if signed else base * np.exp(rng.normal(0, 0.3))
            row.append(
                f"{value:+.2f}%" if signed and kind != "positions" else tk.fmt_number(value, 2 if signed else None)
            )
            row_colours.append((pal["up"] if value >= 0 else pal["down"]) if signed else pal["text"])
        rows.append(row)
        colours.append(row_colours)
    return header, rows, colours


def _table(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """Tables of numbers: spreadsheets, dataframes, market lists, positions, order books."""
    pal = ui_palette(rng)
    kind = pick(rng, ("market", "dataframe", "positions", "stats", "orderbook", "spreadsheet"))
    if kind in ("dataframe", "spreadsheet") and chance(rng, 0.7):
        pal.update(
            bg=(255, 255, 255), panel=(245, 245, 245), text=(20, 20, 20), muted=(110, 110, 110), border=(218, 220, 224)
        )
    c = Canvas(size, pal["bg"], scale)
    size_pt = between(rng, 10.5, 14)
    top = c.px(10)
    if kind == "spreadsheet":
        top = _spreadsheet_chrome(c, rng)
    elif chance(rng, 0.6):
        c.text(
            (c.px(16), c.px(14)),
            pick(
                rng,
                (
                    "Markets",
                    "Top Gainers",
                    "Open Positions",
                    "Portfolio Summary",
                    "AMZN Stock Data Table",
                    "Order Book",
                    "Watchlist",
                ),
            ),
            size_pt * 1.5,
            pal["text"],
            "sans-bold",
        )
        top = c.px(size_pt * 3.4)
    box = (c.px(12), top, c.w - c.px(12), c.h - c.px(10))
    if kind == "orderbook":
        mid = (box[0] + box[2]) / 2 if c.w > 600 else box[2]
        side_table(c, rng, (box[0], box[1], mid - c.px(6), box[3]), pal, size_pt)
        if mid < box[2]:
            side_table(c, rng, (mid + c.px(6), box[1], box[2], box[3]), pal, size_pt)
        return c.image
    n_cols = max(3, min(7, int((box[2] - box[0]) / c.px(95))))
    n_rows = int((box[3] - box[1]) / (c.font(size_pt).size * 2.0))
    header, rows, colours = _number_rows(rng, pal, n_rows, n_cols, "dataframe" if kind == "spreadsheet" else kind)
    _grid_table(
        c,
        box,
        header,
        rows,
        colours,
        pal,
        size_pt,
        ruled=kind in ("spreadsheet", "positions") or chance(rng, 0.3),
        zebra=chance(rng, 0.5),
    )
    return c.image


def _spreadsheet_chrome(c: Canvas, rng: np.random.Generator) -> float:
    """Excel/Sheets-like ribbon, formula bar and column letters; returns the table top."""
    ribbon = pick(rng, ((33, 115, 70), (15, 157, 88), (240, 240, 240)))
    c.draw.rectangle((0, 0, c.w, c.px(30)), fill=ribbon)
    x = c.px(12)
    for label in ("File", "Home", "Insert", "Page Layout", "Formulas", "Data", "Review", "View"):
        x += c.text((x, c.px(15)), label, 12, tk.ink_on(ribbon), anchor="lm") + c.px(18)
    c.draw.rectangle((0, c.px(30), c.w, c.px(56)), fill=(250, 250, 250), outline=(210, 210, 210))
    c.text(
        (c.px(12), c.px(43)),
        f"fx   ={pick(rng, ('SUM', 'AVERAGE', 'VLOOKUP'))}(B2:B{randint(rng, 10, 90)})",
        12,
        (60, 60, 60),
        anchor="lm",
    )
    c.draw.rectangle((0, c.px(56), c.w, c.px(74)), fill=(235, 235, 235))
    for k in range(12):
        c.text((c.px(12) + (c.w / 7) * (k + 0.5), c.px(65)), "ABCDEFGHIJKL"[k], 11, (90, 90, 90), anchor="mm")
    return c.px(78)


def _photo(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """A photo-like scene filling the canvas (photos have no UI, so `scale` does not apply)."""
    return tk.photo(rng, size)


def _brand(rng: np.random.Generator) -> str:
    """A made-up exchange/app/company name."""
    first = pick(
        rng,
        (
            "Bit",
            "Coin",
            "Trade",
            "Swap",
            "Nova",
            "Pay",
            "Vault",
            "Flux",
            "Mint",
            "Quant",
            "Apex",
            "Luna",
            "Blue",
            "Sure",
        ),
    )
    return first + pick(rng, ("get", "base", "hub", "ly", "X", "fi", " Wallet", " Capital", "ex", "Pro", " Labs", "io"))


def _logo(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """A logo or app icon: geometric mark with letters and/or a wordmark on a flat or gradient field."""
    bg = pick(
        rng,
        ((255, 255, 255), (0, 0, 0), (18, 22, 30), tk.random_colour(rng), tk.random_colour(rng, (0.05, 0.2), (0.9, 1))),
    )
    c = Canvas(size, bg, scale)
    if chance(rng, 0.25):
        c.image.paste(tk.gradient(size, tk.random_colour(rng), tk.random_colour(rng), horizontal=chance(rng, 0.5)))
        bg = c.image.getpixel((c.w // 2, c.h // 2))
    colour = tk.random_colour(rng, (0.5, 1), (0.6, 1)) if chance(rng, 0.7) else tk.ink_on(bg)
    name = _brand(rng)
    layout = pick(rng, ("stacked", "inline", "wordmark", "icon"))
    mark = min(c.w, c.h) * (0.7 if layout == "icon" else 0.4)
    cx, cy = c.w / 2, c.h / 2
    if layout == "inline":
        cx = c.w / 2 - tk.font("sans-bold", int(mark * 0.5)).getlength(name) / 2 - mark * 0.1
    elif layout == "stacked":
        cy = c.h / 2 - mark * 0.25
    if layout != "wordmark":
        _mark(c, rng, (cx, cy), mark / 2, colour, bg, name[0])
    if layout == "icon":
        return c.image
    text_size = mark * (0.5 if layout == "inline" else 0.3)
    fnt = tk.font(pick(rng, ("sans-bold", "sans", "serif-bold")), int(text_size))
    text = name.upper() if chance(rng, 0.4) else name
    ink = tk.ink_on(bg) if chance(rng, 0.6) else colour
    anchor_xy = {
        "inline": (cx + mark * 0.62, cy),
        "stacked": (c.w / 2, cy + mark * 0.65),
        "wordmark": (c.w / 2, c.h / 2),
    }[layout]
    c.draw.text(anchor_xy, text, font=fnt, fill=ink, anchor="lm" if layout == "inline" else "mm")
    if chance(rng, 0.3):
        c.draw.text(
            (c.w / 2, c.h * 0.88),
            pick(rng, ("Powered by " + _brand(rng), "Trade smarter", "EXCHANGE", "Since 2017")),
            font=tk.font("sans", int(text_size * 0.35)),
            fill=tk.mix(ink, bg, 0.3),
            anchor="mm",
        )
    return c.image


def _mark(
    c: Canvas, rng: np.random.Generator, centre: tuple[float, float], r: float, colour: RGB, bg: RGB, letter: str
) -> None:
    """A geometric logo mark of radius `r` with an optional letter or glyph inside."""
    cx, cy = centre
    shape = pick(rng, ("circle", "ring", "rounded", "hexagon", "diamond", "triangle", "circles", "coin"))
    inner = tk.ink_on(colour)
    if shape in ("circle", "coin"):
        if shape == "coin":
            disc = tk.shaded_disc((int(2 * r), int(2 * r)), pick(rng, ((247, 147, 26), (212, 175, 55), (98, 126, 234))))
            c.image.paste(disc, (int(cx - r), int(cy - r)), disc)
            inner = (255, 255, 255)
        else:
            tk.circle(c.draw, centre, r, fill=colour)
    elif shape == "ring":
        tk.circle(c.draw, centre, r, outline=colour, width=max(2, int(r / 6)))
        inner = colour
    elif shape == "rounded":
        c.draw.rounded_rectangle((cx - r, cy - r, cx + r, cy + r), radius=r * 0.35, fill=colour)
    elif shape == "circles":
        for k, offset in enumerate((-0.5, 0.0, 0.5)):
            tk.circle(c.draw, (cx + offset * r, cy), r * 0.55, fill=tk.mix(colour, bg, k * 0.25))
        return
    else:
        sides = {"hexagon": 6, "diamond": 4, "triangle": 3}[shape]
        angles = np.arange(sides) * 2 * np.pi / sides - np.pi / 2
        c.draw.polygon(list(zip(cx + r * np.cos(angles), cy + r * np.sin(angles))), fill=colour)
    glyph = weighted(rng, {"letter": 0.6, "zigzag": 0.15, "none": 0.25})
    if glyph == "letter":
        c.draw.text(centre, letter.upper(), font=tk.font("sans-bold", int(r * 1.1)), fill=inner, anchor="mm")
    elif glyph == "zigzag":  # a stock-app style arrow glyph: a deliberate hard negative
        pts = [
            (cx - r * 0.5, cy + r * 0.3),
            (cx - r * 0.15, cy - r * 0.05),
            (cx + r * 0.1, cy + r * 0.15),
            (cx + r * 0.5, cy - r * 0.3),
        ]
        c.draw.line(pts, fill=inner, width=max(2, int(r / 7)), joint="curve")


def _meme(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """A meme: picture with big outlined top/bottom caption, or a white caption bar above."""
    c = Canvas(size, (255, 255, 255), scale)
    caption_bar = chance(rng, 0.35)
    top = int(c.h * between(rng, 0.18, 0.3)) if caption_bar else 0
    picture = tk.cartoon(rng, (c.w, c.h - top)) if chance(rng, 0.3) else tk.photo(rng, (c.w, c.h - top))
    c.image.paste(picture, (0, top))
    if caption_bar:
        size_pt = c.w * between(rng, 0.035, 0.055) / c.scale
        c.paragraph(c.px(14), c.px(10), c.w - c.px(28), tk.sentence(rng, 5, 16), size_pt, (0, 0, 0), bottom=top)
        return c.image
    for anchor_y, anchor in ((c.h * 0.03, "ma"), (c.h * 0.97, "md")):
        text = tk.words(rng, randint(rng, 2, 6)).upper()
        fnt = tk.font("sans-bold", int(c.h * 0.12))
        fnt = tk.font("sans-bold", int(fnt.size * min(1.0, c.w * 0.94 / fnt.getlength(text))))
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
    image = tk.cartoon(rng, size) if chance(rng, 0.5) else _abstract(rng, size)
    for _ in range(randint(rng, 0, 6)):
        radius = int(min(size) * between(rng, 0.04, 0.09))
        disc = tk.shaded_disc((2 * radius, 2 * radius), (230, 180, 40))
        image.paste(disc, (randint(rng, 0, size[0] - 2 * radius), randint(rng, 0, size[1] - 2 * radius)), disc)
    return image


def _abstract(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    """Flat geometric art: a ring of dots, concentric rings, a wheel of wedges or scattered shapes."""
    w, h = size
    image = Image.new(
        "RGB",
        size,
        pick(rng, ((255, 255, 255), (200, 200, 200), (20, 20, 30), tk.random_colour(rng, (0.1, 0.4), (0.8, 1)))),
    )
    draw = ImageDraw.Draw(image)
    cx, cy, r = w / 2, h / 2, min(w, h) * between(rng, 0.3, 0.45)
    colour = tk.random_colour(rng)
    pattern = pick(rng, ("dots", "rings", "wheel", "shapes"))
    count = randint(rng, 6, 24)
    for k in range(count):
        angle = 2 * np.pi * k / count
        if pattern == "dots":
            tk.circle(
                draw,
                (cx + r * np.cos(angle), cy + r * np.sin(angle)),
                r * 0.18,
                fill=tk.mix(colour, (255, 255, 255), k / count),
            )
        elif pattern == "rings":
            tk.circle(
                draw, (cx, cy), r * (1 - k / count), outline=tk.random_colour(rng), width=max(1, int(r / count / 2))
            )
        elif pattern == "wheel":
            hue = tk.random_colour(rng, (0.3, 0.7), (0.8, 1))
            draw.pieslice(
                (cx - r, cy - r, cx + r, cy + r),
                360 * k / count,
                360 * (k + 1) / count,
                fill=hue,
                outline=(255, 255, 255),
            )
        else:
            x, y, s = between(rng, 0, w), between(rng, 0, h), min(w, h) * between(rng, 0.03, 0.15)
            draw.regular_polygon(
                (x, y, s), randint(rng, 3, 8), rotation=between(rng, 0, 90), fill=tk.random_colour(rng)
            )
    return image


def _ui(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """App and desktop screens without charts: dialogs, sign-in, wallets, order forms, dashboards."""
    pal = ui_palette(rng)
    c = Canvas(size, pal["bg"], scale)
    draw_screen = pick(rng, (_settings_dialog, _sign_in, _wallet, _order_form, _dashboard))
    draw_screen(c, rng, pal)
    return c.image


def _settings_dialog(c: Canvas, rng: np.random.Generator, pal: Palette) -> None:
    """A desktop settings dialog: title bar, tabs, labelled inputs, checkboxes, OK/Cancel."""
    window_bar(
        c,
        (0, 0, c.w, c.px(30)),
        pick(rng, ("Connection Settings", "Options", "Preferences", "Expert Properties", "Alert")),
        tk.mix(pal["bg"], pal["text"], 0.1),
        chance(rng, 0.4),
    )
    x = c.px(12)
    for k, tab in enumerate(
        pick(rng, (("General", "Inputs", "Colors", "Visualization"), ("Server", "Charts", "Trade", "Events", "Email")))
    ):
        width = c.font(12).getlength(tab) + c.px(20)
        c.draw.rectangle(
            (x, c.px(40), x + width, c.px(64)), fill=pal["bg"] if k == 0 else pal["panel"], outline=pal["border"]
        )
        c.text((x + width / 2, c.px(52)), tab, 12, pal["text"], anchor="mm")
        x += width
    y, size = c.px(80), between(rng, 11, 13.5)
    while y < c.h - c.px(70):
        label = tk.words(rng, randint(rng, 1, 4)).capitalize()
        c.text((c.px(20), y + c.px(11)), label, size, pal["text"], anchor="lm")
        if chance(rng, 0.3):
            c.draw.rectangle(
                (c.w * 0.45, y + c.px(4), c.w * 0.45 + c.px(14), y + c.px(18)),
                outline=pal["muted"],
                fill=pal["accent"] if chance(rng, 0.5) else pal["input"],
            )
        else:
            field(
                c,
                pal,
                (c.w * 0.45, y, c.w - c.px(20), y + c.px(24)),
                pick(
                    rng,
                    (f"{between(rng, 0, 500):.2f}", tk.words(rng, 2), str(randint(rng, 1, 9999)), "true", "Smoothed"),
                ),
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
    y = c.paragraph(x, y + c.px(40), width - c.px(48), tk.sentence(rng, 8, 20), 12.5, pal["muted"])
    for label in pick(
        rng, (("Email", "Password"), ("Phone number", "Verification code"), ("Username", "Password", "2FA code"))
    ):
        if y > c.h - y0 - c.px(120):
            break
        c.text((x, y + c.px(10)), label, 12.5, pal["text"])
        field(
            c,
            pal,
            (x, y + c.px(30), x0 + width - c.px(24), y + c.px(66)),
            "Enter " + label.lower(),
            12.5,
            placeholder=True,
        )
        y += c.px(80)
    button(
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
        tk.circle(c.draw, (cx, c.px(160)), c.px(22), fill=pal["accent"] if k == 0 else pal["panel"])
        tk.icon(
            c.draw,
            pick(rng, ("plus", "share", "repeat", "lock")),
            (cx - c.px(9), c.px(151), cx + c.px(9), c.px(169)),
            pal["text"] if k else tk.ink_on(pal["accent"]),
        )
        c.text((cx, c.px(192)), label, 12, pal["text"], anchor="ma")
    y = c.px(230)
    while y < c.h - c.px(60):
        ticker = pick(rng, tk.TICKERS)[:4]
        _coin_icon(c, (c.px(38), y + c.px(22)), c.px(18), tk.random_colour(rng), ticker[0])
        c.text((c.px(66), y + c.px(6)), ticker, 14.5, pal["text"], "sans-bold")
        c.text((c.px(66), y + c.px(26)), f"${between(rng, 0.1, 900):,.2f}", 12, pal["muted"])
        c.text((c.w - c.px(20), y + c.px(6)), f"{10 ** between(rng, -2, 4):,.4f}", 14.5, pal["text"], anchor="ra")
        move = rng.normal(0, 3)
        c.text(
            (c.w - c.px(20), y + c.px(26)), f"{move:+.2f}%", 12, pal["up"] if move >= 0 else pal["down"], anchor="ra"
        )
        y += c.px(58)


def _order_form(c: Canvas, rng: np.random.Generator, pal: Palette) -> None:
    """An exchange order entry panel (buy/sell, inputs, percent chips) beside an order book."""
    form_w = c.w if c.w < 700 else c.w * between(rng, 0.45, 0.6)
    if form_w < c.w:
        side_table(c, rng, (form_w + c.px(10), 0, c.w, c.h), pal, between(rng, 11, 13))
    buy = chance(rng, 0.6)
    half = form_w / 2
    for k, label in enumerate(("Buy", "Sell")):
        active = (k == 0) == buy
        fill = (pal["up"] if k == 0 else pal["down"]) if active else pal["panel"]
        c.draw.rectangle((k * half + c.px(12), c.px(12), (k + 1) * half - c.px(4), c.px(48)), fill=fill)
        c.text(((k + 0.5) * half + c.px(4), c.px(30)), label, 14, tk.ink_on(fill), "sans-bold", anchor="mm")
    y = c.px(64)
    for k, label in enumerate(("Limit", "Market", "Stop-limit")):
        c.text(
            (c.px(16) + k * c.px(90), y),
            label,
            13,
            pal["accent"] if k == 0 else pal["muted"],
            "sans-bold" if k == 0 else "sans",
        )
    y += c.px(34)
    for label in ("Price", "Amount", "Total"):
        c.text((c.px(16), y), label, 12, pal["muted"])
        field(
            c,
            pal,
            (c.px(16), y + c.px(20), form_w - c.px(12), y + c.px(56)),
            f"{between(rng, 0.01, 90000):,.2f}",
            14,
            placeholder=False,
        )
        y += c.px(72)
        if y > c.h - c.px(120):
            break
    for k, chip in enumerate(("25%", "50%", "75%", "100%")):
        x = c.px(16) + k * (form_w - c.px(28)) / 4
        c.draw.rounded_rectangle(
            (x, y, x + (form_w - c.px(28)) / 4 - c.px(6), y + c.px(26)), radius=c.px(4), outline=pal["border"]
        )
        c.text((x + (form_w - c.px(28)) / 8 - c.px(3), y + c.px(13)), chip, 11.5, pal["muted"], anchor="mm")
    button(
        c,
        (c.px(16), y + c.px(40), form_w - c.px(12), y + c.px(84)),
        f"{'Buy' if buy else 'Sell'} {pick(rng, tk.TICKERS)[:4]}",
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
            tk.icon(c.draw, pick(rng, tk.ICONS), (c.px(16), y, c.px(32), y + c.px(16)), pal["muted"])
            c.text(
                (c.px(42), y + c.px(8)),
                tk.words(rng, randint(rng, 1, 2)).capitalize(),
                12.5,
                pal["accent"] if k == 1 else pal["text"],
                anchor="lm",
            )
    x0 = side + c.px(20)
    c.text(
        (x0, c.px(18)),
        pick(rng, ("Overview", "Settings", "Bot configuration", "Account")),
        20,
        pal["text"],
        "sans-bold",
    )
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
        value = pick(
            rng, (f"{randint(rng, 1, 999)}", f"{between(rng, 30, 80):.1f}%", f"${between(rng, 100, 99999):,.2f}")
        )
        c.text(
            (box[0] + c.px(12), box[1] + c.px(38)),
            value,
            min(22, (box[2] - box[0] - c.px(24)) / (0.62 * len(value) * c.scale)),
            pal["text"],
            "sans-bold",
        )
    y = c.px(164)
    while y < c.h - c.px(50):
        c.text((x0, y + c.px(12)), tk.words(rng, randint(rng, 2, 5)).capitalize(), 13, pal["text"], anchor="lm")
        if chance(rng, 0.4):
            on = chance(rng, 0.5)
            knob_x = c.w - c.px(40) if on else c.w - c.px(60)
            c.draw.rounded_rectangle(
                (c.w - c.px(70), y + c.px(2), c.w - c.px(30), y + c.px(22)),
                radius=c.px(10),
                fill=pal["accent"] if on else pal["border"],
            )
            tk.circle(c.draw, (knob_x, y + c.px(12)), c.px(8), fill=(255, 255, 255))
        else:
            field(
                c,
                pal,
                (c.w * 0.55, y, c.w - c.px(30), y + c.px(26)),
                pick(rng, (tk.words(rng, 2), f"{between(rng, 0, 100):.2f}", "Enabled")),
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
        "doc": (
            (255, 255, 255),
            (250, 250, 250),
            (30, 30, 30),
            (205, 205, 205),
            tk.random_colour(rng, (0.1, 0.5), (0.85, 1)),
        ),
        "book": ((243, 234, 210), (250, 246, 235), (255, 255, 255)),
    }
    paper = pick(rng, papers[kind])
    c = Canvas(size, paper, scale)
    ink = tk.ink_on(paper)
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
        c.text(
            (c.w / 2, y),
            pick(rng, ("OPINION", "MARKETS", "ECONOMY", "CLIMATE")),
            11,
            (180, 30, 30),
            "sans-bold",
            anchor="ma",
        )
        y += c.px(26)
    headline_size = between(rng, 20, 36) if kind != "doc" else between(rng, 18, 26)
    y = c.paragraph(
        margin,
        y,
        c.w - 2 * margin,
        tk.sentence(rng, 5, 12),
        headline_size,
        ink,
        "times-bold" if kind == "news" else "sans-bold" if kind == "doc" else "serif-bold",
        leading=1.2,
    )
    if kind == "news":
        y = c.paragraph(
            margin,
            y + c.px(8),
            c.w - 2 * margin,
            tk.sentence(rng, 10, 20),
            15,
            tk.mix(ink, paper, 0.25),
            "times-italic",
        )
        c.text(
            (margin, y + c.px(8)),
            f"By {tk.person(rng)[0].upper()}  |  "
            f"{pick(rng, ('Feb', 'Jul', 'Nov'))} {randint(rng, 1, 28)}, {randint(rng, 2015, 2025)}",
            11,
            ink,
            "sans-bold",
        )
        y += c.px(36)
        if chance(rng, 0.35):
            height = (c.w - 2 * margin) * 0.45
            c.paste_fit(
                tk.photo(rng, (int(c.w - 2 * margin), int(height))),
                (int(margin), int(y), int(c.w - margin), int(y + height)),
            )
            y += height + c.px(12)
    size_pt = between(rng, 11, 15)
    while y < c.h - c.px(30):
        if kind == "doc" and chance(rng, 0.25):
            y = c.paragraph(
                margin, y, c.w - 2 * margin, tk.words(rng, randint(rng, 2, 5)).title(), size_pt * 1.3, ink, "sans-bold"
            ) + c.px(4)
        if kind == "doc" and chance(rng, 0.3):
            for _ in range(randint(rng, 2, 5)):
                c.text((margin + c.px(6), y), "•", size_pt, ink)
                y = c.paragraph(
                    margin + c.px(22), y, c.w - 2 * margin - c.px(22), tk.sentence(rng), size_pt, ink, body_face
                )
        y = c.paragraph(
            margin,
            y,
            c.w - 2 * margin,
            tk.paragraph(rng, randint(rng, 2, 5)),
            size_pt,
            ink,
            body_face,
            leading=between(rng, 1.3, 1.6),
        ) + c.px(size_pt * 0.8)
    if kind == "book":
        c.text((c.w / 2, c.h - c.px(14)), str(randint(rng, 2, 400)), 11, ink, "serif", anchor="md")
    return c.image


def _receipt(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """A till receipt: narrow paper on a table, monospace items, totals and a barcode."""
    table = (
        tk.photo(rng, size)
        if chance(rng, 0.4)
        else Image.new("RGB", size, pick(rng, ((90, 70, 55), (200, 200, 200), (40, 40, 40))))
    )
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
        f"{randint(rng, 1, 99)} {tk.words(rng, 2).title()} St.",
        f"Tel: {randint(rng, 100, 999)}-{randint(rng, 1000, 9999)}",
        "TAX INVOICE",
    ):
        c.draw.text((c.w / 2, y), line, font=fnt, fill=ink, anchor="ma")
        y += fnt.size * 1.4
    total = 0.0
    while y < c.h - c.px(130):
        if chance(rng, 0.12):
            tk.dashed(c.draw, (x0 + c.px(10), y + fnt.size * 0.7), (x1 - c.px(10), y + fnt.size * 0.7), ink)
        price = between(rng, 0.5, 60)
        total += price
        c.draw.text(
            (x0 + c.px(12), y),
            tk.words(rng, randint(rng, 1, 3)).upper()[: int(width / fnt.getlength("M")) - 10],
            font=fnt,
            fill=ink,
        )
        c.draw.text((x1 - c.px(12), y), f"{price:.2f}", font=fnt, fill=ink, anchor="ra")
        y += fnt.size * 1.4
    c.draw.text((x0 + c.px(12), y + c.px(8)), "TOTAL", font=tk.font("mono-bold", fnt.size + 2), fill=ink)
    c.draw.text(
        (x1 - c.px(12), y + c.px(8)), f"{total:.2f}", font=tk.font("mono-bold", fnt.size + 2), fill=ink, anchor="ra"
    )
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
            header, rows, colours = _number_rows(
                rng, pal, randint(rng, 3, 8), min(6, int((c.w - c.px(100)) / c.px(90))), "dataframe"
            )
            bottom = min(c.h - c.px(8), y + c.px(30) * (len(rows) + 1))
            _grid_table(
                c, (c.px(80), y, c.w - c.px(12), bottom), header, rows, colours, pal, 11.5, ruled=False, zebra=True
            )
            y = bottom + c.px(10)
        cell += randint(rng, 1, 3)
    return c.image


def _terminal_table(c: Canvas, rng: np.random.Generator, y: float, fnt: ImageFont.FreeTypeFont, text: RGB) -> None:
    """A trading bot's live ticker table in a terminal: aligned columns, coloured changes and cells."""
    up, down = pick(rng, tk.UP_DOWN)
    price = 10 ** between(rng, -3, 4)
    while y < c.h - fnt.size:
        change = rng.normal(0, 2)
        price *= 1 + change / 100
        cells = (
            f"{tk.moment(rng):%H:%M:%S}",
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
        window_bar(c, (0, 0, c.w, c.px(26)), "bash — 120×40", tk.mix(bg, (255, 255, 255), 0.15), mac=True)
        y = c.px(34)
    text = pick(rng, ((204, 204, 204), (230, 230, 230), (0, 255, 0)))
    if chance(rng, 0.35):
        _terminal_table(c, rng, y, fnt, text)
        return c.image
    while y < c.h - fnt.size:
        level = weighted(rng, {"INFO": 0.6, "WARN": 0.15, "ERROR": 0.1, "DEBUG": 0.15})
        stamp = f"{tk.moment(rng):%Y-%m-%d %H:%M:%S}"
        x = c.px(8)
        for part, colour in (
            (stamp, tk.mix(text, bg, 0.4)),
            (f"[{level}]", levels[level]),
            (
                pick(
                    rng,
                    (
                        tk.sentence(rng, 3, 9),
                        (
                            f"{pick(rng, tk.TICKERS)} {pick(rng, ('BUY', 'SELL'))} "
                            f"{between(rng, 0.01, 5):.4f} @ {between(rng, 1, 60000):.2f}"
                        ),
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


def _gallery(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """The same page layout filled with photos, logos, tweets and app screens."""
    return small_multiples(rng, size, scale, (_photo, _logo, _tweet, _ui, _table))


_DIAGRAM_NODES = ("Data feed", "Exchange API", "Order router", "Risk check", "Strategy", "Backtester", "Broker",
                  "Database", "Scheduler", "Signal engine", "Portfolio", "Web UI", "Message queue", "Cache",
                  "Model", "Features", "Execution", "Logger", "Alerts", "Market data")


def _arrow(c: Canvas, p0: tuple[float, float], p1: tuple[float, float], colour: RGB, width: int, gap: float) -> None:
    """A straight arrow from p0 towards p1, its filled head `gap` pixels short of p1 (outside the node there)."""
    angle, head = np.arctan2(p1[1] - p0[1], p1[0] - p0[0]), c.px(8)
    p1 = (p1[0] - gap * np.cos(angle), p1[1] - gap * np.sin(angle))
    c.draw.line((*p0, *p1), fill=colour, width=width)
    wings = [(p1[0] - head * np.cos(angle + s), p1[1] - head * np.sin(angle + s)) for s in (0.45, -0.45)]
    c.draw.polygon([p1, *wings], fill=colour)


def _diagram(rng: np.random.Generator, size: tuple[int, int], scale: float) -> Image.Image:
    """An architecture diagram or flowchart (labelled boxes and arrows) or a state graph (circles and edges)."""
    dark = chance(rng, 0.25)
    background = (30, 30, 36) if dark else pick(rng, ((255, 255, 255), (250, 250, 250), (245, 247, 250)))
    ink = (220, 220, 220) if dark else (60, 60, 60)
    c = Canvas(size, background, scale)
    rows, cols = randint(rng, 2, 4), randint(rng, 2, 4)
    cell_w, cell_h = c.w / cols, c.h / rows
    fills = [tk.random_colour(rng, (0.2, 0.6), (0.75, 0.95)) for _ in range(3)]
    graph = chance(rng, 0.5)
    centres = {}
    for r in range(rows):
        for k in range(cols):
            if chance(rng, 0.2):
                continue
            x, y = (k + between(rng, 0.35, 0.65)) * cell_w, (r + between(rng, 0.35, 0.65)) * cell_h
            centres[(r, k)] = (x, y)
    if not centres:  # every cell skipped (about 1 in 600 on a 2 x 2 grid): one node in the middle
        centres[(0, 0)] = (c.w / 2, c.h / 2)
    width, gap = c.px(pick(rng, (1, 1.5, 2))), min(cell_w, cell_h) * 0.3
    keys = sorted(centres)
    for a, b in zip(keys, keys[1:] + keys[:1]):
        if a != b and chance(rng, 0.8):
            _arrow(c, centres[a], centres[b], ink, width, gap)
    for _ in range(randint(rng, 0, 4)):
        a, b = pick(rng, keys), pick(rng, keys)
        if a != b:
            _arrow(c, centres[a], centres[b], ink, width, gap)
    text_size = between(rng, 10, 14)
    for x, y in centres.values():
        fill = pick(rng, fills)
        if graph:
            radius = min(cell_w, cell_h) * between(rng, 0.12, 0.22)
            tk.circle(c.draw, (x, y), radius, fill=fill if chance(rng, 0.5) else background, outline=ink, width=width)
            c.text((x, y), pick(rng, "ABCDEFGHSX") + str(randint(rng, 0, 9)), text_size, ink, anchor="mm")
        else:
            half_w, half_h = cell_w * between(rng, 0.25, 0.4), cell_h * between(rng, 0.15, 0.28)
            c.draw.rounded_rectangle((x - half_w, y - half_h, x + half_w, y + half_h), radius=c.px(6), fill=fill,
                                     outline=ink, width=width)
            c.text((x, y), pick(rng, _DIAGRAM_NODES), text_size, (20, 20, 20), anchor="mm")
    return c.image


NON_CHART_SCENES: dict[str, tuple[float, Scene]] = {
    "photo": (0.14, _photo),
    "ui": (0.15, _ui),
    "table": (0.13, _table),
    "document": (0.13, _document),
    "diagram": (0.09, _diagram),
    "tweet": (0.08, _tweet),
    "chat": (0.08, _chat),
    "logo": (0.09, _logo),
    "meme": (0.06, _meme),
    "illustration": (0.05, _illustration),
    "gallery": (0.04, _gallery),
}
