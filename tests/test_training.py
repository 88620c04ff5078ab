"""Features, networks, subject-wise cross-validation and checkpoints of the TIC classifiers.

The labelled TICs are analytic curves with known classes. Muscle rises slowly, bone stays
flat, and synovitis rises fast, then washes out. Each subject has its own baseline signal.
"""

import json

import numpy as np
import pytest
import torch
from sklearn.model_selection import KFold

from inference.evaluation import binary_table, classification_table, dice, specificity_per_class
from inference.features import (
    FeatureSpec,
    apply_normaliser,
    feature_channel,
    render_tic_images,
    tic_features,
)
from inference.networks import NETWORKS, build_network
from inference.prediction import predict_proba
from inference.training import (
    SubjectLeakError,
    TrainConfig,
    check_disjoint_subjects,
    load_checkpoint,
    make_subject_folds,
    network_hparams,
    save_checkpoint,
    train_and_evaluate,
    weights_sha256,
)

TIMES_15S = np.arange(27) * 15.0
# One thread keeps the tests' run time steady on a shared machine. There, a second OpenMP
# thread that busy-waited for a busy core made training 10 times slower.
FAST = dict(epochs=6, batch_size=256, threads=1)


def analytic_tics(name: str, n: int, times_s: np.ndarray, rng, s0: float = 500.0) -> np.ndarray:
    """Return float64 (n, P) noisy TICs of one class; contrast arrives at 30 s."""
    t = np.clip(times_s - 30.0, 0.0, None)
    if name == "muscle":
        amplitude, rate, washout = (
            rng.uniform(0.3, 0.6, (n, 1)),
            rng.uniform(0.005, 0.012, (n, 1)),
            0.0,
        )
    elif name == "bone":
        amplitude, rate, washout = (
            rng.uniform(0.0, 0.05, (n, 1)),
            rng.uniform(0.005, 0.02, (n, 1)),
            0.0,
        )
    else:
        amplitude = rng.uniform(1.0, 2.5, (n, 1))
        rate = rng.uniform(0.04, 0.1, (n, 1))
        washout = rng.uniform(0.0015, 0.003, (n, 1))
    curves = s0 * (1.0 + amplitude * (1.0 - np.exp(-rate * t)) * np.exp(-washout * t))
    return curves + rng.normal(0.0, s0 / 25.0, curves.shape)


def analytic_cohort(n_subjects=5, per_class=120, seed=0, times_s=TIMES_15S):
    rng = np.random.default_rng(seed)
    tics, labels, subjects = [], [], []
    for subject in range(n_subjects):
        s0 = rng.uniform(300.0, 1000.0)
        for name in ("muscle", "bone", "synovitis"):
            tics.append(analytic_tics(name, per_class, times_s, rng, s0))
            labels += [name] * per_class
            subjects += [f"S{subject + 1}"] * per_class
    return np.concatenate(tics), np.array(labels), np.array(subjects)


@pytest.fixture(scope="module")
def cohort():
    return analytic_cohort()


@pytest.fixture(scope="module")
def trained(cohort):
    tics, labels, subjects = cohort
    return train_and_evaluate(tics, labels, subjects, TIMES_15S, TrainConfig(folds=5, **FAST))


# Features


def test_features_same_length_across_protocols():
    rng = np.random.default_rng(1)
    fine = tic_features(analytic_tics("synovitis", 4, TIMES_15S, rng), TIMES_15S)
    coarse_times = np.arange(14) * 30.0
    coarse = tic_features(analytic_tics("synovitis", 4, coarse_times, rng), coarse_times)
    assert fine.shape == coarse.shape == (4, FeatureSpec().n_features)
    assert fine.dtype == coarse.dtype == np.float32


def test_features_resample_linearly():
    spec = FeatureSpec(grid_s=(0.0, 15.0, 30.0, 45.0), channels=("enhancement",))
    tic = np.array([[100.0, 100.0, 300.0]])
    features = tic_features(tic, np.array([0.0, 30.0, 60.0]), spec, baseline_phases=1)
    assert features[0].tolist() == pytest.approx([0.0, 0.0, 0.0, 1.0])


