"""Read DICOM headers into ImageRecords, and decode pixel data of single images.

Headers are read without decoding pixel data. A multi-frame (Enhanced MR) file gives one
ImageRecord per frame, with geometry, rescale and timing taken from its per-frame functional
groups (falling back to the shared groups, then to the top-level attributes).
"""

import os
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import get_decoder, pixel_array
from pydicom.tag import Tag
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian

from .records import DescriptiveText, ImageRecord, SourceFile
from .values import (
    character_sets,
    date_time_seconds,
    decode_text,
    element_int,
    element_number,
    element_numbers,
    element_text,
    parse_datetime,
    tag_of,
)

DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
PIXEL_DATA = Tag(0x7FE0, 0x0010)
PHILIPS_MR_CREATOR = "Philips MR Imaging DD 001"
# Attributes a DimensionIndexPointer may point to when that dimension is time.
TEMPORAL_DIMENSION_TAGS = {
    Tag(0x0020, 0x9128),  # TemporalPositionIndex
    Tag(0x0018, 0x9074),  # FrameAcquisitionDateTime
    Tag(0x0020, 0x9153),  # NominalCardiacTriggerDelayTime
    Tag(0x0020, 0x0100),  # TemporalPositionIdentifier
    Tag(0x0018, 0x1060),  # TriggerTime
}
_TEXT_ATTRIBUTES = (
    ("patient_name", "PatientName", "PN"),
    ("patient_id", "PatientID", "LO"),
    ("accession_number", "AccessionNumber", "SH"),
    ("institution_name", "InstitutionName", "LO"),
    ("referring_physician_name", "ReferringPhysicianName", "PN"),
    ("performing_physician_name", "PerformingPhysicianName", "PN"),
    ("operators_name", "OperatorsName", "PN"),
    ("study_id", "StudyID", "SH"),
    ("study_description", "StudyDescription", "LO"),
    ("series_description", "SeriesDescription", "LO"),
    ("protocol_name", "ProtocolName", "LO"),
    ("manufacturer", "Manufacturer", "LO"),
)
_ASCII_ATTRIBUTES = (
    ("patient_birth_date", "PatientBirthDate"),
    ("patient_sex", "PatientSex"),
    ("patient_age", "PatientAge"),
    ("study_date", "StudyDate"),
)


class FileSkipped(Exception):
    """The file is readable but contains nothing to import; carries (status, code, reason)."""

    def __init__(self, code: str, reason: str, status: str = "skipped"):
        super().__init__(reason)
        self.status = status
        self.code = code
        self.reason = reason


