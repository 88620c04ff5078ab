"""Server-rendered pages: series list, viewer, review, import."""

import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from inference.grading import grades_for_review, save_grades
from inference.models import JobStatus

from . import access
from .models import ImportJob, Series


# Upload form fields with a fixed set of values; the first is the default.
UPLOAD_CHOICES = {"partial_phase": ("drop", "keep"), "philips_scaling": ("displayed", "floating")}


@login_required
def series_list(request):
    access.require(access.can_view(request.user))
    series = Series.objects.select_related("study__subject").prefetch_related("predictions")
    return render(request, "annotations/series_list.html", {"series_list": series})


@login_required
def series_viewer(request, pk):
    series = access.get_series_for_user(request.user, pk)
    return render(request, "annotations/viewer.html", {"series": series, "mode": "annotate"})


@login_required
@require_http_methods(["GET", "POST"])
def series_review(request, pk):
    series = access.get_series_for_user(request.user, pk)
    access.require(access.can_review(request.user))
    prediction = (
        series.predictions.filter(status=JobStatus.DONE).select_related("model_version").first()
    )
    if request.method == "POST" and prediction is not None:
        errors = save_grades(prediction, request.user, request.POST)
        if errors:
            for error in errors:
                messages.error(request, error)
        else:
            messages.success(request, _("Grades saved."))
            return redirect("series-review", pk=series.pk)
    rows = grades_for_review(series, prediction, request.user) if prediction else []
    return render(
        request,
        "annotations/review.html",
        {
            "series": series,
            "prediction": prediction,
            "rows": rows,
            "mode": "review",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request):
    access.require(access.is_admin(request.user))
    if request.method == "GET":
        return render(request, "annotations/import.html", {"jobs": ImportJob.objects.all()[:20]})
    files = request.FILES.getlist("files")
    if not files:
        return JsonResponse(
            {
                "detail": _("Choose DICOM files, a folder or a ZIP archive to upload."),
                "code": "no_files",
            },
            status=400,
        )
    total = sum(f.size for f in files)
    if total > settings.PANNUSMAP_MAX_UPLOAD_BYTES:
        return JsonResponse(
            {
                "detail": _(
                    "The upload is %(size).1f GB; the limit is %(limit).1f GB. Split the study into smaller uploads."
                )
                % {"size": total / 1e9, "limit": settings.PANNUSMAP_MAX_UPLOAD_BYTES / 1e9},
                "code": "upload_too_large",
            },
            status=413,
        )
    choices = {}
    for field, valid in UPLOAD_CHOICES.items():
        choices[field] = request.POST.get(field, valid[0])
        if choices[field] not in valid:
            detail = _("%(field)s=%(value)r is invalid. Choose one of: %(choices)s.") % {
                "field": field,
                "value": choices[field],
                "choices": ", ".join(valid),
            }
            return JsonResponse({"detail": detail, "code": "invalid_choice"}, status=400)
    job = receive_upload(request.user, files)
    from inference.tasks import import_upload as import_task

    import_task.defer(
        import_job_id=job.pk, deidentify=request.POST.get("deidentify") == "on", **choices
    )
    return JsonResponse({"job": job.pk, "url": f"/import/{job.pk}/"}, status=201)


def receive_upload(user, files):
    """Write uploaded files into a private folder, keeping relative names but never leaving it."""
    root = Path(settings.MEDIA_ROOT) / "uploads"
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=root))
    for index, upload in enumerate(files):
        name = Path(upload.name).name or f"file{index}"
        target = folder / f"{index:06d}_{name}"
        with open(target, "wb") as output:
            for chunk in upload.chunks():
                output.write(chunk)
    return ImportJob.objects.create(
        created_by=user,
        source=_("browser upload of %(count)s files") % {"count": len(files)},
        upload_dir=str(folder),
    )


@login_required
def import_job(request, pk):
    access.require(access.is_admin(request.user))
    job = get_object_or_404(ImportJob, pk=pk)
    if request.headers.get("Accept") == "application/json":
        return JsonResponse({"status": job.status, "error": job.error, "report": job.report})
    return render(request, "annotations/import_job.html", {"job": job})
