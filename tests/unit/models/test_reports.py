"""models.reports: the contact sheets a person reads to see which files failed."""
import numpy as np
from PIL import Image, ImageFont

from models import reports
from tests.support.images import image_bytes

THUMB = 160


def _sheet(tmp_path, name: str, items, **kwargs) -> np.ndarray:
    path = str(tmp_path / name)
    reports.contact_sheet(items, path, "title", thumb=THUMB, **kwargs)
    return np.asarray(Image.open(path).convert("L"))


def test_each_tile_names_its_file_under_the_thumbnail(tmp_path):
    data = image_bytes(3)
    unnamed = _sheet(tmp_path, "unnamed.png", [(data, "true chart\nscore 0.40")])
    named = _sheet(tmp_path, "named.png", [reports.Tile(data, "true chart\nscore 0.40", "chart_17.png")])
    assert named.shape[0] > unnamed.shape[0]  # a line more for the name
    below_thumbnail = named[30 + THUMB + 2: 30 + THUMB + 17, 8: 8 + THUMB]
    assert (below_thumbnail < 128).any()  # the name is written there


def test_a_long_file_name_is_cut_in_the_middle_to_fit_its_tile():
    font = ImageFont.load_default(size=13)
    name = "screenshot_" + "x" * 80 + "_2026-11-24.png"
    fitted = reports._fit(name, font, THUMB)
    assert font.getlength(fitted) <= THUMB and "..." in fitted
    assert fitted.startswith("screenshot_") and fitted.endswith(".png")
    assert reports._fit("a.png", font, THUMB) == "a.png"


def test_the_review_sheet_shows_the_images_inside_the_band(tmp_path):
    path = str(tmp_path / "review.png")
    reports.review_sheet([reports.Tile(image_bytes(i), f"score 0.5{i}", f"img_{i}.png") for i in range(7)], path,
                         "Review band")
    sheet = np.asarray(Image.open(path).convert("RGB"))
    assert sheet.shape[0] > 2 * THUMB  # 7 tiles at 6 a row: two rows
    orange = (sheet[..., 0] > 200) & (sheet[..., 1] > 100) & (sheet[..., 1] < 200) & (sheet[..., 2] < 60)
    assert orange.any()  # its frames tell it from the misclassified sheet's red ones
