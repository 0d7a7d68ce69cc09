"""transforms.image.prepare: one file, one model input, or a rejection with its reason."""
from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import hashlib
import io
import os
import pathlib
import re
import struct
import time
import warnings
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image, PngImagePlugin

from core import dead_letters
from tests import support
from tests.support.images import image_bytes
from transforms import image
from transforms.image import MIN_SIDE, PreparedImage, RejectedImage, load_rgb, prepare, resize

REPO_ROOT = pathlib.Path(support.REPO_ROOT)


REAL_SAMPLE = pathlib.Path(support.REAL_SAMPLE)  # ../shared beside the checkout


RNG_SEED = 20240601


WIDTH, HEIGHT = 48, 32  # deliberately not square and not a multiple of 16


SIZE = 24  # the model's side in these tests: every picture is downscaled


WHITE = (255, 255, 255)


ADAM7_PASSES = (  # (x0, y0, dx, dy) of the seven interlace passes
    (0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)
)


def picture(width: int = WIDTH, height: int = HEIGHT, seed: int = 0) -> Image.Image:
    """An RGB test picture: gradients plus noise, with a red top-left block (shows rotation)."""
    rng = np.random.default_rng(RNG_SEED + seed)
    x = np.linspace(0, 255, width)[None, :]
    y = np.linspace(0, 255, height)[:, None]
    channels = [x + 0 * y, y + 0 * x, (x + y) / 2]
    pixels = np.stack(channels, axis=2) + rng.normal(0, 20, (height, width, 3))
    pixels[:8, :8] = (255, 0, 0)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def rgba_picture() -> Image.Image:
    """picture() with alpha: (0, 0) fully transparent, (1, 0) half transparent, rest opaque."""
    alpha = np.full((HEIGHT, WIDTH), 255, np.uint8)
    alpha[0, 0], alpha[0, 1] = 0, 128
    rgba = picture().convert("RGBA")
    rgba.putalpha(Image.fromarray(alpha))
    return rgba


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **params)
    return buffer.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body)
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def ihdr(
    width: int, height: int, bit_depth: int = 8, colour_type: int = 2, interlace: int = 0
) -> bytes:
    return struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, interlace)


def png_from_chunks(header: bytes, idat: bytes) -> bytes:
    chunks = png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def raw_png(pixels: np.ndarray, colour_type: int, interlace: bool = False) -> bytes:
    """A hand-written PNG (filter 0) for variants Pillow cannot save: 16-bit RGB, Adam7."""
    height, width = pixels.shape[:2]
    pixels = pixels.astype(pixels.dtype.newbyteorder(">"))
    passes = [pixels[y::dy, x::dx] for x, y, dx, dy in ADAM7_PASSES] if interlace else [pixels]
    raw = b"".join(b"\0" + row.tobytes() for sub in passes if sub.size for row in sub)
    header = ihdr(width, height, pixels.dtype.itemsize * 8, colour_type, int(interlace))
    return png_from_chunks(header, zlib.compress(raw))


def png_header_only(width: int, height: int) -> bytes:
    """A well-formed PNG (correct CRCs) whose IHDR claims width x height over a tiny IDAT."""
    return png_from_chunks(ihdr(width, height), zlib.compress(b"\0"))


def with_bad_idat_crc(png: bytes) -> bytes:
    start = png.index(b"IDAT")
    crc_at = start + 4 + int.from_bytes(png[start - 4 : start], "big")
    return png[:crc_at] + bytes([png[crc_at] ^ 0xFF]) + png[crc_at + 1 :]


