"""ROI rasterisation by the pixel-centre rule and ROI statistics, checked against an
independent point-in-polygon test on pixel centres (matplotlib)."""

import numpy as np
import pytest
from matplotlib.path import Path

from inference.roi import (
    pixel_curve,
    polygon_area_mm2,
    polygon_mask,
    region_curve,
    roi_statistics,
)


def centre_mask(polygon, shape):
    """Pixels whose centre (column c, row r) lies strictly inside the polygon."""
    rows, columns = np.mgrid[: shape[0], : shape[1]]
    centres = np.column_stack([columns.ravel(), rows.ravel()]).astype(float)
    return Path(np.asarray(polygon, dtype=float)).contains_points(centres).reshape(shape)


def random_polygon(rng, shape, vertices=9):
    """Star-shaped polygon with non-integer [column, row] vertices inside `shape`."""
    centre = rng.uniform(0.3, 0.7, 2) * [shape[1], shape[0]]
    angles = np.sort(rng.uniform(0, 2 * np.pi, vertices))
    radii = rng.uniform(2.3, min(shape) * 0.45, vertices)
    points = centre + np.column_stack([np.cos(angles), np.sin(angles)]) * radii[:, None]
    # Keep vertices off the pixel grid so no centre lies exactly on an edge.
    return (np.round(points * 8) / 8 + 1 / 16).tolist()


def test_integer_square_includes_boundary():
    # Centres on the outline count as inside: columns 2-5 and rows 1-3.
    mask = polygon_mask([[2, 1], [5, 1], [5, 3], [2, 3]], (6, 8))
    expected = np.zeros((6, 8), dtype=bool)
    expected[1:4, 2:6] = True
    assert np.array_equal(mask, expected)


@pytest.mark.parametrize(
    "square, rows, columns",
    [
        ([[1.5, 1.5], [4.5, 1.5], [4.5, 4.5], [1.5, 4.5]], (2, 5), (2, 5)),
        ([[1.7, 0.7], [4.9, 0.7], [4.9, 4.2], [1.7, 4.2]], (1, 5), (2, 5)),
        ([[0.2, 2.6], [3.1, 2.6], [3.1, 3.4], [0.2, 3.4]], (3, 4), (1, 4)),
    ],
)
def test_fractional_square_selects_centres(square, rows, columns):
    expected = np.zeros((7, 7), dtype=bool)
    expected[rows[0] : rows[1], columns[0] : columns[1]] = True
    assert np.array_equal(polygon_mask(square, (7, 7)), expected)


def test_polygon_is_column_row_order():
    # A wide, flat rectangle: 5 columns (1-5) by 2 rows (1-2).
    mask = polygon_mask([[0.6, 0.6], [5.4, 0.6], [5.4, 2.4], [0.6, 2.4]], (4, 8))
    assert mask.sum(axis=1).tolist() == [0, 5, 5, 0]


@pytest.mark.parametrize("seed", range(6))
def test_random_polygons_match_centre_test(seed):
    rng = np.random.default_rng(seed)
    shape = (40, 52)
    polygon = random_polygon(rng, shape)
    assert np.array_equal(polygon_mask(polygon, shape), centre_mask(polygon, shape))


@pytest.mark.parametrize("seed", range(4))
def test_roi_statistics_match_independent(seed):
    rng = np.random.default_rng(100 + seed)
    volume = rng.normal(500, 50, (5, 3, 40, 52)).astype(np.float32)
    polygon = random_polygon(rng, (40, 52))
    inside = centre_mask(polygon, (40, 52))
    pixels = volume[:, 1][:, inside].astype(np.float64)

    stats = roi_statistics(volume, 1, polygon, (0.5, 1.0))

    assert stats.pixel_count == inside.sum()
    assert np.allclose(stats.mean, pixels.mean(axis=1))
    assert np.allclose(stats.sd, pixels.std(axis=1))
    assert stats.area_mm2 == pytest.approx(inside.sum() * 0.5)


