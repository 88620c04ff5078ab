"""Read an already-converted 4-D NIfTI file, with an optional JSON sidecar, as a DynamicSeries.

Axis mapping: NIfTI data (i, j, k, t) becomes volume[t, k, j, i], so the NIfTI i axis gives
the columns, j the rows, k the slices and t the phases. The affine (RAS+, as nibabel returns
it) is converted to DICOM patient coordinates (LPS) by negating x and y. From it come
ImageOrientationPatient (row cosines = the i axis direction, column cosines = the j axis
direction), PixelSpacing (row spacing = length of the j step, column spacing = length of the
i step) and one ImagePositionPatient per slice. Slices are reversed when needed so that their
positions ascend along the slice normal, as for DICOM input.

Time axis, from the sidecar "<name>.json" beside the file:
- "AcquisitionTimes_s": one start time per volume in seconds (any origin), or
- "RepetitionTime": seconds between volumes (the BIDS convention for 4-D data); if
  "NumberOfVolumes" is given it must equal the number of volumes.
Without either, the time axis contains volume indices and is marked estimated. The sidecar may
also give SeriesDescription, StudyInstanceUID, SeriesInstanceUID, FrameOfReferenceUID,
PatientID, StudyDate, Modality and Manufacturer.
"""

import hashlib
import json
from pathlib import Path

import nibabel
import numpy as np
from pydicom.uid import generate_uid

from .reading import FileFailed, FileSkipped
from .records import DynamicSeries, InstanceRecord, SourceFile
from .volume import DISPLAYED_CONVENTION, percentile_window

NIFTI_SUFFIXES = (".nii", ".nii.gz")
_RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0])


def is_nifti(path: Path) -> bool:
    return path.name.lower().endswith(NIFTI_SUFFIXES)


def sidecar_path(path: Path) -> Path:
    """Return the JSON sidecar path for a NIfTI file: the same name ending in .json."""
    name = path.name
    stem = name[: -len(".nii.gz")] if name.lower().endswith(".nii.gz") else name[:-len(".nii")]
    return path.with_name(stem + ".json")


def import_nifti(source: SourceFile, sidecar: SourceFile | None) -> DynamicSeries:
    """Return a DynamicSeries from a 4-D NIfTI file.

    Raises FileSkipped for 3-D images and FileFailed for unreadable files or sidecars.
    """
    image = _load(source.path)
    if image.ndim != 4 or image.shape[3] < 2:
        raise FileSkipped("non-dynamic", f"not a dynamic series (NIfTI shape {image.shape})",
                          status="excluded")
    metadata = _read_sidecar(sidecar)
    volume = _volume(image)
    geometry = _geometry(image.affine, volume.shape[1])
    if geometry["reverse"]:
        volume = volume[:, ::-1].copy()
    times, time_source, estimated = _times(metadata, volume.shape[0])
    return _series(source, volume, geometry, times, time_source, estimated, metadata)


def _load(path: Path):
    try:
        image = nibabel.load(path)
    except (OSError, ValueError, nibabel.filebasedimages.ImageFileError) as error:
        raise FileFailed("unreadable", f"the NIfTI file could not be read: {error}") from error
    return image


