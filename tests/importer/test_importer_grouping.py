"""Slice gaps, mixed uploads, non-magnitude images, incomplete phases."""

import shutil

import numpy as np
import pytest

from annotations.importer import ImportOptions, import_paths


def series_with_positions(dicom, z_values, phases=2):
    def edit(ds, p, s):
        ds.ImagePositionPatient = [0.0, 0.0, z_values[s - 1]]

    return dicom.f0_series(phases=phases, slices=len(z_values), edit=edit)


def test_slice_gap_warned(tmp_path, dicom):
    """A 95 mm gap is reported with its positions; true positions are kept."""
    z = [0, 1.6, 3.2, 4.8, 100.0, 101.6]
    dicom.write_series(series_with_positions(dicom, z), tmp_path / "upload")
    series = import_paths([tmp_path / "upload"]).series[0]
    assert series.volume.shape == (2, 6, 8, 8)
    np.testing.assert_allclose(series.slice_positions_mm, z)
    gaps = [w for w in series.warnings if "non-uniform slice spacing" in w]
    assert len(gaps) == 1
    assert "gap between 4.8 and 100 mm" in gaps[0]


def test_position_jitter_tolerated(tmp_path, dicom):
    """Jitter of 0.002 mm counts as uniform 1.6 mm spacing, without a warning."""
    z = [0, 1.6, 3.2011, 4.7998, 6.4002, 8.0]
    dicom.write_series(series_with_positions(dicom, z), tmp_path / "upload")
    series = import_paths([tmp_path / "upload"]).series[0]
    assert series.volume.shape == (2, 6, 8, 8)
    np.testing.assert_allclose(np.median(np.diff(series.slice_positions_mm)), 1.6, atol=1e-3)
    assert series.warnings == []


@pytest.fixture
def mixed_upload(tmp_path, dicom):
    """F0 + 2 byte-identical copies + a second series + 2 conflicts + a 3-D subset."""
    folder = tmp_path / "mixed"
    paths = dicom.write_series(dicom.f0_series(), folder / "f0")
    shutil.copyfile(paths[0], folder / "copy_a.dcm")
    shutil.copyfile(paths[5], folder / "copy_b.dcm")

    def post_contrast(ds, p, s):
        ds.SeriesInstanceUID = dicom.uid("f0", "post")
        ds.SOPInstanceUID = dicom.uid("f0", "post", s)
        ds.SeriesDescription = ds.ProtocolName = "T1 post contrast"
        del ds.TemporalPositionIdentifier

    dicom.write_series(dicom.f0_series(phases=1, edit=post_contrast), folder / "post")

    conflicts = []
    for slice_ in (2, 3):
        ds = dicom.f0_image(2, slice_)
        ds.SOPInstanceUID = dicom.uid("f0", "conflict", slice_)
        dicom.set_pixels(ds, np.full((8, 8), 999, dtype=np.uint16))
        conflicts.append(ds)
    dicom.write_series(conflicts, folder / "zz_conflict")

    subset = []
    for index in range(4):
        ds = dicom.f0_image(1, 1)
        del ds.TemporalPositionIdentifier
        ds.SOPInstanceUID = dicom.uid("f0", "subset", index)
        ds.ImagePositionPatient = [0.0, 0.0, 20.0 + 3 * index]
        subset.append(ds)
    dicom.write_series(subset, folder / "subset")
    return dicom.zip_folder(folder, tmp_path / "mixed.zip")


def test_mixed_upload_keeps_f0(mixed_upload, dicom):
    result = import_paths([mixed_upload])
    assert len(result.series) == 1
    np.testing.assert_array_equal(result.series[0].volume, dicom.f0_expected())


def test_duplicates_reported(mixed_upload):
    """Of each identical pair the file whose path sorts first is kept, the other reported."""
    result = import_paths([mixed_upload])
    status = {r.path: r.status for r in result.files}
    assert status["mixed.zip/copy_a.dcm"] == "imported"
    assert status["mixed.zip/f0/IM0001.dcm"] == "duplicate"
    assert status["mixed.zip/copy_b.dcm"] == "imported"
    assert status["mixed.zip/f0/IM0006.dcm"] == "duplicate"
    assert result.counts()["duplicate"] == 2


def test_second_series_kept_apart(mixed_upload):
    result = import_paths([mixed_upload])
    post = [r for r in result.files if "/post/" in r.path]
    assert len(post) == 4
    assert {(r.status, r.code) for r in post} == {("excluded", "non-dynamic")}


def test_conflicts_reported_not_picked(mixed_upload):
    result = import_paths([mixed_upload])
    conflicts = [r for r in result.files if "zz_conflict" in r.path]
    assert {(r.status, r.code) for r in conflicts} == {("excluded", "conflict")}
    assert any("conflict" in w for w in result.series[0].warnings)
    assert 999 not in result.series[0].volume


def test_subset_reported_as_3d(mixed_upload):
    result = import_paths([mixed_upload])
    subset = [r for r in result.files if "/subset/" in r.path]
    assert len(subset) == 4
    assert {r.reason for r in subset} == {"not a dynamic series (1 phase)"}


def test_report_counts_match_instances(mixed_upload):
    result = import_paths([mixed_upload])
    assert result.counts()["imported"] == len(result.series[0].instances) == 12


