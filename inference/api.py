"""REST endpoints for model versions, training runs and predictions."""

import numpy as np
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from annotations import access
from annotations.api.views import binary_response, binary_view, parse_index

from . import actions
from .models import JobStatus, ModelVersion, Prediction


def model_summary(model_version):
    return {
        "id": model_version.pk,
        "name": model_version.name,
        "architecture": model_version.architecture,
        "status": model_version.status,
        "progress": model_version.progress,
        "progress_message": model_version.progress_message,
        "classes": model_version.classes,
        "training_set": model_version.training_set_id,
        "code_version": model_version.code_version,
        "error": model_version.error,
        "created": model_version.created,
        "finished": model_version.finished,
    }


def prediction_summary(prediction):
    return {
        "id": prediction.pk,
        "series": prediction.series_id,
        "status": prediction.status,
        "progress": prediction.progress,
        "error": prediction.error,
        "model_version": {"id": prediction.model_version_id, "name": prediction.model_version.name},
        "classes": prediction.model_version.classes,
        "joint_summaries": prediction.joint_summaries,
        "code_version": prediction.code_version,
        "created": prediction.created,
    }


@api_view(["GET", "POST"])
def model_list(request):
    access.require(access.can_view(request.user))
    if request.method == "GET":
        return Response([model_summary(m) for m in ModelVersion.objects.all()])
    access.require(access.is_admin(request.user))
    architecture = request.data.get("architecture", "tic_cnn1d")
    model_version = actions.start_training(request.user, architecture)
    return Response(model_summary(model_version), status=status.HTTP_202_ACCEPTED)


@api_view(["GET"])
def model_detail(request, pk):
    access.require(access.can_view(request.user))
    model_version = get_object_or_404(ModelVersion, pk=pk)
    return Response(
        {
            **model_summary(model_version),
            "report": model_version.report,
            "hyperparameters": model_version.hyperparameters,
        }
    )


@api_view(["GET", "POST"])
def series_predictions(request, pk):
    series = access.get_series_for_user(request.user, pk)
    if request.method == "GET":
        predictions = series.predictions.select_related("model_version")
        return Response([prediction_summary(p) for p in predictions])
    access.require(access.is_admin(request.user))
    model_version = get_object_or_404(ModelVersion, pk=request.data.get("model_version"))
    prediction = actions.start_prediction(series, model_version)
    return Response(prediction_summary(prediction), status=status.HTTP_202_ACCEPTED)


def finished_prediction(user, pk):
    access.require(access.can_view(user))
    prediction = get_object_or_404(
        Prediction.objects.select_related("series", "model_version"), pk=pk
    )
    if prediction.status != JobStatus.DONE:
        raise NotFound(
            _("Prediction %(id)s is %(status)s, not finished; try again when it is done.")
            % {"id": pk, "status": prediction.status}
        )
    return prediction


@api_view(["GET"])
@binary_view
def prediction_labelmap(request, pk, slice_index):
    prediction = finished_prediction(request.user, pk)
    slice_index = parse_index(slice_index, "slice", prediction.series.slices)
    labels = np.load(actions.media(prediction.labels_path), mmap_mode="r")[slice_index]
    return binary_response(
        np.asarray(labels, dtype=np.uint8),
        **{"X-Classes": ",".join(prediction.model_version.classes)},
    )


@api_view(["GET"])
@binary_view
def prediction_probability(request, pk, slice_index):
    prediction = finished_prediction(request.user, pk)
    slice_index = parse_index(slice_index, "slice", prediction.series.slices)
    probability = np.load(actions.media(prediction.probability_path), mmap_mode="r")[slice_index]
    return binary_response(np.asarray(probability, dtype="<f4"))
