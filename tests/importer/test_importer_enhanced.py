"""Enhanced MR multi-frame with a time dimension, frames shuffled."""

import random

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from annotations.importer import import_paths

SLOPES = {1: 1.0, 2: 0.8, 3: 1.2}


def item(**attributes) -> Dataset:
    ds = Dataset()
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return ds


def frame_group(dicom, phase: int, slice_: int, with_dimensions: bool) -> Dataset:
    content = item(
        TemporalPositionIndex=phase,
        InStackPositionNumber=slice_,
        StackID="1",
        FrameAcquisitionDateTime="20261203" + dicom.time_text(36000 + 30 * (phase - 1)),
    )
    if with_dimensions:
        content.DimensionIndexValues = [slice_, phase]
    return item(
        PlanePositionSequence=Sequence([item(ImagePositionPatient=[0, 0, 3.0 * (slice_ - 1)])]),
        FrameContentSequence=Sequence([content]),
        PixelValueTransformationSequence=Sequence([item(
            RescaleSlope=SLOPES[phase], RescaleIntercept=0, RescaleType="US")]),
    )


def enhanced_f0(dicom, seed: int, with_dimensions: bool = True) -> Dataset:
    """Return the 12 F0 images as one Enhanced MR file, frames in shuffled order."""
    ds = dicom.f0_image(1, 1, seed="enhanced")
    for keyword in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing",
                    "SliceThickness", "RescaleSlope", "RescaleIntercept", "AcquisitionTime",
                    "TemporalPositionIdentifier", "NumberOfTemporalPositions"):
        delattr(ds, keyword)
    ds.SOPClassUID = dicom.ENHANCED_MR_IMAGE_STORAGE
    slots = [(p, s) for p in (1, 2, 3) for s in (1, 2, 3, 4)]
    random.Random(seed).shuffle(slots)
    ds.NumberOfFrames = len(slots)
    ds.SharedFunctionalGroupsSequence = Sequence([item(
        PlaneOrientationSequence=Sequence([item(ImageOrientationPatient=[1, 0, 0, 0, 1, 0])]),
        PixelMeasuresSequence=Sequence([item(PixelSpacing=[0.5, 0.5], SliceThickness=3)]),
    )])
    ds.PerFrameFunctionalGroupsSequence = Sequence(
        [frame_group(dicom, p, s, with_dimensions) for p, s in slots])
    if with_dimensions:
        ds.DimensionIndexSequence = Sequence([
            item(DimensionIndexPointer=0x00209057, FunctionalGroupPointer=0x00209111),
            item(DimensionIndexPointer=0x00209128, FunctionalGroupPointer=0x00209111),
        ])
    frames = np.stack([np.full((8, 8), dicom.f0_value(p, s), dtype=np.uint16)
                       for p, s in slots])
    dicom.set_pixels(ds, frames)
    return ds


def expected_volume(dicom) -> np.ndarray:
    return dicom.f0_expected() * np.array([1.0, 0.8, 1.2])[:, None, None, None]


@pytest.mark.parametrize("with_dimensions", [True, False])
@pytest.mark.parametrize("seed", [1, 2])
def test_enhanced_matches_f0(tmp_path, dicom, seed, with_dimensions):
    path = dicom.write_dataset(enhanced_f0(dicom, seed, with_dimensions), tmp_path / "mf.dcm")
    result = import_paths([path])
    assert len(result.series) == 1, [r.reason for r in result.files]
    series = result.series[0]
    np.testing.assert_allclose(series.volume, expected_volume(dicom), rtol=1e-6)
    np.testing.assert_allclose(series.phase_times_s, [0.0, 30.0, 60.0])
    np.testing.assert_allclose(series.slice_positions_mm, [0, 3, 6, 9])


def test_enhanced_equals_classic(tmp_path, dicom):
    """The classic F0 with the same per-phase slopes gives the same array."""
    def slope(ds, p, s):
        ds.RescaleSlope = SLOPES[p]

    dicom.write_series(dicom.f0_series(edit=slope), tmp_path / "classic")
    classic = import_paths([tmp_path / "classic"]).series[0]
    path = dicom.write_dataset(enhanced_f0(dicom, 5), tmp_path / "mf.dcm")
    enhanced = import_paths([path]).series[0]
    np.testing.assert_array_equal(enhanced.volume, classic.volume)


def test_enhanced_time_source(tmp_path, dicom):
    path = dicom.write_dataset(enhanced_f0(dicom, 3, with_dimensions=False), tmp_path / "mf.dcm")
    series = import_paths([path]).series[0]
    assert series.time_source == "TemporalPositionIndex+FrameAcquisitionDateTime"


def test_enhanced_instances_per_frame(tmp_path, dicom):
    path = dicom.write_dataset(enhanced_f0(dicom, 4), tmp_path / "mf.dcm")
    result = import_paths([path])
    instances = result.series[0].instances
    assert len(instances) == 12
    assert sorted(i.frame_index for i in instances) == list(range(12))
    assert len({i.sop_instance_uid for i in instances}) == 1
    assert result.files[0].frames == 12
    assert result.files[0].status == "imported"
