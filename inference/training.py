"""Subject-wise cross-validated training of per-pixel TIC classifiers.

Cross-validation folds are split by subject: all TICs of one subject are either in the
training fold or in the test fold, never both, because pixels of one patient on both sides
inflate every metric. Feature normalisation statistics are fitted on the training fold only.
The final model is then trained on all TICs and returned with its metadata.

Training runs in one process on in-memory tensors (no DataLoader workers), with torch seeded
and deterministic algorithms requested, so two runs with the same seed and thread count on a
CPU give identical weights.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import importlib.metadata
import logging
import math
import platform
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import LeaveOneGroupOut, StratifiedGroupKFold
from torch import nn

from inference.evaluation import binary_table, classification_table
from inference.features import FeatureSpec, apply_normaliser, fit_normaliser, tic_features
from inference.networks import build_network
from inference.prediction import configure_malloc, predict_proba, usable_cores
from inference.shapes import FAST_WASHOUT, ShapeParams, shape_types

logger = logging.getLogger(__name__)

# A model's classes are the labels present in its training data, in this order.
CLASS_ORDER = ("muscle", "bone", "synovitis", "artery", "vein", "other")
SYNOVITIS = "synovitis"
CLASS_WEIGHTINGS = ("balanced", "none")
CHECKPOINT_FORMAT = 1

Progress = Callable[[str, float], None]


class SubjectLeakError(ValueError):
    """A training fold and its test fold share subjects."""


@dataclass
class TrainConfig:
    """Training and cross-validation settings.

    folds: number of subject-grouped folds; leave-one-subject-out when folds >= the number of
        subjects; 0 skips cross-validation and trains only the final model.
    class_weighting: "balanced" weights the loss by N / (K * count) per class of the training
        fold; "none" weights all classes equally.
    max_tics_per_class_per_subject: when set, a seeded random subset of at most this many TICs
        is kept per (subject, class) before anything else, so one large ROI cannot dominate.
    augment_noise_sd: SD of Gaussian noise added to the standardised features of each training
        batch, drawn from a generator seeded by ``seed``; 0 turns augmentation off.
    threads: torch CPU threads during training; None uses every core this process may run on.
    hparams: extra keyword arguments for ``build_network`` (``in_channels`` is set from
        feature_spec).
    shape_params: ``inference.shapes.ShapeParams`` (or a dict of its fields) for the
        rule-based baseline; None uses its defaults.
    """

    architecture: str = "tic_cnn1d"
    epochs: int = 12
    batch_size: int = 512
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    folds: int = 5
    seed: int = 0
    class_weighting: str = "balanced"
    max_tics_per_class_per_subject: int | None = None
    augment_noise_sd: float = 0.0
    threads: int | None = None
    feature_spec: FeatureSpec = field(default_factory=FeatureSpec)
    hparams: dict = field(default_factory=dict)
    shape_params: object | None = None

    def __post_init__(self) -> None:
        # Settings stored as JSON (a model version's hyper-parameters) arrive as plain dicts.
        if isinstance(self.feature_spec, dict):
            self.feature_spec = FeatureSpec.from_dict(self.feature_spec)
        if self.class_weighting not in CLASS_WEIGHTINGS:
            raise ValueError(
                f"Invalid class_weighting {self.class_weighting!r}; valid choices: "
                f"{', '.join(CLASS_WEIGHTINGS)}."
            )
        if self.folds == 1 or self.folds < 0:
            raise ValueError(f"Invalid folds {self.folds}: use 0 to skip cross-validation or >= 2.")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"Invalid {name} {getattr(self, name)}: it must be >= 1.")


@dataclass
class TrainResult:
    """Outcome of ``train_and_evaluate``.

    classes: class names in model output order; predicted index k means classes[k].
    report: JSON-safe cross-validation report (see ``train_and_evaluate``).
    state_dict: weights of the final model, trained on all TICs.
    metadata: JSON-safe provenance needed to rebuild and apply the model.
    model: the final model in eval mode.
    """

    classes: list[str]
    report: dict
    state_dict: dict[str, torch.Tensor]
    metadata: dict
    model: nn.Module


@dataclass
class _Dataset:
    features: np.ndarray  # float32 (N, F), before normalisation
    targets: np.ndarray  # int64 (N,) indices into classes
    subjects: np.ndarray  # str (N,)
    shape_types: np.ndarray | None  # uint8 (N,) rule-based TIC shape types, if available
    baseline_note: str | None


def train_and_evaluate(
    tics: np.ndarray | Sequence[np.ndarray],
    labels: Sequence[str],
    subjects: Sequence[str],
    times_s: np.ndarray | None = None,
    config: TrainConfig | None = None,
    progress: Progress | None = None,
    *,
    times_by_series: Sequence[np.ndarray] | None = None,
    series_index: Sequence[int] | None = None,
) -> TrainResult:
    """Cross-validate a TIC classifier by subject, then train the final model on all TICs.

    tics: (N, P) signal in modality units when all TICs share ``times_s`` (P,) seconds.
        When series differ, pass ``times_by_series`` (one (P_s,) array per series) and
        ``series_index`` (N,) instead of times_s. TIC i of series s then has P_s values. The
        TICs may be a list of 1-D arrays or the rows of an (N, max P_s) array, whose columns
        after P_s are ignored (NaN padding is fine).
    labels: (N,) class names from CLASS_ORDER. subjects: (N,) subject pseudonyms.
    progress: called with (message, fraction done in [0, 1]).

    The report holds, per fold and pooled over all test folds: the model's multi-class table,
    the model's synovitis-vs-rest table, and the rule-based baseline's synovitis-vs-rest table
    (TIC shape type 4, fast enhancement then washout, counts as synovitis). The baseline cannot
    tell muscle from bone, so only the binary tables compare like with like.
    Raises ValueError for invalid input and SubjectLeakError if a split mixes subjects.
    """
    config = config or TrainConfig()
    started = time.perf_counter()
    configure_malloc()
    labels_array, subjects_array = _validated_labels(labels, subjects, tics)
    keep = _capped_indices(labels_array, subjects_array, config)
    classes = [name for name in CLASS_ORDER if name in set(labels_array[keep])]
    if len(classes) < 2:
        raise ValueError(f"Training needs at least 2 classes; the labels contain only {classes}.")

    groups = list(_series_groups(tics, keep, times_s, times_by_series, series_index))
    dataset = _build_dataset(groups, labels_array[keep], subjects_array[keep], classes, config)
    logger.info(
        "Training %s on %d TICs, %d subjects, classes %s",
        config.architecture,
        len(dataset.targets),
        len(np.unique(dataset.subjects)),
        classes,
    )

    with _torch_settings(config.threads):
        report = _cross_validate(dataset, classes, config, progress)
        normaliser = fit_normaliser(dataset.features, config.feature_spec)
        inputs = apply_normaliser(dataset.features, normaliser, config.feature_spec)
        n_trainings = len(report["folds"]) + 1
        model = _fit_model(
            inputs,
            dataset.targets,
            len(classes),
            config,
            seed=_derived_seed(config.seed, n_trainings - 1),
            progress=_stage_progress(progress, n_trainings - 1, n_trainings, "final model"),
        )

    state_dict = {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}
    metadata = _metadata(config, classes, dataset, normaliser, report, state_dict)
    if progress:
        progress("done", 1.0)
    logger.info("Training finished in %.1f s", time.perf_counter() - started)
    return TrainResult(classes, report, state_dict, metadata, model)


# Splits


def make_subject_folds(
    subjects: np.ndarray, targets: np.ndarray, folds: int, seed: int
) -> tuple[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Split TIC indices into folds grouped by subject.

    Returns (method, [(train_indices, test_indices), ...]) where method is
    "leave_one_subject_out" when folds >= the number of subjects, else
    "stratified_group_kfold" (class proportions kept as far as whole subjects allow).
    """
    n_subjects = len(np.unique(subjects))
    if n_subjects < 2:
        raise ValueError(
            f"Cross-validation by subject needs at least 2 subjects; got {n_subjects}. "
            "Add subjects or set folds=0."
        )
    if folds >= n_subjects:
        method, splitter = "leave_one_subject_out", LeaveOneGroupOut()
    else:
        method = "stratified_group_kfold"
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    splits = list(splitter.split(np.zeros(len(targets)), targets, groups=subjects))
    # StratifiedGroupKFold balances classes greedily and may leave a fold without subjects.
    splits = [(train, test) for train, test in splits if len(test)]
    for train, test in splits:
        check_disjoint_subjects(subjects[train], subjects[test])
    return method, splits