def test_magnitude_only_volume(tmp_path, dicom):
    """Phase and subtraction images in the series are reported, not stacked."""
    def magnitude(ds, p, s):
        ds.ImageType = ["ORIGINAL", "PRIMARY", "M_FFE", "M", "FFE"]
        ds.RescaleSlope = "2.15067"

    def phase_map(ds, p, s):
        ds.ImageType = ["ORIGINAL", "PRIMARY", "PHASE MAP", "P", "FFE"]
        ds.RescaleSlope = "1.53455"
        ds.RescaleIntercept = -3142
        ds.SOPInstanceUID = dicom.uid("phase", p, s)

    def subtraction(ds, p, s):
        ds.ImageType = ["DERIVED", "SECONDARY", "SUB"]
        ds.SOPInstanceUID = dicom.uid("sub", s)

    folder = tmp_path / "upload"
    dicom.write_series(dicom.f0_series(edit=magnitude), folder / "m")
    dicom.write_series(dicom.f0_series(edit=phase_map), folder / "p")
    dicom.write_series(dicom.f0_series(phases=1, edit=subtraction), folder / "sub")
    result = import_paths([folder])

    assert len(result.series) == 1
    series = result.series[0]
    assert series.volume.shape == (3, 4, 8, 8)
    np.testing.assert_allclose(series.volume, dicom.f0_expected() * 2.15067, rtol=1e-6)
    codes = {r.code for r in result.files if r.status == "excluded"}
    assert codes == {"phase-image", "derived-image"}
    assert result.counts()["excluded"] == 16


def test_localizer_excluded(tmp_path, dicom):
    def localizer(ds, p, s):
        ds.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
        ds.SOPInstanceUID = dicom.uid("loc", s)

    dicom.write_series(dicom.f0_series(), tmp_path / "upload" / "dce")
    dicom.write_series(dicom.f0_series(phases=1, slices=3, edit=localizer),
                       tmp_path / "upload" / "loc")
    result = import_paths([tmp_path / "upload"])
    assert len(result.series) == 1
    assert {r.code for r in result.files if r.path.startswith("loc/")} == {"localizer"}


def without_last_file(dicom):
    return dicom.f0_series()[:-1]


def test_partial_phase_dropped(tmp_path, dicom):
    dicom.write_series(without_last_file(dicom), tmp_path / "upload")
    result = import_paths([tmp_path / "upload"])
    series = result.series[0]
    assert series.volume.shape == (2, 4, 8, 8)
    np.testing.assert_array_equal(series.volume, dicom.f0_expected()[:2])
    dropped = [r for r in result.files if r.code == "partial-phase"]
    assert len(dropped) == 3
    assert any("incomplete last phase (3 of 4 slices) dropped" in w for w in series.warnings)


def test_partial_phase_kept_as_nan(tmp_path, dicom):
    dicom.write_series(without_last_file(dicom), tmp_path / "upload")
    result = import_paths([tmp_path / "upload"], ImportOptions(partial_phase="keep"))
    series = result.series[0]
    assert series.volume.shape == (3, 4, 8, 8)
    assert series.volume.dtype == np.float32
    assert np.isnan(series.volume[2, 3]).all()
    np.testing.assert_array_equal(series.volume[:2], dicom.f0_expected()[:2])
    np.testing.assert_array_equal(series.volume[2, :3], dicom.f0_expected()[2, :3])
    assert any("filled with NaN: (phase 2, slice 3)" in w for w in series.warnings)


def test_middle_gap_filled_nan(tmp_path, dicom):
    """A file missing from a middle phase becomes a NaN slice with a warning, never zeros."""
    datasets = dicom.f0_series()
    del datasets[5]  # phase 2, slice 2
    dicom.write_series(datasets, tmp_path / "upload")
    series = import_paths([tmp_path / "upload"]).series[0]
    assert series.volume.shape == (3, 4, 8, 8)
    assert np.isnan(series.volume[1, 1]).all()
    assert any("(phase 1, slice 1)" in w for w in series.warnings)


def test_per_phase_series_merged(tmp_path, dicom):
    """One SeriesInstanceUID per phase (as in Siemens exports) merges into one series."""
    def per_phase(ds, p, s):
        ds.SeriesInstanceUID = dicom.uid("f0", "phase-series", p)
        ds.SeriesNumber = 10 + p

    dicom.write_series(dicom.f0_series(edit=per_phase), tmp_path / "upload")
    series = import_paths([tmp_path / "upload"]).series[0]
    np.testing.assert_array_equal(series.volume, dicom.f0_expected())
    assert series.series_instance_uids == [dicom.uid("f0", "phase-series", p) for p in (1, 2, 3)]


def test_two_dynamic_series_apart(tmp_path, dicom):
    """Two complete dynamic series with equal descriptions stay two series."""
    def repeat(ds, p, s):
        ds.SeriesInstanceUID = dicom.uid("f0", "repeat")
        ds.SOPInstanceUID = dicom.uid("f0", "repeat", p, s)
        ds.SeriesNumber = 6

    dicom.write_series(dicom.f0_series(), tmp_path / "upload" / "a")
    dicom.write_series(dicom.f0_series(edit=repeat), tmp_path / "upload" / "b")
    result = import_paths([tmp_path / "upload"])
    assert [s.volume.shape for s in result.series] == [(3, 4, 8, 8), (3, 4, 8, 8)]


def test_no_dynamic_series_summary(tmp_path, dicom):
    dicom.write_series(dicom.f0_series(phases=1), tmp_path / "upload")
    result = import_paths([tmp_path / "upload"])
    assert result.series == []
    assert result.warnings == [
        "No dynamic series was found in 4 file(s) (not imported: non-dynamic 4); see the file "
        "report for each file's reason."
    ]
