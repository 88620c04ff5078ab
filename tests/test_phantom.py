"""Phantom cohort: determinism, curve shapes per tissue, DICOM files and ground truth."""

import hashlib
import io
import json

import numpy as np
import pydicom
import pytest
from django.core.management import call_command
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage
from scipy import ndimage

from inference import pk
from inference.phantom import (
    JOINT_NAMES,
    PhantomGeometry,
    generate_subject,
)
from inference.phantom_dicom import write_cohort

SMALL = PhantomGeometry(phases=12, slices=6, rows=64, columns=64)
# Full timing on a small matrix: the curve shapes need the 6.5 min of 27 phases.
FULL_TIMING = PhantomGeometry(phases=27, slices=8, rows=64, columns=64)
SEEDS = range(6)
# The bolus is injected at the start of phase 3 (index 2) and reaches the hand 5-10 s later,
# after that phase's k-space centre, so phases 1-3 are baseline.
BASELINE_PHASES = 3
EARLY_PHASES = 6  # 90 s at 15 s per phase


def file_digests(folder):
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def curve_shape(curve):
    """Return (fast, late change) of a (P,) curve by the 4-type TIC rules.

    Fast: ≥ 80 % of the maximum enhancement within 90 s after arrival (phase 4).
    Late change: (last − early peak) / (early peak − baseline).
    """
    baseline = curve[:BASELINE_PHASES].mean()
    enhancement = curve - baseline
    early = slice(BASELINE_PHASES, BASELINE_PHASES + EARLY_PHASES + 1)
    fast = bool(np.any(enhancement[early] >= 0.8 * enhancement.max()))
    early_peak = curve[early].max()
    return fast, float((curve[-1] - early_peak) / (early_peak - baseline))


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("cohort")
    folders = write_cohort(out, subjects=2, seed=11, geometry=SMALL)
    return out, folders


@pytest.fixture(scope="module")
def noise_free_subjects():
    return [generate_subject("PH001", seed, FULL_TIMING, noise=False) for seed in SEEDS]


def mean_curve(subject, code):
    return subject.volume[:, subject.labels == code].astype(np.float64).mean(axis=1)


# Determinism


def test_same_seed_identical_bytes(cohort, tmp_path):
    first, _folders = cohort
    write_cohort(tmp_path, subjects=2, seed=11, geometry=SMALL)
    first_digests = file_digests(first)
    second_digests = file_digests(tmp_path)
    assert sorted(first_digests) == sorted(second_digests)
    assert first_digests == second_digests


def test_different_seed_different_files(cohort, tmp_path):
    first, _folders = cohort
    write_cohort(tmp_path, subjects=1, seed=12, geometry=SMALL)
    for name in ("PH001/truth.npz", "PH001/dicom/p01_s01.dcm"):
        assert (first / name).read_bytes() != (tmp_path / name).read_bytes(), name


def test_subjects_of_cohort_differ(cohort):
    _out, (first, second) = cohort
    with np.load(first / "truth.npz") as a, np.load(second / "truth.npz") as b:
        assert not np.array_equal(a["volume"], b["volume"])


def test_subject_same_alone_and_in_cohort(cohort):
    _out, (first, _second) = cohort
    alone = generate_subject("PH001", 11, SMALL)
    with np.load(first / "truth.npz") as truth:
        assert np.array_equal(alone.volume, truth["volume"])


# Curve shapes


@pytest.mark.parametrize("seed", SEEDS)
def test_active_synovitis_washes_out(noise_free_subjects, seed):
    fast, late = curve_shape(mean_curve(noise_free_subjects[seed], 8))
    assert fast
    assert late < -0.10


def test_mild_synovitis_plateaus(noise_free_subjects):
    with_mild = [s for s in noise_free_subjects if np.any(s.labels == 9)]
    assert with_mild, "no seed in SEEDS produced mild synovitis"
    for subject in with_mild:
        fast, late = curve_shape(mean_curve(subject, 9))
        assert fast
        assert -0.10 <= late <= 0.10


@pytest.mark.parametrize("seed", SEEDS)
def test_muscle_slow_and_persistent(noise_free_subjects, seed):
    fast, late = curve_shape(mean_curve(noise_free_subjects[seed], 3))
    assert not fast
    assert late > 0.10


