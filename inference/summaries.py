"""Enhancing volume (Nvoxel) and per-joint summaries of shape types, maps and synovitis."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from inference.shapes import ENHANCING_TYPES, FAST_WASHOUT


@dataclass(frozen=True)
class JointBox:
    """Joint region of a series: inclusive (first, last) slice, row and column indices."""

    slices: tuple[int, int]
    rows: tuple[int, int]
    columns: tuple[int, int]

    @classmethod
    def from_phantom(cls, box: Mapping[str, Sequence[int]]) -> JointBox:
        """Build from a phantom truth box {"slices": [s0, s1], "rows": [...], "cols": [...]}."""
        return cls(tuple(box["slices"]), tuple(box["rows"]), tuple(box["cols"]))

    @classmethod
    def from_corners(cls, slice_start: int, slice_end: int, corners: Sequence[int]) -> JointBox:
        """Build from a slice range and a [c0, r0, c1, r1] box, all bounds inclusive."""
        c0, r0, c1, r1 = corners
        return cls((slice_start, slice_end), (r0, r1), (c0, c1))

    def index(self, spatial_shape: tuple[int, int, int]) -> tuple[slice, slice, slice]:
        """Return the numpy index of the box in an (S, R, C) array; raise if out of bounds."""
        ranges = (self.slices, self.rows, self.columns)
        names = ("slices", "rows", "columns")
        for (first, last), size, name in zip(ranges, spatial_shape, names, strict=True):
            if not 0 <= first <= last < size:
                raise ValueError(
                    f"Joint box {name} {first}-{last} is not an ordered range inside 0-{size - 1}."
                )
        return tuple(slice(first, last + 1) for first, last in ranges)


@dataclass(frozen=True)
class JointSummary:
    """Counts, volumes (mm³) and mean maps inside one joint box.

    type4_fraction is type-4 voxels over enhancing voxels (types 2-5). The mean ME (%),
    IRE (%/min) and TTP (s) are taken over enhancing voxels, ignoring NaN. Fractions and
    means are NaN when no voxel enhances. arterial_voxels_removed counts type-4 voxels
    inside the arterial mask (0 without a mask).
    """

    region_voxels: int
    region_volume_mm3: float
    enhancing_voxels: int
    enhancing_volume_mm3: float
    type4_fraction: float
    synovitis_voxels: int
    synovitis_volume_mm3: float
    arterial_voxels_removed: int
    mean_me: float
    mean_ire: float
    mean_ttp: float


def voxel_volume_mm3(pixel_spacing_mm: tuple[float, float], slice_spacing_mm: float) -> float:
    """Voxel volume in mm³: row spacing x column spacing x slice spacing.

    Pass the distance between slice positions, which differs from SliceThickness on scanners
    that leave gaps or overlap slices.
    """
    return float(pixel_spacing_mm[0]) * float(pixel_spacing_mm[1]) * float(slice_spacing_mm)


def enhancing_mask(shape_types: np.ndarray) -> np.ndarray:
    """Return bool, True where the shape type is enhancing (types 2-5)."""
    return np.isin(shape_types, ENHANCING_TYPES)


def enhancing_voxel_count(shape_types: np.ndarray) -> int:
    """Nvoxel: the number of voxels with an enhancing shape type (2-5)."""
    return int(np.count_nonzero(enhancing_mask(shape_types)))


def summarise_joint(
    shape_types: np.ndarray,
    maps: Mapping[str, np.ndarray],
    synovitis: np.ndarray,
    box: JointBox,
    pixel_spacing_mm: tuple[float, float],
    slice_spacing_mm: float,
    arterial_mask: np.ndarray | None = None,
) -> JointSummary:
    """Summarise shape types (uint8 (S, R, C)), maps and a synovitis mask inside a joint box.

    maps needs "me", "ire" and "ttp" as float32 (S, R, C). synovitis and arterial_mask are
    bool (S, R, C).
    """
    region = box.index(shape_types.shape)
    types = shape_types[region]
    enhancing = enhancing_mask(types)
    washout = types == FAST_WASHOUT
    voxel = voxel_volume_mm3(pixel_spacing_mm, slice_spacing_mm)

    enhancing_count = int(enhancing.sum())
    synovitis_count = int(np.count_nonzero(synovitis[region]))
    removed = 0
    if arterial_mask is not None:
        removed = int(np.count_nonzero(washout & arterial_mask[region]))
    fraction = washout.sum() / enhancing_count if enhancing_count else float("nan")

    return JointSummary(
        region_voxels=types.size,
        region_volume_mm3=types.size * voxel,
        enhancing_voxels=enhancing_count,
        enhancing_volume_mm3=enhancing_count * voxel,
        type4_fraction=float(fraction),
        synovitis_voxels=synovitis_count,
        synovitis_volume_mm3=synovitis_count * voxel,
        arterial_voxels_removed=removed,
        mean_me=_masked_mean(maps["me"][region], enhancing),
        mean_ire=_masked_mean(maps["ire"][region], enhancing),
        mean_ttp=_masked_mean(maps["ttp"][region], enhancing),
    )


def _masked_mean(values: np.ndarray, mask: np.ndarray) -> float:
    selected = values[mask]
    selected = selected[np.isfinite(selected)]
    return float(selected.mean(dtype=np.float64)) if selected.size else float("nan")