def exif_orientation(value: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = value
    return exif


def text_chunk(key: str, value: str) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_text(key, value)
    return info


def palette_picture(transparent_index: int | None = None) -> Image.Image:
    """picture() quantised to 64 colours; with a transparent index, pixel (0, 0) uses it."""
    pal = picture().quantize(64)
    if transparent_index is not None:
        pal.putpixel((0, 0), transparent_index)
        pal.info["transparency"] = transparent_index
    return pal


def grey_with_trns() -> bytes:
    """8-bit grey PNG with a tRNS grey value used only by pixel (0, 0)."""
    grey = np.asarray(picture().convert("L")) | 1  # odd values only
    grey[0, 0] = 0
    return encode(Image.fromarray(grey), "PNG", transparency=0)


def grey16_values() -> np.ndarray:
    """16-bit grey whose high byte is picture()'s 8-bit grey and low byte is 100."""
    return (np.asarray(picture().convert("L"), np.uint32) * 256 + 100).astype(np.uint16)


def grey16(values: np.ndarray | None = None) -> Image.Image:
    """A mode "I;16" image (Pillow saves it as a 16-bit grey PNG/TIFF)."""
    return Image.fromarray(grey16_values() if values is None else values.astype(np.uint16))


def grey16_with_trns() -> bytes:
    values = grey16_values()
    values[0, 0] = 7  # unique: every other value ends in low byte 100
    return encode(grey16(values), "PNG", transparency=7)


def animated_gif() -> bytes:
    first = Image.new("RGB", (WIDTH, HEIGHT), (200, 30, 40))
    second = Image.new("RGB", (WIDTH, HEIGHT), (10, 20, 250))
    return encode(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)


def transparent_gif() -> bytes:
    return encode(palette_picture(transparent_index=0), "GIF", transparency=0)


def int32_values() -> np.ndarray:
    """Mode "I" values that go below 0 and above 65535 (both must clip)."""
    return grey16_values().astype(np.int32) * 3 - 20_000


def float_values() -> np.ndarray:
    """Mode "F" values that go below 0.0 and above 1.0 (both must clip)."""
    return np.asarray(picture().convert("L"), np.float32) / 150 - 0.2


def tiff_of(values: np.ndarray) -> bytes:
    return encode(Image.fromarray(values), "TIFF")


def jpeg_segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def lossless_jpeg(grey: np.ndarray) -> bytes:
    """An 8-bit grey lossless JPEG (SOF3, predictor 1), which Pillow cannot save."""
    height, width = grey.shape
    predicted = np.empty_like(grey, np.int32)
    predicted[0, 0] = 128  # 2 ** (precision - 1)
    predicted[1:, 0] = grey[:-1, 0]  # first column: the pixel above
    predicted[:, 1:] = grey[:, :-1]  # everywhere else: the pixel to the left
    bits = ""
    for diff in (grey.astype(np.int32) - predicted).flat:
        size = int(abs(diff)).bit_length()  # the Huffman symbol; the table codes it in 4 bits
        bits += format(size, "04b")
        if size:  # then the difference in `size` bits (negative: one's complement)
            bits += format(diff if diff > 0 else diff + (1 << size) - 1, f"0{size}b")
    bits += "1" * (-len(bits) % 8)
    scan = int(bits, 2).to_bytes(len(bits) // 8, "big").replace(b"\xff", b"\xff\x00")
    return (
        b"\xff\xd8"
        + jpeg_segment(0xC3, struct.pack(">BHHB", 8, height, width, 1) + bytes([1, 0x11, 0]))
        + jpeg_segment(0xC4, bytes([0, 0, 0, 0, 9] + [0] * 12) + bytes(range(9)))
        + jpeg_segment(0xDA, bytes([1, 1, 0, 1, 0, 0]))
        + scan
        + b"\xff\xd9"
    )


def progressive_jpeg_without_last_scan(img: Image.Image) -> bytes:
    """A 4:2:0 progressive JPEG cut before its last scan and closed with EOI (well-formed)."""
    data = encode(img, "JPEG", quality=90, subsampling=2, progressive=True)
    last_scan = [match.start() for match in re.finditer(b"\xff\xda", data)][-1]
    return data[:last_scan] + b"\xff\xd9"


@dataclasses.dataclass(frozen=True)
class Case:
    data: bytes
    format: str


def build_valid_cases() -> dict[str, Case]:
    pic = picture()
    grey = np.asarray(pic.convert("L"))

    def png(img: Image.Image, **params: object) -> Case:
        return Case(encode(img, "PNG", **params), "PNG")

    def jpeg(img: Image.Image, **params: object) -> Case:
        return Case(encode(img, "JPEG", **params), "JPEG")

    def other(img: Image.Image, fmt: str, **params: object) -> Case:
        return Case(encode(img, fmt, **params), fmt)

    return {
        # PNG: bit depths, colour types, interlacing, transparency, EXIF, a bad CRC.
        "png_rgb": png(pic),
        "png_grey": png(pic.convert("L")),
        "png_rgba_opaque": png(pic.convert("RGBA")),
        "png_la_opaque": png(pic.convert("LA")),
        "png_rgb_adam7": Case(raw_png(np.asarray(pic), colour_type=2, interlace=True), "PNG"),
        "png_grey_adam7": Case(raw_png(grey, colour_type=0, interlace=True), "PNG"),
        "png_rgb_exif_orientation_6": png(pic, exif=exif_orientation(6)),
        "png_rgb_bad_idat_crc": Case(with_bad_idat_crc(encode(pic, "PNG")), "PNG"),
        "png_palette": png(palette_picture()),
        "png_palette_transparency": png(palette_picture(transparent_index=0)),
        "png_rgba": png(rgba_picture()),
        "png_la": png(rgba_picture().convert("LA")),
        "png_grey_trns": Case(grey_with_trns(), "PNG"),
        "png_grey_16bit": png(grey16()),
        "png_grey_16bit_trns": Case(grey16_with_trns(), "PNG"),
        "png_rgb_16bit": Case(raw_png(np.asarray(pic, np.uint16) * 257, colour_type=2), "PNG"),
        "png_1bit": png(pic.convert("1")),
        # JPEG: subsampling, progressive, quality, restart markers, EXIF, MPO, CMYK, lossless.
        "jpeg_baseline_420": jpeg(pic, quality=85, subsampling=2),
        "jpeg_baseline_422": jpeg(pic, quality=85, subsampling=1),
        "jpeg_baseline_444": jpeg(pic, quality=85, subsampling=0),
        "jpeg_progressive_420": jpeg(pic, quality=85, subsampling=2, progressive=True),
        "jpeg_progressive_422": jpeg(pic, quality=75, subsampling=1, progressive=True),
        "jpeg_progressive_444": jpeg(pic, quality=95, subsampling=0, progressive=True),
        "jpeg_quality_50": jpeg(pic, quality=50),
        "jpeg_quality_100": jpeg(pic, quality=100),
        "jpeg_progressive_quality_100": jpeg(pic, quality=100, progressive=True),
        "jpeg_grey": jpeg(pic.convert("L"), quality=85),
        "jpeg_grey_progressive": jpeg(pic.convert("L"), quality=60, progressive=True),
        "jpeg_rgb_no_ycc": jpeg(pic, quality=90, keep_rgb=True),
        "jpeg_restart_markers": jpeg(pic, quality=90, restart_marker_blocks=1),
        "jpeg_exif_orientation_1": jpeg(pic, quality=90, exif=exif_orientation(1)),
        "jpeg_corrupt_exif": jpeg(
            pic, quality=90, exif=b"Exif\x00\x00II*\x00\xff\xff\xff\x7f"
        ),
        "jpeg_bytes_after_eoi": Case(encode(pic, "JPEG", quality=90) + b"\0" * 64, "JPEG"),
        "mpo_two_frames": Case(
            encode(pic, "MPO", save_all=True, append_images=[picture(seed=1)]), "MPO"
        ),
        "jpeg_cmyk": jpeg(pic.convert("CMYK"), quality=90),
        "jpeg_exif_orientation_6": jpeg(pic, quality=90, exif=exif_orientation(6)),
        "jpeg_exif_orientation_3": jpeg(pic, quality=90, exif=exif_orientation(3)),
        "jpeg_lossless": Case(lossless_jpeg(grey), "JPEG"),
        "jpeg_progressive_without_last_scan": Case(
            progressive_jpeg_without_last_scan(pic), "JPEG"
        ),
        # Other containers.
        "gif_animated": Case(animated_gif(), "GIF"),
        "gif_transparency": Case(transparent_gif(), "GIF"),
        "webp_lossless": other(pic, "WEBP", lossless=True),
        "webp_lossy": other(pic, "WEBP", quality=80),
        "webp_alpha": other(rgba_picture(), "WEBP", lossless=True),
        "bmp_rgb": other(pic, "BMP"),
        "bmp_palette": other(palette_picture(), "BMP"),
        "tiff_rgb": other(pic, "TIFF"),
        "tiff_rgba": other(rgba_picture(), "TIFF"),
        "tiff_cmyk": other(pic.convert("CMYK"), "TIFF"),
        "tiff_lab": other(pic.convert("LAB"), "TIFF"),
        "tiff_grey_16bit": other(grey16(), "TIFF"),
        "tiff_int32": Case(tiff_of(int32_values()), "TIFF"),
        "tiff_float": Case(tiff_of(float_values()), "TIFF"),
    }


VALID = build_valid_cases()


TRANSPARENT_CORNER = (
    "png_rgba",
    "png_la",
    "png_palette_transparency",
    "png_grey_trns",
    "png_grey_16bit_trns",
    "gif_transparency",
    "webp_alpha",
    "tiff_rgba",
)


def hash_of_pixels(pixels: np.ndarray) -> str:
    """content_hash as documented: sha256 of b"<width>x<height>:" + RGB bytes in row order."""
    height, width = pixels.shape[:2]
    return hashlib.sha256(b"%dx%d:" % (width, height) + pixels.tobytes()).hexdigest()


@pytest.mark.parametrize("name", sorted(VALID))
def test_prepare_gives_the_model_the_resized_canonical_decode(name: str) -> None:
    case = VALID[name]
    prepared = prepare(case.data, SIZE)
    canonical = load_rgb(case.data)

    assert canonical.mode == "RGB"
    assert prepared.pixels.dtype == np.uint8 and prepared.pixels.shape == (SIZE, SIZE, 3)
    np.testing.assert_array_equal(prepared.pixels, resize(canonical, SIZE))
    assert (prepared.width, prepared.height) == canonical.size
    assert prepared.format == case.format
    assert prepared.sha256 == hashlib.sha256(case.data).hexdigest()


@pytest.mark.parametrize("name", sorted(VALID))
def test_content_hash_is_size_plus_full_resolution_pixels(name: str) -> None:
    data = VALID[name].data
    assert prepare(data, SIZE).content_hash is None  # labelling does not pay for it
    assert prepare(data, SIZE, with_content_hash=True).content_hash == hash_of_pixels(np.asarray(load_rgb(data)))


@pytest.mark.parametrize("orientation", [1, 6])
def test_a_large_jpeg_is_decoded_smaller_by_dct_scaling_yet_reports_and_hashes_its_full_size(orientation: int) -> None:
    data = encode(picture(1600, 1200), "JPEG", quality=90, exif=exif_orientation(orientation))
    prepared = prepare(data, 128, with_content_hash=True)

    drafted = Image.open(io.BytesIO(data))
    drafted.draft(None, (128 * image.INK_POOL,) * 2)  # 1/4: 400 x 300, still over the ink-pooled 256 a side
    assert drafted.size == (400, 300)
    upright = image._upright(drafted.convert("RGB") if orientation == 1 else drafted)
    np.testing.assert_array_equal(prepared.pixels, resize(upright.convert("RGB"), 128))
    full = load_rgb(data)
    assert (prepared.width, prepared.height) == full.size == ((1600, 1200) if orientation == 1 else (1200, 1600))
    assert prepared.content_hash == hash_of_pixels(np.asarray(full))  # the hash stays that of the full-size pixels
    assert np.abs(prepared.pixels.astype(int) - resize(full, 128).astype(int)).mean() < 3  # and the picture the same


def test_a_one_pixel_line_survives_downscaling() -> None:
    """Antialiased resizing: a thin chart line in a large screenshot still shows at model size."""
    canvas = np.full((900, 1600, 3), 255, np.uint8)
    canvas[450, :] = 0  # one black row across the picture
    pixels = prepare(encode(Image.fromarray(canvas), "PNG"), 128).pixels
    darkest_row = pixels.min(axis=(1, 2))
    assert darkest_row.min() < 250
    assert (darkest_row < 250).sum() <= 3  # and stays thin


@pytest.mark.parametrize("background, line", [(255, (230, 120, 120)), (0, (90, 160, 255))])
def test_a_faint_one_pixel_line_keeps_twice_the_contrast_of_a_plain_resize(background: int, line: tuple) -> None:
    """Ink pooling: a light line on white (or a dim one on black) in a 1,600 px screenshot stays visible."""
    canvas = np.full((900, 1600, 3), background, np.uint8)
    canvas[450, :] = line
    picture = Image.fromarray(canvas)
    pixels = prepare(encode(picture, "PNG"), 128).pixels
    plain = np.asarray(picture.resize((128, 128), Image.Resampling.BILINEAR))

    def contrast(a: np.ndarray) -> float:
        return float(np.abs(a.astype(int) - background).sum(-1).max())

    assert contrast(pixels) >= 2 * contrast(plain)
    assert (np.abs(pixels.astype(int) - background).sum((1, 2)) > 0).sum() <= 2  # still a thin line
    assert (pixels[:60] == background).all()  # and nothing drawn where there was nothing


def test_content_that_vanishes_on_white_is_flattened_onto_black() -> None:
    """A white wordmark made for dark pages would vanish on white; dark content still goes onto white."""
    for ink, expected_background in (((255, 255, 255, 255), (0, 0, 0)), ((20, 40, 60, 255), WHITE)):
        rgba = Image.new("RGBA", (200, 80), (0, 0, 0, 0))
        rgba.paste(Image.new("RGBA", (120, 20), ink), (40, 30))
        rgb = load_rgb(encode(rgba, "PNG"))
        assert rgb.getpixel((0, 0)) == expected_background
        assert rgb.getpixel((100, 40)) == ink[:3]


@pytest.mark.parametrize("name", TRANSPARENT_CORNER)
def test_transparency_is_flattened_on_white(name: str) -> None:
    rgb = load_rgb(VALID[name].data)
    assert rgb.getpixel((0, 0)) == WHITE
    assert rgb.getpixel((2, 0)) != WHITE  # opaque pixels are not whitened


@pytest.mark.parametrize("corner", [(0, 0), (299, 199)])
def test_one_transparent_pixel_anywhere_is_flattened_and_a_fully_opaque_picture_is_kept(corner) -> None:
    rgba = Image.new("RGBA", (300, 200), (10, 20, 30, 255))
    opaque = load_rgb(encode(rgba, "PNG"))
    assert (np.asarray(opaque) == (10, 20, 30)).all()
    rgba.putpixel(corner, (10, 20, 30, 0))
    flattened = load_rgb(encode(rgba, "PNG"))
    assert flattened.getpixel(corner) == WHITE
    assert flattened.getpixel((150, 100)) == (10, 20, 30)


def test_alpha_is_composited_on_white() -> None:
    rgba = np.asarray(rgba_picture(), np.float64)
    alpha = rgba[..., 3:] / 255
    expected = rgba[..., :3] * alpha + 255 * (1 - alpha)
    got = np.asarray(load_rgb(VALID["png_rgba"].data), np.float64)
    assert np.abs(got - expected).max() <= 1
    np.testing.assert_array_equal(got[alpha[..., 0] == 1], rgba[..., :3][alpha[..., 0] == 1])


@pytest.mark.parametrize("name", ["jpeg_exif_orientation_6", "png_rgb_exif_orientation_6"])
def test_exif_orientation_6_is_rotated_upright(name: str) -> None:
    data = VALID[name].data
    stored = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    prepared = prepare(data, SIZE)

    assert stored.shape[:2] == (HEIGHT, WIDTH)
    assert (prepared.width, prepared.height) == (HEIGHT, WIDTH)
    clockwise = np.rot90(stored, k=-1)
    np.testing.assert_array_equal(np.asarray(load_rgb(data)), clockwise)
    upright = prepared.pixels.astype(int)
    assert np.abs(upright[0, -1] - (255, 0, 0)).max() < 40  # the red block is now top-right
    assert np.abs(upright[0, 0] - (255, 0, 0)).max() > 100


def test_exif_orientation_3_is_rotated_180() -> None:
    data = VALID["jpeg_exif_orientation_3"].data
    stored = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    np.testing.assert_array_equal(np.asarray(load_rgb(data)), stored[::-1, ::-1])


def test_animated_gif_gives_its_first_frame() -> None:
    pixels = np.asarray(load_rgb(VALID["gif_animated"].data))
    assert {tuple(p) for p in pixels.reshape(-1, 3)} == {(200, 30, 40)}


@pytest.mark.parametrize("name", ["png_grey_16bit", "tiff_grey_16bit"])
def test_16_bit_grey_is_scaled_not_clipped(name: str) -> None:
    got = np.asarray(load_rgb(VALID[name].data))
    high_byte = np.asarray(picture().convert("L"))  # see grey16_values()
    np.testing.assert_array_equal(got, np.repeat(high_byte[..., None], 3, axis=2))
    assert got.max() > 200 and got.min() < 50


def hashed(data: bytes) -> str:
    return prepare(data, SIZE, with_content_hash=True).content_hash


def test_16_bit_grey_and_16_bit_rgb_of_one_picture_hash_the_same() -> None:
    grey_png = encode(grey16(), "PNG")
    rgb_png = raw_png(np.repeat(grey16_values()[..., None], 3, axis=2), colour_type=2)
    assert hashed(grey_png) == hashed(rgb_png)


def test_int32_and_float_tiffs_are_scaled_to_8_bits() -> None:
    expected_ints = np.clip(int32_values(), 0, 65535) >> 8
    expected_floats = np.rint(np.clip(float_values(), 0, 1) * 255)
    got_ints = np.asarray(load_rgb(VALID["tiff_int32"].data))[..., 0]
    got_floats = np.asarray(load_rgb(VALID["tiff_float"].data))[..., 0]
    np.testing.assert_array_equal(got_ints, expected_ints)
    np.testing.assert_array_equal(got_floats, expected_floats)
    assert {0, 255} <= set(got_ints.flat) and {0, 255} <= set(got_floats.flat)  # both clipped


def test_lossless_jpeg_decodes() -> None:
    data = VALID["jpeg_lossless"].data
    grey = np.asarray(picture().convert("L"))
    np.testing.assert_array_equal(np.asarray(load_rgb(data)), np.repeat(grey[..., None], 3, 2))


def test_same_pixels_in_different_containers_hash_the_same() -> None:
    pic = picture()
    as_png = prepare(encode(pic, "PNG"), SIZE, with_content_hash=True)
    as_bmp = prepare(encode(pic, "BMP"), SIZE, with_content_hash=True)
    as_png_with_text = prepare(encode(pic, "PNG", pnginfo=text_chunk("Comment", "hi")), SIZE, with_content_hash=True)
    assert as_png.content_hash == as_bmp.content_hash == as_png_with_text.content_hash
    assert len({as_png.sha256, as_bmp.sha256, as_png_with_text.sha256}) == 3


def test_different_pixels_hash_differently() -> None:
    def hash_of(img: Image.Image) -> str:
        return hashed(encode(img, "PNG"))

    one = picture(seed=0)
    assert hash_of(one) != hash_of(picture(seed=1))
    square = picture(32, 32)
    assert hash_of(square) != hash_of(square.transpose(Image.Transpose.TRANSPOSE))
    # Same pixel bytes, different shape: the size in the hash tells them apart.
    assert hash_of(one) != hash_of(Image.frombytes("RGB", (HEIGHT, WIDTH), one.tobytes()))


def test_smallest_allowed_size_is_accepted() -> None:
    side = MIN_SIDE
    prepared = prepare(encode(picture(side, side), "PNG"), SIZE)
    assert (prepared.width, prepared.height) == (side, side)


def build_rejected_cases() -> dict[str, tuple[bytes, str]]:
    big_noise = picture(400, 300)
    png = encode(big_noise, "PNG")
    jpeg = encode(big_noise, "JPEG", quality=90)
    pixels_over_limit = (8000, 7000)  # 56 MP: over MAX_PIXELS, under Pillow's own warning
    assert pixels_over_limit[0] * pixels_over_limit[1] > image.MAX_PIXELS
    bad_zlib = png_from_chunks(ihdr(20, 20), b"\x78\x9c" + b"\xff" * 64)  # valid CRCs
    return {
        "zero_bytes": (b"", dead_letters.EMPTY_FILE),
        "random_bytes": (np.random.default_rng(RNG_SEED).bytes(4096), dead_letters.NOT_AN_IMAGE),
        "text_file": (b"Date,Open,Close\n2024-01-02,1.5,2.5\n" * 9, dead_letters.NOT_AN_IMAGE),
        "pdf_header": (b"%PDF-1.7\n" + b"0" * 200, dead_letters.NOT_AN_IMAGE),
        "png_cut_in_header": (png[:30], dead_letters.NOT_AN_IMAGE),
        "truncated_png": (png[: len(png) // 2], dead_letters.TRUNCATED),
        "truncated_jpeg": (jpeg[: len(jpeg) // 2], dead_letters.TRUNCATED),
        "png_corrupt_zlib": (bad_zlib, dead_letters.TRUNCATED),
        "png_header_100000x100000": (png_header_only(100_000, 100_000), dead_letters.DECOMPRESSION_BOMB),
        "png_header_8000x7000": (png_header_only(*pixels_over_limit), dead_letters.DECOMPRESSION_BOMB),
        "png_5x5": (encode(picture(5, 5), "PNG"), dead_letters.TOO_SMALL),
        "png_16x15": (encode(picture(16, 15), "PNG"), dead_letters.TOO_SMALL),
        "png_header_25000x20": (png_header_only(25_000, 20), dead_letters.TOO_LARGE),
    }


REJECTED = build_rejected_cases()


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_bad_input_is_rejected_with_its_reason(name: str) -> None:
    data, reason = REJECTED[name]
    for function in (lambda d: prepare(d, SIZE), load_rgb):
        with pytest.raises(RejectedImage) as caught:
            function(data)
        assert caught.value.reason == reason
        assert caught.value.detail


def test_max_pixels_refuses_a_larger_header_before_decoding_and_names_the_flag() -> None:
    data = png_header_only(2000, 1000)  # a header only: refusing it proves nothing was decoded
    with pytest.raises(RejectedImage) as caught:
        prepare(data, SIZE, max_pixels=1_999_999)
    assert caught.value.reason == dead_letters.DECOMPRESSION_BOMB
    assert "2000x1000" in caught.value.detail and "--max_pixels" in caught.value.detail
    small = encode(picture(40, 30), "PNG")
    assert prepare(small, SIZE, max_pixels=40 * 30).width == 40  # at the limit: accepted


def test_pillow_decompression_bomb_warning_becomes_a_rejection() -> None:
    data = png_header_only(10_000, 10_000)  # 100 MP: Pillow warns (over ~89.5 MP) but opens
    with pytest.warns(Image.DecompressionBombWarning), pytest.raises(RejectedImage) as caught:
        prepare(data, SIZE)
    assert caught.value.reason == dead_letters.DECOMPRESSION_BOMB


def test_pillow_decompression_bomb_warning_raised_as_error_becomes_a_rejection() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with pytest.raises(RejectedImage) as caught:
            prepare(png_header_only(10_000, 10_000), SIZE)
    assert caught.value.reason == dead_letters.DECOMPRESSION_BOMB
    assert "decompression bomb DOS attack" in caught.value.detail  # Pillow's own message


def test_mode_without_rgb_conversion_is_unsupported() -> None:
    with pytest.raises(RejectedImage) as caught:
        image._to_rgb(Image.new("La", (MIN_SIDE, MIN_SIDE)))
    assert caught.value.reason == dead_letters.UNSUPPORTED_MODE


def test_rejection_reasons_are_a_closed_set() -> None:
    assert len(set(image.REASONS)) == len(image.REASONS)
    with pytest.raises(ValueError, match="unknown rejection reason"):
        RejectedImage("not_a_reason", "detail")
    rejected = RejectedImage(dead_letters.TOO_SMALL, "5x5")
    assert isinstance(rejected, ValueError)
    assert (rejected.reason, rejected.detail) == (dead_letters.TOO_SMALL, "5x5")


def test_a_rejection_crosses_process_boundaries() -> None:
    import pickle

    again = pickle.loads(pickle.dumps(RejectedImage(dead_letters.TRUNCATED, "cut short")))
    assert (type(again), again.reason, again.detail) == (RejectedImage, dead_letters.TRUNCATED, "cut short")




def real_sample_files() -> list[pathlib.Path]:
    folders = (REAL_SAMPLE / "chart", REAL_SAMPLE / "non_chart")
    return sorted(path for folder in folders for path in folder.iterdir() if path.is_file())


def real_sample_outcome(path: pathlib.Path) -> tuple[str, str | None]:
    """(outcome label, failure message or None) for one real file."""
    try:
        prepared = prepare(path.read_bytes(), 128)
    except RejectedImage as rejected:
        return f"rejected {rejected.reason}", None
    except Exception as exc:  # noqa: BLE001 - the test is that nothing else escapes
        return "other exception", f"{path.name}: {type(exc).__name__}: {exc}"
    if prepared.pixels.shape != (128, 128, 3):
        return "prepared", f"{path.name}: pixels of shape {prepared.pixels.shape}"
    return f"prepared {prepared.format}", None


@pytest.mark.skipif(not (REAL_SAMPLE / "chart").is_dir(), reason="real_sample data set is absent")
def test_real_sample_prepares_or_rejects_with_a_reason() -> None:
    files = real_sample_files()
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        results = list(pool.map(real_sample_outcome, files))  # Pillow releases the GIL
    outcomes = collections.Counter(outcome for outcome, _ in results)
    print("\nreal_sample outcomes:", dict(sorted(outcomes.items())))
    assert len(results) == len(files) > 0
    failures = [failure for _, failure in results if failure]
    assert not failures, failures


def _valid(fmt: str) -> bytes:
    out = io.BytesIO()
    picture = Image.open(io.BytesIO(image_bytes(3, "PNG", size=(64, 48))))
    picture.save(out, fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return out.getvalue()


ENCODED = {fmt: _valid(fmt) for fmt in ("PNG", "JPEG", "GIF")}


@st.composite
def mutated(draw) -> bytes:
    """A valid PNG, JPEG or GIF with bytes flipped, cut, inserted or overwritten."""
    data = bytearray(ENCODED[draw(st.sampled_from(sorted(ENCODED)))])
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "cut", "insert", "overwrite"]))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        else:
            data[at:at + 4] = draw(st.sampled_from([b"\xff\xff\xff\xff", b"\0\0\0\0", b"\x7f\xff\xff\xff"]))
        if not data:
            break
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_validation_returns_an_image_or_a_rejection_and_nothing_else_quickly(data):
    started = time.monotonic()
    try:
        prepared = prepare(data, 32, with_content_hash=True)
    except RejectedImage:
        pass
    else:
        assert isinstance(prepared, PreparedImage) and prepared.pixels.shape == (32, 32, 3)
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("fmt", sorted(ENCODED))
def test_the_unmutated_images_are_valid(fmt):
    assert prepare(ENCODED[fmt], 32).pixels.shape == (32, 32, 3)
