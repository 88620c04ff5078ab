"""Tolerant access to DICOM attribute values.

String attributes are read from the raw element bytes where possible, so that an invalid
value (a TM with a trailing newline, a DS with spaces) is parsed leniently instead of going
through pydicom's validation. Text with a character set is decoded here so that an unknown or
wrong SpecificCharacterSet gives replacement characters and a warning, never an exception.
"""

import datetime as dt
import functools
import re
import struct
import warnings

from pydicom import charset as dicom_charset
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag, Tag

_EPOCH = dt.datetime(1970, 1, 1)
_TM_PATTERN = re.compile(r"^(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?(?:\.(\d+))?$")
_DT_PATTERN = re.compile(r"^(\d{8})(\d{2,6}(?:\.\d+)?)?(?:[+-]\d{4})?$")
# ASCII is the DICOM default repertoire (ISO_IR 6, or no SpecificCharacterSet at all).
_DEFAULT_TERMS = {"", "ISO_IR 6", "ISO 2022 IR 6"}


@functools.lru_cache(maxsize=512)
def tag_of(keyword_or_tag) -> BaseTag:
    """Return the tag for a keyword; cached because keyword lookup dominates header reading."""
    return Tag(keyword_or_tag)


def element_text(ds: Dataset, keyword_or_tag) -> str | None:
    """Return a string attribute's value, backslash-joined, stripped; None when absent or empty.

    Only for attributes whose bytes are ASCII (CS, UI, DA, TM, DT, IS, DS, AS).
    """
    return _text_of(ds.get_item(tag_of(keyword_or_tag)))


def _text_of(elem) -> str | None:
    if elem is None:
        return None
    value = elem.value
    if value is None:
        return None
    if isinstance(value, bytes):
        text = value.decode("ascii", "replace")
    elif isinstance(value, (list, tuple, MultiValue)):
        text = "\\".join(str(v) for v in value)
    else:
        text = str(value)
    text = text.strip(" \x00\r\n\t")
    return text or None


# struct formats of the binary numeric VRs, read straight from raw element bytes.
_BINARY_FORMATS = {"US": "H", "SS": "h", "UL": "I", "SL": "i", "FL": "f", "FD": "d"}


def element_numbers(ds: Dataset, keyword_or_tag) -> list[float] | None:
    """Return the numbers of an IS/DS (or binary numeric) attribute; None if absent or invalid."""
    tag = tag_of(keyword_or_tag)
    elem = ds.get_item(tag)
    if elem is None or elem.value is None:
        return None
    vr = _value_representation(elem)
    if vr in ("IS", "DS") or isinstance(elem.value, str):
        text = _text_of(elem)
        if text is None:
            return None
        try:
            return [float(part) for part in text.split("\\") if part.strip()]
        except ValueError:
            return None
    if isinstance(elem, RawDataElement) and vr in _BINARY_FORMATS:
        code = _BINARY_FORMATS[vr]
        count = len(elem.value) // struct.calcsize(code)
        order = "<" if elem.is_little_endian else ">"
        return [float(v) for v in struct.unpack(f"{order}{count}{code}",
                                                elem.value[: count * struct.calcsize(code)])]
    value = ds[tag].value
    if isinstance(value, (list, tuple, MultiValue)):
        return [float(v) for v in value]
    return [float(value)]


def _value_representation(elem) -> str:
    vr = elem.VR
    if vr is None or (isinstance(elem, RawDataElement) and vr == "UN"):
        try:
            return dictionary_VR(elem.tag)
        except KeyError:
            return "UN"
    return vr


def element_number(ds: Dataset, keyword_or_tag) -> float | None:
    numbers = element_numbers(ds, keyword_or_tag)
    return numbers[0] if numbers else None


def element_int(ds: Dataset, keyword_or_tag) -> int | None:
    number = element_number(ds, keyword_or_tag)
    if number is None or number != number:
        return None
    return int(round(number))


