"""Import into the database: the real prostate series, the phantom round trip, uploads."""

import io
import json
import zipfile

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from annotations.models import ImportJob, Instance, Series

from .conftest import SHARED_DATA, run_worker_until_idle

PROSTATE = SHARED_DATA / "prostate_dce_siemens"
needs_prostate = pytest.mark.skipif(
    not PROSTATE.is_dir(), reason=f"real test data missing: {PROSTATE}"
)


def import_json(*paths):
    out = io.StringIO()
    call_command("import_dicom", *map(str, paths), "--json", stdout=out)
    return json.loads(out.getvalue())


@needs_prostate
def test_prostate_imports_as_one_series(reference_data):
    report = import_json(PROSTATE)
    assert len(report["series"]) == 1
    series = report["series"][0]
    assert series["shape"] == [40, 4, 308, 384]
    assert series["phase_times_s"][0] == 0.0
    assert series["phase_times_s"][-1] == pytest.approx(266.3, abs=0.5)
    assert np.all(np.diff(series["phase_times_s"]) > 6.5)
    assert "AcquisitionTime" in series["time_source"]
    assert series["pixel_spacing_mm"] == pytest.approx([0.7890625, 0.7890625])


@needs_prostate
def test_prostate_phase_means_follow_readme(reference_data):
    series = Series.objects.get(pk=import_json(PROSTATE)["series"][0]["id"])
    means = series.load_volume().mean(axis=(1, 2, 3))
    assert means[0] == pytest.approx(92.6, abs=0.1)
    assert means[39] == pytest.approx(141.5, abs=0.1)


@needs_prostate
def test_prostate_import_is_idempotent(reference_data):
    first = import_json(PROSTATE)
    second = import_json(PROSTATE)
    assert second["series"][0]["id"] == first["series"][0]["id"]
    assert second["series"][0]["created"] is False
    assert Series.objects.count() == 1
    assert Instance.objects.count() == 160


@needs_prostate
def test_prostate_report_lists_every_file(reference_data):
    report = import_json(PROSTATE)
    statuses = {entry["path"]: entry["status"] for entry in report["files"]}
    assert sum(status == "imported" for status in statuses.values()) == 160
    assert statuses["README.md"] == "skipped"
    masks = [entry for entry in report["files"] if entry["path"].startswith("masks/")]
    assert len(masks) == 16
    assert all(entry["status"] == "excluded" for entry in masks)


def test_phantom_round_trip(reference_data, phantom_cohort):
    report = import_json(phantom_cohort / "PH002" / "dicom")
    series = Series.objects.get(pk=report["series"][0]["id"])
    truth = np.load(phantom_cohort / "PH002" / "truth.npz")["volume"]
    assert series.shape == truth.shape
    assert np.array_equal(series.load_volume(), truth)
    written = json.loads((phantom_cohort / "PH002" / "truth.json").read_text())
    assert series.phase_times_s == pytest.approx(written["phase_times_s"])
    assert series.study.subject.pseudonym == "PH002"


def test_folder_without_dicom_fails(reference_data, tmp_path):
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.raises(CommandError, match="No dynamic series"):
        call_command("import_dicom", str(tmp_path), stdout=io.StringIO())


def test_unsafe_zip_is_rejected(reference_data, tmp_path):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("../../escape.dcm", b"DICM")
    with pytest.raises(CommandError, match="escape.dcm"):
        call_command("import_dicom", str(archive), stdout=io.StringIO())
    assert not (tmp_path.parent / "escape.dcm").exists()
    assert Series.objects.count() == 0


def zip_of(folder):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for path in sorted(folder.rglob("*.dcm")):
            bundle.write(path, path.relative_to(folder).as_posix())
    buffer.seek(0)
    buffer.name = "study.zip"
    return buffer


def test_annotator_cannot_upload(annotator_a, client):
    client.force_login(annotator_a)
    response = client.post("/import/", {"files": [io.BytesIO(b"x")]})
    assert response.status_code == 403


def test_empty_upload_is_400(admin_user, client):
    client.force_login(admin_user)
    response = client.post("/import/", {})
    assert response.status_code == 400
    assert response.json()["code"] == "no_files"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_zip_upload_imports_in_worker(
    reference_data, admin_user, client, phantom_cohort, worker_env
):
    client.force_login(admin_user)
    response = client.post("/import/", {"files": [zip_of(phantom_cohort / "PH001" / "dicom")]})
    assert response.status_code == 201
    run_worker_until_idle(worker_env)

    job = ImportJob.objects.get(pk=response.json()["job"])
    assert job.status == ImportJob.Status.DONE, job.error
    assert job.report["series"][0]["shape"] == [27, 6, 96, 96]
    assert sum(entry["status"] == "imported" for entry in job.report["files"]) == 27 * 6
    page = client.get(f"/import/{job.pk}/")
    assert b"27 \xc3\x97 6 \xc3\x97 96 \xc3\x97 96" in page.content


def test_upload_rejects_unknown_choice(admin_user, client):
    client.force_login(admin_user)
    response = client.post("/import/", {"files": [io.BytesIO(b"x")], "partial_phase": "pad"})
    assert response.status_code == 400
    assert "partial_phase" in response.json()["detail"]
    assert ImportJob.objects.count() == 0


def test_upload_keeps_folders_inside_upload(admin_user, client, settings):
    from annotations.views import upload_relative_path

    class Upload:
        name = "image30.dcm"

    used = set()
    assert (
        str(upload_relative_path("study/masks/cap/image30.dcm", Upload, 0, used))
        == "study/masks/cap/image30.dcm"
    )
    assert (
        str(upload_relative_path("study/masks/cap/image30.dcm", Upload, 1, used))
        == "study/masks/cap/image30 (2).dcm"
    )
    assert str(upload_relative_path("../../etc/passwd", Upload, 2, used)) == "etc/passwd"
    assert str(upload_relative_path("/abs/C:/x.dcm", Upload, 3, used)) == "abs/x.dcm"
    assert str(upload_relative_path("", Upload, 4, used)) == "image30.dcm"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_upload_without_dicom_fails_with_advice(reference_data, admin_user, client, worker_env):
    client.force_login(admin_user)
    notes = io.BytesIO(b"just text")
    notes.name = "notes.txt"
    response = client.post("/import/", {"files": [notes], "paths": ["folder/notes.txt"]})
    run_worker_until_idle(worker_env)

    job = ImportJob.objects.get(pk=response.json()["job"])
    assert job.status == ImportJob.Status.FAILED
    assert "No dynamic series" in job.error
    assert job.report["files"][0]["path"] == "folder/notes.txt"
