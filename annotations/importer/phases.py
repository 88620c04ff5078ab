"""Split one acquisition group into phases and slices, and build its time axis.

Which attribute separates the phases differs between scanners and archives, so each
candidate is tested against the slice positions instead of being trusted:

1. A phase-level key (TemporalPositionIndex, temporal DimensionIndexValues,
   TemporalPositionIdentifier, AcquisitionNumber, FrameAcquisitionDateTime, AcquisitionTime,
   TriggerTime, ContentTime) is accepted when it has ceil(images / positions) distinct
   values and no value repeats at one slice position. A key that never varies is ignored.
2. Otherwise a time attribute that differs per image (slice-level timing) is walked in time
   order, and a new phase starts whenever a slice position repeats. The result is accepted
   when it has as many phases as the fullest slice position has images.
3. Otherwise InstanceNumber is walked the same way, and the time axis is marked estimated
   (phase indices, no seconds).
Nothing separating repeated positions is an error.

Phase time is the earliest image time in the phase; per-slice times are kept.
"""

import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .geometry import cluster_positions, slice_normal, spacing_warnings
from .records import ImageRecord

INDEX_KEYS: list[tuple[str, Callable[[ImageRecord], float | None]]] = [
    ("TemporalPositionIndex", lambda r: r.temporal_position_index),
    ("DimensionIndexValues", lambda r: r.dimension_temporal_index),
    ("TemporalPositionIdentifier", lambda r: r.temporal_position_identifier),
    ("AcquisitionNumber", lambda r: r.acquisition_number),
]
TIME_KEYS: list[tuple[str, Callable[[ImageRecord], float | None]]] = [
    ("FrameAcquisitionDateTime", lambda r: r.frame_acquisition_time_s),
    ("AcquisitionTime", lambda r: r.acquisition_time_s),
    ("TriggerTime", lambda r: r.trigger_time_s),
    ("ContentTime", lambda r: r.content_time_s),
]
# Keys whose only purpose is to number phases; a constant value is worth a warning.
PHASE_NUMBER_KEYS = {"TemporalPositionIndex", "TemporalPositionIdentifier"}
SECONDS_PER_DAY = 86400.0
_TIME_DECIMALS = 3


