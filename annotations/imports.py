"""Store what the DICOM importer read: subjects, studies, series volumes and instances.

Importing is idempotent: a series whose instances (by SOPInstanceUID) are all stored already is
reported as existing, and nothing new is written. Volume and DICOM files are written before the
database rows that point to them, inside one transaction, so a failure leaves no row pointing to a
half-written file.
"""

import hashlib
import logging
import shutil
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from .importer import ImportOptions, import_paths
from .models import ImportJob, Instance, Series, Study, Subject

logger = logging.getLogger(__name__)


class ImportConflict(Exception):
    """Some but not all instances of a series are stored already under another series."""


def import_options(**choices):
    """Return ImportOptions with this site's archive limits and pseudonym salt."""
    return ImportOptions(
        max_uncompressed_bytes=settings.PANNUSMAP_MAX_UNCOMPRESSED_BYTES,
        max_entries=settings.PANNUSMAP_MAX_ARCHIVE_ENTRIES,
        pseudonym_salt=settings.PANNUSMAP_PSEUDONYM_SALT,
        **choices,
    )


def series_key(dynamic_series):
    uids = sorted(f"{i.sop_instance_uid}:{i.frame_index}" for i in dynamic_series.instances)
    return hashlib.sha256("\n".join(uids).encode()).hexdigest()[:40]


def import_dicom(paths, options=None, job=None):
    """Import files, folders or ZIP archives; return (ImportResult, list of per-series dicts)."""
    options = options or import_options()
    result = import_paths([Path(p) for p in paths], options)
    try:
        outcomes = [store_series(dynamic, job) for dynamic in result.series]
    finally:
        # Extracted ZIP members and de-identified copies live in a temporary folder.
        result.cleanup()
    return result, outcomes


def store_series(dynamic, job=None):
    key = series_key(dynamic)
    existing = Series.objects.filter(series_key=key).first()
    if existing is not None:
        return describe(existing, created=False)
    check_no_overlap(dynamic)

    directory = Path(settings.MEDIA_ROOT) / "series" / key
    directory.mkdir(parents=True, exist_ok=True)
    volume_relative = f"series/{key}/volume.npy"
    write_volume(Path(settings.MEDIA_ROOT) / volume_relative, dynamic.volume)
    stored_paths = copy_instances(dynamic, key)

    with transaction.atomic():
        series = create_series_row(dynamic, key, volume_relative, job)
        Instance.objects.bulk_create(
            Instance(
                series=series,
                sop_instance_uid=record.sop_instance_uid,
                frame_index=record.frame_index,
                sop_class_uid=record.sop_class_uid or "",
                transfer_syntax_uid=record.transfer_syntax_uid or "",
                storage_path=stored_paths[index],
                phase_index=record.phase_index,
                slice_index=record.slice_index,
            )
            for index, record in enumerate(dynamic.instances)
        )
        transaction.on_commit(lambda: queue_default_analysis(series))
    logger.info(
        "Stored series %s (%s) with %d instances",
        series.pk,
        "x".join(map(str, series.shape)),
        len(stored_paths),
    )
    return describe(series, created=True)


def queue_default_analysis(series):
    """Queue the TIC analysis with default parameters, so maps are ready when a user opens the series."""
    from inference.analysis import request_analysis

    request_analysis(series)


def check_no_overlap(dynamic):
    uids = [record.sop_instance_uid for record in dynamic.instances]
    clash = (
        Instance.objects.filter(sop_instance_uid__in=uids)
        .values_list("series_id", flat=True)
        .distinct()
    )
    clash = list(clash)
    if clash:
        raise ImportConflict(
            _(
                "Some images of this acquisition are already stored in series %(ids)s, but the upload "
                "differs from it (other images added or missing). Delete that series first or import "
                "exactly the same files."
            )
            % {"ids": ", ".join(map(str, clash))}
        )


def write_volume(path, volume):
    temporary = path.with_suffix(".tmp.npy")
    np.save(temporary, np.ascontiguousarray(volume))
    temporary.replace(path)


