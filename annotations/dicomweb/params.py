"""Validation of UIDs and frame lists taken from DICOMweb URLs and query strings."""

import re

from django.utils.translation import gettext as _

from pannusmap.errors import UserError

UID_PATTERN = re.compile(r"[0-9]+(\.[0-9]+)*")
MAX_UID_LENGTH = 64
MAX_FRAMES_PER_REQUEST = 4096


def is_uid(value):
    return len(value) <= MAX_UID_LENGTH and UID_PATTERN.fullmatch(value) is not None


def check_uid(value, name):
    """Return `value` when it is a UID (digits and dots, at most 64 characters); raise UserError otherwise."""
    if not is_uid(value):
        raise UserError(
            _("%(name)s %(value)s is not a valid UID. A UID has only digits and dots and at most "
              "64 characters.") % {"name": name, "value": shorten(value)},
            code="invalid_uid",
        )
    return value


def parse_frame_numbers(text):
    """Return the 1-based frame numbers of a comma-separated list such as "1,3,4"."""
    parts = text.split(",")
    if len(parts) > MAX_FRAMES_PER_REQUEST or not all(part.isdigit() and int(part) > 0 for part in parts):
        raise UserError(
            _("Frame list %(value)s is invalid. Give 1 to %(max)s frame numbers (1 or more), separated "
              "by commas, for example 1,2,3.") % {"value": shorten(text), "max": MAX_FRAMES_PER_REQUEST},
            code="invalid_frame_list",
        )
    return [int(part) for part in parts]


def shorten(value, length=80):
    """Return `value` cut to `length` characters, so error messages never echo a huge input."""
    return value if len(value) <= length else value[:length] + "…"