def check_disjoint_subjects(train_subjects: np.ndarray, test_subjects: np.ndarray) -> None:
    """Raise SubjectLeakError if any subject has TICs in both the training and the test fold."""
    shared = sorted(
        set(np.asarray(train_subjects).tolist()) & set(np.asarray(test_subjects).tolist())
    )
    if shared:
        raise SubjectLeakError(
            f"Subjects {shared} are in both the training and the test fold; split by subject."
        )


# Cross-validation


def _cross_validate(
    dataset: _Dataset, classes: list[str], config: TrainConfig, progress: Progress | None
) -> dict:
    spec = config.feature_spec
    report: dict = {"classes": classes, "folds": [], "pooled": None}
    report["baseline"] = _baseline_description(dataset)
    if config.folds == 0:
        report["split"] = {"method": "none", "folds": 0, "seed": config.seed}
        return report

    method, splits = make_subject_folds(
        dataset.subjects, dataset.targets, config.folds, config.seed
    )
    report["split"] = {"method": method, "folds": len(splits), "seed": config.seed}
    predicted = np.full(len(dataset.targets), -1, dtype=np.int64)
    for fold, (train, test) in enumerate(splits):
        normaliser = fit_normaliser(dataset.features[train], spec)
        model = _fit_model(
            apply_normaliser(dataset.features[train], normaliser, spec),
            dataset.targets[train],
            len(classes),
            config,
            seed=_derived_seed(config.seed, fold),
            progress=_stage_progress(progress, fold, len(splits) + 1, f"fold {fold + 1}"),
        )
        probabilities = predict_proba(
            model, apply_normaliser(dataset.features[test], normaliser, spec)
        )
        predicted[test] = probabilities.argmax(axis=1)
        entry = {
            "fold": fold + 1,
            "train_subjects": sorted(np.unique(dataset.subjects[train]).tolist()),
            "test_subjects": sorted(np.unique(dataset.subjects[test]).tolist()),
            "n_train": int(len(train)),
            "n_test": int(len(test)),
            "normaliser": normaliser,
        }
        entry.update(_tables(dataset, test, predicted[test], classes))
        report["folds"].append(entry)

    tested = np.flatnonzero(predicted >= 0)
    report["pooled"] = _tables(dataset, tested, predicted[tested], classes)
    accuracies = [fold["model"]["accuracy"] for fold in report["folds"]]
    report["fold_accuracy"] = {"mean": float(np.mean(accuracies)), "sd": float(np.std(accuracies))}
    return report


