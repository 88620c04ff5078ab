"""Data passed between the import steps and returned to the caller."""

from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class SourceFile:
    """One input file: where it lies on disk and how the report names it."""

    path: Path
    display: str


@dataclass
class DescriptiveText:
    """Text attributes of one file, decoded with its SpecificCharacterSet.

    Several are identifying; `deidentify.py` lists which ones the pseudonymisation blanks.
    """

    patient_name: str = ""
    patient_id: str = ""
    patient_birth_date: str = ""
    patient_sex: str = ""
    patient_age: str = ""
    accession_number: str = ""
    institution_name: str = ""
    referring_physician_name: str = ""
    performing_physician_name: str = ""
    operators_name: str = ""
    study_id: str = ""
    study_date: str = ""
    study_description: str = ""
    series_description: str = ""
    protocol_name: str = ""
    manufacturer: str = ""

    def as_dict(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class ImageRecord:
    """Header facts of one image: one single-frame file, or one frame of a multi-frame file.

    Times are absolute seconds from an epoch shared by all images of one import. Positions
    and spacings are millimetres in the DICOM patient coordinate system.
    """

    source: SourceFile
    frame_index: int
    number_of_frames: int
    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    study_uid: str
    series_uid: str
    frame_of_reference_uid: str
    series_number: int | None
    modality: str
    image_type: tuple[str, ...]
    complex_component: str
    rows: int
    columns: int
    samples_per_pixel: int
    pixel_spacing: tuple[float, float] | None
    orientation: tuple[float, ...] | None
    position: tuple[float, float, float] | None
    slice_thickness: float | None
    rescale_slope: float
    rescale_intercept: float
    private_scale_slope: float | None
    private_scale_intercept: float | None
    window_center: float | None
    window_width: float | None
    instance_number: int | None
    temporal_position_identifier: int | None
    temporal_position_index: int | None
    dimension_temporal_index: int | None
    acquisition_number: int | None
    acquisition_time_s: float | None
    acquisition_time_has_date: bool
    frame_acquisition_time_s: float | None
    trigger_time_s: float | None
    content_time_s: float | None
    content_time_has_date: bool
    text: DescriptiveText
    warnings: list[str] = field(default_factory=list)
    # Byte offset of the PixelData value in the file and pydicom decoding options, so pixels
    # are decoded without parsing the header again; None where that offset is not usable.
    pixel_offset: int | None = None
    pixel_options: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, int]:
        return (self.sop_instance_uid, self.frame_index)


@dataclass(frozen=True)
class InstanceRecord:
    """One stored image of a dynamic series and where it came from.

    frame_index is the 0-based frame number inside the source file (0 for single-frame files).
    For NIfTI input there is one record for the whole file, with phase_index and slice_index
    None and a SOP Instance UID derived from the file's SHA-256.
    """

    sop_instance_uid: str
    source_path: str
    phase_index: int | None
    slice_index: int | None
    frame_index: int
    sop_class_uid: str
    transfer_syntax_uid: str
    original_path: str = ""
    display_path: str = ""


@dataclass
class DynamicSeries:
    """One dynamic acquisition, assembled into a 4-D volume.

    volume: (P, S, R, C) = (phases, slices, rows, columns) in modality units after rescale,
        int16 when every value is integral and fits, else float32 (NaN marks missing slices).
    phase_times_s: float64 (P,), seconds from the first phase, first value 0.0. A phase's
        time is the earliest image time in that phase. When time_is_estimated is True the
        values are phase indices (0, 1, 2, ...), not seconds.
    per_slice_times_s: float64 (P, S) seconds from the first phase's earliest image, or None
        when all images of a phase share one time.
    slice_positions_mm: float64 (S,), ImagePositionPatient projected on the slice normal
        (cross product of the two ImageOrientationPatient vectors), ascending.
    image_positions_patient: float64 (S, 3); image_orientation_patient: float64 (6,).
    pixel_spacing_mm: (row spacing, column spacing).
    """

    volume: np.ndarray
    phase_times_s: np.ndarray
    time_source: str
    time_is_estimated: bool
    per_slice_times_s: np.ndarray | None
    slice_positions_mm: np.ndarray
    image_positions_patient: np.ndarray
    image_orientation_patient: np.ndarray
    pixel_spacing_mm: tuple[float, float]
    slice_thickness_mm: float | None
    study_instance_uid: str
    series_instance_uids: list[str]
    frame_of_reference_uid: str
    patient_id: str
    patient_name: str
    study_date: str
    study_description: str
    series_description: str
    protocol_name: str
    modality: str
    manufacturer: str
    window_center: float
    window_width: float
    window_source: str
    rescale_convention: str
    instances: list[InstanceRecord]
    warnings: list[str]
    group_key: str
    rescale_factors: list[dict] = field(default_factory=list)
    deidentified: bool = False

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return tuple(int(n) for n in self.volume.shape)

    def to_dict(self) -> dict:
        """Return the metadata as JSON-safe values; the volume is described, not included.

        patient_name is left out, so the returned dict can be logged or stored in a report.
        """
        return {
            "shape": list(self.shape),
            "dtype": str(self.volume.dtype),
            "phase_times_s": [float(t) for t in self.phase_times_s],
            "time_source": self.time_source,
            "time_is_estimated": self.time_is_estimated,
            "per_slice_times_s": _nested_list(self.per_slice_times_s),
            "slice_positions_mm": [float(v) for v in self.slice_positions_mm],
            "image_positions_patient": _nested_list(self.image_positions_patient),
            "image_orientation_patient": [float(v) for v in self.image_orientation_patient],
            "pixel_spacing_mm": [float(v) for v in self.pixel_spacing_mm],
            "slice_thickness_mm": self.slice_thickness_mm,
            "study_instance_uid": self.study_instance_uid,
            "series_instance_uids": list(self.series_instance_uids),
            "frame_of_reference_uid": self.frame_of_reference_uid,
            "patient_id": self.patient_id,
            "study_date": self.study_date,
            "study_description": self.study_description,
            "series_description": self.series_description,
            "protocol_name": self.protocol_name,
            "modality": self.modality,
            "manufacturer": self.manufacturer,
            "window_center": float(self.window_center),
            "window_width": float(self.window_width),
            "window_source": self.window_source,
            "rescale_convention": self.rescale_convention,
            "rescale_factors": self.rescale_factors,
            "instance_count": len(self.instances),
            "warnings": list(self.warnings),
            "group_key": self.group_key,
            "deidentified": self.deidentified,
        }


def _nested_list(array: np.ndarray | None):
    if array is None:
        return None
    values = np.asarray(array, dtype=float)
    return [[None if np.isnan(v) else float(v) for v in row] for row in values]
