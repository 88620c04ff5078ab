"""REST endpoints: each view parses the request, calls one service function and serialises."""

import json

import numpy as np
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import renderers, serializers, status
from rest_framework.decorators import api_view, renderer_classes
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from annotations import access, rois
from annotations.joints import create_joint
from annotations.models import JointRegion, Label, Series

from .errors import PreconditionFailed, PreconditionRequired
from .serializers import (
    JointRegionSerializer,
    LabelSerializer,
    ROIPatchSerializer,
    ROISerializer,
    ROIWriteSerializer,
    SeriesSerializer,
)


class BinaryRenderer(renderers.BaseRenderer):
    """Lets clients that ask only for application/octet-stream reach the binary endpoints.

    The views return their bytes themselves; this renderer only serialises error bodies, as JSON.
    """

    media_type = "application/octet-stream"
    format = "bin"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return json.dumps(data).encode()


binary_view = renderer_classes([renderers.JSONRenderer, BinaryRenderer])


TIC_SCHEMA = inline_serializer(
    "RoiTic",
    {
        "times_s": serializers.ListField(child=serializers.FloatField()),
        "mean": serializers.ListField(child=serializers.FloatField()),
        "sd": serializers.ListField(child=serializers.FloatField()),
        "pixel_count": serializers.IntegerField(),
        "area_mm2": serializers.FloatField(),
        "unit": serializers.CharField(),
    },
)
BINARY = OpenApiResponse(description="Raw little-endian pixel values, row-major (rows × columns).")


def binary_response(array, **headers):
    """Send an array as raw little-endian bytes, row-major, for the viewer's image loader."""
    little_endian = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    response = HttpResponse(little_endian.tobytes(), content_type="application/octet-stream")
    for name, value in headers.items():
        response[name] = str(value)
    response["Cache-Control"] = "private, max-age=3600"
    return response


def parse_index(value, name, upper):
    try:
        index = int(value)
    except (TypeError, ValueError):
        raise ValidationError(
            {
                name: _("%(name)s must be an integer, got %(value)r.")
                % {"name": name, "value": value}
            }
        ) from None
    if not 0 <= index < upper:
        raise ValidationError(
            {
                name: _("%(name)s %(value)s is outside 0–%(last)s.")
                % {"name": name, "value": index, "last": upper - 1}
            }
        )
    return index


@extend_schema(responses=LabelSerializer(many=True))
@api_view(["GET"])
def label_list(request):
    access.require(access.can_view(request.user))
    return Response(LabelSerializer(Label.objects.all(), many=True).data)


@extend_schema(responses=SeriesSerializer(many=True))
@api_view(["GET"])
def series_list(request):
    access.require(access.can_view(request.user))
    queryset = Series.objects.select_related("study__subject").all()
    return Response(SeriesSerializer(queryset, many=True, context={"request": request}).data)


@extend_schema(responses=SeriesSerializer)
@api_view(["GET"])
def series_detail(request, pk):
    series = access.get_series_for_user(request.user, pk)
    return Response(SeriesSerializer(series, context={"request": request}).data)


@extend_schema(responses={200: BINARY})
@api_view(["GET"])
@binary_view
def series_frame(request, pk, phase, slice_index):
    series = access.get_series_for_user(request.user, pk)
    phase = parse_index(phase, "phase", series.phases)
    slice_index = parse_index(slice_index, "slice", series.slices)
    frame = np.asarray(series.load_volume()[phase, slice_index], dtype="<f4")
    return binary_response(frame, **{"X-Rows": series.rows, "X-Columns": series.columns})


@api_view(["GET"])
def series_curve(request, pk):
    series = access.get_series_for_user(request.user, pk)
    slice_index = parse_index(request.query_params.get("slice"), "slice", series.slices)
    row = parse_index(request.query_params.get("row"), "row", series.rows)
    column = parse_index(request.query_params.get("column"), "column", series.columns)
    values = np.asarray(series.load_volume()[:, slice_index, row, column], dtype=float)
    return Response(
        {
            "times_s": series.phase_times_s,
            "values": values.tolist(),
            "unit": _("modality units"),
            "slice": slice_index,
            "row": row,
            "column": column,
        }
    )


def roi_queryset(series, request):
    queryset = series.rois.filter(is_deleted=False).select_related("label", "author")
    if request.query_params.get("author") == "me":
        queryset = queryset.filter(author=request.user)
    return queryset