def _tables(
    dataset: _Dataset, indices: np.ndarray, predicted: np.ndarray, classes: list[str]
) -> dict:
    truth = dataset.targets[indices]
    tables = {"model": classification_table(truth, predicted, classes)}
    if SYNOVITIS not in classes:
        return tables
    synovitis = classes.index(SYNOVITIS)
    truth_positive = truth == synovitis
    tables["model_binary"] = binary_table(truth_positive, predicted == synovitis, SYNOVITIS)
    if dataset.shape_types is not None:
        rule_positive = dataset.shape_types[indices] == FAST_WASHOUT
        tables["baseline_binary"] = binary_table(truth_positive, rule_positive, SYNOVITIS)
    return tables


def _baseline_description(dataset: _Dataset) -> dict:
    return {
        "available": dataset.shape_types is not None,
        "note": dataset.baseline_note,
        "rule": "TIC shape type 4 (fast enhancement then washout) counts as synovitis; the "
        "rule cannot separate the other classes, so it is compared on synovitis vs rest.",
    }


# Model fitting


def _fit_model(
    inputs: np.ndarray,
    targets: np.ndarray,
    n_classes: int,
    config: TrainConfig,
    seed: int,
    progress: Progress | None,
) -> nn.Module:
    """Train one network on standardised float32 (N, F) inputs and int64 (N,) targets."""
    torch.manual_seed(seed)
    model = build_network(
        config.architecture, inputs.shape[1], n_classes, **network_hparams(config)
    )
    loss_function = nn.CrossEntropyLoss(weight=_class_weights(targets, n_classes, config))
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    batches_per_epoch = math.ceil(len(targets) / config.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=config.learning_rate, total_steps=config.epochs * batches_per_epoch
    )
    order_generator = torch.Generator().manual_seed(seed)
    noise_generator = np.random.default_rng(seed)
    x_all = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))
    y_all = torch.from_numpy(targets.astype(np.int64))
    # Batch normalisation (in the ResNets) cannot train on a batch of one sample.
    has_batch_norm = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    min_batch = 2 if has_batch_norm else 1

    model.train()
    for epoch in range(config.epochs):
        losses = []
        order = torch.randperm(len(targets), generator=order_generator)
        for batch in order.split(config.batch_size):
            if len(batch) < min_batch:
                continue
            x = x_all[batch]
            if config.augment_noise_sd > 0:
                noise = noise_generator.standard_normal(x.shape, dtype=np.float32)
                x = x + torch.from_numpy(noise * np.float32(config.augment_noise_sd))
            optimiser.zero_grad(set_to_none=True)
            loss = loss_function(model(x), y_all[batch])
            loss.backward()
            optimiser.step()
            scheduler.step()
            losses.append(loss.item())
        if progress:
            mean_loss = f"{np.mean(losses):.4f}" if losses else "n/a"
            progress(
                f"epoch {epoch + 1}/{config.epochs}, loss {mean_loss}", (epoch + 1) / config.epochs
            )
    model.eval()
    return model