def test_features_hold_last_value():
    spec = FeatureSpec(grid_s=(0.0, 60.0, 120.0, 390.0), channels=("enhancement",))
    tic = np.array([[100.0, 100.0, 150.0]])
    features = tic_features(tic, np.array([0.0, 30.0, 60.0]), spec)
    assert features[0, -2:].tolist() == pytest.approx([0.5, 0.5])


def test_features_zscore_channel_standardised():
    rng = np.random.default_rng(2)
    features = tic_features(analytic_tics("muscle", 8, TIMES_15S, rng), TIMES_15S)
    zscore = feature_channel(features, FeatureSpec(), "zscore")
    assert np.allclose(zscore.mean(axis=1), 0.0, atol=1e-5)
    assert np.allclose(zscore.std(axis=1), 1.0, atol=1e-4)


def test_features_flat_tic_zscore_zero():
    features = tic_features(np.full((1, 27), 400.0), TIMES_15S)
    assert not np.any(features)


def test_features_reject_mismatched_times():
    with pytest.raises(ValueError, match="one time in seconds per phase"):
        tic_features(np.ones((2, 27)), np.arange(26) * 15.0)


def test_feature_spec_rejects_unknown_channel():
    with pytest.raises(ValueError, match="zscore, enhancement"):
        FeatureSpec(channels=("slope",))


# TIC shape images


def test_render_rising_curve_diagonal():
    image = render_tic_images(np.linspace(-3.0, 3.0, 27)[None], size=64)[0]
    rows, columns = np.nonzero(image == 0)
    left = rows[columns < 16].mean()
    right = rows[columns >= 48].mean()
    assert left > 48  # lower left: large row index
    assert right < 16  # upper right


def test_render_flat_line_two_pixels():
    image = render_tic_images(np.zeros((1, 27)), size=64)[0]
    dark_per_column = (image == 0).sum(axis=0)
    assert np.all(dark_per_column == 2)
    assert set(np.unique(image).tolist()) == {0, 255}


def test_render_clips_to_limits():
    image = render_tic_images(np.full((1, 10), 9.0), size=32)[0]
    assert np.all(image[0] == 0)  # clipped to +3, the top row
    assert np.all(image[2:] == 255)


def test_render_steep_segment_connected():
    curve = np.array([[-3.0, -3.0, 3.0, 3.0]])
    image = render_tic_images(curve, size=30)[0]
    assert np.all((image == 0).any(axis=1))  # every row is crossed


# Networks


def test_unknown_architecture_lists_choices():
    with pytest.raises(ValueError, match="tic_cnn1d, resnet18_1d, resnet50_2d"):
        build_network("vgg16", 54, 3)


def test_unknown_hparam_lists_valid():
    with pytest.raises(ValueError, match="width"):
        build_network("tic_cnn1d", 54, 3, depth=5)


@pytest.mark.parametrize(
    ("name", "hparams"),
    [
        ("tic_cnn1d", {"in_channels": 2}),
        ("resnet18_1d", {"in_channels": 2}),
        ("resnet50_2d", {"in_channels": 2, "image_size": 32}),
    ],
)
def test_network_output_shape(name, hparams):
    torch.manual_seed(0)
    model = build_network(name, 54, 3, **hparams).eval()
    with torch.inference_mode():
        logits = model(torch.randn(2, 54))
    assert logits.shape == (2, 3)
    assert torch.isfinite(logits).all()


def test_registry_names():
    assert sorted(NETWORKS) == ["resnet18_1d", "resnet50_2d", "tic_cnn1d"]


# Splits and leakage


def test_folds_disjoint_subjects(trained):
    for fold in trained.report["folds"]:
        assert not set(fold["train_subjects"]) & set(fold["test_subjects"])


