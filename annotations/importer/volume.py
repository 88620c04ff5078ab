"""Assemble the 4-D volume of one planned group: decode each image into its slot, rescaled.

The volume is preallocated once and each file is decoded straight into its slot, so peak
memory stays near the volume size. It starts as int16 when the rescale factors are integral
and is converted to float32 once, on the first value that is fractional or outside int16;
the peak is then int16 + float32 = 1.5 times the final float32 volume.
"""

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from .phases import GroupPlan
from .reading import decode_file_frames
from .records import ImageRecord

DISPLAYED_CONVENTION = "DV = PV * RescaleSlope + RescaleIntercept"
FLOATING_CONVENTION = (
    "FP = (PV * RescaleSlope + RescaleIntercept) / (RescaleSlope * MRScaleSlope) "
    "(Philips floating-point value, private tag 2005,100E)"
)
_INT16 = np.iinfo(np.int16)
# Exceptions that pydicom and its decoder plugins raise for undecodable pixel data.
DECODE_ERRORS = (ValueError, RuntimeError, NotImplementedError, OSError, KeyError,
                 AttributeError, TypeError, EOFError)


@dataclass
class AssembledVolume:
    """Volume (P, S, R, C), the convention used, and the images that failed to decode."""

    volume: np.ndarray
    convention: str
    factors: list[dict]
    window_center: float
    window_width: float
    window_source: str
    failures: list[tuple[ImageRecord, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def choose_convention(records: list[ImageRecord], philips_scaling: str) -> tuple[str, list[str]]:
    """Return one rescale convention for a whole series, and warnings about it.

    The floating-point convention is used only when requested and every image carries a
    non-zero Philips MR scale slope, so a series is never rescaled one way for some phases
    and another way for others.
    """
    has_private = [r.private_scale_slope not in (None, 0.0) for r in records]
    if philips_scaling != "floating":
        return DISPLAYED_CONVENTION, []
    if all(has_private):
        return FLOATING_CONVENTION, []
    return DISPLAYED_CONVENTION, [
        f"philips_scaling='floating' requested but {has_private.count(False)} of "
        f"{len(records)} images lack the Philips MR scale slope (2005,100E); the displayed "
        "value convention was used for the whole series"
    ]


def effective_factors(record: ImageRecord, convention: str) -> tuple[float, float]:
    """Return (slope, intercept) mapping stored values to the series' convention."""
    slope, intercept = record.rescale_slope, record.rescale_intercept
    if convention == FLOATING_CONVENTION:
        scale = slope * record.private_scale_slope
        return slope / scale, intercept / scale
    return slope, intercept


def factor_table(plan: GroupPlan) -> list[dict]:
    """Return each distinct set of rescale factors with the phases that use it."""
    table: dict[tuple, set[int]] = defaultdict(set)
    for (phase, _slice), record in plan.slots.items():
        key = (record.rescale_slope, record.rescale_intercept, record.private_scale_slope,
               record.private_scale_intercept)
        table[key].add(phase)
    return [
        {"phases": sorted(phases), "rescale_slope": key[0], "rescale_intercept": key[1],
         "mr_scale_slope": key[2], "mr_scale_intercept": key[3]}
        for key, phases in sorted(table.items(), key=lambda item: min(item[1]))
    ]


def assemble_volume(plan: GroupPlan, philips_scaling: str = "displayed") -> AssembledVolume:
    """Decode every slot of a dynamic plan into a (P, S, R, C) volume."""
    records = list(plan.slots.values())
    convention, warnings = choose_convention(records, philips_scaling)
    factors = {id(r): effective_factors(r, convention) for r in records}
    first = records[0]
    shape = (plan.phases, plan.slices, first.rows, first.columns)
    integral = all(float(s).is_integer() and float(i).is_integer() for s, i in factors.values())
    if integral and not plan.missing_slots:
        volume = np.zeros(shape, dtype=np.int16)
    else:
        volume = np.full(shape, np.nan, dtype=np.float32)
    builder = _Builder(volume)
    failures = _decode_into(builder, plan, factors)
    volume = builder.volume
    center, width, source = _window(records, volume)
    return AssembledVolume(volume, convention, factor_table(plan), center, width, source,
                           failures, warnings)


class _Builder:
    """Holds the volume and converts it to float32 when a value does not fit int16."""

    def __init__(self, volume: np.ndarray):
        self.volume = volume

    def place(self, slot: tuple[int, int], values: np.ndarray, slope: float,
              intercept: float) -> None:
        if self.volume.dtype == np.int16 and self._place_integers(slot, values, slope,
                                                                  intercept):
            return
        rescaled = values.astype(np.float64)
        if slope != 1.0:
            rescaled *= slope
        if intercept != 0.0:
            rescaled += intercept
        if self.volume.dtype == np.int16 and not _fits_int16(rescaled):
            self.volume = self.volume.astype(np.float32)
        self.volume[slot] = rescaled

    def _place_integers(self, slot, values: np.ndarray, slope: float,
                        intercept: float) -> bool:
        """Store integer values with integral factors without a float copy; False if not."""
        if not np.issubdtype(values.dtype, np.integer) or values.size == 0:
            return False
        if not (float(slope).is_integer() and float(intercept).is_integer()):
            return False
        low, high = int(values.min()), int(values.max())
        ends = (low * int(slope) + int(intercept), high * int(slope) + int(intercept))
        if min(ends) < _INT16.min or max(ends) > _INT16.max:
            return False
        if slope == 1.0 and intercept == 0.0:
            self.volume[slot] = values
        else:
            self.volume[slot] = values.astype(np.int32) * int(slope) + int(intercept)
        return True

    def mark_missing(self, slot: tuple[int, int]) -> None:
        if self.volume.dtype == np.int16:
            self.volume = self.volume.astype(np.float32)
        self.volume[slot] = np.nan


def _fits_int16(values: np.ndarray) -> bool:
    if values.size == 0:
        return True
    low, high = values.min(), values.max()
    if low < _INT16.min or high > _INT16.max:
        return False
    return bool(np.all(values == np.round(values)))


def _decode_into(builder: _Builder, plan: GroupPlan, factors: dict) -> list:
    """Decode each file once and place its frames; return (record, reason) for failures."""
    by_file: dict = defaultdict(list)
    for slot, record in plan.slots.items():
        by_file[record.source.path].append((slot, record))
    failures = []
    for path in sorted(by_file, key=str):
        entries = by_file[path]
        requested = {record.frame_index: (slot, record) for slot, record in entries}
        placed = set()
        try:
            frames = decode_file_frames(entries[0][1], list(requested))
            for frame_index, values in frames:
                slot, record = requested[frame_index]
                _check_shape(values, record)
                builder.place(slot, values, *factors[id(record)])
                placed.add(frame_index)
        except DECODE_ERRORS as error:
            reason = f"pixel data could not be decoded: {error}"
            for frame_index, (slot, record) in requested.items():
                if frame_index not in placed:
                    builder.mark_missing(slot)
                    failures.append((record, reason))
    return failures


def _check_shape(values: np.ndarray, record: ImageRecord) -> None:
    if values.shape != (record.rows, record.columns):
        raise ValueError(f"decoded frame has shape {values.shape}, expected "
                         f"({record.rows}, {record.columns}) from Rows and Columns")


def _window(records: list[ImageRecord], volume: np.ndarray) -> tuple[float, float, str]:
    """Return (center, width, source): the median header window, else the 1st-99th percentile."""
    centers = [r.window_center for r in records if r.window_center is not None]
    widths = [r.window_width for r in records if r.window_width is not None and r.window_width > 0]
    if centers and widths:
        return float(np.median(centers)), float(np.median(widths)), \
            f"header WindowCenter/WindowWidth (median of {len(centers)} images)"
    return percentile_window(volume)


def percentile_window(volume: np.ndarray) -> tuple[float, float, str]:
    """Return (center, width, source) spanning the 1st to 99th percentile, NaN ignored."""
    # A strided sample of about a million values is enough for two percentiles.
    sample = volume.reshape(-1)[:: max(1, volume.size // 1_000_000)]
    if sample.size == 0 or np.all(np.isnan(sample)):
        return 0.0, 1.0, "default (empty volume)"
    low, high = np.nanpercentile(sample, [1, 99])
    width = max(float(high - low), 1.0)
    return float(low + high) / 2.0, width, "1st to 99th percentile of the volume"
