"""A corpus of bad and odd input files, generated on the spot (no binary fixtures), each with the
outcome a user should see: labelled, or dead-lettered with its reason code."""
import io
import os
import struct
import zlib

import numpy as np
from PIL import ExifTags, Image

from core import dead_letters

LABELLED = "labelled"
MAX_FILE_MB = 1  # the corpus is run with --max_file_mb 1


def _picture(width: int = 120, height: int = 80, mode: str = "RGB") -> Image.Image:
    rng = np.random.default_rng(width * 7 + height)
    blocks = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    return Image.fromarray(np.repeat(np.repeat(blocks, 8, 0), 8, 1)[:height, :width]).convert(mode)


def _encode(img: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_header_only(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\0")) + _chunk(b"IEND", b"")


def _png_with_text_bomb() -> bytes:
    """A valid PNG whose zTXt chunk inflates to 64 MB (Pillow refuses text chunks that large)."""
    png = _encode(_picture(), "PNG")
    bomb = _chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"\0" * (64 * 1024 * 1024), 9))
    return png[:33] + bomb + png[33:]  # right after IHDR


def _rotated_jpeg() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    return _encode(_picture(), "JPEG", quality=90, exif=exif)


def _palette_with_transparency() -> bytes:
    pal = _picture().quantize(32)
    return _encode(pal, "PNG", transparency=0)


def _apng() -> bytes:
    return _encode(
        _picture(), "PNG", save_all=True, append_images=[_picture(120, 80, "L").convert("RGB")], duration=100
    )