def parse_time_of_day(text: str | None) -> float | None:
    """Return seconds after midnight for a TM value ("HHMMSS.FFFFFF", "HH:MM:SS", "HHMM")."""
    if not text:
        return None
    match = _TM_PATTERN.match(text.strip())
    if match is None:
        return None
    hours, minutes, seconds, fraction = match.groups()
    total = int(hours) * 3600 + int(minutes or 0) * 60 + int(seconds or 0)
    if fraction:
        total += float("0." + fraction)
    return float(total)


def parse_date(text: str | None) -> dt.datetime | None:
    """Return midnight of a DA value ("YYYYMMDD", or the old "YYYY.MM.DD"); None if invalid."""
    if not text:
        return None
    digits = text.strip().replace(".", "")
    if len(digits) != 8 or not digits.isdigit():
        return None
    try:
        return dt.datetime(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def parse_datetime(text: str | None) -> float | None:
    """Return seconds since 1970-01-01 for a DT value; the UTC offset suffix is ignored.

    All times of one acquisition share the offset, so differences stay correct.
    """
    if not text:
        return None
    match = _DT_PATTERN.match(text.strip())
    if match is None:
        return None
    day = parse_date(match.group(1))
    if day is None:
        return None
    time_part = match.group(2) or "00"
    seconds = parse_time_of_day(time_part)
    if seconds is None:
        return None
    return (day - _EPOCH).total_seconds() + seconds


def date_time_seconds(ds: Dataset, date_keyword: str, time_keyword: str,
                      datetime_keyword: str | None = None) -> tuple[float | None, bool]:
    """Return (seconds, has_date) from a DT attribute, or from a DA plus a TM attribute.

    With a date, seconds count from 1970-01-01, so an acquisition past midnight keeps its
    order. Without one, seconds count from midnight and has_date is False.
    """
    if datetime_keyword is not None:
        combined = parse_datetime(element_text(ds, datetime_keyword))
        if combined is not None:
            return combined, True
    time_of_day = parse_time_of_day(element_text(ds, time_keyword))
    if time_of_day is None:
        return None, False
    day = parse_date(element_text(ds, date_keyword))
    if day is None:
        return time_of_day, False
    return (day - _EPOCH).total_seconds() + time_of_day, True


def character_sets(ds: Dataset) -> list[str]:
    """Return the SpecificCharacterSet terms of a dataset, stripped ("" for the default)."""
    text = element_text(ds, "SpecificCharacterSet")
    if not text:
        return [""]
    return [term.strip() for term in text.split("\\")]


def decode_text(raw: bytes, terms: list[str], vr: str) -> tuple[str, str | None]:
    """Decode a text value; return (text, warning or None).

    Unknown or wrong character sets do not raise: undecodable bytes become U+FFFD. The
    warning names the character set, not the text, because the text may identify the patient.
    """
    if not raw:
        return "", None
    if all(term.upper() in _DEFAULT_TERMS for term in terms):
        try:
            return raw.decode("ascii").strip(" \x00"), None
        except UnicodeDecodeError:
            text = raw.decode("ascii", "replace").strip(" \x00")
            return text, (f"non-ASCII bytes in a {vr} value although SpecificCharacterSet "
                          f"is {_describe(terms)}; shown with replacement characters")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            encodings = dicom_charset.convert_encodings(terms)
            text = dicom_charset.decode_bytes(raw, encodings, _delimiters(vr))
        except (LookupError, ValueError, UnicodeError):
            text = raw.decode("latin-1", "replace")
            caught.append(None)
    text = text.strip(" \x00")
    if caught or "\ufffd" in text:
        return text, (f"{vr} text could not be decoded exactly with SpecificCharacterSet "
                      f"{_describe(terms)}; shown with replacement characters or as Latin-1")
    return text, None


def _describe(terms: list[str]) -> str:
    return "'" + "\\".join(terms) + "'" if any(terms) else "(absent)"


def _delimiters(vr: str) -> set[int]:
    if vr == "PN":
        return {0x5E, 0x3D}
    return set(dicom_charset.TEXT_VR_DELIMS) if vr in ("SH", "LO", "ST", "LT", "UT") else set()