def test_folds_cover_each_subject_once(trained):
    tested = [s for fold in trained.report["folds"] for s in fold["test_subjects"]]
    assert sorted(tested) == ["S1", "S2", "S3", "S4", "S5"]


def test_many_folds_leave_one_out(trained):
    assert trained.report["split"] == {"method": "leave_one_subject_out", "folds": 5, "seed": 0}


def test_fewer_folds_grouped(cohort):
    _, labels, subjects = cohort
    targets = np.unique(labels, return_inverse=True)[1]
    method, splits = make_subject_folds(subjects, targets, folds=2, seed=0)
    assert method == "stratified_group_kfold"
    assert len(splits) == 2


def test_pixel_random_split_rejected(cohort):
    _, _, subjects = cohort
    train, test = next(KFold(n_splits=3, shuffle=True, random_state=0).split(subjects))
    with pytest.raises(SubjectLeakError, match="both the training and the test fold"):
        check_disjoint_subjects(subjects[train], subjects[test])


def test_subject_split_accepted(cohort):
    _, _, subjects = cohort
    check_disjoint_subjects(subjects[subjects != "S1"], subjects[subjects == "S1"])


def test_normaliser_fitted_on_train_fold(cohort, trained):
    tics, _, subjects = cohort
    spec = FeatureSpec()
    features = tic_features(tics, TIMES_15S, spec)
    fold = trained.report["folds"][0]
    train = np.isin(subjects, fold["train_subjects"])
    train_mean = features[train, spec.n_points :].mean()
    all_mean = features[:, spec.n_points :].mean()
    assert fold["normaliser"]["mean"][1] == pytest.approx(train_mean, rel=1e-4)
    assert fold["normaliser"]["mean"][1] != pytest.approx(all_mean, rel=1e-4)


def test_one_subject_rejected():
    tics, labels, subjects = analytic_cohort(n_subjects=1, per_class=10)
    with pytest.raises(ValueError, match="at least 2 subjects"):
        train_and_evaluate(tics, labels, subjects, TIMES_15S, TrainConfig(**FAST))


# Training and evaluation


def test_cnn_subject_cv_accuracy(trained):
    assert trained.report["pooled"]["model"]["accuracy"] > 0.95


def test_classes_fixed_order(trained):
    assert trained.classes == ["muscle", "bone", "synovitis"]


def test_report_json_safe(trained):
    assert json.loads(json.dumps(trained.report)) == trained.report
    assert json.loads(json.dumps(trained.metadata)) == trained.metadata


def test_report_confusion_counts(trained):
    matrix = np.array(trained.report["pooled"]["model"]["confusion_matrix"])
    assert matrix.shape == (3, 3)
    assert matrix.sum(axis=1).tolist() == [600, 600, 600]


def test_metadata_counts_per_subject(trained):
    assert trained.metadata["counts"]["S3"] == {"muscle": 120, "bone": 120, "synovitis": 120}
    assert trained.metadata["n_tics"] == 1800


def test_baseline_binary_reported(trained):
    pooled = trained.report["pooled"]
    assert trained.report["baseline"]["available"]
    assert pooled["baseline_binary"]["n"] == pooled["model_binary"]["n"] == 1800
    # Fast rise then washout is shape type 4 by construction.
    assert pooled["baseline_binary"]["per_class"]["synovitis"]["sensitivity"] > 0.9


def test_unknown_label_rejected():
    tics, labels, subjects = analytic_cohort(n_subjects=2, per_class=5)
    labels[0] = "tendon"
    with pytest.raises(ValueError, match="Unknown labels \\['tendon'\\]"):
        train_and_evaluate(tics, labels, subjects, TIMES_15S, TrainConfig(**FAST))


def test_cap_per_class_per_subject():
    tics, labels, subjects = analytic_cohort(n_subjects=2, per_class=30)
    config = TrainConfig(folds=0, max_tics_per_class_per_subject=10, **FAST)
    result = train_and_evaluate(tics, labels, subjects, TIMES_15S, config)
    assert result.metadata["counts"]["S1"] == {"muscle": 10, "bone": 10, "synovitis": 10}


