"""Write phantom subjects as a DICOM cohort with ground truth.

On-disk layout written by ``write_cohort(OUT, subjects=N, seed=S)``::

    OUT/cohort.json                  {"format_version": 1, "seed": S,
                                      "subjects": ["PH001", ...], "geometry": {...}}
    OUT/PH001/dicom/p01_s01.dcm ...  one file per phase and slice
    OUT/PH001/truth.npz              labels and the exact pixel data
    OUT/PH001/truth.json             identifiers, geometry, joints and simulation parameters

DICOM files: classic MR Image Storage (1.2.840.10008.5.1.4.1.1.4), Explicit VR Little
Endian, 16-bit unsigned pixels, RescaleSlope 1 and RescaleIntercept 0, so stored values are
the signal in arbitrary units (muscle at baseline ≈ 300, air ≈ 15, arterial peak ≈ 2500).
File ``pPP_sSS.dcm`` contains phase PP (TemporalPositionIdentifier, 1-based) and slice SS
(1-based, palmar to dorsal). All files of a subject form one study and one series.
Orientation is coronal: ImageOrientationPatient 1\\0\\0\\0\\0\\-1, and ImagePositionPatient
moves by the slice thickness along the normal (0, 1, 0) from slice to slice.
AcquisitionTime is the series start plus (phase − 1) × phase interval; the bolus is
injected at the start of phase 3 (ContrastBolusStartTime). Rows run from the fingers to the
forearm, columns from the thumb side to the little-finger side of a right hand.

truth.npz (numpy ``np.load``): ``labels`` uint8 (slices, rows, columns) with the tissue
codes of ``truth.json["tissue_codes"]`` (8 = active synovitis, 9 = mild synovitis) and
``volume`` uint16 (phases, slices, rows, columns), identical to the DICOM pixel data.
Index [p, s] of ``volume`` is file ``p{p+1:02d}_s{s+1:02d}.dcm``.

truth.json: ``shape`` [P, S, R, C]; ``pixel_spacing_mm`` [row, column]; ``slice_thickness_mm``;
``phase_times_s`` (start of each phase, first 0.0); ``joints`` with ``centre`` [slice, row,
column] and an inclusive ``box`` in 0-based voxel indices, ``inflamed`` (active synovitis
of this joint is present) and ``synovitis_voxels`` (code-8 voxels inside the box; boxes
of neighbouring joints overlap); ``parameters`` holds every simulation draw (tissue T10
in ms, Ktrans in min⁻¹, ve and vp as fractions, AIF delays in s, noise sigma in signal
units).

The same seed gives byte-identical files: UIDs are hashed from the seed and subject id,
dates are fixed per subject, and no tag holds the time of writing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
import zipfile
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, MRImageStorage

from inference import phantom
from inference.phantom import PhantomGeometry, PhantomSubject

FORMAT_VERSION = 1
SERIES_DESCRIPTION = "Phantom hand DCE"
# Name-based (version 5) UUIDs under the 2.25 root give UIDs that depend only on their
# name. pydicom's generate_uid(prefix=None) ignores entropy_srcs and returns a random UUID.
UID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_OID, "PannusMap synthetic hand phantom")
IMPLEMENTATION_CLASS_UID = UID(f"2.25.{uuid.uuid5(UID_NAMESPACE, 'writer').int}")
IMPLEMENTATION_VERSION_NAME = "PANNUSMAP_PH1"
# Coronal: rows along patient +x (left), columns along −z (feet); the normal is +y.
ORIENTATION = (1.0, 0.0, 0.0, 0.0, 0.0, -1.0)
SLICE_NORMAL = np.array([0.0, 1.0, 0.0])


def subject_ids(count: int) -> list[str]:
    """Subject ids PH001, PH002, … for a cohort of ``count`` subjects."""
    return [f"PH{index:03d}" for index in range(1, count + 1)]


def write_cohort(
    out_dir: Path,
    subjects: int,
    seed: int,
    geometry: PhantomGeometry | None = None,
    *,
    jitter_px: float = 0.0,
) -> list[Path]:
    """Generate and write ``subjects`` subjects; return their folders in id order.

    Each subject folder is written under a temporary name and renamed when complete, so
    an interrupted run never leaves a half-written subject under its final name. An
    existing folder of the same subject is replaced. Raises ValueError for a subject
    count below 1 or a negative seed.
    """
    if subjects < 1:
        raise ValueError(f"subjects must be at least 1, got {subjects}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    geometry = geometry or PhantomGeometry()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    folders = []
    for subject_id in subject_ids(subjects):
        subject = phantom.generate_subject(subject_id, seed, geometry, jitter_px=jitter_px)
        folders.append(write_subject(subject, out_dir, seed))

    cohort = {
        "format_version": FORMAT_VERSION,
        "seed": seed,
        "subjects": subject_ids(subjects),
        "geometry": geometry.as_dict(),
    }
    _write_json_atomically(out_dir / "cohort.json", cohort)
    return folders


def write_subject(subject: PhantomSubject, out_dir: Path, seed: int) -> Path:
    """Write one subject's DICOM files and truth files to ``out_dir/<subject_id>``."""
    final = Path(out_dir) / subject.subject_id
    partial = Path(out_dir) / f".{subject.subject_id}.partial"
    if partial.exists():
        shutil.rmtree(partial)
    (partial / "dicom").mkdir(parents=True)

    uids = subject_uids(seed, subject.subject_id)
    try:
        _write_dicom_series(subject, partial / "dicom", uids, seed)
        _write_truth(subject, partial, uids)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise

    if final.exists():
        shutil.rmtree(final)
    os.replace(partial, final)
    return final


