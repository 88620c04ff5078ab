"""STOW-RS: store the DICOM parts of a request with the importer and describe the outcome.

The import runs inside the request (a study of a few hundred files takes seconds), and its
per-file report is kept as an ImportJob, as for browser uploads. PannusMap stores only dynamic
series, so a file that is part of no dynamic series fails with the importer's reason.
"""

import logging
from dataclasses import asdict, dataclass

import pydicom
from django.utils.translation import gettext as _

from ..importer import ImportRejected, MissingDecoderError, import_paths
from ..imports import ImportConflict, import_options, store_series
from ..models import ImportJob
from .params import is_uid

logger = logging.getLogger(__name__)

# Failure Reason values of the Store Instances Response (PS3.18).
PROCESSING_FAILURE = 0x0110
SOP_CLASS_NOT_SUPPORTED = 0x0122
CANNOT_UNDERSTAND = 0xC000
TRANSFER_SYNTAX_NOT_SUPPORTED = 0xC122
REASON_BY_IMPORT_CODE = {
    "not-dicom": CANNOT_UNDERSTAND,
    "dicomdir": CANNOT_UNDERSTAND,
    "decode-failed": CANNOT_UNDERSTAND,
    "no-image": SOP_CLASS_NOT_SUPPORTED,
}
STORED_STATUSES = ("imported", "duplicate")


@dataclass
class PartOutcome:
    """Outcome of one part: stored when `failure` is None, else its Failure Reason and the reason text."""

    display: str
    sop_class_uid: str = ""
    sop_instance_uid: str = ""
    study_uid: str = ""
    series_uid: str = ""
    failure: int | None = None
    reason: str = ""

    def fail(self, failure, reason):
        self.failure, self.reason = failure, reason


def store_parts(saved_parts, folder, user, study_uid=None):
    """Import the saved parts in `folder`; return (list of PartOutcome, ImportJob).

    Parts that are not application/dicom, not DICOM, or not of study `study_uid` (when given)
    fail before the import and are deleted from `folder`.
    """
    job = ImportJob.objects.create(
        created_by=user, status=ImportJob.Status.RUNNING,
        source=_("DICOMweb STOW-RS of %(count)s parts") % {"count": len(saved_parts)},
    )
    outcomes = [identify_part(part, index, study_uid) for index, part in enumerate(saved_parts)]
    prechecked = [_report_entry(outcome) for outcome in outcomes if outcome.failure is not None]
    candidates = [outcome for outcome in outcomes if outcome.failure is None]
    try:
        file_reports, series_outcomes = import_folder(folder, candidates, job)
    except ImportRejected as error:
        failure = TRANSFER_SYNTAX_NOT_SUPPORTED if isinstance(error, MissingDecoderError) else CANNOT_UNDERSTAND
        for outcome in candidates:
            outcome.fail(failure, str(error))
        _finish_job(job, ImportJob.Status.FAILED, error=str(error))
    except Exception as error:
        _finish_job(job, ImportJob.Status.FAILED, error=str(error))
        raise
    else:
        _finish_job(job, ImportJob.Status.DONE,
                    report={"files": prechecked + file_reports, "series": series_outcomes})
    stored = sum(outcome.failure is None for outcome in outcomes)
    logger.info("STOW-RS by user %s: %d of %d parts stored, import job %s",
                user.pk, stored, len(outcomes), job.pk)
    return outcomes, job


def identify_part(part, index, study_uid):
    """Read the UIDs of one saved part and rename it after its SOP Instance UID."""
    outcome = PartOutcome(display=part.path.name)
    media_type = part.content_type.split(";")[0].strip().lower()
    if media_type not in ("", "application/dicom"):
        outcome.fail(CANNOT_UNDERSTAND, _("part %(number)s has Content-Type %(type)s; only "
                                          "application/dicom parts are stored")
                     % {"number": index + 1, "type": media_type})
        part.path.unlink()
        return outcome
    try:
        dataset = pydicom.dcmread(part.path, stop_before_pixels=True)
    except Exception as error:  # noqa: BLE001 - pydicom raises many types on malformed input
        outcome.fail(CANNOT_UNDERSTAND, _("part %(number)s is not a DICOM file: %(error)s")
                     % {"number": index + 1, "error": error})
        part.path.unlink()
        return outcome
    _read_uids(outcome, dataset)
    _check_part(outcome, index, study_uid)
    if outcome.failure is not None:
        part.path.unlink()
        return outcome
    renamed = part.path.with_name(f"{index + 1:06d}_{outcome.sop_instance_uid}.dcm")
    part.path.rename(renamed)
    outcome.display = renamed.name
    return outcome