def test_progress_reaches_one():
    tics, labels, subjects = analytic_cohort(n_subjects=2, per_class=10)
    fractions = []
    config = TrainConfig(folds=2, epochs=2, threads=1)
    train_and_evaluate(tics, labels, subjects, TIMES_15S, config, lambda _, f: fractions.append(f))
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0


def test_mixed_protocols_train():
    rng = np.random.default_rng(3)
    coarse_times = np.arange(14) * 30.0
    tics, labels, subjects, series = [], [], [], []
    for subject, (times, index) in enumerate([(TIMES_15S, 0), (coarse_times, 1)] * 2):
        for name in ("muscle", "bone", "synovitis"):
            tics += list(analytic_tics(name, 40, times, rng))
            labels += [name] * 40
            subjects += [f"S{subject}"] * 40
            series += [index] * 40
    result = train_and_evaluate(
        tics,
        labels,
        subjects,
        config=TrainConfig(folds=4, **FAST),
        times_by_series=[TIMES_15S, coarse_times],
        series_index=series,
    )
    assert result.report["pooled"]["model"]["n"] == 480
    assert result.report["pooled"]["model"]["accuracy"] > 0.9


# Reproducibility and checkpoints


def test_same_seed_same_weights():
    tics, labels, subjects = analytic_cohort(n_subjects=3, per_class=40)
    config = TrainConfig(folds=3, seed=123, augment_noise_sd=0.1, **FAST)
    first = train_and_evaluate(tics, labels, subjects, TIMES_15S, config)
    second = train_and_evaluate(tics, labels, subjects, TIMES_15S, config)
    assert weights_sha256(first.state_dict) == weights_sha256(second.state_dict)
    assert first.report == second.report


def test_other_seed_other_weights():
    tics, labels, subjects = analytic_cohort(n_subjects=2, per_class=20)
    first = train_and_evaluate(
        tics, labels, subjects, TIMES_15S, TrainConfig(folds=0, seed=1, **FAST)
    )
    second = train_and_evaluate(
        tics, labels, subjects, TIMES_15S, TrainConfig(folds=0, seed=2, **FAST)
    )
    assert first.metadata["weights_sha256"] != second.metadata["weights_sha256"]


def test_checkpoint_round_trip(trained, cohort, tmp_path):
    path = tmp_path / "model.pt"
    save_checkpoint(trained, path)
    model, metadata = load_checkpoint(path)
    spec = FeatureSpec.from_dict(metadata["feature_spec"])
    features = tic_features(cohort[0][:50], TIMES_15S, spec)
    inputs = apply_normaliser(features, metadata["normaliser"], spec)
    assert np.array_equal(predict_proba(model, inputs), predict_proba(trained.model, inputs))
    assert metadata == trained.metadata


def test_checkpoint_weights_only_load(trained, tmp_path):
    path = tmp_path / "model.pt"
    save_checkpoint(trained, path)
    payload = torch.load(path, weights_only=True)
    assert payload["metadata"]["classes"] == ["muscle", "bone", "synovitis"]


def test_metadata_provenance(trained):
    metadata = trained.metadata
    assert metadata["architecture"] == "tic_cnn1d"
    assert metadata["versions"]["numpy"] == np.__version__
    assert {"python", "torch", "monai", "scikit-learn"} <= set(metadata["versions"])
    assert metadata["feature_spec"] == FeatureSpec().to_dict()
    assert metadata["train_config"]["seed"] == 0


# Evaluation tables


def test_specificity_from_confusion():
    matrix = np.array([[5, 1, 0], [2, 6, 0], [0, 0, 4]])
    # Class 0: TN = 6 + 0 + 0 + 4 = 10, FP = 2.
    assert specificity_per_class(matrix).tolist() == pytest.approx([10 / 12, 9 / 10, 1.0])