def network_hparams(config: TrainConfig) -> dict:
    """Return the keyword arguments for ``build_network``: config.hparams plus the input layout.

    ``in_channels`` comes from the feature spec. For resnet50_2d the image is drawn from the
    z-score channel unless config.hparams names another ``image_channel``.
    """
    spec = config.feature_spec
    hparams = {"in_channels": spec.n_channels}
    if config.architecture == "resnet50_2d" and "zscore" in spec.channels:
        hparams["image_channel"] = spec.channels.index("zscore")
    hparams.update(config.hparams)
    return _json_safe(hparams)


def _class_weights(targets: np.ndarray, n_classes: int, config: TrainConfig) -> torch.Tensor:
    counts = np.bincount(targets, minlength=n_classes).astype(np.float64)
    if config.class_weighting == "none":
        return torch.ones(n_classes)
    present = counts > 0
    weights = np.zeros(n_classes)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return torch.tensor(weights, dtype=torch.float32)


def _derived_seed(seed: int, stage: int) -> int:
    """Return an independent 32-bit seed for stage k (fold k, or the final model) of a run."""
    return int(np.random.SeedSequence([seed, stage]).generate_state(1)[0])


@contextmanager
def _torch_settings(threads: int | None) -> Iterator[None]:
    """Fix torch's thread count and request deterministic algorithms, then restore both."""
    previous_threads = torch.get_num_threads()
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    previous_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(threads or usable_cores())
    # warn_only: an operation without a deterministic kernel warns instead of failing.
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous_deterministic, warn_only=previous_warn_only)
        torch.set_num_threads(previous_threads)


