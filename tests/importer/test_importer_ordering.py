"""F0 import and slice/phase order independent of InstanceNumber and file names."""

import random

import numpy as np
import pytest

from annotations.importer import ImportOptions, import_paths


def only_series(result):
    assert len(result.series) == 1, [r.reason for r in result.files]
    return result.series[0]


def test_f0_volume_values(f0_folder, dicom):
    series = only_series(import_paths([f0_folder]))
    assert series.volume.shape == (3, 4, 8, 8)
    assert series.volume.dtype == np.int16
    np.testing.assert_array_equal(series.volume, dicom.f0_expected())


def test_f0_time_axis_and_positions(f0_folder):
    series = only_series(import_paths([f0_folder]))
    np.testing.assert_allclose(series.phase_times_s, [0.0, 30.0, 60.0])
    np.testing.assert_allclose(series.slice_positions_mm, [0.0, 3.0, 6.0, 9.0])
    assert series.time_source == "TemporalPositionIdentifier+AcquisitionTime"
    assert series.time_is_estimated is False
    assert series.per_slice_times_s is None


def test_f0_metadata(f0_folder):
    series = only_series(import_paths([f0_folder]))
    assert series.pixel_spacing_mm == (0.5, 0.5)
    assert series.slice_thickness_mm == 3.0
    np.testing.assert_allclose(series.image_orientation_patient, [1, 0, 0, 0, 1, 0])
    np.testing.assert_allclose(series.image_positions_patient[:, 2], [0, 3, 6, 9])
    assert series.patient_id == "SYN001"
    assert series.series_description == "DCE T1"
    assert series.rescale_convention.startswith("DV = PV * RescaleSlope")
    assert series.warnings == []


def test_f0_report_lists_every_slot(f0_folder):
    result = import_paths([f0_folder])
    assert result.counts()["imported"] == 12
    slots = {(r.phase_index, r.slice_index) for r in result.files}
    assert slots == {(p, s) for p in range(3) for s in range(4)}
    instance_slots = {(i.phase_index, i.slice_index) for i in result.series[0].instances}
    assert instance_slots == slots


def test_f0_instances_name_sources(f0_folder):
    series = only_series(import_paths([f0_folder]))
    first = series.instances[0]
    assert (first.phase_index, first.slice_index, first.frame_index) == (0, 0, 0)
    assert first.source_path.startswith(str(f0_folder))
    assert len({i.sop_instance_uid for i in series.instances}) == 12


def test_result_to_dict_is_json_safe(f0_folder):
    import json

    result = import_paths([f0_folder])
    text = json.dumps(result.to_dict())
    assert "Test^Synthetic" not in text
    assert json.loads(text)["series"][0]["shape"] == [3, 4, 8, 8]


@pytest.mark.parametrize("variant", ["random", "descending"])
def test_instance_number_ignored(tmp_path, dicom, variant):
    """InstanceNumber permuted or running against time changes nothing."""
    numbers = list(range(1, 13))
    if variant == "random":
        random.Random(7).shuffle(numbers)
    else:
        numbers.reverse()
    datasets = dicom.f0_series()
    for ds, number in zip(datasets, numbers, strict=True):
        ds.InstanceNumber = number
    dicom.write_series(datasets, tmp_path / "upload")
    series = only_series(import_paths([tmp_path / "upload"]))
    np.testing.assert_array_equal(series.volume, dicom.f0_expected())
    np.testing.assert_allclose(series.phase_times_s, [0.0, 30.0, 60.0])


def test_random_names_and_order(tmp_path, dicom):
    """Random file names and a shuffled file list give the F0 result."""
    datasets = dicom.f0_series()
    names = [f"{random.Random(i).getrandbits(40):x}.dcm" for i in range(12)]
    paths = dicom.write_series(datasets, tmp_path / "upload", name=lambda i, ds: names[i])
    random.Random(3).shuffle(paths)
    series = only_series(import_paths(paths))
    np.testing.assert_array_equal(series.volume, dicom.f0_expected())
    np.testing.assert_allclose(series.slice_positions_mm, [0, 3, 6, 9])


def test_slices_sorted_along_normal(tmp_path, dicom):
    """Slices written in reverse z order still ascend along the slice normal."""
    datasets = dicom.f0_series()
    for ds in datasets:
        ds.ImagePositionPatient = [0.0, 0.0, 9.0 - ds.ImagePositionPatient[2]]
    dicom.write_series(datasets, tmp_path / "upload")
    series = only_series(import_paths([tmp_path / "upload"]))
    np.testing.assert_allclose(series.slice_positions_mm, [0, 3, 6, 9])
    np.testing.assert_array_equal(series.volume[:, 0], dicom.f0_expected()[:, 3])


def test_sagittal_normal_projection(tmp_path, dicom):
    """Sagittal IOP (0,1,0 / 0,0,-1) has normal -x, so slices ascend in -x."""
    datasets = dicom.f0_series()
    for ds in datasets:
        x = ds.ImagePositionPatient[2]
        ds.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]
        ds.ImagePositionPatient = [x, 5.0, 7.0]
    dicom.write_series(datasets, tmp_path / "upload")
    series = only_series(import_paths([tmp_path / "upload"]))
    np.testing.assert_allclose(series.slice_positions_mm, [-9, -6, -3, 0])
    np.testing.assert_allclose(series.image_positions_patient[:, 0], [9, 6, 3, 0])
    np.testing.assert_array_equal(series.volume, dicom.f0_expected()[:, ::-1])


def test_import_is_deterministic(f0_folder):
    first = import_paths([f0_folder]).to_dict()
    second = import_paths([f0_folder]).to_dict()
    assert first == second


def test_invalid_option_rejected():
    with pytest.raises(ValueError, match="partial_phase"):
        ImportOptions(partial_phase="pad")
