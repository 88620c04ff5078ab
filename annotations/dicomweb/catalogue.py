"""The stored DICOM files grouped as DICOM studies, series and instances, read from their headers.

Headers are read with pydicom (up to the pixel data) and kept as DICOM JSON (PS3.18 F.2) in a
per-process cache with one entry per PannusMap Series. A viewer that lists a series and then
fetches its metadata and frames therefore reads each header once.
"""

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pydicom
from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _
from pydicom.datadict import tag_for_keyword
from pydicom.errors import InvalidDicomError
from rest_framework.exceptions import NotFound

from ..models import Instance, Series, Study

logger = logging.getLogger(__name__)

# NIfTI imports store the .nii file as an Instance row too; only DICOM files are served.
DICOM_SUFFIX = ".dcm"
SERIES_CACHE_SIZE = 16


def tag_key(keyword):
    """Return the DICOM JSON key of a keyword, for example "0020000D" for StudyInstanceUID."""
    return f"{tag_for_keyword(keyword):08X}"


STUDY_UID = tag_key("StudyInstanceUID")
SERIES_UID = tag_key("SeriesInstanceUID")
SOP_UID = tag_key("SOPInstanceUID")


@dataclass(frozen=True)
class StoredFile:
    """One stored DICOM file; `header` is its data set up to the pixel data, as DICOM JSON."""

    sop_instance_uid: str
    transfer_syntax_uid: str
    path: Path
    header: dict

    @property
    def study_uid(self):
        return first_value(self.header, STUDY_UID)

    @property
    def series_uid(self):
        return first_value(self.header, SERIES_UID)


def first_value(record, key, default=""):
    values = record.get(key, {}).get("Value") or [default]
    return values[0]


def dicom_instances():
    return Instance.objects.filter(storage_path__endswith=DICOM_SUFFIX)


def studies_with_dicom():
    return Study.objects.filter(series__instances__storage_path__endswith=DICOM_SUFFIX).distinct()


def series_with_dicom():
    return Series.objects.filter(instances__storage_path__endswith=DICOM_SUFFIX).distinct()


def series_files(series):
    """Return the StoredFile of every DICOM file of a PannusMap Series, in phase and slice order."""
    return _read_series(series.pk, series.series_key, str(settings.MEDIA_ROOT))


@lru_cache(maxsize=SERIES_CACHE_SIZE)
def _read_series(series_pk, series_key, media_root):
    # series_key hashes the SOP Instance UIDs, so a cached entry never outlives what it describes.
    rows = (dicom_instances().filter(series_id=series_pk)
            .order_by("phase_index", "slice_index", "frame_index", "pk")
            .values_list("sop_instance_uid", "storage_path"))
    files, seen = [], set()
    for sop_instance_uid, storage_path in rows:
        if sop_instance_uid in seen:
            continue
        seen.add(sop_instance_uid)
        stored = read_stored_file(Path(media_root) / storage_path, sop_instance_uid, series_pk)
        if stored is not None:
            files.append(stored)
    return tuple(files)


def read_stored_file(path, sop_instance_uid, series_pk):
    """Return the StoredFile at `path`, or None (logged) when the file is missing or unreadable."""
    try:
        dataset = pydicom.dcmread(path, stop_before_pixels=True)
    except (OSError, InvalidDicomError) as error:
        logger.error("DICOMweb cannot read stored file %s of series %s: %s", path, series_pk, error)
        return None
    header = dataset.to_json_dict(suppress_invalid_tags=True)
    syntax = str(dataset.file_meta.get("TransferSyntaxUID", ""))
    return StoredFile(sop_instance_uid, syntax, Path(path), header)


def study_header(path):
    """Return the DICOM JSON header of one file of a study, read once per process."""
    return _read_header(str(path))


@lru_cache(maxsize=256)
def _read_header(path):
    return pydicom.dcmread(path, stop_before_pixels=True).to_json_dict(suppress_invalid_tags=True)


def get_study(study_uid):
    study = studies_with_dicom().filter(study_instance_uid=study_uid).first()
    if study is None:
        raise NotFound(_("Study %(uid)s was not found.") % {"uid": study_uid})
    return study


def group_by_series(files):
    """Return {SeriesInstanceUID: [StoredFile, ...]} in first-seen order."""
    groups = {}
    for stored in files:
        groups.setdefault(stored.series_uid, []).append(stored)
    return groups


def study_files(study, series_uid=None):
    """Return the StoredFiles of a study, or of one of its DICOM series when `series_uid` is given."""
    candidates = series_with_dicom().filter(study=study).order_by("pk")
    if series_uid is not None:
        # source_series_uids names the DICOM series of a PannusMap Series; reading every series
        # of the study is the fallback should a file's header disagree with it.
        narrowed = candidates.filter(source_series_uids__contains=[series_uid])
        candidates = narrowed if narrowed.exists() else candidates
    files = [stored for series in candidates for stored in series_files(series)]
    if series_uid is not None:
        files = [stored for stored in files if stored.series_uid == series_uid]
    return files


def get_series_files(study_uid, series_uid):
    files = study_files(get_study(study_uid), series_uid)
    if not files:
        raise NotFound(_("Series %(series)s of study %(study)s was not found.")
                       % {"series": series_uid, "study": study_uid})
    return files


def get_instance_file(study_uid, series_uid, sop_uid):
    rows = dicom_instances().filter(sop_instance_uid=sop_uid,
                                    series__study__study_instance_uid=study_uid)
    instance = rows.select_related("series").first()
    if instance is not None:
        for stored in series_files(instance.series):
            if stored.sop_instance_uid == sop_uid and stored.series_uid == series_uid:
                return stored
    raise NotFound(_("Instance %(instance)s of series %(series)s in study %(study)s was not found.")
                   % {"instance": sop_uid, "series": series_uid, "study": study_uid})


def candidate_series(study_uids=None, series_uids=None):
    """Return the PannusMap Series that may hold the given DICOM studies and series (None: any)."""
    queryset = series_with_dicom().select_related("study").order_by("study_id", "pk")
    if study_uids:
        queryset = queryset.filter(study__study_instance_uid__in=study_uids)
    if series_uids:
        matches = Q()
        for uid in series_uids:
            matches |= Q(source_series_uids__contains=[uid])
        queryset = queryset.filter(matches)
    return queryset
