"""Benchmark of training and whole-volume prediction with the default TIC classifier.

(a) Subject-wise cross-validated training of the default model (tic_cnn1d) on a demo cohort of
    phantom subjects, with labelled TICs drawn at random from the phantom's ground truth.
(b) Prediction of one full-size phantom series (27 x 20 x 256 x 256) inside the default body
    mask and over the whole volume, in float32 and bfloat16. The process's malloc is
    configured as the product configures it (``inference.prediction.configure_malloc``), or
    left at glibc's defaults with ``--malloc glibc-default``.
Also reports the synovitis Dice of the prediction of a held-out subject against the phantom's
ground truth (active synovitis, tissue code 8).

Run: .venv/bin/python bench/bench_learning.py [--runs 3] [--subjects 4]
Prints a Markdown section for bench/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from inference import prediction  # noqa: E402
from inference.evaluation import dice  # noqa: E402
from inference.phantom import TISSUE_CODES, generate_subject  # noqa: E402
from inference.prediction import body_mask, predict_volume  # noqa: E402
from inference.training import TrainConfig, train_and_evaluate  # noqa: E402

CODES = {name: code for code, name in TISSUE_CODES.items()}
# Phantom tissues labelled as each training class. "other" gathers the tissue inside the body
# mask that a reader would not call muscle, bone, synovitis, artery or vein.
CLASS_TISSUES = {
    "paper": {"muscle": ["muscle"], "bone": ["bone_marrow"], "synovitis": ["synovitis"]},
    # The labels of the ROIs that the demo generates.
    "demo": {
        "muscle": ["muscle"],
        "bone": ["bone_marrow"],
        "synovitis": ["synovitis"],
        "artery": ["artery"],
    },
    "extended": {
        "muscle": ["muscle"],
        "bone": ["bone_marrow"],
        "synovitis": ["synovitis"],
        "artery": ["artery"],
        "vein": ["vein"],
        "other": ["skin", "fat", "synovium", "synovitis_mild", "joint_fluid"],
    },
}


def labelled_tics(subject, classes: dict, per_class: int, rng) -> tuple[np.ndarray, list[str]]:
    """Draw up to per_class random voxels of each class's tissue; returns (N, P) TICs, labels."""
    signal = subject.volume.reshape(subject.volume.shape[0], -1)
    truth = subject.labels.ravel()
    rows, labels = [], []
    for name, tissues in classes.items():
        voxels = np.flatnonzero(np.isin(truth, [CODES[t] for t in tissues]))
        chosen = rng.choice(voxels, size=min(per_class, len(voxels)), replace=False)
        rows.append(signal[:, np.sort(chosen)].T)
        labels += [name] * len(chosen)
    return np.concatenate(rows).astype(np.float32), labels


def demo_cohort(n_subjects: int, seed: int, classes: dict, per_class: int):
    rng = np.random.default_rng(seed)
    tics, labels, subjects = [], [], []
    for index in range(n_subjects):
        subject = generate_subject(f"PH{index + 1:03d}", seed)
        rows, names = labelled_tics(subject, classes, per_class, rng)
        tics.append(rows)
        labels += names
        subjects += [subject.subject_id] * len(names)
    return np.concatenate(tics), np.array(labels), np.array(subjects), subject.phase_times_s


