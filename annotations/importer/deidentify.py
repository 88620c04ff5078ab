"""Pseudonymisation: a subset of the DICOM Basic Application Level Confidentiality Profile.

Applied to the metadata that `import_paths` returns and to the DICOM copies it writes when
ImportOptions.deidentify is set. PatientName and PatientID become a pseudonym: "SUBJ-" and 10
hex digits of a salted SHA-256 of PatientID. The other identifying attributes listed below
are emptied or removed.

NOTE: UIDs, dates and times are kept (as in the profile's "Retain UIDs" and "Retain
Longitudinal Temporal Information" options), because re-imports are matched by
SOPInstanceUID and the time axis is built from acquisition times.
"""

import hashlib
from dataclasses import replace
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from .reading import PHILIPS_MR_CREATOR
from .records import DescriptiveText

# Text fields of DescriptiveText emptied by pseudonymisation.
IDENTIFYING_FIELDS = (
    "patient_birth_date", "patient_sex", "patient_age", "accession_number", "institution_name",
    "referring_physician_name", "performing_physician_name", "operators_name", "study_id",
)
# Attributes removed from the DICOM copies.
REMOVED_KEYWORDS = (
    "PatientBirthDate", "PatientBirthTime", "PatientSex", "PatientAge", "PatientSize",
    "PatientWeight", "PatientAddress", "PatientTelephoneNumbers", "PatientMotherBirthName",
    "OtherPatientIDs", "OtherPatientIDsSequence", "OtherPatientNames", "MilitaryRank",
    "BranchOfService", "MedicalRecordLocator", "EthnicGroup", "Occupation",
    "AdditionalPatientHistory", "PatientComments", "AccessionNumber", "InstitutionName",
    "InstitutionAddress", "InstitutionalDepartmentName", "ReferringPhysicianName",
    "ReferringPhysicianAddress", "ReferringPhysicianTelephoneNumbers", "PerformingPhysicianName",
    "NameOfPhysiciansReadingStudy", "PhysiciansOfRecord", "OperatorsName", "RequestingPhysician",
    "StationName", "StudyID", "DeviceSerialNumber", "RequestAttributesSequence",
    "PerformedProcedureStepID", "ScheduledProcedureStepID", "RequestedProcedureID",
    "AdmissionID", "IssuerOfPatientID", "PatientInsurancePlanCodeSequence",
)
_PSEUDONYM_PREFIX = "SUBJ-"
# Private MR scale slope and intercept (Philips) are needed for the rescale convention.
_KEPT_PRIVATE_OFFSETS = (0x0D, 0x0E)


def pseudonym(patient_id: str, patient_name: str = "", salt: str = "") -> str:
    """Return a stable pseudonym for a patient, "SUBJ-" followed by 10 hex digits."""
    identity = patient_id or patient_name or "unknown"
    digest = hashlib.sha256(f"{salt}\x00{identity}".encode()).hexdigest()
    return _PSEUDONYM_PREFIX + digest[:10].upper()


def deidentify_text(text: DescriptiveText, salt: str = "") -> DescriptiveText:
    """Return a copy with PatientName/PatientID pseudonymised and identifying fields emptied."""
    alias = pseudonym(text.patient_id, text.patient_name, salt)
    cleared = {name: "" for name in IDENTIFYING_FIELDS}
    return replace(text, patient_id=alias, patient_name=alias, **cleared)


def deidentify_dataset(ds: Dataset, alias: str) -> None:
    """Pseudonymise a dataset in place (pixel data untouched)."""
    ds.PatientName = alias
    ds.PatientID = alias
    for keyword in REMOVED_KEYWORDS:
        if keyword in ds:
            delattr(ds, keyword)
    _remove_private_tags(ds)
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = "PannusMap basic profile subset (retain UIDs and dates)"


def _remove_private_tags(ds: Dataset) -> None:
    kept = set()
    try:
        block = ds.private_block(0x2005, PHILIPS_MR_CREATOR)
    except KeyError:
        block = None
    if block is not None:
        kept = {block.get_tag(offset) for offset in _KEPT_PRIVATE_OFFSETS}
        kept.add(Tag(block.group, block.block_start >> 8))  # the private creator element
    for elem in list(ds):
        if elem.tag.is_private and elem.tag not in kept:
            del ds[elem.tag]


def write_deidentified_copy(source: Path, target: Path, alias: str) -> None:
    """Write a pseudonymised copy of a DICOM file, in its original transfer syntax."""
    ds = pydicom.dcmread(source)
    deidentify_dataset(ds, alias)
    target.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(target, enforce_file_format=False)
