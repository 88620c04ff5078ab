"""WADO-RS retrieve: stored files as application/dicom parts, uncompressed frames and metadata."""

from io import BytesIO

import pydicom
from django.utils.translation import gettext as _
from pydicom.pixels import get_decoder, pixel_array
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from rest_framework.exceptions import NotAcceptable, NotFound

from .catalogue import first_value, tag_key
from .multipart import file_chunks
from .negotiation import ANY_SYNTAX

# Pixel data of these syntaxes is stored uncompressed in little-endian byte order, so a frame is
# a plain slice of it.
NATIVE_LITTLE_ENDIAN = {ImplicitVRLittleEndian, ExplicitVRLittleEndian, DeflatedExplicitVRLittleEndian}
PIXEL_DATA = "7FE00010"
ROWS, COLUMNS = tag_key("Rows"), tag_key("Columns")
SAMPLES, BITS = tag_key("SamplesPerPixel"), tag_key("BitsAllocated")
FRAMES = tag_key("NumberOfFrames")


def can_decode(syntax):
    """Return whether pydicom has a usable pixel data decoder for a transfer syntax."""
    try:
        return get_decoder(UID(syntax)).is_available
    except NotImplementedError:
        return False


def can_transcode(syntax):
    """Return whether a file of this syntax can be sent as Explicit VR Little Endian."""
    return syntax in NATIVE_LITTLE_ENDIAN or (UID(syntax).is_compressed and can_decode(syntax))


def choose_syntax(stored_syntax, preferences):
    """Return the syntax to send a file in, the first of `preferences` that fits, or None."""
    for syntax in preferences:
        if syntax in (ANY_SYNTAX, stored_syntax):
            return stored_syntax
        if syntax == ExplicitVRLittleEndian and can_transcode(stored_syntax):
            return ExplicitVRLittleEndian
    return None


def dicom_parts(files, preferences):
    """Return (content type, byte chunks) for each file; raise NotAcceptable if one cannot be sent.

    The syntax of every file is chosen before the response starts, so a client never receives
    half a response for an instance that could not be sent.
    """
    plan = []
    for stored in files:
        syntax = choose_syntax(stored.transfer_syntax_uid, preferences)
        if syntax is None:
            raise NotAcceptable(
                _("Instance %(uid)s is stored in transfer syntax %(stored)s and cannot be sent in "
                  "%(requested)s. Accept transfer-syntax=* or %(default)s.")
                % {"uid": stored.sop_instance_uid, "stored": stored.transfer_syntax_uid,
                   "requested": ", ".join(preferences), "default": ExplicitVRLittleEndian}
            )
        plan.append((stored, syntax))
    return [(f"application/dicom; transfer-syntax={syntax}", _chunks(stored, syntax)) for stored, syntax in plan]


def _chunks(stored, syntax):
    if syntax == stored.transfer_syntax_uid:
        return file_chunks(stored.path)
    return _transcoded_chunks(stored.path)


def _transcoded_chunks(path):
    # A generator, so the file is transcoded only when the response reaches it.
    yield transcode_to_explicit_little_endian(path)


def transcode_to_explicit_little_endian(path):
    """Return the bytes of a DICOM file rewritten as Explicit VR Little Endian, pixels decoded."""
    dataset = pydicom.dcmread(path)
    if dataset.file_meta.TransferSyntaxUID.is_compressed:
        dataset.decompress()
    else:
        dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buffer = BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def number_of_frames(header):
    try:
        return max(int(first_value(header, FRAMES, 1)), 1)
    except (TypeError, ValueError):
        return 1


def frame_bytes(stored, numbers):
    """Return the uncompressed bytes of frames `numbers` (1-based) of a stored file.

    Each item contains Rows x Columns x SamplesPerPixel values in little-endian order, the way
    Explicit VR Little Endian stores one frame. Native pixel data is sliced as stored, and
    compressed pixel data is decoded with pydicom.
    """
    count = number_of_frames(stored.header)
    missing = [number for number in numbers if number > count]
    if missing:
        raise NotFound(_("Frame %(frame)s of instance %(uid)s does not exist; it has %(count)s frame(s).")
                       % {"frame": missing[0], "uid": stored.sop_instance_uid, "count": count})
    bits = int(first_value(stored.header, BITS, 16))
    if stored.transfer_syntax_uid in NATIVE_LITTLE_ENDIAN and bits % 8 == 0:
        return _native_frames(stored, numbers, bits)
    if not can_decode(stored.transfer_syntax_uid):
        raise NotAcceptable(
            _("No pixel data decoder is installed for transfer syntax %(syntax)s of instance %(uid)s, "
              "so its frames cannot be sent uncompressed. See /dicomweb/health for the decoders.")
            % {"syntax": stored.transfer_syntax_uid, "uid": stored.sop_instance_uid}
        )
    # NOTE: pydicom converts YCbCr JPEG frames to RGB, while the metadata keeps the stored
    # PhotometricInterpretation; grayscale MR images are not affected.
    return [_decoded_frame(stored.path, number - 1) for number in numbers]


def _native_frames(stored, numbers, bits):
    header = stored.header
    length = (int(first_value(header, ROWS)) * int(first_value(header, COLUMNS))
              * int(first_value(header, SAMPLES, 1)) * bits // 8)
    pixels = pydicom.dcmread(stored.path).PixelData
    return [pixels[(number - 1) * length:number * length] for number in numbers]


def _decoded_frame(path, index):
    array = pixel_array(path, index=index)
    return array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()


def instance_metadata(stored, links):
    """Return the DICOM JSON metadata of a file, with PixelData as a BulkDataURI to its frames."""
    record = dict(stored.header)
    bits = int(first_value(stored.header, BITS, 16))
    url = links.frames(stored.study_uid, stored.series_uid, stored.sop_instance_uid,
                       number_of_frames(stored.header))
    record[PIXEL_DATA] = {"vr": "OW" if bits > 8 else "OB", "BulkDataURI": url}
    return record
