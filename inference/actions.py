"""Start training and prediction: create the record, then enqueue the worker task on commit."""

from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pannusmap.errors import UserError
from pannusmap.version import code_version

from .models import JobStatus, ModelVersion, Prediction
from .training_sets import build_training_set

# The names of inference.networks.NETWORKS, kept here so that the web process need not import torch.
ARCHITECTURES = ("tic_cnn1d", "resnet18_1d", "resnet50_2d")


def media(relative):
    return Path(settings.MEDIA_ROOT) / relative


def create_model_version(user=None, architecture="tic_cnn1d", **hyperparameters):
    if architecture not in ARCHITECTURES:
        raise UserError(
            _("Unknown architecture %(value)r. Choose one of: %(choices)s.")
            % {"value": architecture, "choices": ", ".join(ARCHITECTURES)},
            code="unknown_architecture",
        )
    training_set = build_training_set(user)
    return ModelVersion.objects.create(
        name=f"{architecture} {timezone.localtime():%Y-%m-%d %H:%M}",
        architecture=architecture,
        hyperparameters=hyperparameters,
        training_set=training_set,
        started_by=user,
        code_version=code_version(),
    )


def create_prediction(series, model_version):
    prediction, created = Prediction.objects.get_or_create(
        series=series, model_version=model_version, defaults={"code_version": code_version()}
    )
    if not created and prediction.status == JobStatus.FAILED:
        Prediction.objects.filter(pk=prediction.pk).update(status=JobStatus.QUEUED, error="")
    return prediction


def start_training(user, architecture="tic_cnn1d", **hyperparameters):
    from .tasks import train_model

    with transaction.atomic():
        model_version = create_model_version(user, architecture, **hyperparameters)
        transaction.on_commit(lambda: train_model.defer(model_version_id=model_version.pk))
    return model_version


def start_prediction(series, model_version):
    from .tasks import predict_series

    if model_version.status != JobStatus.DONE:
        raise UserError(
            _("Model version %(id)s is %(status)s; start predictions once its training is done.")
            % {"id": model_version.pk, "status": model_version.status},
            code="model_not_ready",
        )
    with transaction.atomic():
        prediction = create_prediction(series, model_version)
        if prediction.status != JobStatus.DONE:
            transaction.on_commit(lambda: predict_series.defer(prediction_id=prediction.pk))
    return prediction


def start_predictions_for_all(model_version):
    from annotations.models import Series

    return [start_prediction(series, model_version) for series in Series.objects.all()]