@dataclass
class GroupPlan:
    """Outcome of planning one group: where each kept image goes, or why none does.

    status: "dynamic", "non-dynamic" or "error". slots maps (phase, slice) to a record.
    excluded lists (record, code, reason) for images set aside inside the group.
    """

    status: str
    reason: str = ""
    code: str = ""
    records: list[ImageRecord] = field(default_factory=list)
    slots: dict[tuple[int, int], ImageRecord] = field(default_factory=dict)
    phases: int = 0
    slices: int = 0
    phase_times_s: np.ndarray | None = None
    per_slice_times_s: np.ndarray | None = None
    time_source: str = ""
    time_is_estimated: bool = False
    slice_positions_mm: np.ndarray | None = None
    image_positions_patient: np.ndarray | None = None
    orientation: np.ndarray | None = None
    missing_slots: list[tuple[int, int]] = field(default_factory=list)
    excluded: list[tuple[ImageRecord, str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def plan_group(records: list[ImageRecord], partial_phase: str = "drop") -> GroupPlan:
    """Assign each image of one acquisition group a (phase, slice) slot."""
    records = sorted(records, key=lambda r: (r.source.display, r.frame_index))
    plan = GroupPlan(status="dynamic")
    orientation = records[0].orientation
    normal = slice_normal(orientation)
    projections = np.array([np.dot(normal, r.position) for r in records])
    labels, centres = cluster_positions(projections)

    records, labels = _set_aside_conflicts(records, labels, centres, plan)
    records, labels = _set_aside_sparse_positions(records, labels, centres, plan)
    counts = Counter(labels.tolist())
    if max(counts.values()) == 1:
        return _non_dynamic(plan, records, "not a dynamic series (1 phase)")

    phase_ids, partition_key, estimated = _choose_partition(records, labels, plan)
    if phase_ids is None:
        return _error(plan, records, _no_partition_message(len(records), len(counts)))

    times, seconds_key = _choose_seconds(records, phase_ids)
    _warn_other_keys(records, phase_ids, {partition_key, seconds_key}, plan)
    phase_ids = _order_phases_by_time(phase_ids, times, partition_key, seconds_key, plan)
    plan.time_source = _time_source(partition_key, seconds_key)
    plan.time_is_estimated = estimated or seconds_key is None

    slice_ids, kept_labels = _slice_indices(labels)
    plan.slice_positions_mm = centres[kept_labels]
    _fill_slots(plan, records, phase_ids, slice_ids, len(kept_labels))
    _handle_missing(plan, partial_phase)
    if plan.phases < 2:
        return _non_dynamic(plan, list(plan.slots.values()),
                            f"not a dynamic series ({plan.phases} complete phase)")
    _finish_geometry(plan, orientation)
    _finish_times(plan, times, records)
    plan.warnings.extend(spacing_warnings(plan.slice_positions_mm))
    return plan


def _non_dynamic(plan: GroupPlan, records, reason: str) -> GroupPlan:
    plan.status, plan.code, plan.reason = "non-dynamic", "non-dynamic", reason
    plan.records = records
    return plan


def _error(plan: GroupPlan, records, reason: str) -> GroupPlan:
    plan.status, plan.code, plan.reason = "error", "no-phase-key", reason
    plan.records = records
    return plan


def _no_partition_message(images: int, positions: int) -> str:
    names = ", ".join([name for name, _ in INDEX_KEYS + TIME_KEYS] + ["InstanceNumber"])
    return (
        f"slice positions repeat ({images} images at {positions} positions) but no attribute "
        f"separates the phases consistently (checked {names}); import the phases as "
        "separate series or fix the time attributes"
    )


def _time_signature(record: ImageRecord) -> tuple | None:
    values = tuple(getter(record) for _, getter in INDEX_KEYS + TIME_KEYS)
    return values if any(v is not None for v in values) else None


def _set_aside_conflicts(records, labels, centres, plan: GroupPlan):
    """Keep the first image of each (position, time attributes) pair; exclude the others."""
    first_at: dict[tuple, ImageRecord] = {}
    keep = []
    for index, record in enumerate(records):
        signature = _time_signature(record)
        key = (int(labels[index]), signature)
        if signature is not None and key in first_at:
            original = first_at[key]
            plan.excluded.append((record, "conflict", (
                f"same slice position ({centres[labels[index]]:.4g} mm) and the same time "
                f"attributes as {original.source.display}, but a different SOPInstanceUID; "
                f"{original.source.display} was kept because its path sorts first")))
            continue
        first_at[key] = record
        keep.append(index)
    if len(keep) < len(records):
        plan.warnings.append(
            f"{len(records) - len(keep)} image(s) conflict with others at the same slice "
            "position and time; they were not imported (see the file report)")
    return [records[i] for i in keep], labels[keep]


def _set_aside_sparse_positions(records, labels, centres, plan: GroupPlan):
    """Exclude slice positions that hold fewer than half as many images as the fullest one."""
    counts = Counter(labels.tolist())
    fullest = max(counts.values())
    sparse = {label for label, count in counts.items() if count * 2 < fullest}
    if not sparse:
        return records, labels
    keep = []
    for index, record in enumerate(records):
        label = int(labels[index])
        if label in sparse:
            plan.excluded.append((record, "sparse-position", (
                f"slice position {centres[label]:.4g} mm has {counts[label]} image(s) while "
                f"other positions have up to {fullest}; not part of this dynamic series")))
        else:
            keep.append(index)
    plan.warnings.append(f"{len(sparse)} slice position(s) with too few images were set aside")
    return [records[i] for i in keep], labels[keep]


def _key_values(records, name: str, getter) -> list[float | None]:
    values = [getter(r) for r in records]
    if name == "TriggerTime":
        values = _fill_first_trigger_time(values)
    if name in ("AcquisitionTime", "ContentTime"):
        has_date = [r.acquisition_time_has_date if name == "AcquisitionTime"
                    else r.content_time_has_date for r in records]
        if not all(has_date):
            values = _unwrap_midnight(values)
    if any(v is None for v in values):
        return values
    if name in dict(TIME_KEYS):
        return [round(float(v), _TIME_DECIMALS) for v in values]
    return [float(v) for v in values]


def _fill_first_trigger_time(values) -> list:
    """Read a missing TriggerTime as 0 ms when only some images lack it and the rest are > 0.

    Some scanners omit TriggerTime on the images of the first phase.
    """
    present = [v for v in values if v is not None]
    if not present or len(present) == len(values) or min(present) <= 0:
        return values
    return [0.0 if v is None else v for v in values]


def _unwrap_midnight(values: list) -> list:
    """Add one day to times after midnight when times without a date span more than 12 h."""
    present = [v for v in values if v is not None]
    if not present or max(present) - min(present) <= SECONDS_PER_DAY / 2:
        return values
    earliest = min(present)
    return [None if v is None else v + SECONDS_PER_DAY if v < earliest + SECONDS_PER_DAY / 2
            else v for v in values]


def _phase_level_ids(values, labels) -> list[int] | None:
    """Return phase ids when a key has one value per phase, else None (rule 1 above)."""
    if any(v is None for v in values):
        return None
    distinct = sorted(set(values))
    positions = len(set(labels.tolist()))
    if len(distinct) < 2 or len(distinct) != math.ceil(len(values) / positions):
        return None
    if len(set(zip(labels.tolist(), values, strict=True))) != len(values):
        return None
    rank = {value: index for index, value in enumerate(distinct)}
    return [rank[v] for v in values]


def _walk_ids(values, labels) -> list[int] | None:
    """Return phase ids by walking images in value order, a new phase at each repeated position."""
    if any(v is None for v in values):
        return None
    order = sorted(range(len(values)), key=lambda i: (values[i], int(labels[i])))
    ids = [0] * len(values)
    phase, seen = 0, set()
    for index in order:
        label = int(labels[index])
        if label in seen:
            phase, seen = phase + 1, set()
        seen.add(label)
        ids[index] = phase
    fullest = max(Counter(labels.tolist()).values())
    return ids if phase + 1 == fullest and fullest >= 2 else None


def _choose_partition(records, labels, plan: GroupPlan):
    """Return (phase ids, key name, estimated) or (None, "", True)."""
    for name, getter in INDEX_KEYS + TIME_KEYS:
        values = _key_values(records, name, getter)
        if name in PHASE_NUMBER_KEYS and None not in values and len(set(values)) == 1:
            plan.warnings.append(f"{name} is {values[0]:g} in every image, so it does not "
                                 "separate the phases; ignored")
        ids = _phase_level_ids(values, labels)
        if ids is not None:
            return ids, name, False
    for name, getter in TIME_KEYS:
        ids = _walk_ids(_key_values(records, name, getter), labels)
        if ids is not None:
            return ids, name, False
    ids = _walk_ids([r.instance_number for r in records], labels)
    if ids is not None:
        plan.warnings.append("no attribute gives the acquisition time; phases were ordered by "
                             "InstanceNumber and the time axis holds phase indices, not seconds")
        return ids, "InstanceNumber", True
    return None, "", True


def _warn_other_keys(records, ids, used: set, plan: GroupPlan) -> None:
    """Warn about unused keys that vary inside a phase; they are ignored."""
    for name, getter in INDEX_KEYS + TIME_KEYS:
        if name in used:
            continue
        values = _key_values(records, name, getter)
        present = [v for v in values if v is not None]
        if len(set(present)) < 2:
            continue
        per_phase = defaultdict(set)
        for phase, value in zip(ids, values, strict=True):
            per_phase[phase].add(value)
        if name in dict(INDEX_KEYS) and any(len(v) > 1 for v in per_phase.values()):
            plan.warnings.append(f"{name} varies within phases ({len(set(present))} values "
                                 f"for {len(per_phase)} phases); ignored")
        elif name in dict(TIME_KEYS) and _slice_level_consistent(values, ids) != "phase":
            plan.warnings.append(f"{name} does not follow the phases ({len(set(present))} "
                                 f"values for {len(per_phase)} phases); ignored")


def _slice_level_consistent(values, ids) -> str | None:
    """Return "phase" or "slice" when times fit the phases, else None.

    "phase": one time per phase. "slice": times differ inside a phase, but the phases do not
    overlap in time. Phases may be in any order here; see _order_phases_by_time.
    """
    if any(v is None for v in values):
        return None
    per_phase = defaultdict(list)
    for phase, value in zip(ids, values, strict=True):
        per_phase[phase].append(value)
    if all(len(set(v)) == 1 for v in per_phase.values()):
        starts = [v[0] for v in per_phase.values()]
        return "phase" if len(set(starts)) == len(starts) else None
    spans = sorted((min(v), max(v)) for v in per_phase.values())
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        if end >= start:
            return None
    return "slice"


def _choose_seconds(records, ids):
    """Return (per-image times or None, key name or None) for the time axis in seconds."""
    for name, getter in TIME_KEYS:
        values = _key_values(records, name, getter)
        present = [v for v in values if v is not None]
        if len(set(present)) < 2:
            continue
        if _slice_level_consistent(values, ids) is not None:
            return values, name
    return None, None


def _order_phases_by_time(ids, times, partition_key, seconds_key, plan: GroupPlan):
    """Renumber phases by their earliest time; warn when that changes the key's order."""
    if times is None:
        return ids
    earliest: dict[int, float] = {}
    for phase, value in zip(ids, times, strict=True):
        earliest[phase] = min(value, earliest.get(phase, value))
    order = sorted(earliest, key=lambda phase: (earliest[phase], phase))
    if order == sorted(earliest):
        return ids
    plan.warnings.append(f"the order of {partition_key} disagrees with {seconds_key}; "
                         f"phases are ordered by {seconds_key}")
    rank = {phase: index for index, phase in enumerate(order)}
    return [rank[phase] for phase in ids]


def _time_source(partition_key: str, seconds_key: str | None) -> str:
    if seconds_key is None:
        return f"{partition_key}, index only (no time attribute)"
    if seconds_key == partition_key:
        return seconds_key
    return f"{partition_key}+{seconds_key}"


def _slice_indices(labels):
    kept = sorted(set(labels.tolist()))
    rank = {label: index for index, label in enumerate(kept)}
    return [rank[label] for label in labels.tolist()], kept


def _fill_slots(plan: GroupPlan, records, phase_ids, slice_ids, slices: int) -> None:
    plan.phases = max(phase_ids) + 1
    plan.slices = slices
    plan.records = records
    for record, phase, slice_index in zip(records, phase_ids, slice_ids, strict=True):
        plan.slots[(phase, slice_index)] = record


def _handle_missing(plan: GroupPlan, partial_phase: str) -> None:
    """Drop or keep an incomplete last phase; record any other missing slots (filled with NaN)."""
    missing = [(p, s) for p in range(plan.phases) for s in range(plan.slices)
               if (p, s) not in plan.slots]
    last = plan.phases - 1
    if missing and all(p == last for p, _ in missing) and partial_phase == "drop":
        present = plan.slices - len(missing)
        for s in range(plan.slices):
            record = plan.slots.pop((last, s), None)
            if record is not None:
                plan.excluded.append((record, "partial-phase", (
                    f"last phase is incomplete ({present} of {plan.slices} slices) and was "
                    "dropped (partial_phase='drop')")))
        plan.warnings.append(f"incomplete last phase ({present} of {plan.slices} slices) "
                             "dropped")
        plan.phases -= 1
        return
    plan.missing_slots = missing
    if missing:
        listed = ", ".join(f"(phase {p}, slice {s})" for p, s in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        plan.warnings.append(f"{len(missing)} image(s) missing, filled with NaN: {listed}{more}")


def _finish_geometry(plan: GroupPlan, orientation) -> None:
    positions = np.zeros((plan.slices, 3))
    for s in range(plan.slices):
        first = next(plan.slots[(p, s)] for p in range(plan.phases) if (p, s) in plan.slots)
        positions[s] = first.position
    plan.image_positions_patient = positions
    plan.orientation = np.asarray(orientation, dtype=float)


def _finish_times(plan: GroupPlan, times, records) -> None:
    if times is None:
        plan.phase_times_s = np.arange(plan.phases, dtype=np.float64)
        plan.per_slice_times_s = None
        return
    time_of = {id(record): value for record, value in zip(records, times, strict=True)}
    grid = np.full((plan.phases, plan.slices), np.nan)
    for (p, s), record in plan.slots.items():
        grid[p, s] = time_of[id(record)]
    earliest = np.nanmin(grid, axis=1)
    origin = earliest[0]
    # Rounded to microseconds: absolute times near 1e9 s carry float noise below that.
    plan.phase_times_s = np.round(earliest - origin, 6)
    varies = np.any(np.nanmax(grid, axis=1) - earliest > 0)
    plan.per_slice_times_s = np.round(grid - origin, 6) if varies else None
