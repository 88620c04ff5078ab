"""Rigid in-plane motion correction of a dynamic series by phase correlation.

Each phase is registered to the mean of the baseline phases with one in-plane translation
for the whole slice stack. Phase-only correlation normalises away the intensity change
that contrast causes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.registration import phase_cross_correlation


@dataclass(frozen=True)
class MotionCorrection:
    """Corrected series and the shifts applied to each phase.

    volume: float32 (P, S, R, C). shifts_px: float64 (P, 2) as (dy, dx) in pixels, the
    translation applied to move each phase onto the reference (+dy moves content down the
    rows). shifts_mm: the same as (row, column) millimetres, or None without pixel spacing.
    """

    volume: np.ndarray
    shifts_px: np.ndarray
    shifts_mm: np.ndarray | None


def correct_motion(
    volume: np.ndarray,
    baseline_phases: int = 2,
    upsample_factor: int = 20,
    pixel_spacing_mm: tuple[float, float] | None = None,
    interpolation_order: int = 1,
) -> MotionCorrection:
    """Register every phase of a (P, S, R, C) series to the mean of its baseline phases.

    The shift is estimated on the whole slice stack with skimage's phase_cross_correlation
    (subpixel precision 1 / upsample_factor px) and applied in-plane with scipy's
    ndimage.shift (spline order `interpolation_order`, edges repeated). Linear interpolation
    is the default because it reproduces integer shifts exactly and adds no overshoot.
    """
    if volume.ndim != 4:
        raise ValueError(f"Motion correction needs a (P, S, R, C) volume, got {volume.shape}.")
    if not 1 <= baseline_phases <= volume.shape[0]:
        raise ValueError(
            f"baseline_phases={baseline_phases} must be between 1 and the phase count "
            f"{volume.shape[0]}."
        )
    reference = volume[:baseline_phases].mean(axis=0, dtype=np.float32)
    corrected = np.empty(volume.shape, dtype=np.float32)
    shifts = np.zeros((volume.shape[0], 2), dtype=np.float64)

    for phase in range(volume.shape[0]):
        moving = volume[phase].astype(np.float32)
        shifts[phase] = _in_plane_shift(reference, moving, upsample_factor)
        if np.any(shifts[phase]):
            ndimage.shift(
                moving,
                (0.0, *shifts[phase]),
                output=corrected[phase],
                order=interpolation_order,
                mode="nearest",
            )
        else:
            corrected[phase] = moving

    shifts_mm = None
    if pixel_spacing_mm is not None:
        shifts_mm = shifts * np.asarray(pixel_spacing_mm, dtype=np.float64)
    return MotionCorrection(volume=corrected, shifts_px=shifts, shifts_mm=shifts_mm)


def _in_plane_shift(reference: np.ndarray, moving: np.ndarray, upsample_factor: int):
    """Return the (dy, dx) that registers `moving` (S, R, C) onto `reference`."""
    # NOTE: the through-slice component is estimated but not applied, because slices are
    # assumed not to move out of plane between phases.
    shift, _, _ = phase_cross_correlation(
        reference, moving, upsample_factor=upsample_factor, normalization="phase"
    )
    return shift[-2:]