def _stage_progress(
    progress: Progress | None, stage: int, n_stages: int, name: str
) -> Progress | None:
    if progress is None:
        return None

    def report(message: str, fraction: float) -> None:
        progress(f"{name}: {message}", min((stage + fraction) / n_stages, 0.999))

    return report


# Input preparation


def _validated_labels(labels, subjects, tics) -> tuple[np.ndarray, np.ndarray]:
    labels_array = np.asarray(labels, dtype=str)
    subjects_array = np.asarray(subjects, dtype=str)
    n = len(tics)
    if labels_array.shape != (n,) or subjects_array.shape != (n,):
        raise ValueError(
            f"Got {n} TICs but {labels_array.size} labels and {subjects_array.size} subjects; "
            "pass one label and one subject per TIC."
        )
    unknown = sorted(set(labels_array.tolist()) - set(CLASS_ORDER))
    if unknown:
        raise ValueError(f"Unknown labels {unknown}; valid labels: {', '.join(CLASS_ORDER)}.")
    return labels_array, subjects_array


def _capped_indices(labels: np.ndarray, subjects: np.ndarray, config: TrainConfig) -> np.ndarray:
    """Return sorted TIC indices kept after the per-(subject, class) cap."""
    cap = config.max_tics_per_class_per_subject
    if cap is None:
        return np.arange(len(labels))
    rng = np.random.default_rng(config.seed)
    kept = []
    for subject in np.unique(subjects):
        for name in np.unique(labels[subjects == subject]):
            members = np.flatnonzero((subjects == subject) & (labels == name))
            if len(members) > cap:
                members = rng.choice(members, size=cap, replace=False)
            kept.append(members)
    return np.sort(np.concatenate(kept))


def _series_groups(tics, keep, times_s, times_by_series, series_index) -> Iterator[tuple]:
    """Yield (positions into keep, (n, P) TICs, (P,) times) per series timing."""
    if times_by_series is None:
        if times_s is None:
            raise ValueError("Pass times_s, or times_by_series with series_index.")
        yield np.arange(len(keep)), np.asarray(tics, dtype=np.float64)[keep], np.asarray(times_s)
        return
    if series_index is None or len(series_index) != len(tics):
        raise ValueError("times_by_series needs series_index with one series number per TIC.")
    index = np.asarray(series_index)[keep]
    for series in np.unique(index):
        times = np.asarray(times_by_series[series], dtype=np.float64)
        positions = np.flatnonzero(index == series)
        yield positions, _series_block(tics, keep[positions], times.size, series), times


def _series_block(tics, rows: np.ndarray, n_phases: int, series: int) -> np.ndarray:
    if isinstance(tics, np.ndarray) and tics.ndim == 2:
        if tics.shape[1] < n_phases:
            raise ValueError(
                f"Series {series} has {n_phases} phases but the TIC array has only "
                f"{tics.shape[1]} columns."
            )
        return tics[rows, :n_phases].astype(np.float64)
    block = [np.asarray(tics[row], dtype=np.float64) for row in rows]
    lengths = {len(row) for row in block}
    if lengths != {n_phases}:
        raise ValueError(
            f"TICs of series {series} have lengths {sorted(lengths)}; each must have "
            f"{n_phases} values, one per phase time."
        )
    return np.stack(block)


def _build_dataset(groups, labels, subjects, classes, config: TrainConfig) -> _Dataset:
    spec = config.feature_spec
    features = np.empty((len(labels), spec.n_features), dtype=np.float32)
    for positions, block, times in groups:
        features[positions] = tic_features(block, times, spec)
    shape_types, note = _rule_based_types(groups, len(labels), config)
    targets = np.array([classes.index(name) for name in labels], dtype=np.int64)
    return _Dataset(features, targets, subjects, shape_types, note)