def subject_uids(seed: int, subject_id: str) -> dict[str, str]:
    """Study, series and frame-of-reference UIDs of one subject, derived from the seed."""
    return {
        kind: _named_uid(str(seed), subject_id, kind)
        for kind in ("study", "series", "frame_of_reference")
    }


def instance_uid(seed: int, subject_id: str, phase: int, slice_index: int) -> str:
    """SOPInstanceUID of the file of 0-based ``phase`` and ``slice_index``."""
    return _named_uid(str(seed), subject_id, "instance", str(phase), str(slice_index))


def _named_uid(*parts: str) -> UID:
    return UID(f"2.25.{uuid.uuid5(UID_NAMESPACE, '/'.join(parts)).int}")


def _write_dicom_series(subject: PhantomSubject, folder: Path, uids: dict, seed: int) -> None:
    """Write every phase and slice, reusing one dataset and changing the per-file tags."""
    geometry = subject.geometry
    start = _series_start(seed, subject.subject_id)
    dataset = _series_dataset(subject, uids, start)
    positions = _slice_positions(geometry)

    for phase in range(geometry.phases):
        acquired = start + dt.timedelta(seconds=float(subject.phase_times_s[phase]))
        for slice_index in range(geometry.slices):
            sop_uid = instance_uid(seed, subject.subject_id, phase, slice_index)
            dataset.file_meta.MediaStorageSOPInstanceUID = sop_uid
            dataset.SOPInstanceUID = sop_uid
            dataset.InstanceNumber = phase * geometry.slices + slice_index + 1
            dataset.TemporalPositionIdentifier = phase + 1
            dataset.AcquisitionNumber = phase + 1
            dataset.AcquisitionDate = dataset.ContentDate = acquired.strftime("%Y%m%d")
            dataset.AcquisitionTime = dataset.ContentTime = acquired.strftime("%H%M%S.%f")
            dataset.ImagePositionPatient = [_ds_value(v) for v in positions[slice_index]]
            dataset.SliceLocation = _ds_value(positions[slice_index] @ SLICE_NORMAL)
            pixels = np.ascontiguousarray(subject.volume[phase, slice_index], dtype="<u2")
            dataset.PixelData = pixels.tobytes()

            name = f"p{phase + 1:02d}_s{slice_index + 1:02d}.dcm"
            dataset.save_as(folder / name, enforce_file_format=True)


def _series_start(seed: int, subject_id: str) -> dt.datetime:
    """Fixed scan start per subject: a day in 2024 between 08:00 and 16:00."""
    digest = hashlib.sha256(f"{seed}:{subject_id}".encode()).digest()
    day = int.from_bytes(digest[:4], "little") % 366
    minute = int.from_bytes(digest[4:8], "little") % (8 * 60)
    return dt.datetime(2024, 1, 1, 8, 0, 0) + dt.timedelta(days=day, minutes=minute)


def _slice_positions(geometry: PhantomGeometry) -> np.ndarray:
    """ImagePositionPatient (mm) of each slice, float64 (S, 3), centred on the origin."""
    row_step = np.array(ORIENTATION[:3]) * geometry.pixel_spacing_mm
    column_step = np.array(ORIENTATION[3:]) * geometry.pixel_spacing_mm
    first = -(geometry.columns - 1) / 2.0 * row_step - (geometry.rows - 1) / 2.0 * column_step
    first = first - (geometry.slices - 1) / 2.0 * geometry.slice_thickness_mm * SLICE_NORMAL
    steps = np.arange(geometry.slices)[:, None] * geometry.slice_thickness_mm * SLICE_NORMAL
    return first + steps


def _ds_value(value: float) -> str:
    """Decimal String text of at most 16 characters, without a negative zero."""
    return f"{float(value) + 0.0:.10g}"


def _series_dataset(subject: PhantomSubject, uids: dict, start: dt.datetime) -> Dataset:
    """Dataset with every tag that is the same for all files of the series."""
    geometry = subject.geometry
    dataset = Dataset()
    dataset.file_meta = _file_meta()
    _set_patient_and_study(dataset, subject, uids, start)
    _set_acquisition(dataset, geometry, start)
    _set_image(dataset, subject, uids)
    return dataset


def _file_meta() -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    return meta


