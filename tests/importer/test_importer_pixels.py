"""Pixel values: Philips scale, signed/12-bit, compressed syntaxes."""

import numpy as np
import pytest
from pydicom.encaps import encapsulate
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
)

from annotations.importer import ImportOptions, MissingDecoderError, import_paths, pipeline

PHILIPS_CREATOR = "Philips MR Imaging DD 001"
PHILIPS_FACTORS = {1: (2.15067, 0.000823664), 2: (1.53455, 0.00065)}


def philips_series(dicom, with_scale=(1, 2)):
    def edit(ds, p, s):
        ds.Manufacturer = "Philips Medical Systems"
        slope, scale = PHILIPS_FACTORS[p]
        ds.RescaleSlope = str(slope)
        dicom.set_pixels(ds, np.full((8, 8), 1000, dtype=np.uint16))
        if p in with_scale:
            block = ds.private_block(0x2005, PHILIPS_CREATOR, create=True)
            block.add_new(0x0E, "FL", scale)
            block.add_new(0x0D, "FL", 0.0)

    return dicom.f0_series(phases=2, edit=edit)


def test_philips_displayed_value(tmp_path, dicom):
    """Default convention DV = PV * RS + RI, the same for both phases."""
    dicom.write_series(philips_series(dicom), tmp_path / "upload")
    series = import_paths([tmp_path / "upload"]).series[0]
    np.testing.assert_allclose(series.volume[0], 2150.67, rtol=1e-6)
    np.testing.assert_allclose(series.volume[1], 1534.55, rtol=1e-6)
    assert series.rescale_convention.startswith("DV = PV * RescaleSlope")


def test_philips_factors_stored(tmp_path, dicom):
    dicom.write_series(philips_series(dicom), tmp_path / "upload")
    factors = import_paths([tmp_path / "upload"]).series[0].rescale_factors
    assert [f["phases"] for f in factors] == [[0], [1]]
    assert factors[0]["rescale_slope"] == pytest.approx(2.15067)
    assert factors[0]["mr_scale_slope"] == pytest.approx(0.000823664, rel=1e-6)
    assert factors[1]["mr_scale_slope"] == pytest.approx(0.00065, rel=1e-6)


def test_philips_floating_value(tmp_path, dicom):
    """FP = DV / (RS * SS) for every phase when requested."""
    dicom.write_series(philips_series(dicom), tmp_path / "upload")
    options = ImportOptions(philips_scaling="floating")
    series = import_paths([tmp_path / "upload"], options).series[0]
    np.testing.assert_allclose(series.volume[0], 1_214_088, rtol=1e-5)
    np.testing.assert_allclose(series.volume[1], 1_538_462, rtol=1e-5)
    assert series.rescale_convention.startswith("FP =")


def test_floating_needs_every_phase(tmp_path, dicom):
    """Without the private slope on one phase, the whole series stays on DV."""
    dicom.write_series(philips_series(dicom, with_scale=(1,)), tmp_path / "upload")
    options = ImportOptions(philips_scaling="floating")
    series = import_paths([tmp_path / "upload"], options).series[0]
    np.testing.assert_allclose(series.volume[0], 2150.67, rtol=1e-6)
    np.testing.assert_allclose(series.volume[1], 1534.55, rtol=1e-6)
    assert any("displayed value convention was used" in w for w in series.warnings)


def ramp(low: int, high: int, size: int = 8) -> np.ndarray:
    return np.linspace(low, high, size * size).round().reshape(size, size)


def test_unsigned_negative_intercept(tmp_path, dicom):
    """Unsigned 0..2000 with intercept -1024 gives -1024..976 without overflow."""
    def edit(ds, p, s):
        ds.RescaleIntercept = -1024
        dicom.set_pixels(ds, ramp(0, 2000).astype(np.uint16))

    dicom.write_series(dicom.f0_series(edit=edit), tmp_path / "upload")
    series = import_paths([tmp_path / "upload"]).series[0]
    assert series.volume.min() == -1024
    assert series.volume.max() == 976
    assert series.volume.dtype == np.int16


