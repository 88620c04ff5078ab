"""Slice geometry: the slice normal, slice positions along it, and spacing checks.

Slice order comes only from ImagePositionPatient projected on the slice normal, never from
InstanceNumber or file names, because both are known to run against the anatomy on some
scanners and archives.
"""

import numpy as np

# Images whose projected positions differ by less than this are one slice position. It only
# absorbs decimal rounding of DS values, and assumes slices are more than 0.05 mm apart.
POSITION_TOLERANCE_MM = 0.05
# Slice distances within this fraction of the median distance count as uniform.
SPACING_TOLERANCE = 0.01


def slice_normal(orientation: tuple[float, ...]) -> np.ndarray:
    """Return the unit slice normal (3,) from ImageOrientationPatient (row and column cosines)."""
    row = np.asarray(orientation[:3], dtype=float)
    column = np.asarray(orientation[3:6], dtype=float)
    normal = np.cross(row, column)
    length = np.linalg.norm(normal)
    if length < 1e-6:
        raise ValueError(f"ImageOrientationPatient {list(orientation)} has parallel vectors")
    return normal / length


def cluster_positions(projections: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group projected positions into slice positions.

    projections: float64 (N,) in mm. Returns (labels int (N,), centres float64 (S,)), where
    labels index the centres and centres ascend.
    """
    order = np.argsort(projections, kind="stable")
    sorted_values = projections[order]
    starts = np.concatenate(([True], np.diff(sorted_values) > POSITION_TOLERANCE_MM))
    sorted_labels = np.cumsum(starts) - 1
    labels = np.empty_like(sorted_labels)
    labels[order] = sorted_labels
    centres = np.array([sorted_values[sorted_labels == k].mean()
                        for k in range(int(sorted_labels[-1]) + 1)])
    return labels, centres


def spacing_warnings(centres: np.ndarray) -> list[str]:
    """Return one warning per slice distance that differs from the median by over 1 %."""
    if len(centres) < 3:
        return []
    distances = np.diff(centres)
    median = float(np.median(distances))
    messages = []
    for index, distance in enumerate(distances):
        if abs(distance - median) > SPACING_TOLERANCE * median:
            kind = "gap" if distance > median else "overlap"
            messages.append(
                f"non-uniform slice spacing: {kind} between {centres[index]:.4g} and "
                f"{centres[index + 1]:.4g} mm ({distance:.4g} mm, median spacing "
                f"{median:.4g} mm); the true positions are kept"
            )
    return messages