def _read_sidecar(sidecar: SourceFile | None) -> dict:
    if sidecar is None:
        return {}
    try:
        data = json.loads(sidecar.path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FileFailed("bad-sidecar", f"JSON sidecar {sidecar.display} is invalid: "
                                        f"{error}") from error
    if not isinstance(data, dict):
        raise FileFailed("bad-sidecar", f"JSON sidecar {sidecar.display} is not an object")
    return data


def _volume(image) -> np.ndarray:
    """Return (P, S, R, C) values with the NIfTI scaling applied, int16 when it fits."""
    data = np.asanyarray(image.dataobj)
    volume = np.ascontiguousarray(np.transpose(data, (3, 2, 1, 0)))
    del data
    if np.issubdtype(volume.dtype, np.integer) or np.all(volume == np.round(volume)):
        if volume.size == 0 or (volume.min() >= -32768 and volume.max() <= 32767):
            return volume.astype(np.int16, copy=False)
    return volume.astype(np.float32, copy=False)


def _geometry(affine: np.ndarray, slices: int) -> dict:
    matrix = _RAS_TO_LPS @ np.asarray(affine, dtype=float)[:3, :3]
    origin = _RAS_TO_LPS @ np.asarray(affine, dtype=float)[:3, 3]
    column_step, row_step, slice_step = matrix[:, 0], matrix[:, 1], matrix[:, 2]
    row_cosines = column_step / np.linalg.norm(column_step)
    column_cosines = row_step / np.linalg.norm(row_step)
    normal = np.cross(row_cosines, column_cosines)
    positions = origin + np.outer(np.arange(slices), slice_step)
    projections = positions @ normal
    reverse = slices > 1 and projections[-1] < projections[0]
    if reverse:
        positions, projections = positions[::-1], projections[::-1]
    return {
        "orientation": np.concatenate([row_cosines, column_cosines]),
        "spacing": (float(np.linalg.norm(row_step)), float(np.linalg.norm(column_step))),
        "thickness": float(np.linalg.norm(slice_step)),
        "positions": positions,
        "projections": projections,
        "reverse": reverse,
    }


def _times(metadata: dict, phases: int) -> tuple[np.ndarray, str, bool]:
    if "AcquisitionTimes_s" in metadata:
        times = np.asarray(metadata["AcquisitionTimes_s"], dtype=np.float64)
        if times.shape != (phases,):
            raise FileFailed("bad-sidecar", f"AcquisitionTimes_s has {times.size} values but "
                                            f"the image has {phases} volumes")
        return times - times[0], "AcquisitionTimes_s (JSON sidecar)", False
    if "RepetitionTime" in metadata:
        count = metadata.get("NumberOfVolumes", phases)
        if count != phases:
            raise FileFailed("bad-sidecar", f"NumberOfVolumes is {count} but the image has "
                                            f"{phases} volumes")
        interval = float(metadata["RepetitionTime"])
        return np.arange(phases) * interval, "RepetitionTime (JSON sidecar)", False
    return np.arange(phases, dtype=np.float64), "volume index only (no time attribute)", True


def _series(source, volume, geometry, times, time_source, estimated, metadata):
    digest = hashlib.sha256(source.path.read_bytes()).hexdigest()
    series_uid = metadata.get("SeriesInstanceUID") or generate_uid(entropy_srcs=[digest, "series"])
    center, width, window_source = percentile_window(volume)
    instance = InstanceRecord(
        sop_instance_uid=generate_uid(entropy_srcs=[digest, "instance"]),
        source_path=str(source.path), phase_index=None, slice_index=None, frame_index=0,
        sop_class_uid="", transfer_syntax_uid="", original_path=str(source.path),
        display_path=source.display,
    )
    return DynamicSeries(
        volume=volume, phase_times_s=times.astype(np.float64), time_source=time_source,
        time_is_estimated=estimated, per_slice_times_s=None,
        slice_positions_mm=np.asarray(geometry["projections"], dtype=np.float64),
        image_positions_patient=np.asarray(geometry["positions"], dtype=np.float64),
        image_orientation_patient=geometry["orientation"], pixel_spacing_mm=geometry["spacing"],
        slice_thickness_mm=geometry["thickness"],
        study_instance_uid=metadata.get("StudyInstanceUID")
        or generate_uid(entropy_srcs=[digest, "study"]),
        series_instance_uids=[series_uid],
        frame_of_reference_uid=metadata.get("FrameOfReferenceUID") or "",
        patient_id=str(metadata.get("PatientID", "")), patient_name="",
        study_date=str(metadata.get("StudyDate", "")), study_description="",
        series_description=str(metadata.get("SeriesDescription", source.path.name)),
        protocol_name="", modality=str(metadata.get("Modality", "MR")),
        manufacturer=str(metadata.get("Manufacturer", "")),
        window_center=center, window_width=width, window_source=window_source,
        rescale_convention=DISPLAYED_CONVENTION + " (NIfTI scl_slope/scl_inter applied)",
        instances=[instance], warnings=[], group_key=f"nifti:{digest[:16]}",
    )
