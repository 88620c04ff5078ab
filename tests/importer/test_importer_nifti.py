"""4-D NIfTI input with a JSON sidecar."""

import json

import nibabel
import numpy as np
import pytest

from annotations.importer import import_paths


def write_nifti(folder, data, affine, sidecar=None, name="dce"):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.nii.gz"
    nibabel.save(nibabel.Nifti1Image(data, affine), path)
    if sidecar is not None:
        (folder / f"{name}.json").write_text(json.dumps(sidecar))
    return path


def labelled_data(shape=(5, 4, 3, 6)):
    """Return (i, j, k, t) data whose value encodes 1000 t + 100 k + 10 j + i."""
    i, j, k, t = np.indices(shape)
    return (1000 * t + 100 * k + 10 * j + i).astype(np.int16)


def test_axis_mapping(tmp_path):
    """Volume[t, k, j, i] equals data[i, j, k, t]."""
    data = labelled_data()
    write_nifti(tmp_path / "in", data, np.diag([0.5, 0.7, 2.0, 1.0]),
                {"RepetitionTime": 4.5})
    series = import_paths([tmp_path / "in"]).series[0]
    assert series.volume.shape == (6, 3, 4, 5)
    assert series.volume.dtype == np.int16
    assert series.volume[2, 1, 3, 4] == 2000 + 100 + 30 + 4


def test_repetition_time_axis(tmp_path):
    write_nifti(tmp_path / "in", labelled_data(), np.diag([0.5, 0.7, 2.0, 1.0]),
                {"RepetitionTime": 4.5, "NumberOfVolumes": 6})
    series = import_paths([tmp_path / "in"]).series[0]
    np.testing.assert_allclose(series.phase_times_s, np.arange(6) * 4.5)
    assert series.time_source == "RepetitionTime (JSON sidecar)"
    assert series.time_is_estimated is False


def test_acquisition_times_axis(tmp_path):
    times = [100.0, 103.0, 110.0, 118.5, 130.0, 150.0]
    write_nifti(tmp_path / "in", labelled_data(), np.eye(4), {"AcquisitionTimes_s": times})
    series = import_paths([tmp_path / "in"]).series[0]
    np.testing.assert_allclose(series.phase_times_s, np.array(times) - 100.0)


def test_no_sidecar_is_estimated(tmp_path):
    write_nifti(tmp_path / "in", labelled_data(), np.eye(4))
    series = import_paths([tmp_path / "in"]).series[0]
    assert series.time_is_estimated is True
    np.testing.assert_allclose(series.phase_times_s, np.arange(6))


def test_geometry_from_affine(tmp_path):
    """RAS affine diag(0.5, 0.7, 2) at (10, 20, 30): spacing, LPS orientation, positions."""
    affine = np.diag([0.5, 0.7, 2.0, 1.0])
    affine[:3, 3] = [10.0, 20.0, 30.0]
    write_nifti(tmp_path / "in", labelled_data(), affine, {"RepetitionTime": 1})
    series = import_paths([tmp_path / "in"]).series[0]
    assert series.pixel_spacing_mm == pytest.approx((0.7, 0.5))
    np.testing.assert_allclose(series.image_orientation_patient, [-1, 0, 0, 0, -1, 0])
    np.testing.assert_allclose(series.image_positions_patient[0], [-10, -20, 30])
    np.testing.assert_allclose(series.slice_positions_mm, [30, 32, 34])
    assert series.slice_thickness_mm == pytest.approx(2.0)


def test_descending_slices_reversed(tmp_path):
    """A negative k step is reversed so positions ascend along the normal."""
    affine = np.diag([0.5, 0.7, -2.0, 1.0])
    data = labelled_data()
    write_nifti(tmp_path / "in", data, affine, {"RepetitionTime": 1})
    series = import_paths([tmp_path / "in"]).series[0]
    assert np.all(np.diff(series.slice_positions_mm) > 0)
    assert series.volume[0, 0, 0, 0] == data[0, 0, 2, 0]


def test_sidecar_reported(tmp_path):
    write_nifti(tmp_path / "in", labelled_data(), np.eye(4), {"RepetitionTime": 2})
    files = {r.path: r for r in import_paths([tmp_path / "in"]).files}
    assert files["dce.nii.gz"].status == "imported"
    assert files["dce.json"].code == "sidecar"
    assert files["dce.json"].series_index == 0


def test_three_d_nifti_excluded(tmp_path):
    write_nifti(tmp_path / "in", labelled_data()[..., 0], np.eye(4))
    result = import_paths([tmp_path / "in"])
    assert result.series == []
    assert result.files[0].code == "non-dynamic"


def test_wrong_time_count_is_error(tmp_path):
    write_nifti(tmp_path / "in", labelled_data(), np.eye(4), {"AcquisitionTimes_s": [0, 1]})
    report = import_paths([tmp_path / "in"]).files[1]
    assert (report.status, report.code) == ("error", "bad-sidecar")
