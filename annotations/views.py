"""Server-rendered pages: series list, viewer, review, import."""

import tempfile
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods

from inference.grading import grades_for_review, save_grades
from inference.models import JobStatus

from . import access
from .models import ImportJob, Series

FILE_STATUS_NAMES = {
    "imported": gettext_lazy("imported"),
    "duplicate": gettext_lazy("duplicate"),
    "skipped": gettext_lazy("skipped"),
    "error": gettext_lazy("error"),
    "excluded": gettext_lazy("excluded"),
}

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
        saved, errors = save_grades(prediction, request.user, request.POST)
        for error in errors:
            messages.error(request, error)
        if not errors and not saved:
            messages.error(
                request,
                _(
                    "No verdict was chosen, so nothing was saved. Choose good, fair or fail for at least one joint."
                ),
            )
        elif not errors:
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
    job = receive_upload(request.user, files, request.POST.getlist("paths"))
    from inference.tasks import import_upload as import_task

    import_task.defer(
        import_job_id=job.pk, deidentify=request.POST.get("deidentify") == "on", **choices
    )
    return JsonResponse({"job": job.pk, "url": f"/import/{job.pk}/"}, status=201)


def upload_relative_path(sent_path, upload, index, used):
    """Return a safe relative path for an uploaded file, keeping the folder names it was sent with.

    Browsers send a folder's files with paths such as "study/masks/image30.dcm". Parts that
    could leave the upload folder ("..", absolute paths, drive letters) are dropped, and a name
    already taken gets a numbered suffix.
    """
    parts = [
        part
        for part in PurePosixPath(sent_path.replace("\\", "/")).parts
        if part not in ("", ".", "..", "/")
    ]
    parts = [part for part in parts if ":" not in part] or [
        Path(upload.name).name or f"file{index}"
    ]
    relative = PurePosixPath(*parts)
    candidate, number = relative, 2
    while str(candidate) in used:
        candidate = relative.with_name(f"{relative.stem} ({number}){relative.suffix}")
        number += 1
    used.add(str(candidate))
    return candidate


def receive_upload(user, files, sent_paths):
    """Write uploaded files into a private folder, keeping relative names but never leaving it."""
    root = Path(settings.MEDIA_ROOT) / "uploads"
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=root))
    used = set()
    for index, upload in enumerate(files):
        sent_path = sent_paths[index] if index < len(sent_paths) else upload.name
        target = folder / upload_relative_path(sent_path, upload, index, used)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as output:
            for chunk in upload.chunks():
                output.write(chunk)
    source = ngettext(
        "browser upload of %(count)d file", "browser upload of %(count)d files", len(files)
    ) % {"count": len(files)}
    return ImportJob.objects.create(created_by=user, source=source, upload_dir=str(folder))


@login_required
def import_job(request, pk):
    access.require(access.is_admin(request.user))
    job = get_object_or_404(ImportJob, pk=pk)
    if request.headers.get("Accept") == "application/json":
        return JsonResponse({"status": job.status, "error": job.error, "report": job.report})
    files = [
        {**entry, "status_display": FILE_STATUS_NAMES.get(entry["status"], entry["status"])}
        for entry in job.report.get("files", [])
    ]
    return render(request, "annotations/import_job.html", {"job": job, "files": files})
