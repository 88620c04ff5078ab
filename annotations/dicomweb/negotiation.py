"""Accept header parsing and the media types each DICOMweb resource can be sent as.

Transfer syntaxes follow PS3.18: a `transfer-syntax` parameter names the syntax a client
accepts, "*" accepts the stored one, and a missing parameter means the default, Explicit VR
Little Endian for both application/dicom and application/octet-stream.
"""

import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from pydicom.uid import ExplicitVRLittleEndian
from rest_framework.exceptions import NotAcceptable

ANY_SYNTAX = "*"
JSON_TYPES = {"application/dicom+json", "application/json", "application/*", "*/*"}
# A comma or semicolon outside double quotes separates media ranges or parameters.
_OUTSIDE_QUOTES = r'(?=(?:[^"]*"[^"]*")*[^"]*$)'


@dataclass(frozen=True)
class MediaRange:
    """One entry of an Accept header: a lower-case type/subtype, its parameters and its q value."""

    media_type: str
    parameters: dict = field(default_factory=dict)
    quality: float = 1.0

    @property
    def part_type(self):
        """Media type of the parts of a multipart/related range ("" when the type parameter is absent)."""
        return self.parameters.get("type", "").lower()

    @property
    def transfer_syntax(self):
        return self.parameters.get("transfer-syntax", ExplicitVRLittleEndian)


@dataclass(frozen=True)
class DicomChoice:
    """How to send application/dicom parts: as multipart or not, and the syntaxes in preference order."""

    multipart: bool
    syntaxes: tuple


def parse_accept(header):
    """Return the media ranges of an Accept header, highest q first; no header accepts anything."""
    if not header or not header.strip():
        return [MediaRange("*/*")]
    ranges = [parse_media_type(text) for text in re.split("," + _OUTSIDE_QUOTES, header) if text.strip()]
    ranges = [media_range for media_range in ranges if media_range.quality > 0]
    return sorted(ranges, key=lambda media_range: -media_range.quality)


def parse_media_type(text):
    """Return the MediaRange of one media type and its parameters, as in Accept or Content-Type."""
    media_type, *parameter_texts = re.split(";" + _OUTSIDE_QUOTES, text)
    parameters = {}
    for parameter in parameter_texts:
        name, _sep, value = parameter.partition("=")
        parameters[name.strip().lower()] = value.strip().strip('"')
    try:
        quality = float(parameters.pop("q", "1"))
    except ValueError:
        quality = 1.0
    return MediaRange(media_type.strip().lower(), parameters, quality)


def require_json(ranges):
    """Raise NotAcceptable unless the client accepts DICOM JSON."""
    for media_range in ranges:
        if media_range.media_type in JSON_TYPES:
            return
        if media_range.media_type == "multipart/related" and media_range.part_type == "application/dicom+json":
            return
    raise not_acceptable("application/dicom+json")


def choose_dicom(ranges):
    """Return the DicomChoice for application/dicom responses; raise NotAcceptable when none fits."""
    multipart, single = [], []
    for media_range in ranges:
        if media_range.media_type == "*/*":
            multipart.append(ANY_SYNTAX)
        elif media_range.media_type == "multipart/related" and media_range.part_type in ("", "application/dicom", "*/*"):
            multipart.append(media_range.transfer_syntax)
        elif media_range.media_type == "application/dicom":
            single.append(media_range.transfer_syntax)
    if multipart:
        return DicomChoice(True, tuple(multipart))
    if single:
        return DicomChoice(False, tuple(single))
    raise not_acceptable('multipart/related; type="application/dicom"')


def choose_frames(ranges):
    """Return True to send frames as multipart/related, False for a bare application/octet-stream.

    Frames are always sent uncompressed (Explicit VR Little Endian byte order), so ranges that
    accept only a compressed image type (image/jpeg, image/jls, image/jp2) do not fit.
    """
    single = False
    for media_range in ranges:
        uncompressed = media_range.transfer_syntax in (ExplicitVRLittleEndian, ANY_SYNTAX)
        if media_range.media_type == "*/*":
            return True
        if media_range.media_type == "multipart/related" and uncompressed and media_range.part_type in (
            "", "application/octet-stream", "*/*", "application/*"
        ):
            return True
        if media_range.media_type == "application/octet-stream" and uncompressed:
            single = True
    if single:
        return False
    raise not_acceptable(
        'multipart/related; type="application/octet-stream"; transfer-syntax=' + ExplicitVRLittleEndian
    )


def not_acceptable(supported):
    return NotAcceptable(
        _("None of the media types in the Accept header can be sent for this resource. Accept "
          "%(supported)s.") % {"supported": supported}
    )
