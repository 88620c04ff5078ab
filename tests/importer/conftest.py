"""Builders for small synthetic DICOM series with known expected values (the F0 series).

Tests reach the builders through the `dicom` fixture (dicom.f0_series(), dicom.write_series(),
...), which works under any pytest import mode.

F0: one study, one series, 3 phases x 4 slices of 8 x 8 MR images, Explicit VR Little Endian.
Slice s (1-based) lies at z = 3 (s - 1) mm, phase p (1-based) is acquired at
10:00:00 + 30 (p - 1) s, and every stored pixel of image (p, s) equals 100 p + 10 s, so each
slot of the imported volume names itself.
"""

import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4.1"
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

PHASES, SLICES, SIZE = 3, 4, 8


def uid(*parts) -> str:
    """Return a deterministic UID built from the given parts."""
    return generate_uid(entropy_srcs=[str(part) for part in parts])


def f0_value(phase: int, slice_: int) -> int:
    """Return the stored pixel value of F0 image (phase, slice), both 1-based."""
    return 100 * phase + 10 * slice_


def f0_expected(phases: int = PHASES, slices: int = SLICES, size: int = SIZE) -> np.ndarray:
    """Return the expected (P, S, size, size) volume of an F0-style series."""
    volume = np.zeros((phases, slices, size, size), dtype=np.int16)
    for p in range(phases):
        for s in range(slices):
            volume[p, s] = f0_value(p + 1, s + 1)
    return volume


def f0_image(phase: int, slice_: int, *, seed: str = "f0", z: float | None = None,
             series: str = "series", size: int = SIZE) -> Dataset:
    """Return the F0 dataset of image (phase, slice), both 1-based."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND"]
    ds.SOPClassUID = MR_IMAGE_STORAGE
    ds.SOPInstanceUID = uid(seed, "sop", phase, slice_)
    ds.StudyDate = "20261203"
    ds.AcquisitionDate = "20261203"
    ds.AcquisitionTime = _time_text(10 * 3600 + 30 * (phase - 1))
    ds.Modality = "MR"
    ds.Manufacturer = "Synthetic"
    ds.SeriesDescription = "DCE T1"
    ds.ProtocolName = "DCE T1"
    ds.PatientName = "Test^Synthetic"
    ds.PatientID = "SYN001"
    ds.PatientBirthDate = "19700101"
    ds.InstitutionName = "Test Hospital"
    ds.StudyInstanceUID = uid(seed, "study")
    ds.SeriesInstanceUID = uid(seed, series)
    ds.FrameOfReferenceUID = uid(seed, "frame")
    ds.SeriesNumber = 5
    ds.InstanceNumber = 4 * (phase - 1) + slice_
    ds.TemporalPositionIdentifier = phase
    ds.NumberOfTemporalPositions = PHASES
    ds.ImagePositionPatient = [0.0, 0.0, 3.0 * (slice_ - 1) if z is None else z]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [0.5, 0.5]
    ds.SliceThickness = 3
    ds.RescaleSlope = 1
    ds.RescaleIntercept = 0
    set_pixels(ds, np.full((size, size), f0_value(phase, slice_), dtype=np.uint16))
    return ds


def set_pixels(ds: Dataset, array: np.ndarray, bits_stored: int | None = None) -> None:
    """Store a 2-D (or 3-D multi-frame) integer array as native pixel data."""
    signed = np.issubdtype(array.dtype, np.signedinteger)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = array.shape[-2:]
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored or 16
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if signed else 0
    ds.PixelData = array.astype("<i2" if signed else "<u2").tobytes()


def _time_text(seconds: float) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours):02d}{int(minutes):02d}{secs:09.6f}"


def time_text(seconds: float) -> str:
    """Return a TM value for seconds after midnight."""
    return _time_text(seconds % 86400)


def f0_series(seed: str = "f0", phases: int = PHASES, slices: int = SLICES,
              edit: Callable[[Dataset, int, int], None] | None = None,
              size: int = SIZE) -> list[Dataset]:
    """Return F0 datasets in phase-major order, each passed through edit(ds, p, s)."""
    datasets = []
    for p in range(1, phases + 1):
        for s in range(1, slices + 1):
            ds = f0_image(p, s, seed=seed, size=size)
            if edit is not None:
                edit(ds, p, s)
            datasets.append(ds)
    return datasets


def write_dataset(ds: Dataset, path: Path, transfer_syntax=ExplicitVRLittleEndian) -> Path:
    """Write a dataset as a DICOM Part 10 file."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = transfer_syntax
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_series(datasets: list[Dataset], folder: Path,
                 name: Callable[[int, Dataset], str] | None = None) -> list[Path]:
    """Write datasets into folder as IM0001.dcm, IM0002.dcm, ... (or name(index, ds))."""
    paths = []
    for index, ds in enumerate(datasets):
        file_name = name(index, ds) if name else f"IM{index + 1:04d}.dcm"
        paths.append(write_dataset(ds, folder / file_name))
    return paths


def zip_folder(folder: Path, archive: Path) -> Path:
    """Write every file under folder into a ZIP archive, with paths relative to folder."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                handle.write(path, path.relative_to(folder).as_posix())
    return archive


def shared_data(name: str) -> Path:
    """Return a real test data folder, or skip the test when the shared data is absent."""
    folder = SHARED_DATA / name
    if not folder.is_dir():
        pytest.skip(f"real test data {folder} is not available (it lies outside the repository)")
    return folder


class DicomBuilders:
    """The builder functions of this module, handed to tests by the `dicom` fixture."""

    uid = staticmethod(uid)
    f0_value = staticmethod(f0_value)
    f0_expected = staticmethod(f0_expected)
    f0_image = staticmethod(f0_image)
    f0_series = staticmethod(f0_series)
    set_pixels = staticmethod(set_pixels)
    time_text = staticmethod(time_text)
    write_dataset = staticmethod(write_dataset)
    write_series = staticmethod(write_series)
    zip_folder = staticmethod(zip_folder)
    shared_data = staticmethod(shared_data)
    MR_IMAGE_STORAGE = MR_IMAGE_STORAGE
    ENHANCED_MR_IMAGE_STORAGE = ENHANCED_MR_IMAGE_STORAGE


@pytest.fixture(scope="session")
def dicom() -> type[DicomBuilders]:
    return DicomBuilders


@pytest.fixture
def f0_folder(tmp_path: Path) -> Path:
    """Return a folder holding the 12 F0 files."""
    folder = tmp_path / "f0"
    write_series(f0_series(), folder)
    return folder