def test_table_metrics_known_answer():
    truth = np.array([0, 0, 0, 1, 1, 2])
    predicted = np.array([0, 0, 1, 1, 1, 2])
    table = classification_table(truth, predicted, ["muscle", "bone", "synovitis"])
    assert table["accuracy"] == pytest.approx(5 / 6)
    assert table["confusion_matrix"] == [[2, 1, 0], [0, 2, 0], [0, 0, 1]]
    assert table["per_class"]["bone"]["precision"] == pytest.approx(2 / 3)
    assert table["per_class"]["muscle"]["sensitivity"] == pytest.approx(2 / 3)


def test_table_absent_class_none():
    table = classification_table(np.array([0, 0]), np.array([0, 0]), ["muscle", "bone"])
    assert table["per_class"]["bone"]["sensitivity"] is None
    assert table["per_class"]["bone"]["support"] == 0


def test_binary_table_classes():
    table = binary_table(np.array([True, False]), np.array([True, True]), "synovitis")
    assert table["classes"] == ["rest", "synovitis"]
    assert table["per_class"]["synovitis"]["precision"] == pytest.approx(0.5)


def test_dice_known_overlap():
    first = np.zeros(10, dtype=bool)
    second = np.zeros(10, dtype=bool)
    first[:4] = True
    second[2:6] = True
    assert dice(first, second) == pytest.approx(0.5)


def test_dice_both_empty():
    assert dice(np.zeros(3, bool), np.zeros(3, bool)) == 1.0


def test_config_accepts_json_settings():
    config = TrainConfig(feature_spec={"channels": ["zscore"], "baseline_phases": 3})
    assert config.feature_spec == FeatureSpec(channels=("zscore",), baseline_phases=3)


def test_feature_spec_dict_round_trip():
    spec = FeatureSpec(grid_s=(0.0, 10.0, 20.0), normalisation="none")
    assert FeatureSpec.from_dict(spec.to_dict()) == spec


def test_nan_padded_series_train():
    rng = np.random.default_rng(4)
    coarse_times = np.arange(14) * 30.0
    rows, labels, subjects, series = [], [], [], []
    for subject in range(2):
        for index, times in enumerate((TIMES_15S, coarse_times)):
            for name in ("muscle", "synovitis"):
                block = np.full((20, 27), np.nan)
                block[:, : len(times)] = analytic_tics(name, 20, times, rng)
                rows.append(block)
                labels += [name] * 20
                subjects += [f"S{subject}"] * 20
                series += [index] * 20
    result = train_and_evaluate(
        np.concatenate(rows),
        labels,
        subjects,
        config=TrainConfig(folds=2, **FAST),
        times_by_series=[TIMES_15S, coarse_times],
        series_index=series,
    )
    assert result.report["pooled"]["model"]["n"] == 160
    assert np.isfinite(result.report["pooled"]["model"]["accuracy"])


def test_resnet50_2d_trains_end_to_end():
    tics, labels, subjects = analytic_cohort(n_subjects=2, per_class=8)
    config = TrainConfig(
        architecture="resnet50_2d",
        epochs=1,
        batch_size=16,
        folds=2,
        threads=1,
        hparams={"image_size": 32},
    )
    result = train_and_evaluate(tics, labels, subjects, TIMES_15S, config)
    assert result.report["pooled"]["model"]["n"] == 48
    assert result.metadata["hparams"] == {"image_size": 32, "in_channels": 2, "image_channel": 0}


def test_single_sample_batch_skipped():
    tics, labels, subjects = analytic_cohort(n_subjects=2, per_class=3)
    config = TrainConfig(architecture="resnet18_1d", epochs=1, batch_size=17, folds=0, threads=1)
    result = train_and_evaluate(tics, labels, subjects, TIMES_15S, config)
    assert result.metadata["n_tics"] == 18


def test_image_drawn_from_zscore_channel():
    spec = FeatureSpec(channels=("enhancement", "zscore"))
    config = TrainConfig(architecture="resnet50_2d", feature_spec=spec)
    assert network_hparams(config)["image_channel"] == 1
