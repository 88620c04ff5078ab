"""QIDO-RS search: the study, series and instance records and the attributes each level returns.

A record is a DICOM JSON object with every attribute that matching may look at. Study records
take the patient and study attributes of one file of the study, so listing studies reads one
header per study. Series records hold the attributes shared by every file of the DICOM series.
"""

from itertools import groupby
from pathlib import Path

from django.conf import settings
from django.db.models import Count

from ..models import Series
from .catalogue import (
    SOP_UID,
    candidate_series,
    dicom_instances,
    first_value,
    get_series_files,
    get_study,
    group_by_series,
    series_files,
    studies_with_dicom,
    study_files,
    study_header,
    tag_key,
)


def _keys(*keywords):
    return tuple(tag_key(keyword) for keyword in keywords)


AVAILABILITY = tag_key("InstanceAvailability")
RETRIEVE_URL = tag_key("RetrieveURL")
STUDY_COMPUTED = _keys("InstanceAvailability", "ModalitiesInStudy", "RetrieveURL",
                       "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances")
STUDY_DEFAULTS = _keys(
    "StudyDate", "StudyTime", "AccessionNumber", "ReferringPhysicianName", "TimezoneOffsetFromUTC",
    "StudyDescription", "PatientName", "PatientID", "PatientBirthDate", "PatientSex",
    "StudyInstanceUID", "StudyID",
) + STUDY_COMPUTED
SERIES_COMPUTED = _keys("InstanceAvailability", "RetrieveURL", "NumberOfSeriesRelatedInstances")
SERIES_DEFAULTS = _keys(
    "Modality", "TimezoneOffsetFromUTC", "SeriesDescription", "SeriesInstanceUID", "SeriesNumber",
    "SeriesDate", "SeriesTime", "PerformedProcedureStepStartDate", "PerformedProcedureStepStartTime",
    "RequestAttributesSequence", "StudyInstanceUID",
) + SERIES_COMPUTED
INSTANCE_DEFAULTS = _keys(
    "SOPClassUID", "SOPInstanceUID", "InstanceAvailability", "TimezoneOffsetFromUTC", "RetrieveURL",
    "InstanceNumber", "Rows", "Columns", "BitsAllocated", "NumberOfFrames", "StudyInstanceUID",
    "SeriesInstanceUID",
)
# Patient attributes (group 0010) and these belong to the study, not to a series or an image.
STUDY_LEVEL = set(_keys(
    "StudyInstanceUID", "StudyDate", "StudyTime", "AccessionNumber", "ReferringPhysicianName",
    "StudyID", "StudyDescription", "TimezoneOffsetFromUTC", "IssuerOfAccessionNumberSequence",
    "PhysiciansOfRecord", "NameOfPhysiciansReadingStudy", "ProcedureCodeSequence",
))


def defaults(level, study_in_path, series_in_path=False):
    """Return the keys returned by default at a level ("study", "series" or "instance").

    A search above the study (or series) in the URL also returns that level's attributes.
    """
    keys = {"study": STUDY_DEFAULTS, "series": SERIES_DEFAULTS, "instance": INSTANCE_DEFAULTS}[level]
    keys = set(keys)
    if level != "study" and not study_in_path:
        keys |= set(STUDY_DEFAULTS) - set(STUDY_COMPUTED)
    if level == "instance" and not series_in_path:
        keys |= set(SERIES_DEFAULTS) - set(SERIES_COMPUTED)
    return keys


def element(vr, *values):
    return {"vr": vr, "Value": list(values)}