@pytest.mark.parametrize("seed", SEEDS)
def test_artery_peaks_early(noise_free_subjects, seed):
    curve = mean_curve(noise_free_subjects[seed], 10)
    assert int(np.argmax(curve)) == BASELINE_PHASES
    assert curve.max() > 3.0 * curve[:BASELINE_PHASES].mean()


@pytest.mark.parametrize("seed", SEEDS)
def test_skin_slow_and_persistent(noise_free_subjects, seed):
    fast, late = curve_shape(mean_curve(noise_free_subjects[seed], 1))
    assert not fast
    assert late > 0.10


@pytest.mark.parametrize("seed", SEEDS)
def test_synovitis_peaks_after_artery(noise_free_subjects, seed):
    subject = noise_free_subjects[seed]
    artery_peak = np.argmax(mean_curve(subject, 10))
    assert np.argmax(mean_curve(subject, 8)) > artery_peak


@pytest.mark.parametrize("code", [5, 6])
def test_short_t2_tissue_near_noise(noise_free_subjects, code):
    # Cortical bone (5) and tendon (6) at baseline, as multiples of the noise SD.
    for subject in noise_free_subjects:
        sigma = subject.parameters["signal"]["noise_sigma"]
        assert 1.0 < mean_curve(subject, code)[0] / sigma < 3.0


def test_vein_peaks_after_artery(noise_free_subjects):
    for subject in noise_free_subjects:
        artery_peak = np.argmax(mean_curve(subject, 10))
        assert np.argmax(mean_curve(subject, 11)) > artery_peak


@pytest.mark.parametrize("phase", range(1, BASELINE_PHASES))
def test_baseline_phases_unenhanced(noise_free_subjects, phase):
    volume = noise_free_subjects[0].volume
    assert np.array_equal(volume[0], volume[phase])


def test_fat_brighter_than_muscle(noise_free_subjects):
    subject = noise_free_subjects[0]
    assert mean_curve(subject, 2)[0] > 2.0 * mean_curve(subject, 3)[0]


# Noise and motion


def test_air_noise_is_rayleigh():
    subject = generate_subject("PH002", 5, SMALL)
    sigma = subject.parameters["signal"]["noise_sigma"]
    air = subject.volume[:, subject.labels == 0].astype(np.float64)
    # Rounding to integers adds a little spread; the Rayleigh mean is σ·√(π/2).
    assert air.mean() == pytest.approx(sigma * np.sqrt(np.pi / 2.0), rel=0.05)


def test_noise_off_keeps_anatomy():
    noisy = generate_subject("PH002", 5, SMALL)
    clean = generate_subject("PH002", 5, SMALL, noise=False)
    assert np.array_equal(noisy.labels, clean.labels)
    assert noisy.joints == clean.joints


def test_jitter_shifts_later_phases():
    still = generate_subject("PH001", 2, SMALL, noise=False)
    moved = generate_subject("PH001", 2, SMALL, noise=False, jitter_px=1.0)
    shifts = np.array(moved.parameters["motion"]["shifts_px"])
    assert np.array_equal(still.volume[0], moved.volume[0])
    assert not np.array_equal(still.volume[5], moved.volume[5])
    assert np.all(np.abs(shifts) <= 1.0)
    assert np.all(shifts[0] == 0.0)


def test_jitter_off_by_default(cohort):
    _out, (first, _second) = cohort
    truth = json.loads((first / "truth.json").read_text())
    assert truth["parameters"]["motion"]["jitter_px"] == 0.0


# DICOM files


def read_series(folder):
    """Volume (P, S, R, C) ordered by TemporalPositionIdentifier and position on the normal."""
    datasets = [pydicom.dcmread(path) for path in sorted((folder / "dicom").glob("*.dcm"))]
    normal = np.cross(
        np.array(datasets[0].ImageOrientationPatient[:3], dtype=float),
        np.array(datasets[0].ImageOrientationPatient[3:], dtype=float),
    )
    phases = sorted({int(ds.TemporalPositionIdentifier) for ds in datasets})
    positions = sorted({float(np.dot(ds.ImagePositionPatient, normal)) for ds in datasets})
    volume = np.zeros((len(phases), len(positions), datasets[0].Rows, datasets[0].Columns))
    for ds in datasets:
        phase = phases.index(int(ds.TemporalPositionIdentifier))
        slice_index = positions.index(float(np.dot(ds.ImagePositionPatient, normal)))
        volume[phase, slice_index] = ds.pixel_array
    return datasets, volume


