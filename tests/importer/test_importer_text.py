"""Character sets and de-identification."""

import json
import logging
import re

import numpy as np
import pydicom
import pytest
from pydicom.dataelem import DataElement

from annotations.importer import ImportOptions, import_paths


def import_with_text(tmp_path, dicom, charset, name: bytes, description: bytes):
    def edit(ds, p, s):
        ds.SpecificCharacterSet = charset
        ds.add(DataElement(0x00100010, "PN", name))
        ds.add(DataElement(0x0008103E, "LO", description))

    dicom.write_series(dicom.f0_series(edit=edit), tmp_path / "upload")
    result = import_paths([tmp_path / "upload"])
    assert len(result.series) == 1
    return result


def test_malformed_latin1_term(tmp_path, dicom):
    """'ISO 2022 IR 100' with Latin-1 bytes decodes; pixels import."""
    result = import_with_text(tmp_path, dicom, "ISO 2022 IR 100", "Müller^Jörg".encode("latin-1"),
                              "Kontrast Hände".encode("latin-1"))
    series = result.series[0]
    assert series.patient_name == "Müller^Jörg"
    assert series.series_description == "Kontrast Hände"
    np.testing.assert_array_equal(series.volume, dicom.f0_expected())


def test_utf8_cyrillic_and_cjk(tmp_path, dicom):
    """ISO_IR 192 with Cyrillic and CJK text."""
    result = import_with_text(tmp_path, dicom, "ISO_IR 192", "Иванов^Пётр".encode(),
                              "手 DCE 動態".encode())
    series = result.series[0]
    assert series.patient_name == "Иванов^Пётр"
    assert series.series_description == "手 DCE 動態"
    assert series.warnings == []


def test_undeclared_cp1251_replaced(tmp_path, dicom):
    """ISO_IR 6 declared, cp1251 bytes: replacement characters and a warning."""
    result = import_with_text(tmp_path, dicom, "ISO_IR 6", "Иванов^Пётр".encode("cp1251"),
                              "Рука".encode("cp1251"))
    series = result.series[0]
    assert "\ufffd" in series.patient_name
    assert "\ufffd" in series.series_description
    assert any(w.startswith("PatientName: non-ASCII bytes") for w in series.warnings)
    assert all(report.warnings for report in result.files)
    np.testing.assert_array_equal(series.volume, dicom.f0_expected())


def test_iso2022_japanese_name(tmp_path, dicom):
    """ISO 2022 IR 87 escape sequences in PatientName decode."""
    name = b"Yamada^Tarou=" + "山田^太郎".encode("iso2022_jp")
    result = import_with_text(tmp_path, dicom, ["ISO 2022 IR 6", "ISO 2022 IR 87"], name,
                              b"hand DCE")
    assert result.series[0].patient_name == "Yamada^Tarou=山田^太郎"


@pytest.mark.filterwarnings("ignore:Unknown encoding 'ISO_IR 999'")
def test_unknown_charset_does_not_abort(tmp_path, dicom):
    result = import_with_text(tmp_path, dicom, "ISO_IR 999", b"Doe^Jane", b"DCE")
    series = result.series[0]
    assert series.series_description == "DCE"
    assert any("SpecificCharacterSet" in w for w in series.warnings)


def test_pseudonym_replaces_identity(f0_folder):
    result = import_paths([f0_folder], ImportOptions(deidentify=True, pseudonym_salt="s1"))
    series = result.series[0]
    assert re.fullmatch(r"SUBJ-[0-9A-F]{10}", series.patient_id)
    assert series.patient_name == series.patient_id
    text = json.dumps(result.to_dict())
    assert "SYN001" not in text
    assert "Test^Synthetic" not in text


def test_pseudonym_depends_on_salt(f0_folder):
    first = import_paths([f0_folder], ImportOptions(deidentify=True, pseudonym_salt="a"))
    again = import_paths([f0_folder], ImportOptions(deidentify=True, pseudonym_salt="a"))
    other = import_paths([f0_folder], ImportOptions(deidentify=True, pseudonym_salt="b"))
    assert first.series[0].patient_id == again.series[0].patient_id
    assert first.series[0].patient_id != other.series[0].patient_id


def test_deidentified_copies_written(f0_folder, tmp_path):
    options = ImportOptions(deidentify=True, work_dir=tmp_path / "work")
    series = import_paths([f0_folder], options).series[0]
    instance = series.instances[0]
    assert instance.original_path.startswith(str(f0_folder))
    assert instance.source_path.startswith(str(tmp_path / "work"))
    copy = pydicom.dcmread(instance.source_path)
    original = pydicom.dcmread(instance.original_path)
    assert str(copy.PatientName) == series.patient_id
    assert copy.PatientID == series.patient_id
    assert "PatientBirthDate" not in copy
    assert "InstitutionName" not in copy
    assert copy.PatientIdentityRemoved == "YES"
    assert copy.SOPInstanceUID == original.SOPInstanceUID
    assert copy.PixelData == original.PixelData


def test_copies_removed_with_result(f0_folder):
    from pathlib import Path

    result = import_paths([f0_folder], ImportOptions(deidentify=True))
    copy = Path(result.series[0].instances[0].source_path)
    assert copy.exists()
    result.cleanup()
    assert not copy.exists()


def test_logs_carry_no_identity(f0_folder, caplog):
    with caplog.at_level(logging.DEBUG, logger="annotations.importer"):
        import_paths([f0_folder])
    assert caplog.records
    assert "SYN001" not in caplog.text
    assert "Synthetic" not in caplog.text


@pytest.mark.parametrize("deidentify", [False, True])
def test_metadata_blanked_only_when_asked(f0_folder, deidentify):
    series = import_paths([f0_folder], ImportOptions(deidentify=deidentify)).series[0]
    assert (series.patient_id == "SYN001") is not deidentify
    assert series.study_date == "20261203"
