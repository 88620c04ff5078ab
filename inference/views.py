"""Pages for model versions (training reports), predictions and the review summary."""

import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from annotations import access
from pannusmap.errors import UserError

from . import actions
from .export import export_dataset
from .grading import grade_counts
from .models import Grade, ModelVersion
from .reports import fold_rows, report_tables, split_description, subject_counts


@login_required
def model_list(request):
    access.require(access.can_view(request.user))
    return render(
        request,
        "inference/model_list.html",
        {"models": ModelVersion.objects.select_related("training_set")},
    )


@login_required
@require_POST
def start_training(request):
    access.require(access.is_admin(request.user))
    try:
        model_version = actions.start_training(
            request.user, request.POST.get("architecture", "tic_cnn1d")
        )
    except UserError as error:
        messages.error(request, error.message)
        return redirect("model-list")
    messages.success(
        request, _("Training of model version %(id)s started.") % {"id": model_version.pk}
    )
    return redirect("model-detail", pk=model_version.pk)


@login_required
def model_detail(request, pk):
    access.require(access.can_view(request.user))
    model_version = get_object_or_404(ModelVersion.objects.select_related("training_set"), pk=pk)
    return render(
        request,
        "inference/model_detail.html",
        {
            "model": model_version,
            "tables": report_tables(model_version.report, model_version.classes),
            "folds": fold_rows(model_version.report),
            "split": split_description(model_version.report.get("split", {})),
            "subject_counts": subject_counts(model_version.training_set),
        },
    )


@login_required
@require_POST
def predict_all(request, pk):
    access.require(access.is_admin(request.user))
    model_version = get_object_or_404(ModelVersion, pk=pk)
    try:
        predictions = actions.start_predictions_for_all(model_version)
    except UserError as error:
        messages.error(request, error.message)
        return redirect("model-detail", pk=pk)
    messages.success(
        request, _("Prediction of %(count)s series started.") % {"count": len(predictions)}
    )
    return redirect("model-detail", pk=pk)


@login_required
def export_download(request):
    """Send the labelled dataset as a ZIP (admins only); it is built in a temporary file."""
    access.require(access.is_admin(request.user))
    handle = tempfile.NamedTemporaryFile(suffix=".zip")
    export_dataset(handle.name)
    handle.seek(0)
    filename = f"pannusmap-dataset-{timezone.localtime():%Y%m%d-%H%M}.zip"
    return FileResponse(
        handle, as_attachment=True, filename=filename, content_type="application/zip"
    )


@login_required
def review_summary(request):
    access.require(access.can_view(request.user))
    grades = Grade.objects.select_related("joint", "prediction__series__study__subject", "reviewer")
    # Reviewing is blind, so a reviewer gets only their own grades. Admins get everyone's, named.
    everyone = access.is_admin(request.user)
    if not everyone:
        grades = grades.filter(reviewer=request.user)
    rows = {}
    for grade in grades.order_by("prediction__series_id", "joint_id", "reviewer__username"):
        key = (grade.prediction.series_id, grade.joint.name, grade.joint.side)
        rows.setdefault(
            key, {"series": grade.prediction.series, "joint": grade.joint, "verdicts": []}
        )
        verdict = grade.get_verdict_display()
        rows[key]["verdicts"].append(
            f"{verdict} ({grade.reviewer.username})" if everyone else verdict
        )
    return render(
        request,
        "inference/review_summary.html",
        {
            "counts": grade_counts(grades),
            "rows": list(rows.values()),
            "total": grades.count(),
            "everyone": everyone,
        },
    )