def _set_patient_and_study(dataset, subject, uids, start) -> None:
    dataset.SOPClassUID = MRImageStorage
    dataset.PatientName = f"Phantom^{subject.subject_id}"
    dataset.PatientID = subject.subject_id
    dataset.PatientBirthDate = ""
    dataset.PatientSex = ""
    dataset.StudyInstanceUID = uids["study"]
    dataset.SeriesInstanceUID = uids["series"]
    dataset.FrameOfReferenceUID = uids["frame_of_reference"]
    dataset.StudyDate = dataset.SeriesDate = start.strftime("%Y%m%d")
    dataset.StudyTime = dataset.SeriesTime = start.strftime("%H%M%S.%f")
    dataset.StudyID = "1"
    dataset.AccessionNumber = ""
    dataset.ReferringPhysicianName = ""
    dataset.StudyDescription = "Phantom hand DCE-MRI"
    dataset.SeriesDescription = SERIES_DESCRIPTION
    dataset.ProtocolName = SERIES_DESCRIPTION
    dataset.SeriesNumber = 1
    dataset.Modality = "MR"
    dataset.Manufacturer = "PannusMap"
    dataset.ManufacturerModelName = "Synthetic hand phantom"
    dataset.BodyPartExamined = "HAND"
    dataset.Laterality = phantom.HAND_SIDE
    dataset.PatientPosition = "HFP"
    dataset.PositionReferenceIndicator = ""


def _set_acquisition(dataset, geometry: PhantomGeometry, start: dt.datetime) -> None:
    injection = start + dt.timedelta(
        seconds=phantom.INJECTION_PHASE_INDEX * geometry.phase_interval_s
    )
    dataset.ImageType = ["ORIGINAL", "PRIMARY", "OTHER"]
    dataset.ScanningSequence = "GR"
    dataset.SequenceVariant = "SP"
    dataset.ScanOptions = ""
    dataset.MRAcquisitionType = "3D"
    dataset.RepetitionTime = _ds_value(phantom.TR_S * 1000.0)
    dataset.EchoTime = _ds_value(phantom.TE_S * 1000.0)
    dataset.EchoTrainLength = 1
    dataset.NumberOfAverages = "1"
    dataset.FlipAngle = _ds_value(phantom.FLIP_DEG)
    dataset.MagneticFieldStrength = _ds_value(phantom.FIELD_STRENGTH_T)
    dataset.ImagingFrequency = "127.74"
    dataset.ImagedNucleus = "1H"
    dataset.ContrastBolusAgent = phantom.CONTRAST_AGENT
    dataset.ContrastBolusStartTime = injection.strftime("%H%M%S.%f")
    dataset.NumberOfTemporalPositions = geometry.phases
    dataset.TemporalResolution = _ds_value(geometry.phase_interval_s * 1000.0)
    dataset.SliceThickness = _ds_value(geometry.slice_thickness_mm)
    dataset.SpacingBetweenSlices = _ds_value(geometry.slice_thickness_mm)


def _set_image(dataset, subject: PhantomSubject, uids) -> None:
    geometry = subject.geometry
    dataset.ImageOrientationPatient = [_ds_value(v) for v in ORIENTATION]
    dataset.PixelSpacing = [_ds_value(geometry.pixel_spacing_mm)] * 2
    dataset.Rows = geometry.rows
    dataset.Columns = geometry.columns
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.BitsAllocated = 16
    dataset.BitsStored = 16
    dataset.HighBit = 15
    dataset.PixelRepresentation = 0
    dataset.RescaleIntercept = "0"
    dataset.RescaleSlope = "1"
    center, width = _window(subject)
    dataset.WindowCenter = _ds_value(center)
    dataset.WindowWidth = _ds_value(width)


def _window(subject: PhantomSubject) -> tuple[float, float]:
    """Display window from 0 to the 99th percentile of body voxels in phase 1."""
    body = subject.volume[0][subject.labels > 0]
    high = float(np.percentile(body, 99)) if body.size else float(subject.volume.max())
    high = max(round(high), 2)
    return high / 2.0, float(high)


def _write_truth(subject: PhantomSubject, folder: Path, uids: dict) -> None:
    _write_npz(folder / "truth.npz", {"labels": subject.labels, "volume": subject.volume})

    geometry = subject.geometry
    truth = {
        "subject_id": subject.subject_id,
        "study_instance_uid": uids["study"],
        "series_instance_uid": uids["series"],
        "frame_of_reference_uid": uids["frame_of_reference"],
        "shape": list(geometry.shape),
        "pixel_spacing_mm": [geometry.pixel_spacing_mm, geometry.pixel_spacing_mm],
        "slice_thickness_mm": geometry.slice_thickness_mm,
        "phase_times_s": [float(t) for t in subject.phase_times_s],
        "tissue_codes": {str(code): name for code, name in phantom.TISSUE_CODES.items()},
        "joints": subject.joints,
        "parameters": subject.parameters,
    }
    (folder / "truth.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write arrays as an ``np.load``-readable .npz, deflated at level 1.

    Level 1 takes about a quarter of the time of the default level 6 and is within 2 % of
    its size on a noisy full-size volume.
    """
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, array in arrays.items():
            # A member opened by name gets ZipInfo's default date (1980-01-01), never the
            # current time, so the same arrays always give the same bytes.
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def _write_json_atomically(path: Path, content: dict) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)