def _read_uids(outcome, dataset):
    outcome.sop_class_uid = str(dataset.get("SOPClassUID", ""))
    outcome.sop_instance_uid = str(dataset.get("SOPInstanceUID", ""))
    outcome.study_uid = str(dataset.get("StudyInstanceUID", ""))
    outcome.series_uid = str(dataset.get("SeriesInstanceUID", ""))


def _check_part(outcome, index, study_uid):
    uids = (outcome.sop_instance_uid, outcome.study_uid, outcome.series_uid)
    if not all(is_uid(uid) for uid in uids):
        outcome.fail(CANNOT_UNDERSTAND, _("part %(number)s lacks a valid SOPInstanceUID, "
                                          "StudyInstanceUID or SeriesInstanceUID") % {"number": index + 1})
    elif study_uid is not None and outcome.study_uid != study_uid:
        outcome.fail(PROCESSING_FAILURE, _("part %(number)s belongs to study %(found)s, not to study "
                                           "%(target)s of the request URL")
                     % {"number": index + 1, "found": outcome.study_uid, "target": study_uid})


def import_folder(folder, candidates, job):
    """Import `folder` and set the outcome of each candidate part; return the import report.

    Each dynamic series is stored on its own, so a series that clashes with stored images
    (ImportConflict) fails alone while the others are stored.
    """
    result = import_paths([folder], import_options())
    conflicts, series_outcomes = {}, []
    try:
        for dynamic in result.series:
            try:
                series_outcomes.append(store_series(dynamic, job))
            except ImportConflict as error:
                conflicts.update({record.display_path: str(error) for record in dynamic.instances})
    finally:
        result.cleanup()
    reports = {report.path: report for report in result.files}
    for outcome in candidates:
        _apply_report(outcome, reports.get(outcome.display), conflicts.get(outcome.display))
    return [asdict(report) for report in result.files], series_outcomes


def _apply_report(outcome, report, conflict):
    if conflict is not None:
        outcome.fail(PROCESSING_FAILURE, conflict)
    elif report is None:
        outcome.fail(PROCESSING_FAILURE, _("the importer did not process this file"))
    elif report.status not in STORED_STATUSES:
        outcome.fail(REASON_BY_IMPORT_CODE.get(report.code, PROCESSING_FAILURE), report.reason)


def _report_entry(outcome):
    return {"path": outcome.display, "status": "error", "reason": outcome.reason, "code": "stow-rejected"}


def _finish_job(job, status, report=None, error=""):
    job.status, job.error = status, error
    job.report = report or {}
    job.save(update_fields=["status", "error", "report"])


def store_response(outcomes, links):
    """Return (HTTP status, Store Instances Response as DICOM JSON)."""
    stored = [outcome for outcome in outcomes if outcome.failure is None]
    failed = [outcome for outcome in outcomes if outcome.failure is not None]
    body = {}
    if stored:
        body["00081199"] = {"vr": "SQ", "Value": [_stored_item(outcome, links) for outcome in stored]}
    if failed:
        body["00081198"] = {"vr": "SQ", "Value": [_failed_item(outcome) for outcome in failed]}
    studies = {outcome.study_uid for outcome in stored}
    if len(studies) == 1:
        body["00081190"] = {"vr": "UR", "Value": [links.study(studies.pop())]}
    if not failed:
        return 200, body
    if stored:
        return 202, body
    return 409, body


def _uid_element(value):
    return {"vr": "UI", "Value": [value]} if is_uid(value) else {"vr": "UI"}


def _stored_item(outcome, links):
    url = links.instance(outcome.study_uid, outcome.series_uid, outcome.sop_instance_uid)
    return {
        "00081150": _uid_element(outcome.sop_class_uid),
        "00081155": _uid_element(outcome.sop_instance_uid),
        "00081190": {"vr": "UR", "Value": [url]},
    }


def _failed_item(outcome):
    # ErrorComment is LO (at most 64 characters); the import job keeps the full reason.
    comment = outcome.reason if len(outcome.reason) <= 64 else outcome.reason[:61] + "..."
    return {
        "00081150": _uid_element(outcome.sop_class_uid),
        "00081155": _uid_element(outcome.sop_instance_uid),
        "00081197": {"vr": "US", "Value": [outcome.failure]},
        "00000902": {"vr": "LO", "Value": [comment]},
    }