class FileFailed(Exception):
    """The file looks like DICOM but cannot be read; carries (code, reason)."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


# Exceptions pydicom raises while parsing a damaged file or converting its values.
PARSE_ERRORS = (OSError, EOFError, ValueError, struct.error, KeyError, TypeError, IndexError,
                AttributeError, OverflowError, NotImplementedError)


def read_header(source: SourceFile) -> list[ImageRecord]:
    """Return one ImageRecord per frame of a DICOM image file.

    Raises FileSkipped for non-DICOM files, DICOMDIR and DICOM objects without pixel data,
    and FileFailed for unreadable, damaged or truncated files.
    """
    try:
        return _read_header(source)
    except (FileSkipped, FileFailed):
        raise
    except PARSE_ERRORS as error:
        raise FileFailed("unreadable", f"the DICOM header could not be read: {error}") from error


def _read_header(source: SourceFile) -> list[ImageRecord]:
    ds = _open_dataset(source.path)
    media_class = element_text(ds.file_meta, "MediaStorageSOPClassUID") if ds.file_meta else None
    if media_class == DICOMDIR_SOP_CLASS or "DirectoryRecordSequence" in ds:
        raise FileSkipped("dicomdir", "DICOMDIR directory record, not an image")
    if PIXEL_DATA not in ds:
        sop_class = element_text(ds, "SOPClassUID") or media_class
        described = f"{sop_class} {_uid_name(sop_class)}".strip() if sop_class else "missing"
        raise FileSkipped("no-image", f"DICOM object without pixel data (SOP class {described})")
    transfer_syntax = _transfer_syntax(ds)
    _check_pixel_length(ds, source.path, transfer_syntax)

    text, text_warnings = read_text(ds)
    base = _base_fields(ds, source, transfer_syntax, text, text_warnings)
    base.update(_pixel_location(ds, transfer_syntax))
    frames = element_int(ds, "NumberOfFrames") or 1
    if "PerFrameFunctionalGroupsSequence" in ds:
        return _enhanced_frames(ds, base, frames)
    if frames > 1:
        raise FileSkipped(
            "multiframe-no-positions",
            f"multi-frame image ({frames} frames) without per-frame functional groups, so the "
            "frames' positions and times are unknown",
            status="excluded",
        )
    return [ImageRecord(**base, **_classic_geometry(ds), **_classic_timing(ds))]


def _open_dataset(path: Path) -> Dataset:
    try:
        return pydicom.dcmread(path, defer_size=1024)
    except InvalidDicomError:
        pass
    except PARSE_ERRORS as error:
        raise FileFailed("unreadable", f"the DICOM file could not be read: {error}") from error
    # No "DICM" preamble: accept a bare dataset only if it carries image identification.
    try:
        ds = pydicom.dcmread(path, defer_size=1024, force=True)
        if "SOPInstanceUID" in ds and "Rows" in ds:
            return ds
    except Exception:  # noqa: BLE001 - arbitrary bytes make the forced parser fail anywhere
        pass
    raise FileSkipped("not-dicom", "not a DICOM file")


def _transfer_syntax(ds: Dataset) -> str:
    uid = element_text(ds.file_meta, "TransferSyntaxUID") if ds.file_meta else None
    if uid:
        return uid
    return "1.2.840.10008.1.2" if ds.is_implicit_VR else "1.2.840.10008.1.2.1"


def _check_pixel_length(ds: Dataset, path: Path, transfer_syntax: str) -> None:
    """Raise FileFailed when the pixel data is cut short (a truncated transfer)."""
    elem = ds.get_item(PIXEL_DATA, keep_deferred=True)
    length = getattr(elem, "length", None)
    tell = getattr(elem, "value_tell", None)
    if length is None or length == 0xFFFFFFFF:
        return
    if tell is not None and transfer_syntax != DeflatedExplicitVRLittleEndian:
        available = os.path.getsize(path) - tell
        if available < length:
            raise FileFailed("truncated", f"pixel data is truncated: the file ends after "
                                          f"{max(available, 0)} of {length} bytes")
    if UID(transfer_syntax).is_compressed:
        return
    expected = _native_pixel_bytes(ds)
    if expected and length < expected:
        raise FileFailed("truncated", f"pixel data is truncated: {length} bytes present, "
                                      f"{expected} expected from Rows, Columns and BitsAllocated")


def _pixel_location(ds: Dataset, transfer_syntax: str) -> dict:
    """Return the PixelData offset and the decoding options pydicom needs without the header."""
    elem = ds.get_item(PIXEL_DATA, keep_deferred=True)
    tell = getattr(elem, "value_tell", None)
    if tell is None or transfer_syntax == DeflatedExplicitVRLittleEndian:
        return {"pixel_offset": None, "pixel_options": {}}
    options = {
        "rows": element_int(ds, "Rows") or 0,
        "columns": element_int(ds, "Columns") or 0,
        "samples_per_pixel": element_int(ds, "SamplesPerPixel") or 1,
        "bits_allocated": element_int(ds, "BitsAllocated") or 16,
        "bits_stored": element_int(ds, "BitsStored") or element_int(ds, "BitsAllocated") or 16,
        "pixel_representation": element_int(ds, "PixelRepresentation") or 0,
        "photometric_interpretation": element_text(ds, "PhotometricInterpretation")
        or "MONOCHROME2",
        "number_of_frames": element_int(ds, "NumberOfFrames") or 1,
        "planar_configuration": element_int(ds, "PlanarConfiguration") or 0,
        "pixel_keyword": "PixelData",
    }
    return {"pixel_offset": int(tell), "pixel_options": options}


def _native_pixel_bytes(ds: Dataset) -> int | None:
    rows, columns = element_int(ds, "Rows"), element_int(ds, "Columns")
    bits = element_int(ds, "BitsAllocated")
    if not rows or not columns or not bits:
        return None
    samples = element_int(ds, "SamplesPerPixel") or 1
    frames = element_int(ds, "NumberOfFrames") or 1
    return (rows * columns * samples * frames * bits + 7) // 8


def read_text(ds: Dataset) -> tuple[DescriptiveText, list[str]]:
    """Decode the descriptive text attributes; return them and character-set warnings."""
    terms = character_sets(ds)
    text = DescriptiveText()
    found_warnings: list[str] = []
    for field_name, keyword, vr in _TEXT_ATTRIBUTES:
        elem = ds.get_item(tag_of(keyword))
        if elem is None or elem.value is None:
            continue
        if isinstance(elem.value, bytes):
            value, warning = decode_text(elem.value, terms, vr)
        else:
            value, warning = str(elem.value).strip(), None
        setattr(text, field_name, value)
        if warning and warning not in found_warnings:
            found_warnings.append(f"{keyword}: {warning}")
    for field_name, keyword in _ASCII_ATTRIBUTES:
        setattr(text, field_name, element_text(ds, keyword) or "")
    return text, found_warnings


def _base_fields(ds, source, transfer_syntax, text, text_warnings) -> dict:
    image_type = tuple((element_text(ds, "ImageType") or "").upper().split("\\"))
    return {
        "source": source,
        "number_of_frames": element_int(ds, "NumberOfFrames") or 1,
        "sop_instance_uid": element_text(ds, "SOPInstanceUID") or "",
        "sop_class_uid": element_text(ds, "SOPClassUID") or "",
        "transfer_syntax_uid": transfer_syntax,
        "study_uid": element_text(ds, "StudyInstanceUID") or "",
        "series_uid": element_text(ds, "SeriesInstanceUID") or "",
        "frame_of_reference_uid": element_text(ds, "FrameOfReferenceUID") or "",
        "series_number": element_int(ds, "SeriesNumber"),
        "modality": element_text(ds, "Modality") or "",
        "rows": element_int(ds, "Rows") or 0,
        "columns": element_int(ds, "Columns") or 0,
        "samples_per_pixel": element_int(ds, "SamplesPerPixel") or 1,
        "private_scale_slope": _philips_scale(ds, 0x0E),
        "private_scale_intercept": _philips_scale(ds, 0x0D),
        "instance_number": element_int(ds, "InstanceNumber"),
        "acquisition_number": element_int(ds, "AcquisitionNumber"),
        "text": text,
        "warnings": list(text_warnings),
        "image_type": image_type if image_type != ("",) else (),
    }


def _philips_scale(ds: Dataset, element_offset: int) -> float | None:
    """Return Philips' private MR scale slope (offset 0x0E) or intercept (0x0D), if present.

    NOTE: only the top-level element is read; Enhanced MR files that carry the factor per
    frame in a private functional group get None, so the "floating" convention is refused.
    """
    # A scan of the keys is much cheaper than pydicom's private-creator lookup.
    if not any(tag >> 16 == 0x2005 for tag in ds.keys()):
        return None
    try:
        elem = ds.private_block(0x2005, PHILIPS_MR_CREATOR)[element_offset]
    except KeyError:
        return None
    value = elem.value
    if isinstance(value, bytes):
        if len(value) < 4:
            return None
        return float(struct.unpack("<f" if ds.is_little_endian else ">f", value[:4])[0])
    try:
        return float(value[0] if isinstance(value, (list, tuple)) else value)
    except (TypeError, ValueError):
        return None


def _classic_geometry(ds: Dataset) -> dict:
    return {
        "frame_index": 0,
        "complex_component": (element_text(ds, "ComplexImageComponent") or "").upper(),
        "pixel_spacing": _pair(element_numbers(ds, "PixelSpacing")),
        "orientation": _vector(element_numbers(ds, "ImageOrientationPatient"), 6),
        "position": _vector(element_numbers(ds, "ImagePositionPatient"), 3),
        "slice_thickness": element_number(ds, "SliceThickness"),
        "rescale_slope": _default(element_number(ds, "RescaleSlope"), 1.0),
        "rescale_intercept": _default(element_number(ds, "RescaleIntercept"), 0.0),
        "window_center": element_number(ds, "WindowCenter"),
        "window_width": element_number(ds, "WindowWidth"),
    }


def _classic_timing(ds: Dataset) -> dict:
    acquisition, acquisition_has_date = date_time_seconds(
        ds, "AcquisitionDate", "AcquisitionTime", "AcquisitionDateTime")
    content, content_has_date = date_time_seconds(ds, "ContentDate", "ContentTime")
    trigger_ms = element_number(ds, "TriggerTime")
    return {
        "temporal_position_identifier": element_int(ds, "TemporalPositionIdentifier"),
        "temporal_position_index": None,
        "dimension_temporal_index": None,
        "acquisition_time_s": acquisition,
        "acquisition_time_has_date": acquisition_has_date,
        "frame_acquisition_time_s": None,
        "trigger_time_s": None if trigger_ms is None else trigger_ms / 1000.0,
        "content_time_s": content,
        "content_time_has_date": content_has_date,
    }


def _enhanced_frames(ds: Dataset, base: dict, frames: int) -> list[ImageRecord]:
    per_frame = ds.PerFrameFunctionalGroupsSequence
    if len(per_frame) != frames:
        raise FileFailed("bad-functional-groups",
                         f"PerFrameFunctionalGroupsSequence has {len(per_frame)} items but "
                         f"NumberOfFrames is {frames}")
    shared_items = ds.get("SharedFunctionalGroupsSequence") or [Dataset()]
    shared = shared_items[0]
    temporal_dimension = _temporal_dimension(ds)
    classic = _classic_geometry(ds)
    timing = _classic_timing(ds)
    records = []
    for index, item in enumerate(per_frame):
        geometry = _frame_geometry(item, shared, classic, base["image_type"])
        frame_timing = _frame_timing(item, shared, timing, temporal_dimension)
        fields = dict(base, image_type=geometry.pop("image_type"))
        records.append(ImageRecord(**fields, frame_index=index, **geometry, **frame_timing))
    return records


def _group(item: Dataset, shared: Dataset, keyword: str) -> Dataset | None:
    """Return the first item of a functional group macro, per-frame before shared."""
    for source in (item, shared):
        sequence = source.get(keyword)
        if sequence:
            return sequence[0]
    return None


def _frame_geometry(item, shared, classic: dict, image_type: tuple) -> dict:
    orientation = _group(item, shared, "PlaneOrientationSequence")
    position = _group(item, shared, "PlanePositionSequence")
    measures = _group(item, shared, "PixelMeasuresSequence")
    transform = _group(item, shared, "PixelValueTransformationSequence")
    voi = _group(item, shared, "FrameVOILUTSequence")
    frame_type = _group(item, shared, "MRImageFrameTypeSequence")
    result = {key: value for key, value in classic.items() if key != "frame_index"}
    if orientation is not None:
        result["orientation"] = _vector(element_numbers(orientation, "ImageOrientationPatient"), 6)
    result["position"] = None
    if position is not None:
        result["position"] = _vector(element_numbers(position, "ImagePositionPatient"), 3)
    if measures is not None:
        result["pixel_spacing"] = _pair(element_numbers(measures, "PixelSpacing"))
        result["slice_thickness"] = element_number(measures, "SliceThickness")
    if transform is not None:
        result["rescale_slope"] = _default(element_number(transform, "RescaleSlope"), 1.0)
        result["rescale_intercept"] = _default(element_number(transform, "RescaleIntercept"), 0.0)
    if voi is not None:
        result["window_center"] = element_number(voi, "WindowCenter")
        result["window_width"] = element_number(voi, "WindowWidth")
    result["image_type"] = image_type
    if frame_type is not None:
        frame_type_text = element_text(frame_type, "FrameType")
        if frame_type_text:
            result["image_type"] = tuple(frame_type_text.upper().split("\\"))
        result["complex_component"] = (element_text(frame_type, "ComplexImageComponent")
                                       or "").upper()
    return result


def _frame_timing(item, shared, timing: dict, temporal_dimension: int | None) -> dict:
    content = _group(item, shared, "FrameContentSequence") or Dataset()
    cardiac = _group(item, shared, "CardiacSynchronizationSequence")
    result = dict(timing)
    result["temporal_position_index"] = element_int(content, "TemporalPositionIndex")
    result["frame_acquisition_time_s"] = parse_datetime(
        element_text(content, "FrameAcquisitionDateTime"))
    if temporal_dimension is not None:
        values = element_numbers(content, "DimensionIndexValues") or []
        if temporal_dimension < len(values):
            result["dimension_temporal_index"] = int(values[temporal_dimension])
    if cardiac is not None:
        delay_ms = element_number(cardiac, "NominalCardiacTriggerDelayTime")
        if delay_ms is not None:
            result["trigger_time_s"] = delay_ms / 1000.0
    return result


def _temporal_dimension(ds: Dataset) -> int | None:
    """Return the position in DimensionIndexValues of a time dimension, if one is declared."""
    for index, item in enumerate(ds.get("DimensionIndexSequence") or []):
        pointer = item.get("DimensionIndexPointer")
        if pointer is not None and Tag(pointer) in TEMPORAL_DIMENSION_TAGS:
            return index
    return None


def _pair(values: list[float] | None) -> tuple[float, float] | None:
    if values is None or len(values) < 2:
        return None
    return (float(values[0]), float(values[1]))


def _vector(values: list[float] | None, length: int) -> tuple[float, ...] | None:
    if values is None or len(values) != length:
        return None
    return tuple(float(v) for v in values)


def _default(value: float | None, default: float) -> float:
    return default if value is None else float(value)


def _uid_name(uid: str) -> str:
    if not uid or not all(part.isdigit() for part in uid.split(".")):
        return ""
    name = UID(uid).name
    return "" if name == uid else name


def transfer_syntax_name(uid: str) -> str:
    return _uid_name(uid) or "unknown transfer syntax"


def decoder_available(transfer_syntax_uid: str) -> bool:
    """Return True when pydicom has a working decoder for the transfer syntax."""
    uid = UID(transfer_syntax_uid)
    if not uid.is_compressed:
        return True
    try:
        return bool(get_decoder(uid).is_available)
    except NotImplementedError:
        return False


def decode_file_frames(record: ImageRecord,
                       frame_indices: list[int]) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (frame index, stored values) for the requested frames of one file, in order.

    record is any ImageRecord of the file. Each array is (rows, columns) in the file's
    stored dtype, sign-extended for BitsStored < BitsAllocated; no rescale is applied.
    """
    requested = sorted(set(frame_indices))
    path = record.source.path
    if record.pixel_offset is not None:
        # Seeking to the recorded offset skips a second parse of the header.
        decoder = get_decoder(UID(record.transfer_syntax_uid))
        with open(path, "rb") as stream:
            for index in requested:
                stream.seek(record.pixel_offset)
                frame, _ = decoder.as_array(stream, index=index, **record.pixel_options)
                yield index, frame
        return
    # Deflated files: pydicom inflates the whole dataset in memory; offsets do not apply.
    ds = pydicom.dcmread(path)
    for index in requested:
        frame_index = index if record.number_of_frames > 1 else None
        yield index, pixel_array(ds, index=frame_index)
