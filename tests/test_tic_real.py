"""TIC engine on a real Siemens prostate DCE series (40 phases, 4 slices, classic DICOM).

Known from the data set: a 3 x 3 pixel ROI on the femoral artery at row 61, column 274 of
the slice at SliceLocation 3.78219 peaks at phase 8 (index 7, 47.8 s).
"""

from pathlib import Path

import numpy as np
import pydicom
import pytest

from inference.arterial import arterial_mask
from inference.roi import roi_statistics
from inference.shapes import analyse_tics

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "prostate_dce_siemens"

pytestmark = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"real DICOM test data not found at {DATA}"
)

ARTERY_SLICE_LOCATION = 3.78219
ARTERY_POLYGON = [[272.5, 59.5], [275.5, 59.5], [275.5, 62.5], [272.5, 62.5]]  # 3 x 3 pixels


def seconds_of_day(acquisition_time):
    text = str(acquisition_time)
    return int(text[:2]) * 3600 + int(text[2:4]) * 60 + float(text[4:])


def slice_position(dataset):
    """Distance along the slice normal (mm), from ImagePositionPatient and orientation."""
    orientation = np.asarray(dataset.ImageOrientationPatient, dtype=float)
    normal = np.cross(orientation[:3], orientation[3:])
    return float(np.dot(normal, np.asarray(dataset.ImagePositionPatient, dtype=float)))


@pytest.fixture(scope="module")
def series():
    """Return (volume int16 (P, S, R, C), phase times (P,) s, slice locations (S,))."""
    datasets = [pydicom.dcmread(path) for path in sorted(DATA.glob("image*.dcm"))]
    phases = sorted({int(ds.AcquisitionNumber) for ds in datasets})
    positions = sorted({round(slice_position(ds), 3) for ds in datasets})
    first = datasets[0]
    volume = np.zeros((len(phases), len(positions), first.Rows, first.Columns), dtype=np.int16)
    starts = np.zeros(len(phases))
    locations = np.zeros(len(positions))

    for ds in datasets:
        phase = phases.index(int(ds.AcquisitionNumber))
        index = positions.index(round(slice_position(ds), 3))
        volume[phase, index] = ds.pixel_array
        starts[phase] = seconds_of_day(ds.AcquisitionTime)
        locations[index] = float(ds.SliceLocation)
    return volume, starts - starts[0], locations, tuple(float(v) for v in first.PixelSpacing)


def test_series_shape(series):
    volume, times, locations, _ = series
    assert volume.shape == (40, 4, 308, 384)
    assert np.all(np.diff(times) > 0)


def test_artery_peaks_at_phase_eight(series):
    volume, times, locations, spacing = series
    index = int(np.argmin(np.abs(locations - ARTERY_SLICE_LOCATION)))
    curve = roi_statistics(volume, index, ARTERY_POLYGON, spacing)
    assert curve.pixel_count == 9
    assert int(np.argmax(curve.mean)) == 7
    assert times[7] == pytest.approx(47.8, abs=0.1)


def artery_region(locations):
    """Index of the (S, R, C) pixels of the 3 x 3 femoral artery ROI."""
    index = int(np.argmin(np.abs(locations - ARTERY_SLICE_LOCATION)))
    return index, slice(60, 63), slice(273, 276)


def test_maps_and_types_run(series):
    volume, times, locations, _ = series
    analysis = analyse_tics(volume, times)
    assert analysis.shape_types.shape == volume.shape[1:]
    # The artery has risen by phase index 6 (41 s); the whole volume is flat until then.
    assert 3 <= analysis.arrival.arrival_index <= 6
    assert np.all(analysis.shape_types[artery_region(locations)] == 4)
    for name, values in analysis.maps.items():
        assert values.shape == volume.shape[1:], name
        assert values.dtype == np.float32, name


def test_arterial_mask_covers_artery(series):
    volume, times, locations, _ = series
    result = arterial_mask(volume, times)
    assert result.mask.shape == volume.shape[1:]
    assert result.arterial_phase >= result.arrival.arrival_index
    assert np.all(result.mask[artery_region(locations)])
