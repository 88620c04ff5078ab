"""REST endpoints of TIC analyses: start one, read its results and stream its map layers."""

import numpy as np
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from annotations import access
from annotations.api.views import binary_response, binary_view, parse_index
from annotations.models import JointRegion

from .analysis import LAYERS, layer_catalogue, layer_path, request_analysis
from .models import JobStatus, TicAnalysis
from .tic import MAP_UNITS


def analysis_summary(analysis):
    return {
        "id": analysis.pk,
        "series": analysis.series_id,
        "status": analysis.status,
        "error": analysis.error,
        "parameters": analysis.parameters,
        "results": analysis.results,
        "code_version": analysis.code_version,
        "created": analysis.created,
        "finished": analysis.finished,
        "layers": translated_catalogue(),
    }


def translated_catalogue():
    catalogue = layer_catalogue()
    for layer in catalogue:
        for entry in layer.get("legend", []):
            entry["name"] = _(entry["name"])
        if "description" in layer:
            layer["description"] = _(layer["description"])
    return catalogue


@api_view(["GET", "POST"])
def series_analyses(request, pk):
    series = access.get_series_for_user(request.user, pk)
    if request.method == "GET":
        return Response([analysis_summary(a) for a in series.tic_analyses.all()])
    access.require(access.can_annotate(request.user) or access.can_review(request.user))
    analysis = request_analysis(series, request.data.get("parameters"))
    code = status.HTTP_200_OK if analysis.status == JobStatus.DONE else status.HTTP_202_ACCEPTED
    return Response(analysis_summary(analysis), status=code)


@api_view(["GET"])
def analysis_detail(request, pk):
    access.require(access.can_view(request.user))
    return Response(analysis_summary(get_object_or_404(TicAnalysis, pk=pk)))


@api_view(["GET"])
@binary_view
def analysis_layer(request, pk, name, slice_index):
    access.require(access.can_view(request.user))
    analysis = get_object_or_404(TicAnalysis.objects.select_related("series"), pk=pk)
    if name not in MAP_UNITS and name not in LAYERS:
        raise NotFound(
            _("Unknown layer %(name)r. Choose one of: %(choices)s.")
            % {"name": name, "choices": ", ".join([*MAP_UNITS, *LAYERS])}
        )
    if analysis.status != JobStatus.DONE:
        raise NotFound(
            _("Analysis %(id)s is %(status)s, not finished; try again when it is done.")
            % {"id": pk, "status": analysis.status}
        )
    slice_index = parse_index(slice_index, "slice", analysis.series.slices)
    layer = np.load(layer_path(analysis, name), mmap_mode="r")[slice_index]
    return binary_response(
        np.asarray(layer), **{"X-Unit": MAP_UNITS.get(name, ""), "X-Dtype": layer.dtype.name}
    )


@api_view(["GET"])
def joint_curve(request, pk):
    access.require(access.can_view(request.user))
    joint = get_object_or_404(JointRegion.objects.select_related("series"), pk=pk)
    series = joint.series
    c0, r0, c1, r1 = joint.box
    region = np.asarray(
        series.load_volume()[:, joint.slice_start : joint.slice_end + 1, r0 : r1 + 1, c0 : c1 + 1],
        dtype=np.float64,
    )
    pixels = region.reshape(series.phases, -1)
    voxel_mm3 = series.pixel_spacing_mm[0] * series.pixel_spacing_mm[1] * series.slice_spacing_mm
    return Response(
        {
            "times_s": series.phase_times_s,
            "mean": pixels.mean(axis=1).tolist(),
            "sd": pixels.std(axis=1, ddof=1).tolist()
            if pixels.shape[1] > 1
            else [0.0] * series.phases,
            "voxel_count": pixels.shape[1],
            "volume_mm3": pixels.shape[1] * voxel_mm3,
            "unit": _("modality units"),
        }
    )
