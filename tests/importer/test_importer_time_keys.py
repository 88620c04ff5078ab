"""Choice of the phase key and the time axis, including midnight and a missing TriggerTime."""

import numpy as np
import pytest

from annotations.importer import import_paths


def import_edited(tmp_path, dicom, edit, phases=3):
    dicom.write_series(dicom.f0_series(edit=edit, phases=phases), tmp_path / "upload")
    return import_paths([tmp_path / "upload"])


def only_series(result):
    assert len(result.series) == 1, [(r.path, r.reason) for r in result.files]
    return result.series[0]


def drop_temporal_position(ds):
    del ds.TemporalPositionIdentifier
    del ds.NumberOfTemporalPositions


def test_trigger_time_separates_phases(tmp_path, dicom):
    """Constant AcquisitionTime, phases separated by TriggerTime only."""
    def edit(ds, p, s):
        drop_temporal_position(ds)
        ds.AcquisitionTime = "101500.00"
        ds.TriggerTime = 45000 * (p - 1)

    series = only_series(import_edited(tmp_path, dicom, edit))
    assert series.volume.shape == (3, 4, 8, 8)
    np.testing.assert_allclose(series.phase_times_s, [0.0, 45.0, 90.0])
    assert series.time_source == "TriggerTime"
    np.testing.assert_array_equal(series.volume, dicom.f0_expected())


def test_spurious_trigger_time_ignored(tmp_path, dicom):
    """TriggerTime unique per file is ignored with a warning."""
    def edit(ds, p, s):
        ds.TriggerTime = 1000 * (4 * (p - 1) + s - 1)

    series = only_series(import_edited(tmp_path, dicom, edit))
    assert series.volume.shape == (3, 4, 8, 8)
    np.testing.assert_allclose(series.phase_times_s, [0.0, 30.0, 60.0])
    assert series.time_source == "TemporalPositionIdentifier+AcquisitionTime"
    assert any(w.startswith("TriggerTime") and "ignored" in w for w in series.warnings)


def test_slice_level_acquisition_time(tmp_path, dicom):
    """AcquisitionTime unique per image, slices acquired in order 2, 4, 1, 3."""
    order = {2: 0, 4: 1, 1: 2, 3: 3}

    def edit(ds, p, s):
        drop_temporal_position(ds)
        ds.AcquisitionTime = dicom.time_text(36000 + 60 * (p - 1) + 0.5 * order[s])

    series = only_series(import_edited(tmp_path, dicom, edit))
    assert series.volume.shape == (3, 4, 8, 8)
    np.testing.assert_allclose(series.phase_times_s, [0.0, 60.0, 120.0])
    expected_offsets = np.array([1.0, 0.0, 1.5, 0.5])
    np.testing.assert_allclose(series.per_slice_times_s[0], expected_offsets)
    np.testing.assert_allclose(series.per_slice_times_s[2], 120 + expected_offsets)
    assert series.time_source == "AcquisitionTime"
    np.testing.assert_array_equal(series.volume, dicom.f0_expected())


def no_time(ds):
    drop_temporal_position(ds)
    del ds.AcquisitionTime
    ds.RepetitionTime = 5


def test_instance_number_fallback(tmp_path, dicom):
    """No time attribute; InstanceNumber (phase-major) orders phases, marked estimated."""
    series = only_series(import_edited(tmp_path, dicom, lambda ds, p, s: no_time(ds)))
    np.testing.assert_array_equal(series.volume, dicom.f0_expected())
    assert series.time_is_estimated is True
    np.testing.assert_allclose(series.phase_times_s, [0.0, 1.0, 2.0])
    assert "index only" in series.time_source
    assert series.time_source.startswith("InstanceNumber")


def test_constant_temporal_position_ignored(tmp_path, dicom):
    """TemporalPositionIdentifier = 1 everywhere, ContentTime constant."""
    def edit(ds, p, s):
        ds.TemporalPositionIdentifier = 1
        ds.ContentTime = "120000"

    series = only_series(import_edited(tmp_path, dicom, edit))
    np.testing.assert_allclose(series.phase_times_s, [0.0, 30.0, 60.0])
    assert series.time_source == "AcquisitionTime"
    assert any("TemporalPositionIdentifier is 1 in every image" in w for w in series.warnings)


