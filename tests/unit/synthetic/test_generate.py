"""synthetic: the demo generator's images, reproducible and varied."""
import concurrent.futures
import hashlib
import io
import re
import warnings

import fsspec
import numpy as np
import pytest
from PIL import Image

from core.features import CHART, NON_CHART
from synthetic import generate
from synthetic.generate import DemoImage, render_demo_image, write_demo_folder

N = 40  # images in the shared batch (seed 0, indices 0..N-1)


# sha256 over the hex sha256 of each image of the batch, as the generator writes them (the research and
# diagram scenes included): a change to any scene's drawing or random draws changes the demo data.
BATCH_DIGEST = "5336fde38d281e3a0554b29ecc84bf231466c0c8439d9e92cb63f5cc26db8e98"


@pytest.fixture(scope="module")
def batch() -> list[DemoImage]:
    return [render_demo_image(0, index) for index in range(N)]


@pytest.fixture(scope="module")
def decoded(batch) -> list[Image.Image]:
    images = []
    for image in batch:
        picture = Image.open(io.BytesIO(image.data))
        picture.load()  # raises on truncated or corrupt data
        images.append(picture)
    return images


def test_same_seed_and_index_give_identical_bytes(batch):
    for index in (0, 1, 7, 22, 39):
        again = render_demo_image(0, index)
        assert again == batch[index]


def test_the_batch_is_byte_identical_to_the_recorded_one(batch):
    digest = hashlib.sha256("".join(hashlib.sha256(image.data).hexdigest() for image in batch).encode())
    assert digest.hexdigest() == BATCH_DIGEST


def test_another_seed_gives_other_images(batch):
    others = [render_demo_image(1, index) for index in range(8)]
    assert all(other.data != mine.data for other, mine in zip(others, batch))


def test_names_are_unique_and_match_the_encoding(batch, decoded):
    assert len({image.name for image in batch}) == N
    for index, (image, picture) in enumerate(zip(batch, decoded)):
        match = re.fullmatch(r"demo_(\d{6})\.(png|jpg)", image.name)
        assert match and int(match.group(1)) == index
        assert picture.format == {"png": "PNG", "jpg": "JPEG"}[match.group(2)]


def test_classes_are_balanced_without_following_index_parity(batch):
    labels = [image.label for image in batch]
    assert set(labels) == {CHART, NON_CHART}
    assert all({labels[i], labels[i + 1]} == {CHART, NON_CHART} for i in range(0, N, 2))  # one of each per pair
    even_charts = sum(label == CHART for label in labels[::2])
    assert 0 < even_charts < N // 2


def test_every_image_decodes_to_a_usable_picture(decoded):
    for picture in decoded:
        assert picture.mode in ("RGB", "RGBA")
        assert min(picture.size) >= 64
        pixels = np.asarray(picture.convert("L"), dtype=float)
        assert pixels.std() > 3  # not a blank canvas


@pytest.mark.parametrize("label", [CHART, NON_CHART])
def test_png_and_jpeg_and_varied_sizes_in_each_class(batch, decoded, label):
    mine = [picture for image, picture in zip(batch, decoded) if image.label == label]
    assert {picture.format for picture in mine} == {"PNG", "JPEG"}
    widths = [picture.width for picture in mine]
    aspects = [picture.width / picture.height for picture in mine]
    assert len({picture.size for picture in mine}) == len(mine)
    assert max(widths) >= 2 * min(widths)
    assert max(aspects) >= 1.5 * min(aspects)


@pytest.mark.parametrize("label, scene", [(label, name) for label, table in generate.SCENES.items() for name in table])
def test_every_scene_draws_at_every_canvas_shape(label, scene):
    """Each recipe, on small, wide and tall canvases and several seeds (rare branches included)."""
    draw = generate.SCENES[label][scene][1]
    for seed, size in enumerate([(260, 180), (1300, 700), (520, 980)] * 3):
        pixels = np.asarray(draw(np.random.default_rng([seed, 7]), size, 1.0).convert("RGB"))
        assert pixels.shape[:2] == size[::-1], (scene, seed)
        assert pixels.std() > 3, (scene, seed, "a blank picture")


def test_research_grids_render_without_layout_warnings():
    """A research grid's panes are too small for matplotlib's tight layout: drawn quietly, so ingest's log stays
    clean."""
    draw = generate.SCENES[CHART]["grid"][1]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for seed, size in ((0, (260, 180)), (8, (520, 380)), (0, (1300, 700))):  # draws with research panes
            draw(np.random.default_rng([seed, 7]), size, 1.0)
    assert [str(w.message) for w in caught if "layout" in str(w.message)] == []


def test_a_diagram_whose_every_cell_is_skipped_still_draws_a_node():
    """Seed 9633 skips all four cells of a 2 x 2 diagram; it used to fail picking from no nodes."""
    draw = generate.SCENES[NON_CHART]["diagram"][1]
    pixels = np.asarray(draw(np.random.default_rng([9633, 7]), (120, 90), 1.0))
    assert pixels.shape == (90, 120, 3) and pixels.std() > 3


def test_negative_seed_or_index_is_refused():
    with pytest.raises(ValueError, match="non-negative"):
        render_demo_image(-1, 0)
    with pytest.raises(ValueError, match="non-negative"):
        render_demo_image(0, -3)


def test_rendering_in_threads_matches_sequential_rendering():
    kinds = {
        index: generate._scene_kind(np.random.default_rng([0, index]), generate._label(0, index))
        for index in range(300)
    }
    library = [index for index, kind in kinds.items() if kind in ("matplotlib", "mplfinance")][:3]
    indices = library + [index for index, kind in kinds.items() if kind in ("price", "document", "photo")][:5]
    assert len(library) == 3
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda index: render_demo_image(0, index), indices))
    assert threaded == [render_demo_image(0, index) for index in indices]


def test_write_demo_folder_to_a_local_directory(tmp_path):
    counts = write_demo_folder(str(tmp_path), 6, seed=3)
    assert counts == {CHART: 3, NON_CHART: 3}
    for index in range(6):
        image = render_demo_image(3, index)
        assert (tmp_path / image.label / image.name).read_bytes() == image.data
    assert sorted(p.parent.name for p in tmp_path.glob("*/*")) == [CHART] * 3 + [NON_CHART] * 3


def test_write_demo_folder_to_an_fsspec_url():
    root = "memory://demo-data-test"
    fs = fsspec.filesystem("memory")
    try:
        counts = write_demo_folder(root, 4, seed=5)
        assert sum(counts.values()) == 4
        written = {path.rsplit("/", 2)[-2] + "/" + path.rsplit("/", 1)[-1] for path in fs.find("/demo-data-test")}
        expected = {f"{image.label}/{image.name}" for image in (render_demo_image(5, index) for index in range(4))}
        assert written == expected
        for name in expected:
            with fsspec.open(f"{root}/{name}", "rb") as handle:
                Image.open(handle).load()
    finally:
        fs.rm("/demo-data-test", recursive=True)