def pixel_polygon_from_mm(points_mm, pixel_spacing_mm):
    """[x, y] mm with IPP 0 and identity orientation -> [column, row] pixel coordinates."""
    row_mm, column_mm = pixel_spacing_mm
    return [[x / column_mm, y / row_mm] for x, y in points_mm]


def test_anisotropic_spacing_case():
    # 64 rows x 128 columns, PixelSpacing 0.5 (rows) \ 1.0 (columns), value = column index.
    spacing = (0.5, 1.0)
    volume = np.broadcast_to(np.arange(128, dtype=np.int16), (1, 1, 64, 128))
    polygon = pixel_polygon_from_mm([[10, 5], [20, 5], [20, 10], [10, 10]], spacing)

    stats = roi_statistics(volume, 0, polygon, spacing)
    mask = polygon_mask(polygon, (64, 128))

    assert np.flatnonzero(mask.any(axis=0)).tolist() == list(range(10, 21))
    assert np.flatnonzero(mask.any(axis=1)).tolist() == list(range(10, 21))
    assert stats.mean[0] == pytest.approx(15.0)
    assert stats.polygon_area_mm2 == pytest.approx(50.0)
    assert stats.pixel_count == 121
    assert stats.area_mm2 == pytest.approx(121 * 0.5)


def test_swapped_spacing_changes_result():
    # Reading PixelSpacing as (column, row) would select columns 20-40; the mean would be ~30.
    swapped = pixel_polygon_from_mm([[10, 5], [20, 5], [20, 10], [10, 10]], (1.0, 0.5))
    volume = np.broadcast_to(np.arange(128, dtype=np.int16), (1, 1, 64, 128))
    stats = roi_statistics(volume, 0, swapped, (1.0, 0.5))
    assert stats.mean[0] == pytest.approx(30.0)


def test_polygon_area_shoelace():
    triangle = [[0, 0], [4, 0], [0, 3]]
    assert polygon_area_mm2(triangle, (1.0, 1.0)) == pytest.approx(6.0)
    assert polygon_area_mm2(triangle, (0.5, 2.0)) == pytest.approx(6.0)
    assert polygon_area_mm2(triangle[::-1], (0.5, 1.0)) == pytest.approx(3.0)


def test_empty_roi_statistics():
    volume = np.ones((3, 1, 10, 10), dtype=np.int16)
    stats = roi_statistics(volume, 0, [[2.1, 2.1], [2.4, 2.1], [2.4, 2.4]], (1.0, 1.0))
    assert stats.pixel_count == 0
    assert np.all(np.isnan(stats.mean))


def test_polygon_outside_image_clipped():
    mask = polygon_mask([[-5, -5], [2, -5], [2, 1], [-5, 1]], (4, 4))
    assert mask.sum() == 6


def test_invalid_polygon_rejected():
    with pytest.raises(ValueError, match="at least 3"):
        polygon_mask([[1, 1], [2, 2]], (4, 4))
    with pytest.raises(ValueError, match="non-finite"):
        polygon_mask([[1, 1], [2, np.nan], [3, 1]], (4, 4))


def test_slice_out_of_range_rejected():
    volume = np.ones((3, 2, 4, 4), dtype=np.int16)
    with pytest.raises(ValueError, match="slices 0-1"):
        roi_statistics(volume, 2, [[0, 0], [2, 0], [2, 2]], (1.0, 1.0))


def test_pixel_and_region_curves():
    rng = np.random.default_rng(7)
    volume = rng.integers(0, 1000, (6, 2, 5, 5)).astype(np.int16)
    mask = np.zeros((2, 5, 5), dtype=bool)
    mask[1, 2:4, 1] = True
    assert np.array_equal(pixel_curve(volume, 1, 3, 1), volume[:, 1, 3, 1])
    expected = (volume[:, 1, 2, 1].astype(float) + volume[:, 1, 3, 1]) / 2
    assert np.allclose(region_curve(volume, mask), expected)
