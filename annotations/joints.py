"""Joint-region validation and creation."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from .models import JOINT_NAMES, OPTIONAL_JOINT_NAMES, JointRegion


def validate_joint(series, name, side, slice_start, slice_end, box):
    errors = {}
    if name not in JOINT_NAMES + OPTIONAL_JOINT_NAMES:
        errors["name"] = _("Unknown joint %(value)r. Choose one of: %(choices)s.") % {
            "value": name,
            "choices": ", ".join(JOINT_NAMES + OPTIONAL_JOINT_NAMES),
        }
    if side not in ("L", "R"):
        errors["side"] = _("side must be 'L' or 'R', got %(value)r.") % {"value": side}
    if not (0 <= slice_start <= slice_end < series.slices):
        errors["slice_start"] = _(
            "Slice range %(start)s–%(end)s is not within 0–%(last)s with start ≤ end."
        ) % {"start": slice_start, "end": slice_end, "last": series.slices - 1}
    if (
        not isinstance(box, list)
        or len(box) != 4
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in box)
    ):
        errors["box"] = _("box must be four integers [column0, row0, column1, row1].")
    else:
        c0, r0, c1, r1 = box
        if not (0 <= c0 <= c1 < series.columns and 0 <= r0 <= r1 < series.rows):
            errors["box"] = _(
                "box %(box)s is not inside the %(columns)s × %(rows)s image with column0 ≤ column1 and row0 ≤ row1."
            ) % {"box": box, "columns": series.columns, "rows": series.rows}
    if errors:
        raise ValidationError(errors)


def create_joint(
    series, user, name, side, slice_start, slice_end, box, source=JointRegion.Source.DRAWN
):
    validate_joint(series, name, side, slice_start, slice_end, box)
    try:
        with transaction.atomic():
            return JointRegion.objects.create(
                series=series,
                name=name,
                side=side,
                slice_start=slice_start,
                slice_end=slice_end,
                box=box,
                author=user,
                source=source,
            )
    except IntegrityError:
        raise ValidationError(
            {
                "name": _("This series already has a %(name)s joint on side %(side)s.")
                % {"name": name, "side": side}
            }
        ) from None
