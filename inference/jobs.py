"""Training and prediction runs as the worker executes them, with progress on their records."""

import logging
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from pannusmap.version import code_version

from . import training
from .models import JobStatus, ModelVersion, Prediction
from .prediction import predict_volume
from .training_sets import load_training_set

logger = logging.getLogger(__name__)


def media(relative):
    return Path(settings.MEDIA_ROOT) / relative


def _set_progress(model_version, message, fraction):
    ModelVersion.objects.filter(pk=model_version.pk).update(
        progress=float(fraction), progress_message=str(message)[:256]
    )


def run_training(model_version_id):
    """Train and cross-validate one model version; a failure is recorded on it and re-raised."""
    model_version = ModelVersion.objects.select_related("training_set").get(pk=model_version_id)
    if model_version.status == JobStatus.DONE:
        return model_version
    ModelVersion.objects.filter(pk=model_version.pk).update(status=JobStatus.RUNNING, error="")
    try:
        arrays = load_training_set(model_version.training_set)
        config = training.TrainConfig(
            architecture=model_version.architecture, **model_version.hyperparameters
        )
        result = training.train_and_evaluate(
            arrays["tics"],
            arrays["labels"],
            arrays["subjects"],
            times_by_series=[times[~np.isnan(times)] for times in arrays["times_by_series"]],
            series_index=arrays["series_index"],
            config=config,
            progress=lambda message, fraction: _set_progress(model_version, message, fraction),
        )
        relative = f"models/model_{model_version.pk}.pt"
        media(relative).parent.mkdir(parents=True, exist_ok=True)
        result.metadata.update(
            {
                "model_version_id": model_version.pk,
                "training_set_id": model_version.training_set_id,
                "training_set_hash": model_version.training_set.roi_state_hash,
                "code_version": code_version(),
            }
        )
        training.save_checkpoint(result, media(relative))
    except Exception as error:
        logger.exception("Training of model version %s failed", model_version.pk)
        ModelVersion.objects.filter(pk=model_version.pk).update(
            status=JobStatus.FAILED, error=str(error), finished=timezone.now()
        )
        raise
    ModelVersion.objects.filter(pk=model_version.pk).update(
        status=JobStatus.DONE,
        classes=list(result.classes),
        report=result.report,
        checkpoint_path=relative,
        progress=1.0,
        progress_message="",
        finished=timezone.now(),
    )
    logger.info("Model version %s trained", model_version.pk)
    return ModelVersion.objects.get(pk=model_version.pk)


def run_prediction(prediction_id):
    """Classify every voxel of a series; outputs become visible only when both files are complete."""
    prediction = Prediction.objects.select_related("series", "model_version").get(pk=prediction_id)
    if prediction.status == JobStatus.DONE:
        return prediction
    Prediction.objects.filter(pk=prediction.pk).update(status=JobStatus.RUNNING, error="")
    series = prediction.series
    try:
        model, metadata = training.load_checkpoint(media(prediction.model_version.checkpoint_path))
        labels, probability = predict_volume(
            model,
            metadata,
            series.load_volume(),
            np.asarray(series.phase_times_s),
            progress=lambda _message, fraction: Prediction.objects.filter(pk=prediction.pk).update(
                progress=float(fraction)
            ),
        )
        labels_relative = f"predictions/{prediction.pk}/labels.npy"
        probability_relative = f"predictions/{prediction.pk}/probability.npy"
        media(labels_relative).parent.mkdir(parents=True, exist_ok=True)
        for relative, array in (
            (labels_relative, labels),
            (probability_relative, probability.astype(np.float32)),
        ):
            temporary = media(relative).with_suffix(".tmp.npy")
            np.save(temporary, array)
            temporary.replace(media(relative))
        summaries = summarise_joints(series, labels, prediction.model_version.classes)
    except Exception as error:
        logger.exception("Prediction %s failed", prediction.pk)
        Prediction.objects.filter(pk=prediction.pk).update(
            status=JobStatus.FAILED, error=str(error), finished=timezone.now()
        )
        raise
    with transaction.atomic():
        Prediction.objects.filter(pk=prediction.pk).update(
            status=JobStatus.DONE,
            labels_path=labels_relative,
            probability_path=probability_relative,
            joint_summaries=summaries,
            progress=1.0,
            finished=timezone.now(),
            code_version=code_version(),
        )
    logger.info("Prediction %s of series %s done", prediction.pk, series.pk)
    return Prediction.objects.get(pk=prediction.pk)


def summarise_joints(series, labels, classes):
    """Synovitis voxel count and volume (mm³) inside each joint region of the series."""
    if "synovitis" not in classes:
        return []
    synovitis_code = classes.index("synovitis") + 1
    row_spacing, column_spacing = series.pixel_spacing_mm
    voxel_mm3 = row_spacing * column_spacing * series.slice_spacing_mm
    summaries = []
    for joint in series.joints.all():
        c0, r0, c1, r1 = joint.box
        region = labels[joint.slice_start : joint.slice_end + 1, r0 : r1 + 1, c0 : c1 + 1]
        count = int((region == synovitis_code).sum())
        summaries.append(
            {
                "joint_id": joint.pk,
                "name": joint.name,
                "side": joint.side,
                "synovitis_voxels": count,
                "synovitis_volume_mm3": round(count * voxel_mm3, 3),
                "synovitis_fraction": round(count / max(region.size, 1), 5),
            }
        )
    return summaries
