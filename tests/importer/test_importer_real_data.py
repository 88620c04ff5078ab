"""Real DICOM from ../shared/data: Siemens prostate DCE, QIBA DRO v4, pydicom stress files.

Skipped with a reason when the shared data folder is not present.
"""

import numpy as np
import pydicom
import pytest

from annotations.importer import import_paths
from annotations.importer.reading import decode_file_frames, read_header
from annotations.importer.records import SourceFile


@pytest.fixture(scope="module")
def prostate(dicom):
    return import_paths([dicom.shared_data("prostate_dce_siemens")])


def test_prostate_one_series(prostate):
    assert len(prostate.series) == 1
    series = prostate.series[0]
    assert series.volume.shape == (40, 4, 308, 384)
    assert len(series.series_instance_uids) == 40


def test_prostate_time_axis(prostate):
    series = prostate.series[0]
    assert series.time_source == "AcquisitionNumber+AcquisitionTime"
    assert series.phase_times_s[0] == 0.0
    assert series.phase_times_s[-1] == pytest.approx(266.3, abs=0.5)
    assert np.all(np.diff(series.phase_times_s) > 6.8)


def test_prostate_phase_means(prostate):
    """Whole-slab means per phase as listed in the data README (phase 1 and 40)."""
    volume = prostate.series[0].volume
    assert volume[0].mean() == pytest.approx(92.6, abs=0.05)
    assert volume[39].mean() == pytest.approx(141.5, abs=0.05)
    assert volume[7].mean() == pytest.approx(101.8, abs=0.05)


def test_prostate_slices_by_position(prostate):
    """Oblique slab: z steps by 1.198 mm, i.e. 1.25 mm along the tilted slice normal."""
    series = prostate.series[0]
    np.testing.assert_allclose(np.diff(series.image_positions_patient[:, 2]), 1.198, atol=0.001)
    np.testing.assert_allclose(np.diff(series.slice_positions_mm), 1.25, atol=0.001)
    locations = [float(pydicom.dcmread(i.source_path, stop_before_pixels=True).SliceLocation)
                 for i in series.instances if i.phase_index == 0]
    np.testing.assert_allclose(locations, [2.58417, 3.78219, 4.98022, 6.17824])


def test_prostate_masks_apart(prostate):
    masks = [r for r in prostate.files if r.path.startswith("masks/")]
    assert len(masks) == 16
    assert {(r.status, r.code) for r in masks} == {("excluded", "non-dynamic")}
    assert all("/masks/" not in i.source_path for i in prostate.series[0].instances)


@pytest.fixture(scope="module")
def qiba(dicom):
    return import_paths([dicom.shared_data("qiba_dro_v4_dce")])


def test_qiba_dynamic_series(qiba):
    assert len(qiba.series) == 1
    series = qiba.series[0]
    assert series.volume.shape == (661, 1, 200, 60)
    np.testing.assert_allclose(series.phase_times_s, np.arange(661) * 0.5)
    assert series.time_source == "AcquisitionTime"


def test_qiba_bolus_curve(qiba):
    """Whole-image mean: 20.4 at t = 0 and 33.4 at 330 s, as in the data README."""
    volume = qiba.series[0].volume
    assert volume[0].mean() == pytest.approx(20.4, abs=0.05)
    assert volume[660].mean() == pytest.approx(33.4, abs=0.05)


def test_qiba_flip_angle_files_excluded(qiba):
    fa = [r for r in qiba.files if r.path.startswith("fa")]
    assert len(fa) == 6
    assert {r.reason for r in fa} == {"not a dynamic series (1 phase)"}


def test_qiba_trailing_newline_time(dicom):
    """Fa*.dcm AcquisitionTime '085400.00\\n' is read leniently."""
    path = dicom.shared_data("qiba_dro_v4_dce") / "fa3.dcm"
    record = read_header(SourceFile(path, "fa3.dcm"))[0]
    assert record.acquisition_time_s % 86400 == 8 * 3600 + 54 * 60


STRESS_FILES = [
    "CT_small.dcm", "JPGExtended.dcm", "MR-SIEMENS-DICOM-WithOverlays.dcm", "MR2_J2KI.dcm",
    "MR_small.dcm", "MR_small_RLE.dcm", "MR_small_bigendian.dcm", "MR_small_implicit.dcm",
    "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm", "MR_small_padded.dcm",
    "MR_truncated.dcm", "emri_small.dcm", "emri_small_jpeg_2k_lossless.dcm", "image_dfl.dcm",
]


@pytest.fixture(scope="module")
def stress(dicom):
    return import_paths([dicom.shared_data("dicom_stress")])


def test_stress_every_file_reported(stress):
    reported = {r.path: r for r in stress.files}
    for name in STRESS_FILES:
        assert reported[name].reason, name


def test_stress_expected_outcomes(stress):
    outcome = {r.path: (r.status, r.code) for r in stress.files}
    assert outcome["MR_truncated.dcm"] == ("error", "truncated")
    assert outcome["MR_small_RLE.dcm"] == ("duplicate", "duplicate")
    assert outcome["emri_small.dcm"] == ("excluded", "multiframe-no-positions")
    assert outcome["CT_small.dcm"] == ("excluded", "non-dynamic")
    assert stress.series == []


@pytest.mark.parametrize("name", [
    "MR_small_RLE.dcm", "MR_small_bigendian.dcm", "MR_small_implicit.dcm",
    "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm", "MR_small_padded.dcm",
])
def test_stress_variants_equal_mr_small(dicom, name):
    folder = dicom.shared_data("dicom_stress")
    reference = decode_one(folder / "MR_small.dcm")
    np.testing.assert_array_equal(decode_one(folder / name), reference)


def test_stress_signed_range(dicom):
    values = decode_one(dicom.shared_data("dicom_stress") / "MR_small.dcm")
    assert (values.min(), values.max()) == (127, 2145)


def test_stress_deflated_decodes(dicom):
    values = decode_one(dicom.shared_data("dicom_stress") / "image_dfl.dcm")
    assert values.shape == (512, 512)


def decode_one(path):
    record = read_header(SourceFile(path, path.name))[0]
    return next(decode_file_frames(record, [0]))[1]
