"""ROI rasterisation and statistics with the pixel-centre rule.

Polygons are lists of [column, row] points in image pixel coordinates, where pixel (r, c)
has its centre at (c, r) and covers [c - 0.5, c + 0.5] x [r - 0.5, r + 0.5]. A pixel belongs
to the ROI when its centre lies inside the polygon or on its boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from skimage.draw import polygon2mask


@dataclass(frozen=True)
class RoiStatistics:
    """Per-phase statistics of the pixels inside one ROI.

    mean, sd: float64 (P,) in modality units; sd is the population SD (ddof=0). Both are NaN
    when no pixel centre lies inside the polygon. area_mm2 counts whole pixels: pixel_count x
    row spacing x column spacing. polygon_area_mm2 is the shoelace area of the polygon itself.
    The two differ by the partial pixels along the outline.
    """

    mean: np.ndarray
    sd: np.ndarray
    pixel_count: int
    area_mm2: float
    polygon_area_mm2: float


def _as_vertices(polygon: Sequence[Sequence[float]]) -> np.ndarray:
    vertices = np.asarray(polygon, dtype=np.float64)
    if vertices.ndim != 2 or vertices.shape[1] != 2 or vertices.shape[0] < 3:
        raise ValueError(
            f"ROI polygon must be a list of at least 3 [column, row] points, got shape "
            f"{vertices.shape}."
        )
    if not np.all(np.isfinite(vertices)):
        raise ValueError("ROI polygon contains non-finite coordinates; redraw the ROI.")
    return vertices


def polygon_mask(polygon: Sequence[Sequence[float]], shape: tuple[int, int]) -> np.ndarray:
    """Rasterise a [column, row] polygon into a bool (R, C) mask by the pixel-centre rule.

    skimage's polygon2mask tests integer (row, column) points, which are exactly the pixel
    centres here, and counts points on the boundary as inside (checked with scikit-image
    0.26). Parts of the polygon outside the image are clipped.
    """
    vertices = _as_vertices(polygon)
    return polygon2mask(tuple(shape), vertices[:, ::-1])


def polygon_area_mm2(
    polygon: Sequence[Sequence[float]], pixel_spacing_mm: tuple[float, float]
) -> float:
    """Return the shoelace area (mm²) of a [column, row] polygon, spacing (row mm, column mm)."""
    vertices = _as_vertices(polygon)
    columns = vertices[:, 0] * pixel_spacing_mm[1]
    rows = vertices[:, 1] * pixel_spacing_mm[0]
    twice_area = np.dot(columns, np.roll(rows, -1)) - np.dot(rows, np.roll(columns, -1))
    return float(abs(twice_area) / 2.0)


def roi_statistics(
    volume: np.ndarray,
    slice_index: int,
    polygon: Sequence[Sequence[float]],
    pixel_spacing_mm: tuple[float, float],
) -> RoiStatistics:
    """Compute per-phase mean and SD inside a polygon on one slice of a (P, S, R, C) series.

    pixel_spacing_mm is (row spacing, column spacing) as in DICOM PixelSpacing.
    """
    _check_slice(volume, slice_index)
    row_mm, column_mm = (float(value) for value in pixel_spacing_mm)
    mask = polygon_mask(polygon, volume.shape[2:])
    pixels = volume[:, slice_index][:, mask].astype(np.float64)
    count = int(mask.sum())
    if count:
        mean, sd = pixels.mean(axis=1), pixels.std(axis=1)
    else:
        mean = sd = np.full(volume.shape[0], np.nan)
    return RoiStatistics(
        mean=mean,
        sd=sd,
        pixel_count=count,
        area_mm2=count * row_mm * column_mm,
        polygon_area_mm2=polygon_area_mm2(polygon, (row_mm, column_mm)),
    )


def pixel_curve(volume: np.ndarray, slice_index: int, row: int, column: int) -> np.ndarray:
    """Return the TIC of one pixel of a (P, S, R, C) series as float64 (P,)."""
    _check_slice(volume, slice_index)
    rows, columns = volume.shape[2:]
    if not (0 <= row < rows and 0 <= column < columns):
        raise ValueError(
            f"Pixel (row {row}, column {column}) is outside the {rows} x {columns} image."
        )
    return volume[:, slice_index, row, column].astype(np.float64)


def region_curve(volume: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Return the mean TIC over a bool (S, R, C) mask of a (P, S, R, C) series, float64 (P,).

    All values are NaN when the mask is empty.
    """
    if mask.shape != volume.shape[1:]:
        raise ValueError(
            f"Mask shape {mask.shape} does not match the series' (S, R, C) shape "
            f"{volume.shape[1:]}."
        )
    selected = volume[:, mask.astype(bool)]
    if selected.shape[1] == 0:
        return np.full(volume.shape[0], np.nan)
    return selected.mean(axis=1, dtype=np.float64)


def _check_slice(volume: np.ndarray, slice_index: int) -> None:
    if volume.ndim != 4:
        raise ValueError(f"Expected a (P, S, R, C) series, got shape {volume.shape}.")
    if not 0 <= slice_index < volume.shape[1]:
        raise ValueError(
            f"Slice index {slice_index} is outside the series' slices 0-{volume.shape[1] - 1}."
        )
