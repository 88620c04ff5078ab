"""Score the arterial mask and the rule-based synovitis map on phantom subjects.

For each subject of a phantom cohort the script runs the TIC engine with its defaults
(`analyse_tics`, `arterial_mask`) and compares the rule-based synovitis map, shape type 4
outside the arterial mask, with the ground-truth labels. It prints one Markdown table row
per subject:

- artery removed: share of artery voxels (code 10) inside the arterial mask;
- synovitis kept: share of active synovitis voxels (code 8) outside the arterial mask;
- Dice, synovitis boxes: Dice against code 8 inside the union of the joint boxes that
  contain code-8 voxels (the figure the phantom tests assert);
- FP, clear boxes: share of the voxels of the other joint boxes marked as synovitis;
- Dice, all boxes and Dice, whole hand: the same Dice over all joint boxes and over the
  whole volume.

Run from the repository root, for example:

    .venv/bin/python bench/bench_tic_phantom.py --subjects 15 --slices 8 --size 128

`--source DIR` imports `inference` from another checkout (for example an older commit
exported with `git archive`) to compare versions on the same subjects.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parents[1]
ARTERY, SYNOVITIS = 10, 8


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--subjects", type=int, default=15, help="number of subjects to score (PH001, PH002, …)"
    )
    parser.add_argument("--seed", type=int, default=5, help="cohort seed")
    parser.add_argument("--slices", type=int, default=8, help="slices per subject")
    parser.add_argument("--size", type=int, default=128, help="rows and columns per slice")
    parser.add_argument(
        "--source", type=Path, default=REPOSITORY, help="checkout whose inference package to score"
    )
    return parser.parse_args()


def dice(detected: np.ndarray, truth: np.ndarray) -> float:
    """Dice coefficient of two bool arrays; 1.0 when both are empty."""
    total = int(detected.sum()) + int(truth.sum())
    return 1.0 if total == 0 else 2.0 * int((detected & truth).sum()) / total


def box_regions(subject) -> tuple[np.ndarray, np.ndarray]:
    """Return bool (S, R, C) unions of the joint boxes with and without code-8 voxels."""
    with_synovitis = np.zeros(subject.labels.shape, dtype=bool)
    without = np.zeros(subject.labels.shape, dtype=bool)
    for joint in subject.joints:
        box = joint["box"]
        window = tuple(slice(lo, hi + 1) for lo, hi in (box["slices"], box["rows"], box["cols"]))
        target = with_synovitis if joint["synovitis_voxels"] > 0 else without
        target[window] = True
    return with_synovitis, without & ~with_synovitis


def score_subject(subject, analyse_tics, arterial_mask) -> dict:
    """Run the engine on one phantom subject and compare its maps with the labels."""
    analysis = analyse_tics(subject.volume, subject.phase_times_s)
    arteries = arterial_mask(
        subject.volume, subject.phase_times_s, baseline_phases=analysis.arrival.baseline_phases
    )
    detected = (analysis.shape_types == 4) & ~arteries.mask
    truth = subject.labels == SYNOVITIS
    synovitis_boxes, clear_boxes = box_regions(subject)
    all_boxes = synovitis_boxes | clear_boxes
    return {
        "synovitis voxels": int(truth.sum()),
        "arterial phase": int(arteries.arterial_phase),
        "artery removed %": 100.0 * arteries.mask[subject.labels == ARTERY].mean(),
        "synovitis kept %": 100.0 * (1.0 - arteries.mask[truth].mean()),
        "Dice, synovitis boxes": dice(detected & synovitis_boxes, truth & synovitis_boxes),
        "FP %, clear boxes": 100.0 * detected[clear_boxes].mean() if clear_boxes.any() else 0.0,
        "Dice, all boxes": dice(detected & all_boxes, truth & all_boxes),
        "Dice, whole hand": dice(detected, truth),
    }


def format_row(subject_id: str, scores: dict) -> str:
    cells = [subject_id, str(scores["synovitis voxels"]), str(scores["arterial phase"])]
    cells += [f"{scores[name]:.1f}" for name in ("artery removed %", "synovitis kept %")]
    cells.append(f"{scores['Dice, synovitis boxes']:.3f}")
    cells.append(f"{scores['FP %, clear boxes']:.2f}")
    cells += [f"{scores[name]:.3f}" for name in ("Dice, all boxes", "Dice, whole hand")]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    arguments = parse_arguments()
    sys.path.insert(0, str(arguments.source.resolve()))
    from inference.arterial import arterial_mask
    from inference.phantom import PhantomGeometry, generate_subject
    from inference.shapes import analyse_tics

    geometry = PhantomGeometry(
        phases=27, slices=arguments.slices, rows=arguments.size, columns=arguments.size
    )
    print(
        "| subject | synovitis voxels | arterial phase | artery removed % | synovitis kept % "
        "| Dice, synovitis boxes | FP %, clear boxes | Dice, all boxes | Dice, whole hand |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    rows = []
    start = time.perf_counter()
    for index in range(1, arguments.subjects + 1):
        subject_id = f"PH{index:03d}"
        subject = generate_subject(subject_id, arguments.seed, geometry)
        scores = score_subject(subject, analyse_tics, arterial_mask)
        rows.append(scores)
        print(format_row(subject_id, scores), flush=True)

    medians = {name: float(np.median([row[name] for row in rows])) for name in rows[0]}
    medians["synovitis voxels"] = int(medians["synovitis voxels"])
    medians["arterial phase"] = int(medians["arterial phase"])
    print(format_row("median", medians))
    print(f"{len(rows)} subjects in {time.perf_counter() - start:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