def _rule_based_types(groups, n: int, config: TrainConfig) -> tuple[np.ndarray | None, str | None]:
    """Return (shape types uint8 (N,), None), or (None, reason) when the rule cannot run."""
    params = config.shape_params or ShapeParams()
    if isinstance(params, dict):
        params = ShapeParams(**params)
    types = np.zeros(n, dtype=np.uint8)
    for positions, block, times in groups:
        try:
            types[positions] = shape_types(
                block.T, times, params=params, baseline_phases=config.feature_spec.baseline_phases
            )
        except ValueError as error:
            # The learned model can still be trained and evaluated without the baseline.
            logger.warning("Rule-based TIC shape baseline failed: %s", error)
            return None, f"The rule-based baseline failed: {error}"
    return types, None


# Metadata and checkpoints


def _metadata(config, classes, dataset: _Dataset, normaliser, report, state_dict) -> dict:
    spec = config.feature_spec
    return {
        "format_version": CHECKPOINT_FORMAT,
        "architecture": config.architecture,
        "hparams": network_hparams(config),
        "n_inputs": spec.n_features,
        "classes": list(classes),
        "feature_spec": spec.to_dict(),
        "normaliser": normaliser,
        "train_config": _train_config_dict(config),
        "seed": config.seed,
        "counts": _counts_per_subject(dataset, classes),
        "n_tics": int(len(dataset.targets)),
        "report": report,
        "weights_sha256": weights_sha256(state_dict),
        "versions": _versions(),
        "code_revision": _code_revision(),
        "created_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def _train_config_dict(config: TrainConfig) -> dict:
    values = {
        name: getattr(config, name)
        for name in (
            "architecture",
            "epochs",
            "batch_size",
            "learning_rate",
            "weight_decay",
            "folds",
            "seed",
            "class_weighting",
            "max_tics_per_class_per_subject",
            "augment_noise_sd",
        )
    }
    values["threads"] = config.threads or usable_cores()
    params = config.shape_params
    if dataclasses.is_dataclass(params):
        params = dataclasses.asdict(params)
    values["shape_params"] = _json_safe(params)
    return values


def _counts_per_subject(dataset: _Dataset, classes: list[str]) -> dict:
    counts = {}
    for subject in np.unique(dataset.subjects):
        per_class = np.bincount(
            dataset.targets[dataset.subjects == subject], minlength=len(classes)
        )
        counts[str(subject)] = {name: int(n) for name, n in zip(classes, per_class, strict=True)}
    return counts


def weights_sha256(state_dict: dict[str, torch.Tensor]) -> str:
    """Return a SHA-256 over the names, dtypes, shapes and bytes of all tensors, in name order."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def _versions() -> dict:
    versions = {"python": platform.python_version()}
    for package in ("torch", "monai", "numpy", "scikit-learn"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def _code_revision() -> str | None:
    """Return `git describe --always --dirty` of this source tree, or None outside git."""
    try:
        completed = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip() or None


def _json_safe(value):
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def save_checkpoint(result: TrainResult, path: str | Path) -> None:
    """Write the final model's weights and metadata with torch.save.

    The file contains only tensors, dicts, lists, strings and numbers, so it loads with
    ``torch.load(weights_only=True)``.
    """
    payload = {
        "format_version": CHECKPOINT_FORMAT,
        "state_dict": result.state_dict,
        "metadata": result.metadata,
    }
    torch.save(payload, Path(path))


def load_checkpoint(path: str | Path) -> tuple[nn.Module, dict]:
    """Rebuild the model from a checkpoint; returns (model in eval mode on the CPU, metadata)."""
    payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    if payload.get("format_version") != CHECKPOINT_FORMAT:
        raise ValueError(
            f"Checkpoint {path} has format_version {payload.get('format_version')!r}; this "
            f"version of PannusMap reads format {CHECKPOINT_FORMAT}. Retrain the model."
        )
    metadata = payload["metadata"]
    model = build_network(
        metadata["architecture"],
        metadata["n_inputs"],
        len(metadata["classes"]),
        **metadata["hparams"],
    )
    model.load_state_dict(payload["state_dict"])
    model.eval()
    return model, metadata