def _cut(data: bytes) -> bytes:
    return data[: len(data) // 2]


def files() -> dict[str, tuple[bytes, str]]:
    """name -> (content, expected outcome): LABELLED or a reason code. Over 40 kinds."""
    png, jpeg, gif = (
        _encode(_picture(400, 300), "PNG"),
        _encode(_picture(400, 300), "JPEG", quality=90),
        _encode(_picture(), "GIF"),
    )
    return {
        # Bytes that are not a usable image at all.
        "empty.png": (b"", dead_letters.EMPTY_FILE),
        "notes.png": (b"Date,Open,Close\n2024-01-02,1.5,2.5\n" * 20, dead_letters.NOT_AN_IMAGE),
        "vector.png": (
            b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><rect/></svg>',
            dead_letters.NOT_AN_IMAGE,
        ),
        "report.jpg": (b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n" + b"0" * 500, dead_letters.NOT_AN_IMAGE),
        "page.png": (b"<!DOCTYPE html><html><body><img src=x.png></body></html>", dead_letters.NOT_AN_IMAGE),
        "random.jpg": (np.random.default_rng(1).bytes(4096), dead_letters.NOT_AN_IMAGE),
        "icon.ico": (_encode(_picture(32, 32), "ICO"), dead_letters.NOT_AN_IMAGE),
        "photo.heic": (b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0" * 200, dead_letters.NOT_AN_IMAGE),
        "photo.avif": (b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf" + b"\0" * 200, dead_letters.NOT_AN_IMAGE),
        "layers.psd": (b"8BPS\0\1" + b"\0" * 200, dead_letters.NOT_AN_IMAGE),
        "text_bomb.png": (_png_with_text_bomb(), dead_letters.NOT_AN_IMAGE),
        "png_cut_in_header.png": (png[:30], dead_letters.NOT_AN_IMAGE),
        # Images that cannot be decoded whole, or are too big or too small to use.
        "truncated.png": (_cut(png), dead_letters.TRUNCATED),
        "truncated.jpg": (_cut(jpeg), dead_letters.TRUNCATED),
        "header_bomb.png": (_png_header_only(100_000, 100_000), dead_letters.DECOMPRESSION_BOMB),
        "over_50mp.png": (_png_header_only(8000, 7000), dead_letters.DECOMPRESSION_BOMB),
        "tiny_4px.png": (_encode(_picture(4, 4), "PNG"), dead_letters.TOO_SMALL),
        "strip_1x10000.png": (_encode(_picture(1, 10_000), "PNG"), dead_letters.TOO_SMALL),
        "banner_25000x20.png": (_png_header_only(25_000, 20), dead_letters.TOO_LARGE),
        "random_2mb.jpg": (np.random.default_rng(2).bytes(2 * 1024 * 1024), dead_letters.FILE_TOO_LARGE),
        # Odd but valid: each must be labelled.
        "animated.gif": (
            _encode(_picture(), "GIF", save_all=True, append_images=[_picture(120, 80, "L").convert("RGB")]),
            LABELLED,
        ),
        "animated.png": (_apng(), LABELLED),
        "plain.gif": (gif, LABELLED),
        "grey16.png": (
            _encode(Image.fromarray((np.arange(120 * 80, dtype=np.uint16).reshape(80, 120) * 7)), "PNG"),
            LABELLED,
        ),
        "cmyk.jpg": (_encode(_picture(mode="CMYK"), "JPEG", quality=90), LABELLED),
        "progressive.jpg": (_encode(_picture(), "JPEG", quality=85, progressive=True), LABELLED),
        "grey.jpg": (_encode(_picture(mode="L"), "JPEG"), LABELLED),
        "rotated_exif.jpg": (_rotated_jpeg(), LABELLED),
        "corrupt_exif.jpg": (_encode(_picture(), "JPEG", exif=b"Exif\0\0II*\0\xff\xff\xff\x7f"), LABELLED),
        "scan.tiff": (_encode(_picture(), "TIFF"), LABELLED),
        "bitmap.bmp": (_encode(_picture(), "BMP"), LABELLED),
        "lossy.webp": (_encode(_picture(), "WEBP", quality=70), LABELLED),
        "alpha.webp": (_encode(_picture(mode="RGBA"), "WEBP", lossless=True), LABELLED),
        "palette_transparency.png": (_palette_with_transparency(), LABELLED),
        "grey_alpha.png": (_encode(_picture(mode="LA"), "PNG"), LABELLED),
        "one_bit.png": (_encode(_picture(mode="1"), "PNG"), LABELLED),
        "png_named.jpg": (png, LABELLED),
        "polyglot_png_zip.png": (png + b"PK\x03\x04" + b"\0" * 100, LABELLED),
        "bytes_after_eoi.jpg": (jpeg + b"\0" * 64, LABELLED),
        "name with spaces.png": (_encode(_picture(130, 90), "PNG"), LABELLED),
        "график_€.png": (_encode(_picture(140, 90), "PNG"), LABELLED),
        ("x" * 200) + ".png": (_encode(_picture(150, 90), "PNG"), LABELLED),
        ".hidden.png": (_encode(_picture(160, 90), "PNG"), LABELLED),
    }


def write(folder: str, outside: str) -> dict[str, str]:
    """Write the corpus, plus the kinds a filesystem makes (names, links, FIFOs), into `folder` (and one
    link target into `outside`, a folder outside the input root); returns {name as results show it: outcome}."""
    os.makedirs(folder, exist_ok=True)
    expected = {}
    for name, (data, outcome) in files().items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
        expected[name] = outcome
    with open(os.path.join(os.fsencode(folder), b"latin1_caf\xe9.png"), "wb") as f:  # not UTF-8
        f.write(_encode(_picture(170, 90), "PNG"))
    expected["latin1_caf\\xe9.png"] = dead_letters.BAD_FILE_NAME
    os.symlink(os.path.join(folder, "no_such_target.png"), os.path.join(folder, "broken_link.png"))
    expected["broken_link.png"] = dead_letters.BROKEN_SYMLINK
    outside = os.path.join(outside, "outside_the_folder.png")
    with open(outside, "wb") as f:
        f.write(_encode(_picture(180, 90), "PNG"))
    os.symlink(outside, os.path.join(folder, "link_out.png"))
    expected["link_out.png"] = dead_letters.OUTSIDE_ROOT
    os.symlink(os.path.join(folder, "plain.gif"), os.path.join(folder, "link_in.gif"))
    expected["link_in.gif"] = LABELLED
    os.mkfifo(os.path.join(folder, "named_pipe.png"))
    expected["named_pipe.png"] = dead_letters.NOT_A_FILE
    return expected
