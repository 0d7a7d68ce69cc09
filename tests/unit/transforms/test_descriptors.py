"""transforms.descriptors: the boosted trees' hand-made descriptors."""
import numpy as np
import pytest

from transforms.descriptors import (
    DESCRIPTOR_COUNT,
    DESCRIPTOR_NAMES,
    PALETTE_TOP,
    describe,
    describe_parts,
    describe_prepared,
)

WHITE = np.full((1, 64, 64, 3), 255, np.uint8)


def _chart_like() -> np.ndarray:
    """White, with a full-width axis, a full-height axis and a thin zig-zag line in one colour."""
    image = WHITE.copy()
    image[0, 56, :] = image[0, :, 6] = 0
    rows = (30 + 12 * np.sin(np.arange(8, 64) / 3)).astype(int)
    image[0, rows, np.arange(8, 64)] = (200, 30, 30)
    return image


@pytest.mark.parametrize("side", [17, 64, 224])  # any model size, grids that do not divide it included
def test_each_image_gets_the_same_numbers_whatever_its_batch(side):
    rng = np.random.default_rng(0)
    batch = rng.integers(0, 256, (5, side, side, 3), dtype=np.uint8)
    batch[3] = 255
    if side == 64:
        batch[4] = _chart_like()[0]
    together = describe(batch)
    assert together.shape == (5, DESCRIPTOR_COUNT) and together.dtype == np.float32
    assert np.isfinite(together).all()
    for i in range(len(batch)):
        np.testing.assert_array_equal(together[i], describe(batch[i:i + 1])[0])
    assert len(set(DESCRIPTOR_NAMES)) == DESCRIPTOR_COUNT


def test_a_flat_image_has_one_colour_no_edges_and_only_flat_runs():
    parts = describe_parts(WHITE)
    assert parts["palette"][0, 0] == pytest.approx(np.log1p(1))
    np.testing.assert_allclose(parts["palette"][0, 2:], 1.0)  # its commonest colour covers it all
    assert parts["edge_share"][0, 0] == 0 and not parts["lines"].any()
    np.testing.assert_array_equal(parts["flat_runs"], [[1.0, 1.0]])
    np.testing.assert_allclose(parts["grey_thumbnail"], 1.0, atol=1e-6)


def test_axes_and_a_thin_series_show_as_lines_a_sparse_palette_and_edges():
    chart, noise = describe_parts(_chart_like()), describe_parts(
        np.random.default_rng(1).integers(0, 256, (1, 64, 64, 3), dtype=np.uint8))
    ramp = describe_parts(np.broadcast_to(np.linspace(0, 255, 64).astype(np.uint8)[None, None, :, None],
                                          (1, 64, 64, 3)).copy())
    rows_30, cols_30 = chart["lines"][0, :2]
    assert rows_30 == pytest.approx(2 / 64) and cols_30 == pytest.approx(2 / 64)  # each axis (both its edges)
    assert not ramp["lines"].any() and ramp["edge_share"][0, 0] == 0  # a smooth shade has no edge
    assert chart["palette"][0, 0] == pytest.approx(np.log1p(3))  # white, black, the series colour
    assert chart["palette"][0, 2 + PALETTE_TOP.index(4)] == pytest.approx(1.0)
    assert noise["palette"][0, 0] > np.log1p(1000)
    assert 0 < chart["edge_share"][0, 0] < noise["edge_share"][0, 0]
    assert chart["flat_runs"].min() > 0.8 > noise["flat_runs"].max()


@pytest.mark.parametrize("pixels", [np.zeros((1, 32, 32, 3), np.float32), np.zeros((32, 32, 3), np.uint8),
                                    np.zeros((1, 32, 32, 4), np.uint8)])
def test_anything_but_a_uint8_rgb_batch_is_refused(pixels):
    with pytest.raises(ValueError, match=r"expected uint8 pixels \[N, S, S, 3\]"):
        describe(pixels)


def test_prepared_bytes_give_the_descriptors_of_their_pixels_and_other_lengths_are_refused():
    pixels = np.random.default_rng(2).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    np.testing.assert_array_equal(describe_prepared([p.tobytes() for p in pixels], 32), describe(pixels))
    with pytest.raises(ValueError, match=r"32x32x3 prepared bytes per image, got lengths \[3069, 3075\]"):
        describe_prepared([bytes(3069), bytes(3075)], 32)  # right in total, wrong per image


def _text_rows(pitch: int = 8) -> np.ndarray:
    """White, with rows of 2-pixel-wide black glyphs every `pitch` rows: a table or a terminal at 64 px."""
    image = WHITE.copy()
    for top in range(4, 60, pitch):
        for left in range(2, 62, 4):
            image[0, top:top + 3, left:left + 2] = 0
    return image


def test_text_rows_repeat_at_their_pitch_in_short_runs_and_a_chart_axis_is_one_long_run():
    text, chart = describe_parts(_text_rows()), describe_parts(_chart_like())
    peak, lag, _ = text["periodicity"][0, 6:9]  # the third profile: each row's share of foreground
    assert lag == 8 and peak > 0.5
    assert chart["periodicity"][0, 6] < peak
    np.testing.assert_allclose(text["horizontal_runs"][0], [0, 1, 0, 0, 0, 0, 0, 0, 0])  # every glyph row: 2 px
    np.testing.assert_allclose(text["vertical_runs"][0, 2], 1.0)  # 3 px tall: the 3-4 bin
    # The chart's x axis (64 px, the 33-64 bin) holds 64 of its horizontal foreground pixels.
    axis_share = chart["horizontal_runs"][0, 6]
    assert axis_share == pytest.approx(64 / (_chart_like()[0] != 255).any(-1).sum(), abs=1e-6)


def test_background_and_foreground_columns_and_rows():
    white, text = describe_parts(WHITE), describe_parts(_text_rows())
    np.testing.assert_allclose(white["background"], [[1.0, 0.0]])
    np.testing.assert_allclose(white["foreground_columns"], [[1, 0, 0, 0]])  # every column empty
    ink = (_text_rows()[0] != 255).any(-1)
    assert text["background"][0, 1] == pytest.approx(ink.mean())
    empty_rows = (~ink.any(1)).mean()
    assert text["foreground_rows"][0, 0] == pytest.approx(empty_rows)


def test_a_series_moves_in_small_steps_and_scattered_ink_jumps():
    line, scatter = WHITE.copy(), WHITE.copy()
    columns = np.arange(64)
    line[0, 10 + columns // 2, columns] = 0  # a rising series: half a pixel a column
    scatter[0, np.where(columns % 2, 5, 58), columns] = 0  # ink alternately at the top and the bottom
    steps = describe_parts(np.concatenate([line, scatter]))["trace_steps"][:, 0]
    assert steps[0] == pytest.approx(0.5 / 64, abs=0.1 / 64)
    assert steps[1] == pytest.approx(53 / 64)