def copy_instances(dynamic, key):
    """Copy the source files into storage once each (a multi-frame file serves several frames)."""
    target_dir = Path(settings.MEDIA_ROOT) / "dicom" / key
    target_dir.mkdir(parents=True, exist_ok=True)
    copied = {}
    stored = []
    for record in dynamic.instances:
        source = Path(record.source_path)
        if source not in copied:
            suffix = (
                "".join(source.suffixes[-2:])
                if source.name.endswith((".nii", ".nii.gz"))
                else ".dcm"
            )
            relative = f"dicom/{key}/{record.sop_instance_uid}{suffix}"
            shutil.copyfile(source, Path(settings.MEDIA_ROOT) / relative)
            copied[source] = relative
        stored.append(copied[source])
    return stored


def create_series_row(dynamic, key, volume_relative, job):
    subject, _created = Subject.objects.get_or_create(pseudonym=dynamic.patient_id or "UNKNOWN")
    study, _created = Study.objects.get_or_create(
        study_instance_uid=dynamic.study_instance_uid,
        defaults={
            "subject": subject,
            "study_date": dynamic.study_date or None,
            "description": (getattr(dynamic, "study_description", "") or "")[:256],
        },
    )
    phases, slices, rows, columns = dynamic.volume.shape
    return Series.objects.create(
        study=study,
        series_key=key,
        source_series_uids=list(dynamic.series_instance_uids),
        frame_of_reference_uid=dynamic.frame_of_reference_uid or "",
        description=(dynamic.series_description or dynamic.protocol_name or "")[:256],
        modality=dynamic.modality or "MR",
        manufacturer=(dynamic.manufacturer or "")[:128],
        phases=phases,
        slices=slices,
        rows=rows,
        columns=columns,
        phase_times_s=[float(t) for t in dynamic.phase_times_s],
        time_source=dynamic.time_source,
        time_is_estimated=bool(dynamic.time_is_estimated),
        pixel_spacing_mm=[float(v) for v in dynamic.pixel_spacing_mm],
        slice_thickness_mm=dynamic.slice_thickness_mm,
        slice_positions_mm=[float(v) for v in dynamic.slice_positions_mm],
        image_positions_patient=np.asarray(dynamic.image_positions_patient, dtype=float).tolist(),
        image_orientation_patient=[float(v) for v in dynamic.image_orientation_patient],
        dtype=str(dynamic.volume.dtype),
        volume_path=volume_relative,
        window_center=float(dynamic.window_center),
        window_width=float(dynamic.window_width),
        rescale_convention=getattr(dynamic, "rescale_convention", "") or "",
        warnings=list(dynamic.warnings),
        import_job=job,
    )


def describe(series, created):
    return {
        "id": series.pk,
        "created": created,
        "subject": series.study.subject.pseudonym,
        "shape": list(series.shape),
        "pixel_spacing_mm": series.pixel_spacing_mm,
        "slice_positions_mm": series.slice_positions_mm,
        "phase_times_s": series.phase_times_s,
        "time_source": series.time_source,
        "time_is_estimated": series.time_is_estimated,
        "warnings": series.warnings,
    }


def run_import_job(job_id, options=None):
    """Import the files of an upload job and record the report on the job."""
    job = ImportJob.objects.get(pk=job_id)
    job.status = ImportJob.Status.RUNNING
    job.save(update_fields=["status"])
    try:
        result, outcomes = import_dicom([job.upload_dir], options, job=job)
    except Exception as error:  # noqa: BLE001 - any failure is recorded on the job for the user
        logger.exception("Import job %s failed", job_id)
        job.status = ImportJob.Status.FAILED
        job.error = str(error)
        job.save(update_fields=["status", "error"])
        return job
    job.report = {"files": result.to_dict()["files"], "series": outcomes}
    job.status = ImportJob.Status.DONE
    if not outcomes:
        job.status = ImportJob.Status.FAILED
        job.error = _(
            "No dynamic series was found in the %(count)s uploaded files; the list below gives the "
            "reason for each. Upload every phase and slice of a DCE-MRI acquisition as DICOM files, "
            "a folder or a ZIP archive."
        ) % {"count": len(job.report["files"])}
    job.save(update_fields=["status", "report", "error"])
    shutil.rmtree(job.upload_dir, ignore_errors=True)
    return job


def fail_import_job(job_id, error):
    """Record a failure that happened before the import itself could start."""
    logger.error("Import job %s could not start: %s", job_id, error)
    ImportJob.objects.filter(pk=job_id).update(status=ImportJob.Status.FAILED, error=str(error))
