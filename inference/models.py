"""Django records of training sets, model versions, predictions, TIC analyses and grades.

The arrays behind them live in files under MEDIA_ROOT; each record keeps what produced it
(parameters, training set, code version) so that any output can be traced back.
"""

from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


def media_path(relative):
    return Path(settings.MEDIA_ROOT) / relative


class TrainingSet(models.Model):
    """An immutable snapshot of the TICs of all ROI pixels at one moment.

    The arrays file contains tics (N, P_max) float32 padded with NaN, labels, subjects, series ids,
    ROI ids, slice/row/column positions; `roi_state_hash` identifies the ROI state it came from.
    """

    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    roi_state_hash = models.CharField(max_length=64)
    arrays_path = models.CharField(max_length=512)
    counts = models.JSONField(default=dict)
    tic_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created"]


class ModelVersion(models.Model):
    """A trained classifier with its cross-validation report and provenance."""

    name = models.CharField(max_length=128)
    architecture = models.CharField(max_length=64)
    hyperparameters = models.JSONField(default=dict)
    training_set = models.ForeignKey(
        TrainingSet, null=True, blank=True, on_delete=models.PROTECT, related_name="models"
    )
    classes = models.JSONField(default=list)
    report = models.JSONField(default=dict)
    checkpoint_path = models.CharField(max_length=512, blank=True)
    code_version = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.FloatField(default=0.0)
    progress_message = models.CharField(max_length=256, blank=True)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.name} ({self.architecture})"


class Prediction(models.Model):
    """Per-voxel classes and synovitis probability of one series under one model version."""

    series = models.ForeignKey(
        "annotations.Series", on_delete=models.CASCADE, related_name="predictions"
    )
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="predictions"
    )
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    labels_path = models.CharField(max_length=512, blank=True)
    probability_path = models.CharField(max_length=512, blank=True)
    joint_summaries = models.JSONField(default=list)
    code_version = models.CharField(max_length=64, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "model_version"], name="unique_prediction_per_model"
            )
        ]


class TicAnalysis(models.Model):
    """Quantitative maps, TIC shape types and the arterial mask of one series for one parameter set."""

    series = models.ForeignKey(
        "annotations.Series", on_delete=models.CASCADE, related_name="tic_analyses"
    )
    parameters = models.JSONField(default=dict)
    parameters_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    error = models.TextField(blank=True)
    arrays_path = models.CharField(max_length=512, blank=True)
    results = models.JSONField(default=dict)
    code_version = models.CharField(max_length=64, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "parameters_hash"], name="unique_analysis_per_parameters"
            )
        ]


class Grade(models.Model):
    """A reviewer's verdict on the prediction inside one joint region."""

    class Verdict(models.TextChoices):
        GOOD = "good", _("good")
        FAIR = "fair", _("fair")
        FAIL = "fail", _("fail")

    prediction = models.ForeignKey(Prediction, on_delete=models.CASCADE, related_name="grades")
    joint = models.ForeignKey(
        "annotations.JointRegion", on_delete=models.CASCADE, related_name="grades"
    )
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    verdict = models.CharField(max_length=8, choices=Verdict.choices)
    comment = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["prediction", "joint", "reviewer"], name="one_grade_per_reviewer_joint"
            )
        ]
