"""ROI actions: validation, creation, optimistic-locked edits and deletion, with revisions."""

import math

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from inference.roi import polygon_mask

from .models import ROI, Label, ROIRevision


class StaleVersion(Exception):
    """The client edited an older version of the ROI than the one stored."""

    def __init__(self, current_version):
        super().__init__(current_version)
        self.current_version = current_version


def validate_slice_index(series, slice_index):
    if isinstance(slice_index, bool) or not isinstance(slice_index, int):
        raise ValidationError(
            {
                "slice_index": _("slice_index must be an integer, got %(value)r.")
                % {"value": slice_index}
            }
        )
    if not 0 <= slice_index < series.slices:
        raise ValidationError(
            {
                "slice_index": _("slice_index %(value)s is outside this series (0 to %(last)s).")
                % {"value": slice_index, "last": series.slices - 1}
            }
        )


def get_label(name):
    try:
        return Label.objects.get(name=name)
    except Label.DoesNotExist:
        choices = ", ".join(Label.objects.values_list("name", flat=True))
        raise ValidationError(
            {
                "label": _("Unknown label %(value)r. Choose one of: %(choices)s.")
                % {"value": name, "choices": choices}
            }
        ) from None


def validate_polygon(series, polygon):
    """Check a [column, row] outline against the image and return it as a list of float pairs."""
    if not isinstance(polygon, list) or len(polygon) < 3:
        raise ValidationError(
            {"polygon": _("polygon must be a list of at least 3 [column, row] points.")}
        )
    if len(polygon) > settings.PANNUSMAP_MAX_ROI_POINTS:
        raise ValidationError(
            {
                "polygon": _(
                    "polygon has %(count)s points; the limit is %(limit)s. Simplify the outline."
                )
                % {"count": len(polygon), "limit": settings.PANNUSMAP_MAX_ROI_POINTS}
            }
        )
    points = []
    for index, point in enumerate(polygon):
        if (
            not isinstance(point, (list, tuple))
            or len(point) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in point)
            or not all(math.isfinite(v) for v in point)
        ):
            raise ValidationError(
                {
                    "polygon": _(
                        "Point %(index)s (%(value)r) is not a pair of finite numbers [column, row]."
                    )
                    % {"index": index, "value": point}
                }
            )
        column, row = float(point[0]), float(point[1])
        if not (-0.5 <= column <= series.columns - 0.5 and -0.5 <= row <= series.rows - 0.5):
            raise ValidationError(
                {
                    "polygon": _(
                        "Point %(index)s (%(column)s, %(row)s) lies outside the %(columns)s × %(rows)s image."
                    )
                    % {
                        "index": index,
                        "column": column,
                        "row": row,
                        "columns": series.columns,
                        "rows": series.rows,
                    }
                }
            )
        points.append([column, row])
    if polygon_area_px(points) < 0.5:
        raise ValidationError(
            {"polygon": _("polygon encloses no area (its points are collinear or repeated).")}
        )
    if not polygon_mask(points, (series.rows, series.columns)).any():
        raise ValidationError(
            {"polygon": _("polygon contains no pixel centre, so it has no TIC. Draw a larger ROI.")}
        )
    return points


def polygon_area_px(points):
    xy = np.asarray(points, dtype=float)
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def polygon_to_patient(series, slice_index, points):
    """Map [column, row] pixel coordinates to patient coordinates (mm) with the slice geometry."""
    origin = np.asarray(series.image_positions_patient[slice_index], dtype=float)
    orientation = np.asarray(series.image_orientation_patient, dtype=float)
    row_direction, column_direction = orientation[:3], orientation[3:]
    row_spacing, column_spacing = series.pixel_spacing_mm
    xy = np.asarray(points, dtype=float)
    patient = (
        origin
        + np.outer(xy[:, 0] * column_spacing, row_direction)
        + np.outer(xy[:, 1] * row_spacing, column_direction)
    )
    return np.round(patient, 4).tolist()


def _record_revision(roi, user):
    ROIRevision.objects.create(
        roi=roi,
        version=roi.version,
        label_name=roi.label.name,
        polygon=roi.polygon,
        is_deleted=roi.is_deleted,
        author=user,
    )


@transaction.atomic
def create_roi(series, user, slice_index, label_name, polygon, is_generated=False):
    validate_slice_index(series, slice_index)
    label = get_label(label_name)
    points = validate_polygon(series, polygon)
    roi = ROI.objects.create(
        series=series,
        slice_index=slice_index,
        label=label,
        author=user,
        polygon=points,
        polygon_mm=polygon_to_patient(series, slice_index, points),
        is_generated=is_generated,
    )
    _record_revision(roi, user)
    return roi


@transaction.atomic
def update_roi(roi, user, expected_version, label_name=None, polygon=None):
    """Apply an edit only if the stored version is still `expected_version`.

    Raises StaleVersion when someone saved a newer version in between. The row lock makes two
    simultaneous edits of the same version serialise, so exactly one of them succeeds.
    """
    locked = ROI.objects.select_for_update().select_related("label", "series").get(pk=roi.pk)
    if locked.is_deleted or locked.version != expected_version:
        raise StaleVersion(locked.version)
    if label_name is not None:
        locked.label = get_label(label_name)
    if polygon is not None:
        locked.polygon = validate_polygon(locked.series, polygon)
        locked.polygon_mm = polygon_to_patient(locked.series, locked.slice_index, locked.polygon)
    locked.version += 1
    locked.save()
    _record_revision(locked, user)
    return locked


@transaction.atomic
def delete_roi(roi, user, expected_version):
    """Soft-delete, so the outline stays in the revision history and can be restored."""
    locked = ROI.objects.select_for_update().select_related("label").get(pk=roi.pk)
    if locked.is_deleted or locked.version != expected_version:
        raise StaleVersion(locked.version)
    locked.is_deleted = True
    locked.version += 1
    locked.save()
    _record_revision(locked, user)
    return locked
