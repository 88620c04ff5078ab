"""Sort images into acquisitions: drop duplicates, set aside non-magnitude images, merge series.

Some scanners store one DICOM series per phase of a dynamic acquisition (a Siemens 40-phase
prostate DCE export has 40 SeriesInstanceUIDs). Images are therefore merged across
series when they share study, frame of reference, orientation, matrix, pixel spacing,
protocol, description and image type, unless the series are each dynamic already.
"""

from collections import defaultdict

import numpy as np

from .records import ImageRecord

# ImageType values (3rd value on) and ComplexImageComponent terms of non-magnitude images.
PHASE_IMAGE_TYPES = {"P", "PHASE", "PHASE MAP", "PHASE_MAP", "R", "REAL", "I", "IMAGINARY"}
NON_MAGNITUDE_COMPONENTS = {"PHASE", "REAL", "IMAGINARY"}
DERIVED_TYPES = {"SUB", "SUBTRACT", "SUBTRACTION", "MIP", "MNIP", "MPR", "PROJECTION IMAGE",
                 "ADC", "TRACEW", "FA", "PERFUSION", "CPR"}


def remove_duplicates(records: list[ImageRecord]):
    """Return (kept records, [(duplicate, kept original)]) by SOPInstanceUID and frame.

    The first record by display path is kept, so the choice does not depend on upload order.
    """
    kept: dict[tuple[str, int], ImageRecord] = {}
    duplicates = []
    for record in sorted(records, key=lambda r: (r.source.display, r.frame_index)):
        key = record.key if record.sop_instance_uid else (record.source.display,
                                                         record.frame_index)
        if key in kept:
            duplicates.append((record, kept[key]))
        else:
            kept[key] = record
    return list(kept.values()), duplicates


def exclusion_reason(record: ImageRecord) -> tuple[str, str] | None:
    """Return (code, reason) when an image must not be part of a dynamic volume."""
    image_type = "\\".join(record.image_type)
    if record.samples_per_pixel != 1:
        return "colour", f"colour image (SamplesPerPixel {record.samples_per_pixel})"
    if record.rows <= 0 or record.columns <= 0:
        return "no-geometry", "Rows or Columns is missing"
    if "LOCALIZER" in record.image_type:
        return "localizer", f"localizer image (ImageType {image_type})"
    if record.complex_component in NON_MAGNITUDE_COMPONENTS or \
            PHASE_IMAGE_TYPES.intersection(record.image_type[2:]):
        return "phase-image", f"phase or complex-component image (ImageType {image_type})"
    if record.image_type[:1] == ("DERIVED",) and (
            record.image_type[1:2] == ("SECONDARY",)
            or DERIVED_TYPES.intersection(record.image_type[2:])):
        return "derived-image", f"derived image (ImageType {image_type})"
    if record.position is None or record.orientation is None:
        return "no-geometry", "ImagePositionPatient or ImageOrientationPatient is missing"
    if np.linalg.norm(np.cross(record.orientation[:3], record.orientation[3:])) < 0.5:
        return "no-geometry", (f"ImageOrientationPatient {list(record.orientation)} is invalid "
                               "(its row and column vectors are not perpendicular unit vectors)")
    return None


def acquisition_key(record: ImageRecord) -> tuple:
    """Return the attributes that must agree for images to belong to one acquisition."""
    spacing = tuple(round(v, 4) for v in record.pixel_spacing) if record.pixel_spacing else None
    has_temporal_index = (record.temporal_position_identifier is not None
                          or record.temporal_position_index is not None)
    # NOTE: a scanner that writes the phase number into SeriesDescription or ProtocolName gives
    # every phase its own key, so such phases are reported as non-dynamic instead of merged.
    return (
        record.study_uid,
        record.frame_of_reference_uid,
        record.modality,
        record.sop_class_uid,
        tuple(round(v, 4) + 0.0 for v in record.orientation),
        record.rows,
        record.columns,
        spacing,
        record.text.protocol_name,
        record.text.series_description,
        record.image_type,
        record.complex_component,
        has_temporal_index,
    )


def group_images(records: list[ImageRecord]) -> list[list[ImageRecord]]:
    """Return acquisition groups in a deterministic order (by study, series number, UID)."""
    by_key: dict[tuple, list[ImageRecord]] = defaultdict(list)
    for record in records:
        by_key[acquisition_key(record)].append(record)
    groups = []
    for members in by_key.values():
        groups.extend(_split_dynamic_series(members))
    return sorted(groups, key=_group_sort_key)


def _split_dynamic_series(members: list[ImageRecord]) -> list[list[ImageRecord]]:
    """Keep series apart when each one repeats slice positions (each is dynamic on its own)."""
    by_series: dict[str, list[ImageRecord]] = defaultdict(list)
    for record in members:
        by_series[record.series_uid].append(record)
    if len(by_series) == 1:
        return [members]
    if any(_repeats_positions(series) for series in by_series.values()):
        return [by_series[uid] for uid in sorted(by_series)]
    return [members]


def _repeats_positions(records: list[ImageRecord]) -> bool:
    positions = [tuple(round(v, 2) for v in record.position) for record in records]
    return len(set(positions)) < len(positions)


def _group_sort_key(group: list[ImageRecord]) -> tuple:
    first = min(group, key=lambda r: (r.series_number or 0, r.series_uid, r.source.display))
    return (first.study_uid, first.series_number or 0, first.series_uid, first.source.display)


def describe_key(record: ImageRecord) -> str:
    """Return a readable summary of an image's acquisition key (no patient data)."""
    image_type = "\\".join(record.image_type)
    return (
        f"study={record.study_uid} frame_of_reference={record.frame_of_reference_uid} "
        f"matrix={record.rows}x{record.columns} protocol={record.text.protocol_name!r} "
        f"description={record.text.series_description!r} image_type={image_type}"
    )