def search_studies(query, links):
    """Return the study records that match `query`, oldest study first."""
    studies = studies_with_dicom().order_by("pk")
    uids = query.uids("StudyInstanceUID")
    if uids is not None:
        studies = studies.filter(study_instance_uid__in=uids)
    studies = list(studies)
    paths = _first_file_paths(studies)
    modalities, series_counts = _series_summary(studies)
    instance_counts = _instance_counts(studies)
    records = []
    for study in studies:
        record = {key: value for key, value in study_header(paths[study.pk]).items() if is_study_level(key)}
        record.update({
            tag_key("ModalitiesInStudy"): element("CS", *sorted(modalities[study.pk])),
            tag_key("NumberOfStudyRelatedSeries"): element("IS", series_counts[study.pk]),
            tag_key("NumberOfStudyRelatedInstances"): element("IS", instance_counts[study.pk]),
            AVAILABILITY: element("CS", "ONLINE"),
            RETRIEVE_URL: element("UR", links.study(study.study_instance_uid)),
        })
        records.append(record)
    return [record for record in records if query.matches(record)]


def is_study_level(key):
    return key.startswith("0010") or key in STUDY_LEVEL


def _first_file_paths(studies):
    rows = (dicom_instances().filter(series__study__in=studies)
            .order_by("series__study_id", "series_id", "phase_index", "slice_index", "frame_index")
            .distinct("series__study_id").values_list("series__study_id", "storage_path"))
    return {study_pk: Path(settings.MEDIA_ROOT) / path for study_pk, path in rows}


def _series_summary(studies):
    """Return ({study pk: modalities}, {study pk: number of DICOM series})."""
    rows = (Series.objects.filter(study__in=studies, instances__storage_path__endswith=".dcm")
            .values_list("pk", "study_id", "modality", "source_series_uids").distinct())
    modalities, series_uids = {}, {}
    for pk, study_pk, modality, uids in rows:
        modalities.setdefault(study_pk, set()).add(modality)
        series_uids.setdefault(study_pk, set()).update(uids or [f"series {pk}"])
    return modalities, {pk: len(uids) for pk, uids in series_uids.items()}


def _instance_counts(studies):
    rows = (dicom_instances().filter(series__study__in=studies).values("series__study_id")
            .annotate(count=Count("sop_instance_uid", distinct=True)))
    return {row["series__study_id"]: row["count"] for row in rows}


def search_series(query, links, study_uid=None):
    """Return the DICOM series records that match `query`, within one study when given."""
    study_uids = {get_study(study_uid).study_instance_uid} if study_uid else query.uids("StudyInstanceUID")
    candidates = candidate_series(study_uids, query.uids("SeriesInstanceUID"))
    records = []
    for _study, members in groupby(candidates, key=lambda series: series.study_id):
        files = [stored for series in members for stored in series_files(series)]
        for series_members in group_by_series(files).values():
            record = series_record(series_members, links)
            if query.matches(record):
                records.append(record)
    return records


def series_record(files, links):
    """Return the record of one DICOM series: the attributes shared by all its files."""
    first, *others = [stored.header for stored in files]
    record = {key: value for key, value in first.items() if all(other.get(key) == value for other in others)}
    study_uid, series_uid = files[0].study_uid, files[0].series_uid
    record.update({
        tag_key("NumberOfSeriesRelatedInstances"): element("IS", len(files)),
        AVAILABILITY: element("CS", "ONLINE"),
        RETRIEVE_URL: element("UR", links.series(study_uid, series_uid)),
    })
    return record


def search_instances(query, links, study_uid=None, series_uid=None):
    """Return the instance records that match `query`, within a study or series when given."""
    if series_uid is not None:
        files = get_series_files(study_uid, series_uid)
    elif study_uid is not None:
        files = study_files(get_study(study_uid))
    else:
        candidates = candidate_series(query.uids("StudyInstanceUID"), query.uids("SeriesInstanceUID"))
        sop_uids = query.uids("SOPInstanceUID")
        if sop_uids is not None:
            candidates = candidates.filter(instances__sop_instance_uid__in=sop_uids)
        files = [stored for series in candidates for stored in series_files(series)]
    records = (instance_record(stored, links) for stored in files)
    return [record for record in records if query.matches(record)]


def instance_record(stored, links):
    record = dict(stored.header)
    url = links.instance(stored.study_uid, stored.series_uid, first_value(record, SOP_UID))
    record[AVAILABILITY] = element("CS", "ONLINE")
    record[RETRIEVE_URL] = element("UR", url)
    return record