def test_nothing_separates_phases(tmp_path, dicom):
    """No time attribute and shuffled InstanceNumber: a clear error, no volume."""
    shuffled = [7, 2, 11, 5, 1, 12, 9, 3, 10, 4, 8, 6]

    def edit(ds, p, s):
        no_time(ds)
        ds.InstanceNumber = shuffled[4 * (p - 1) + s - 1]

    result = import_edited(tmp_path, dicom, edit)
    assert result.series == []
    assert len(result.errors) == 1
    assert "no attribute separates the phases" in result.errors[0]
    assert {r.status for r in result.files} == {"error"}
    assert {r.code for r in result.files} == {"no-phase-key"}


def test_acquisition_past_midnight(tmp_path, dicom):
    """Phases on both sides of midnight keep their order through AcquisitionDate."""
    def edit(ds, p, s):
        seconds = 86400 - 30 + 30 * (p - 1)
        ds.AcquisitionDate = "20261203" if seconds < 86400 else "20261204"
        ds.AcquisitionTime = dicom.time_text(seconds)

    series = only_series(import_edited(tmp_path, dicom, edit))
    np.testing.assert_allclose(series.phase_times_s, [0.0, 30.0, 60.0])
    np.testing.assert_array_equal(series.volume, dicom.f0_expected())


def test_midnight_without_date(tmp_path, dicom):
    """Without AcquisitionDate, times after midnight are read as the next day."""
    def edit(ds, p, s):
        drop_temporal_position(ds)
        del ds.AcquisitionDate
        ds.AcquisitionTime = dicom.time_text(86400 - 30 + 30 * (p - 1))

    series = only_series(import_edited(tmp_path, dicom, edit))
    np.testing.assert_allclose(series.phase_times_s, [0.0, 30.0, 60.0])
    np.testing.assert_array_equal(series.volume, dicom.f0_expected())


def test_trigger_time_missing_first(tmp_path, dicom):
    """TriggerTime absent on the first phase's images is read as 0 ms."""
    def edit(ds, p, s):
        drop_temporal_position(ds)
        ds.AcquisitionTime = "101500"
        if p > 1:
            ds.TriggerTime = 20000 * (p - 1)

    series = only_series(import_edited(tmp_path, dicom, edit))
    np.testing.assert_allclose(series.phase_times_s, [0.0, 20.0, 40.0])
    np.testing.assert_array_equal(series.volume, dicom.f0_expected())


def test_acquisition_number_phases(tmp_path, dicom):
    """AcquisitionNumber as the only phase number, with per-phase AcquisitionTime."""
    def edit(ds, p, s):
        drop_temporal_position(ds)
        ds.AcquisitionNumber = p

    series = only_series(import_edited(tmp_path, dicom, edit))
    assert series.time_source == "AcquisitionNumber+AcquisitionTime"
    np.testing.assert_array_equal(series.volume, dicom.f0_expected())


def test_time_overrides_index_order(tmp_path, dicom):
    """A phase number running against AcquisitionTime: phases follow time, with a warning."""
    def edit(ds, p, s):
        ds.TemporalPositionIdentifier = 4 - p

    series = only_series(import_edited(tmp_path, dicom, edit))
    np.testing.assert_array_equal(series.volume, dicom.f0_expected())
    assert any("disagrees with AcquisitionTime" in w for w in series.warnings)


@pytest.mark.filterwarnings("ignore:Invalid value for VR TM")
@pytest.mark.parametrize("value", ["100000.00\n", " 100000 ", "10:00:00"])
def test_lenient_time_values(tmp_path, dicom, value):
    """A trailing newline, padding or ACR-NEMA colons in TM still parse."""
    def edit(ds, p, s):
        ds.AcquisitionTime = value if p == 1 else dicom.time_text(36000 + 30 * (p - 1))

    series = only_series(import_edited(tmp_path, dicom, edit))
    np.testing.assert_allclose(series.phase_times_s, [0.0, 30.0, 60.0])