def timed(function, runs: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return times, result


def bench_training(args, classes: dict):
    tics, labels, subjects, times_s = demo_cohort(args.subjects, args.seed, classes, args.per_class)
    config = TrainConfig(seed=args.seed, threads=args.train_threads)
    durations, result = timed(
        lambda: train_and_evaluate(tics, labels, subjects, times_s, config), args.train_runs
    )
    return durations, result, len(labels)


def bench_prediction(result, subject, args) -> list[tuple[str, list[float]]]:
    mask = body_mask(subject.volume)
    everything = np.ones(mask.shape, dtype=bool)
    rows = []
    for label, voxels, bf16 in (
        (f"body mask ({int(mask.sum())} voxels), float32", mask, False),
        (f"body mask ({int(mask.sum())} voxels), bfloat16", mask, True),
        (f"whole volume ({mask.size} voxels), float32", everything, False),
    ):
        durations, _ = timed(
            lambda v=voxels, b=bf16: predict_volume(
                result.model, result.metadata, subject.volume, subject.phase_times_s, mask=v, bf16=b
            ),
            args.runs,
        )
        rows.append((label, durations))
    return rows


def held_out_dice(result, subject) -> tuple[float, float]:
    labels, _ = predict_volume(result.model, result.metadata, subject.volume, subject.phase_times_s)
    synovitis = result.classes.index("synovitis") + 1
    truth = subject.labels == CODES["synovitis"]
    inside = np.zeros(truth.shape, dtype=bool)
    for joint in subject.joints:
        box = joint["box"]
        inside[
            box["slices"][0] : box["slices"][1] + 1,
            box["rows"][0] : box["rows"][1] + 1,
            box["cols"][0] : box["cols"][1] + 1,
        ] = True
    return dice(labels == synovitis, truth), dice((labels == synovitis) & inside, truth & inside)


def seconds(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} s (runs: {', '.join(f'{v:.1f}' for v in values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed prediction runs per mode")
    parser.add_argument("--train-runs", type=int, default=3, help="timed training runs")
    parser.add_argument("--subjects", type=int, default=4, help="phantom subjects in the cohort")
    parser.add_argument("--per-class", type=int, default=3000, help="TICs per class per subject")
    parser.add_argument("--classes", choices=sorted(CLASS_TISSUES), default="paper")
    parser.add_argument("--seed", type=int, default=1, help="phantom cohort and training seed")
    parser.add_argument(
        "--train-threads",
        type=int,
        default=None,
        help="TrainConfig.threads (default: every usable core, as in the product)",
    )
    parser.add_argument(
        "--malloc",
        choices=("product", "glibc-default"),
        default="product",
        help="product: configure_malloc as predict_volume does; glibc-default: leave it",
    )
    args = parser.parse_args()
    if args.malloc == "glibc-default":
        # Pretend the setting was applied, so predict_volume leaves glibc's defaults alone.
        prediction._malloc_configured = True

    classes = CLASS_TISSUES[args.classes]
    durations, result, n_tics = bench_training(args, classes)
    held_out = generate_subject(f"PH{args.subjects + 1:03d}", args.seed)
    prediction_rows = bench_prediction(result, held_out, args)
    whole, in_boxes = held_out_dice(result, held_out)
    print_report(args, classes, durations, result, n_tics, prediction_rows, whole, in_boxes)


def print_report(args, classes, durations, result, n_tics, prediction_rows, whole, in_boxes):
    pooled = result.report["pooled"]
    model = pooled["model"]
    print(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, malloc {args.malloc}, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}, "
        f"1-min load average after the run {os.getloadavg()[0]:.1f}"
    )
    print(
        f"Cohort: {args.subjects} phantom subjects (seed {args.seed}), classes {list(classes)}, "
        f"{n_tics} labelled TICs"
    )
    threads = args.train_threads or "all cores"
    print(
        f"| training + {result.report['split']['method']} CV, default TrainConfig, threads {threads} "
        f"| {seconds(durations)} |"
    )
    for label, values in prediction_rows:
        print(f"| predict_volume, {label} | {seconds(values)} |")
    print(
        f"Pooled CV accuracy {model['accuracy']:.4f}; per class: "
        + ", ".join(
            f"{name} sens {row['sensitivity']:.3f} prec {row['precision']:.3f} "
            f"spec {row['specificity']:.3f}"
            for name, row in model["per_class"].items()
        )
    )
    for key in ("model_binary", "baseline_binary"):
        if key in pooled:
            row = pooled[key]["per_class"]["synovitis"]
            print(
                f"{key}: synovitis sens {row['sensitivity']:.3f} prec {row['precision']:.3f} "
                f"spec {row['specificity']:.3f}"
            )
    print(
        f"Held-out subject synovitis Dice: whole volume {whole:.3f}, inside joint boxes {in_boxes:.3f}"
    )
    print(f"Git revision: {git_revision()}")


def git_revision() -> str:
    completed = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    return completed.stdout.strip()


if __name__ == "__main__":
    main()