def twelve_bit_signed(dicom, size=8):
    values = ramp(-200, 1800, size).astype(np.int16)

    def edit(ds, p, s):
        dicom.set_pixels(ds, values, bits_stored=12)
        ds.PixelData = (values.astype(np.uint16) & 0x0FFF).tobytes()

    return values, dicom.f0_series(edit=edit, size=size)


def test_twelve_bit_signed(tmp_path, dicom):
    """BitsStored 12 signed, no sign bits in the high nibble: exactly -200..1800."""
    values, datasets = twelve_bit_signed(dicom)
    dicom.write_series(datasets, tmp_path / "upload")
    series = import_paths([tmp_path / "upload"]).series[0]
    np.testing.assert_array_equal(series.volume[1, 2], values)


def test_twelve_bit_jpeg2000(tmp_path, dicom):
    """The 12-bit signed images as JPEG 2000 lossless decode identically."""
    values, datasets = twelve_bit_signed(dicom, size=32)
    for ds in datasets:
        ds.compress(JPEG2000Lossless, values, generate_instance_uid=False)
    folder = tmp_path / "upload"
    for index, ds in enumerate(datasets):
        dicom.write_dataset(ds, folder / f"{index}.dcm", JPEG2000Lossless)
    series = import_paths([folder]).series[0]
    np.testing.assert_array_equal(series.volume[2, 3], values)


def encode(ds, transfer_syntax):
    """Re-encode a dataset's native pixel data in place for the transfer syntax.

    Images are 32 x 32 because OpenJPEG's default 6 resolution levels need at least 32 pixels.
    """
    array = np.frombuffer(ds.PixelData, dtype="<u2").reshape(ds.Rows, ds.Columns)
    if transfer_syntax == JPEGLosslessSV1:
        imagecodecs = pytest.importorskip("imagecodecs")
        frame = imagecodecs.jpeg8_encode(array, lossless=True, predictor=1, bitspersample=16)
        ds.PixelData = encapsulate([frame])
        ds["PixelData"].VR = "OB"
    elif transfer_syntax in (JPEG2000Lossless, JPEGLSLossless, RLELossless):
        ds.compress(transfer_syntax, array, generate_instance_uid=False)
    elif transfer_syntax == ExplicitVRBigEndian:
        # pydicom writes PixelData bytes as given, so they must already be big endian.
        ds.PixelData = array.astype(">u2").tobytes()


@pytest.mark.parametrize("transfer_syntax", [
    JPEGLosslessSV1, JPEG2000Lossless, JPEGLSLossless, RLELossless,
    DeflatedExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian,
])
def test_compressed_equals_f0(tmp_path, dicom, transfer_syntax):
    """Every lossless syntax gives F0 bit for bit."""
    folder = tmp_path / "upload"
    for index, ds in enumerate(dicom.f0_series(size=32)):
        encode(ds, transfer_syntax)
        dicom.write_dataset(ds, folder / f"{index}.dcm", transfer_syntax)
    result = import_paths([folder])
    assert {r.status for r in result.files} == {"imported"}
    series = result.series[0]
    np.testing.assert_array_equal(series.volume, dicom.f0_expected(size=32))
    assert series.instances[0].transfer_syntax_uid == transfer_syntax


def test_missing_decoder_rejects(tmp_path, dicom, monkeypatch):
    """Without a decoder nothing is imported; the error names the UID and file count."""
    folder = tmp_path / "upload"
    for index, ds in enumerate(dicom.f0_series(size=32)):
        encode(ds, JPEGLSLossless)
        dicom.write_dataset(ds, folder / f"{index}.dcm", JPEGLSLossless)
    monkeypatch.setattr(pipeline, "decoder_available", lambda uid: uid != JPEGLSLossless)
    with pytest.raises(MissingDecoderError) as raised:
        import_paths([folder])
    assert raised.value.counts == {JPEGLSLossless: 12}
    assert "12 file(s) use transfer syntax 1.2.840.10008.1.2.4.80" in str(raised.value)