def test_dicom_pixels_equal_truth(cohort):
    _out, (first, _second) = cohort
    _datasets, volume = read_series(first)
    with np.load(first / "truth.npz") as truth:
        assert truth["volume"].dtype == np.uint16
        assert volume.shape == truth["volume"].shape
        assert np.array_equal(volume, truth["volume"])


def test_dicom_file_per_phase_slice(cohort):
    _out, (first, _second) = cohort
    names = sorted(path.name for path in (first / "dicom").iterdir())
    expected = sorted(f"p{p:02d}_s{s:02d}.dcm" for p in range(1, 13) for s in range(1, 7))
    assert names == expected


def test_dicom_tags(cohort):
    _out, (first, _second) = cohort
    datasets, _volume = read_series(first)
    truth = json.loads((first / "truth.json").read_text())
    ds = datasets[0]
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert ds.SOPClassUID == MRImageStorage
    assert ds.PatientID == "PH001"
    assert str(ds.PatientName) == "Phantom^PH001"
    assert ds.Modality == "MR"
    assert ds.SeriesDescription == "Phantom hand DCE"
    assert (ds.Rows, ds.Columns) == (64, 64)
    assert ds.NumberOfTemporalPositions == 12
    assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation) == (16, 16, 15, 0)
    assert [float(v) for v in ds.PixelSpacing] == [0.625, 0.625]
    assert float(ds.FlipAngle) == 15.0
    assert {d.StudyInstanceUID for d in datasets} == {truth["study_instance_uid"]}
    assert {d.SeriesInstanceUID for d in datasets} == {truth["series_instance_uid"]}
    assert len({d.SOPInstanceUID for d in datasets}) == len(datasets)


def test_dicom_times_follow_phases(cohort):
    _out, (first, _second) = cohort
    datasets, _volume = read_series(first)
    seconds = {}
    for ds in datasets:
        time = ds.AcquisitionTime
        value = int(time[:2]) * 3600 + int(time[2:4]) * 60 + float(time[4:])
        seconds.setdefault(int(ds.TemporalPositionIdentifier), set()).add(value)
    starts = [min(seconds[p]) for p in sorted(seconds)]
    assert all(len(values) == 1 for values in seconds.values())
    assert np.allclose(np.diff(starts), 15.0)


def test_slices_spaced_by_thickness(cohort):
    _out, (first, _second) = cohort
    datasets, _volume = read_series(first)
    positions = sorted({tuple(float(v) for v in d.ImagePositionPatient) for d in datasets})
    steps = np.diff(np.array(positions), axis=0)
    assert np.allclose(np.linalg.norm(steps, axis=1), 2.0)


# Ground truth


def test_cohort_json(cohort):
    out, _folders = cohort
    content = json.loads((out / "cohort.json").read_text())
    assert content["format_version"] == 1
    assert content["seed"] == 11
    assert content["subjects"] == ["PH001", "PH002"]
    assert content["geometry"]["rows"] == 64


def test_truth_json_shape_and_times(cohort):
    _out, (first, _second) = cohort
    truth = json.loads((first / "truth.json").read_text())
    assert truth["shape"] == [12, 6, 64, 64]
    assert truth["phase_times_s"][:3] == [0.0, 15.0, 30.0]
    assert truth["tissue_codes"]["8"] == "synovitis"


def test_joints_listed(cohort):
    _out, (first, _second) = cohort
    truth = json.loads((first / "truth.json").read_text())
    assert [joint["name"] for joint in truth["joints"]] == list(JOINT_NAMES)
    assert any(joint["inflamed"] for joint in truth["joints"])


