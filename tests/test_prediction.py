"""Whole-volume prediction on a small synthetic series with a known synovitis blob."""

import platform

import numpy as np
import pytest

from inference.evaluation import dice
from inference.prediction import body_mask, configure_malloc, predict_volume
from inference.training import TrainConfig, train_and_evaluate
from tests.test_training import TIMES_15S, analytic_cohort, analytic_tics

SHAPE = (3, 24, 24)  # slices, rows, columns
NOISE_SD = 20.0


def synthetic_series(seed: int = 7):
    """Return (volume float32 (27, 3, 24, 24), truth uint8 (3, 24, 24)).

    Truth: 0 air (Rician noise only), 1 muscle, 2 bone, 3 synovitis (a ball of radius 4 px
    inside the muscle).
    """
    rng = np.random.default_rng(seed)
    slices, rows, columns = np.indices(SHAPE)
    truth = np.zeros(SHAPE, dtype=np.uint8)
    truth[:, 3:21, 3:12] = 1
    truth[:, 3:21, 12:21] = 2
    ball = (slices - 1) ** 2 + (rows - 11) ** 2 + (columns - 7) ** 2 <= 16
    truth[ball & (truth == 1)] = 3

    volume = np.empty((len(TIMES_15S), *SHAPE), dtype=np.float32)
    air = truth == 0
    noise = rng.normal(0.0, NOISE_SD, (2, len(TIMES_15S), int(air.sum())))
    volume[:, air] = np.hypot(noise[0], noise[1])
    for code, name in ((1, "muscle"), (2, "bone"), (3, "synovitis")):
        voxels = truth == code
        volume[:, voxels] = analytic_tics(name, int(voxels.sum()), TIMES_15S, rng).T
    return volume, truth


@pytest.fixture(scope="module")
def model_and_metadata():
    tics, labels, subjects = analytic_cohort(n_subjects=3, per_class=150, seed=11)
    config = TrainConfig(folds=0, epochs=8, batch_size=256, threads=1)
    result = train_and_evaluate(tics, labels, subjects, TIMES_15S, config)
    return result.model, result.metadata


@pytest.fixture(scope="module")
def series():
    return synthetic_series()


def test_synovitis_blob_dice(model_and_metadata, series):
    volume, truth = series
    labels, _ = predict_volume(*model_and_metadata, volume, TIMES_15S, chunk=100)
    synovitis = model_and_metadata[1]["classes"].index("synovitis") + 1
    assert dice(labels == synovitis, truth == 3) > 0.9


def test_tissue_labels_match(model_and_metadata, series):
    volume, truth = series
    labels, _ = predict_volume(*model_and_metadata, volume, TIMES_15S)
    classes = model_and_metadata[1]["classes"]
    for code, name in ((1, "muscle"), (2, "bone")):
        assert np.mean(labels[truth == code] == classes.index(name) + 1) > 0.9


def test_masked_out_voxels_zero(model_and_metadata, series):
    volume, _ = series
    mask = np.zeros(SHAPE, dtype=bool)
    mask[1, 5:15, 5:15] = True
    labels, probability = predict_volume(*model_and_metadata, volume, TIMES_15S, mask=mask)
    assert np.all(labels[~mask] == 0)
    assert np.all(probability[~mask] == 0)
    assert np.all(labels[mask] > 0)


def test_default_mask_skips_air(model_and_metadata, series):
    volume, truth = series
    labels, _ = predict_volume(*model_and_metadata, volume, TIMES_15S)
    assert np.all(labels[truth == 0] == 0)


def test_body_mask_matches_construction(series):
    volume, truth = series
    assert np.array_equal(body_mask(volume), truth > 0)


def test_body_mask_explicit_threshold(series):
    volume, _ = series
    assert not body_mask(volume, threshold=1e9).any()


def test_probability_range(model_and_metadata, series):
    volume, truth = series
    _, probability = predict_volume(*model_and_metadata, volume, TIMES_15S)
    assert probability.dtype == np.float32
    assert probability.min() >= 0.0
    assert probability.max() <= 1.0
    assert probability[truth == 3].mean() > 0.9


def test_bf16_labels_mostly_agree(model_and_metadata, series):
    volume, _ = series
    full, _ = predict_volume(*model_and_metadata, volume, TIMES_15S)
    reduced, _ = predict_volume(*model_and_metadata, volume, TIMES_15S, bf16=True)
    assert np.mean(full == reduced) > 0.98


def test_integer_volume_accepted(model_and_metadata, series):
    volume, _ = series
    rounded = np.round(volume).astype(np.int16)
    labels, _ = predict_volume(*model_and_metadata, rounded, TIMES_15S)
    assert labels.shape == SHAPE


def test_mask_shape_mismatch_rejected(model_and_metadata, series):
    volume, _ = series
    with pytest.raises(ValueError, match="mask has shape"):
        predict_volume(*model_and_metadata, volume, TIMES_15S, mask=np.ones((2, 2, 2), bool))


def test_progress_reports_voxels(model_and_metadata, series):
    volume, truth = series
    messages = []
    predict_volume(
        *model_and_metadata,
        volume,
        TIMES_15S,
        chunk=500,
        progress=lambda message, fraction: messages.append((message, fraction)),
    )
    assert messages[-1] == (
        f"classified {int((truth > 0).sum())} of {int((truth > 0).sum())} voxels",
        1.0,
    )


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is a glibc function")
def test_configure_malloc_on_glibc():
    assert configure_malloc() is True


def test_nan_voxels_not_classified(model_and_metadata, series):
    volume, truth = series
    broken = volume.copy()
    broken[5, 1, 10, 5] = np.nan
    labels, _ = predict_volume(*model_and_metadata, broken, TIMES_15S)
    assert labels[1, 10, 5] == 0
    assert (labels[truth > 0] > 0).sum() == (truth > 0).sum() - 1