@extend_schema(request=ROIWriteSerializer, responses=ROISerializer(many=True))
@api_view(["GET", "POST"])
def series_rois(request, pk):
    series = access.get_series_for_user(request.user, pk)
    if request.method == "GET":
        return Response(
            ROISerializer(
                roi_queryset(series, request), many=True, context={"request": request}
            ).data
        )
    access.require(access.can_annotate(request.user))
    payload = ROIWriteSerializer(data=request.data)
    payload.is_valid(raise_exception=True)
    roi = rois.create_roi(
        series,
        request.user,
        payload.validated_data["slice_index"],
        payload.validated_data["label"],
        payload.validated_data["polygon"],
    )
    response = Response(
        ROISerializer(roi, context={"request": request}).data, status=status.HTTP_201_CREATED
    )
    response["ETag"] = f'"{roi.version}"'
    return response


def expected_version(request, roi):
    header = request.headers.get("If-Match")
    if not header:
        raise PreconditionRequired(
            _(
                'Send the ROI\'s version in an If-Match header (current ETag "%(version)s") to change it.'
            )
            % {"version": roi.version}
        )
    if header.strip() == "*":
        # RFC 9110: "*" matches whatever version is current.
        return roi.version
    try:
        return int(header.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise PreconditionFailed(
            _("If-Match %(value)r is not an ROI version.") % {"value": header}
        ) from None


def stale(error):
    exc = PreconditionFailed(
        _(
            "This ROI has changed since the version you sent (it is now version %(version)s). Reload it and apply your change again."
        )
        % {"version": error.current_version}
    )
    exc.extra = {"current_version": error.current_version}
    exc.etag = f'"{error.current_version}"'
    return exc


@extend_schema(request=ROIPatchSerializer, responses=ROISerializer)
@api_view(["GET", "PATCH", "DELETE"])
def roi_detail(request, pk):
    if request.method == "GET":
        roi = access.get_roi_for_user(request.user, pk)
        response = Response(ROISerializer(roi, context={"request": request}).data)
        response["ETag"] = f'"{roi.version}"'
        return response
    roi = access.get_roi_for_user(request.user, pk, write=True)
    version = expected_version(request, roi)
    try:
        if request.method == "DELETE":
            rois.delete_roi(roi, request.user, version)
            return Response(status=status.HTTP_204_NO_CONTENT)
        payload = ROIPatchSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        roi = rois.update_roi(
            roi,
            request.user,
            version,
            payload.validated_data.get("label"),
            payload.validated_data.get("polygon"),
        )
    except rois.StaleVersion as error:
        raise stale(error) from None
    response = Response(ROISerializer(roi, context={"request": request}).data)
    response["ETag"] = f'"{roi.version}"'
    return response


@extend_schema(responses=TIC_SCHEMA)
@api_view(["GET"])
def roi_tic(request, pk):
    roi = access.get_roi_for_user(request.user, pk)
    series = roi.series
    from inference.roi import polygon_mask

    mask = polygon_mask(roi.polygon, (series.rows, series.columns))
    count = int(mask.sum())
    if count == 0:
        raise NotFound(_("The ROI covers no pixel centre, so it has no TIC. Redraw it larger."))
    pixels = np.asarray(series.load_volume()[:, roi.slice_index][:, mask], dtype=np.float64)
    row_spacing, column_spacing = series.pixel_spacing_mm
    return Response(
        {
            "times_s": series.phase_times_s,
            "mean": pixels.mean(axis=1).tolist(),
            "sd": pixels.std(axis=1, ddof=1).tolist() if count > 1 else [0.0] * series.phases,
            "pixel_count": count,
            "area_mm2": count * row_spacing * column_spacing,
            "unit": _("modality units"),
        }
    )


@extend_schema(request=JointRegionSerializer, responses=JointRegionSerializer(many=True))
@api_view(["GET", "POST"])
def series_joints(request, pk):
    series = access.get_series_for_user(request.user, pk)
    if request.method == "GET":
        return Response(
            JointRegionSerializer(series.joints.select_related("author"), many=True).data
        )
    access.require(access.can_annotate(request.user) or access.can_review(request.user))
    data = request.data
    joint = create_joint(
        series,
        request.user,
        data.get("name"),
        data.get("side"),
        _as_int(data.get("slice_start"), "slice_start"),
        _as_int(data.get("slice_end"), "slice_end"),
        data.get("box"),
    )
    return Response(JointRegionSerializer(joint).data, status=status.HTTP_201_CREATED)


def _as_int(value, name):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(
            {
                name: _("%(name)s must be an integer, got %(value)r.")
                % {"name": name, "value": value}
            }
        )
    return value


@extend_schema(responses={204: None})
@api_view(["DELETE"])
def joint_detail(request, pk):
    access.require(access.can_view(request.user))
    joint = get_object_or_404(JointRegion, pk=pk)
    access.require(joint.author_id == request.user.id or access.is_admin(request.user))
    joint.delete()
    return Response(status=status.HTTP_204_NO_CONTENT)
