"""benchmarks.member_tiles' logic that can break: which images get tiles and where they fall, and what the
re-scored images count as."""
import numpy as np
from PIL import Image

from benchmarks.member_tiles import square_tiles, summary


def _stripes(width: int, height: int, along_width: bool) -> Image.Image:
    """Three bands of pure red, green and blue along the long side."""
    pixels = np.zeros((height, width, 3), np.uint8)
    long = width if along_width else height
    for band in range(3):
        part = slice(band * long // 3, (band + 1) * long // 3)
        if along_width:
            pixels[:, part, band] = 255
        else:
            pixels[part, :, band] = 255
    return Image.fromarray(pixels)


def test_a_wide_or_tall_image_gets_square_tiles_end_to_end_along_its_long_side():
    for along_width, size in ((True, (300, 100)), (False, (100, 300))):
        tiles = square_tiles(_stripes(*size, along_width), 16)
        assert len(tiles) == 3 and all(t.shape == (16, 16, 3) for t in tiles)
        assert [int(np.argmax(t.reshape(-1, 3).mean(axis=0))) for t in tiles] == [0, 1, 2]  # red, green, blue
    assert len(square_tiles(_stripes(310, 100, True), 16)) == 4  # ceil(3.1)


def test_a_nearly_square_image_gets_none():
    assert square_tiles(_stripes(150, 100, True), 16) == [] and square_tiles(_stripes(100, 100, True), 16) == []


def test_the_summary_counts_errors_fixed_broken_and_backbone_passes():
    fold = {"threshold": 0.5, "images": {
        "/a/fixed.png": {"label": "chart", "run": 0.3, "tiles": 0.7, "passes": [1, 3]},
        "/a/broken.png": {"label": "non_chart", "run": 0.4, "tiles": 0.6, "passes": [1, 4]},
        "/a/sure.png": {"label": "chart", "run": 0.99, "tiles": 0.99, "passes": [0, 0]},
        "/a/wrong.png": {"label": "non_chart", "run": 0.9, "tiles": 0.8, "passes": [1, 1]}}}
    result = summary([fold, fold])
    assert (result["images"], result["errors_run"], result["errors_tiles"]) == (8, 4, 4)
    assert result["fixed"] == ["fixed.png"] * 2 and result["broken"] == ["broken.png"] * 2
    assert (result["backbone_passes_run"], result["backbone_passes_tiles"]) == (6, 16)