def test_joint_counts_match_labels(cohort):
    _out, (first, _second) = cohort
    truth = json.loads((first / "truth.json").read_text())
    with np.load(first / "truth.npz") as arrays:
        labels = arrays["labels"]
    for joint in truth["joints"]:
        box = joint["box"]
        window = tuple(slice(lo, hi + 1) for lo, hi in (box["slices"], box["rows"], box["cols"]))
        assert joint["synovitis_voxels"] == int(np.count_nonzero(labels[window] == 8)), joint
        bounds = (box["slices"], box["rows"], box["cols"])
        inside = [lo <= c <= hi for c, (lo, hi) in zip(joint["centre"], bounds, strict=True)]
        assert all(inside), joint


def test_inflamed_joints_have_synovitis(noise_free_subjects):
    for subject in noise_free_subjects:
        for joint in subject.joints:
            if joint["inflamed"]:
                assert joint["synovitis_voxels"] > 0, joint


def test_inflamed_count_varies(noise_free_subjects):
    counts = {sum(j["inflamed"] for j in s.joints) for s in noise_free_subjects}
    assert min(counts) >= 1
    assert len(counts) > 1


def test_artery_pieces_kept_by_mask(noise_free_subjects):
    # The arterial mask drops 26-connected pieces under 3 voxels, so no artery may break that
    # small, even at 2.5 mm pixels and 5 mm slices. By construction the arteries are 9
    # pieces: the radial-ulnar tree with both palmar arches, and 8 proper digital arteries.
    for subject in noise_free_subjects:
        pieces, count = ndimage.label(subject.labels == 10, structure=np.ones((3, 3, 3)))
        sizes = np.bincount(pieces.ravel())[1:]
        assert count == 9
        assert sizes.min() >= 3


def test_veins_outside_mcp_boxes(noise_free_subjects):
    for subject in noise_free_subjects:
        for joint in subject.joints:
            if joint["name"].startswith("MCP"):
                box = joint["box"]
                bounds = (box["slices"], box["rows"], box["cols"])
                window = tuple(slice(lo, hi + 1) for lo, hi in bounds)
                assert not np.any(subject.labels[window] == 11), joint["name"]


def test_all_tissues_present(noise_free_subjects):
    present = set(np.unique(noise_free_subjects[0].labels).tolist())
    assert {0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12} <= present


# Geometry and kinetics helpers


@pytest.mark.parametrize("field,value", [("phases", 2), ("rows", 8), ("phase_interval_s", 0.0)])
def test_geometry_rejects_invalid(field, value):
    with pytest.raises(ValueError, match=field):
        PhantomGeometry(**{field: value})


def test_exponential_convolution_of_constant():
    step = 0.5
    rate = np.array([0.0, 0.02, 0.3])
    times = np.arange(0.0, 100.0 + step, step)
    result = pk.convolve_exponential(np.ones_like(times), step, rate)
    expected_zero_rate = times
    expected = (1.0 - np.exp(-rate[1:] * times[:, None])) / rate[1:]
    assert np.allclose(result[:, 0], expected_zero_rate)
    assert np.allclose(result[:, 1:], expected)


def test_parker_first_pass_peak():
    times = np.arange(0.0, 120.0, 0.1)
    blood = pk.parker_aif(times, injection_s=30.0)
    assert times[np.argmax(blood)] == pytest.approx(30.0 + 0.17046 * 60.0, abs=0.5)
    assert np.all(blood[times < 30.0] == 0.0)


def test_spgr_without_contrast():
    signal = pk.spgr_signal(1.0, 1.0, 0.0, tr_s=0.005, flip_deg=15.0, r1_per_mM_s=3.9)
    e1 = np.exp(-0.005)
    alpha = np.deg2rad(15.0)
    assert signal == pytest.approx(np.sin(alpha) * (1 - e1) / (1 - np.cos(alpha) * e1))


# Management command


def test_make_phantom_command(tmp_path):
    output = io.StringIO()
    call_command(
        "make_phantom", str(tmp_path), "--subjects", "1", "--seed", "4", "--phases", "5",
        "--slices", "4", "--rows", "48", "--columns", "48", stdout=output,
    )  # fmt: skip
    assert str(tmp_path / "PH001") in output.getvalue()
    assert (tmp_path / "PH001" / "dicom" / "p05_s04.dcm").is_file()
    assert json.loads((tmp_path / "cohort.json").read_text())["geometry"]["phases"] == 5
