"""export_dataset: labelled TICs as CSV and NPZ, and one NIfTI label mask per series and annotator."""

import csv
import gzip
import io
import zipfile

import nibabel as nib
import numpy as np
import pytest
from django.core.management import CommandError, call_command

from annotations.rois import create_roi
from inference.roi import polygon_mask

SQUARE = [[10.0, 10.0], [15.0, 10.0], [15.0, 14.0], [10.0, 14.0]]
TRIANGLE = [[40.0, 40.0], [50.0, 40.0], [45.0, 48.0]]


@pytest.fixture
def exported(phantom_series, annotator_a, annotator_b, tmp_path):
    create_roi(phantom_series, annotator_a, 2, "synovitis", SQUARE)
    create_roi(phantom_series, annotator_b, 3, "muscle", TRIANGLE)
    out = tmp_path / "dataset.zip"
    call_command("export_dataset", str(out), stdout=io.StringIO())
    return zipfile.ZipFile(out)


def pixel_count(polygon, series):
    return int(polygon_mask(polygon, (series.rows, series.columns)).sum())


def test_npz_holds_every_roi_pixel(exported, phantom_series):
    arrays = np.load(io.BytesIO(exported.read("tics.npz")))
    expected = pixel_count(SQUARE, phantom_series) + pixel_count(TRIANGLE, phantom_series)
    assert arrays["tics"].shape == (expected, phantom_series.phases)
    assert sorted(set(arrays["label"])) == ["muscle", "synovitis"]
    assert set(arrays["annotator"]) == {"anna", "ben"}


def test_npz_tic_equals_volume(exported, phantom_series):
    arrays = np.load(io.BytesIO(exported.read("tics.npz")))
    slice_index, row, column = arrays["position"][0]
    volume = phantom_series.load_volume()
    assert np.array_equal(arrays["tics"][0], volume[:, slice_index, row, column])


def test_csv_matches_npz(exported):
    rows = list(csv.reader(io.StringIO(exported.read("tics.csv").decode())))
    arrays = np.load(io.BytesIO(exported.read("tics.npz")))
    assert rows[0][:8] == ["subject", "series_id", "annotator", "roi_id", "label", "slice", "row", "column"]
    assert len(rows) - 1 == len(arrays["tics"])
    assert float(rows[1][8]) == pytest.approx(arrays["tics"][0][0], rel=1e-5)


def test_masks_per_annotator(exported, phantom_series):
    names = sorted(name for name in exported.namelist() if name.startswith("masks/"))
    assert names == [f"masks/series_{phantom_series.pk}_anna.nii.gz", f"masks/series_{phantom_series.pk}_ben.nii.gz"]
    image = nib.Nifti1Image.from_bytes(gzip.decompress(exported.read(names[0])))
    mask = np.asarray(image.dataobj).transpose(2, 1, 0)
    assert mask.shape == (phantom_series.slices, phantom_series.rows, phantom_series.columns)
    synovitis_code = 3
    assert (mask == synovitis_code).sum() == pixel_count(SQUARE, phantom_series)
    assert set(np.unique(mask[2])) == {0, synovitis_code}


def test_readme_documents_columns(exported):
    readme = exported.read("README.txt").decode()
    assert "modality units" in readme
    assert "3 synovitis" in readme


def test_export_needs_zip_suffix(reference_data, tmp_path):
    with pytest.raises(CommandError, match=r"\.zip"):
        call_command("export_dataset", str(tmp_path / "out.tar"))


def test_admin_downloads_dataset(client, admin_user, phantom_series, annotator_a):
    create_roi(phantom_series, annotator_a, 2, "synovitis", SQUARE)
    client.force_login(admin_user)
    response = client.get("/export/dataset.zip")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert "tics.csv" in archive.namelist()


def test_annotator_cannot_download_dataset(client, annotator_a):
    client.force_login(annotator_a)
    assert client.get("/export/dataset.zip").status_code == 403
