"""TIC engine on phantom subjects: shape type per tissue, arterial mask and rule-based
synovitis against the phantom's ground-truth labels.

The rule-based synovitis map (shape type 4 outside the arterial mask) is scored as the
Hokkaido group scored pannus detection, whose ground truth was drawn in joint bounding
boxes. The Dice coefficient against code 8 is taken inside the joint boxes that contain
synovitis, and the false-positive rate inside the boxes that contain none. Veins also give
type-4 curves and the arterial mask does not remove them, so the Dice over the whole hand is
lower. bench/bench_tic_phantom.py reports it, and it is not asserted here.
"""

import numpy as np
import pytest
from sklearn.metrics import f1_score

from inference.arterial import arterial_mask, rule_based_synovitis
from inference.phantom import PhantomGeometry, generate_subject
from inference.shapes import analyse_tics

FAT, MUSCLE, MARROW, SYNOVITIS, ARTERY = 2, 3, 4, 8, 10
EXPECTED_TYPE = {SYNOVITIS: 4, MUSCLE: 2, FAT: 1, MARROW: 1, ARTERY: 4}
# The bolus reaches the hand after the k-space centre of phase index 2, so phase index 3
# is the first enhanced phase and shows the arteries at their first pass.
ARTERIAL_PHASE = 3

# Same timing as the full phantom (27 phases, 15 s), smaller matrix to keep the test fast.
GEOMETRY = PhantomGeometry(phases=27, slices=8, rows=128, columns=128)
SUBJECTS = ("PH001", "PH002", "PH003", "PH004", "PH005")
COHORT_SEED = 5


@pytest.fixture(scope="module", params=SUBJECTS)
def subject(request):
    phantom = generate_subject(request.param, COHORT_SEED, GEOMETRY)
    analysis = analyse_tics(phantom.volume, phantom.phase_times_s)
    arteries = arterial_mask(phantom.volume, phantom.phase_times_s)
    synovitis = rule_based_synovitis(phantom.volume, phantom.phase_times_s)
    return phantom, analysis, arteries, synovitis


def type_share(analysis, labels, code):
    """Share of the pixels of tissue `code` that get that tissue's expected shape type."""
    return float(np.mean(analysis.shape_types[labels == code] == EXPECTED_TYPE[code]))


def box_regions(phantom):
    """Return bool (S, R, C) unions of the joint boxes with and without code-8 voxels."""
    with_synovitis = np.zeros(phantom.labels.shape, dtype=bool)
    without = np.zeros(phantom.labels.shape, dtype=bool)
    for joint in phantom.joints:
        box = joint["box"]
        window = tuple(slice(lo, hi + 1) for lo, hi in (box["slices"], box["rows"], box["cols"]))
        target = with_synovitis if joint["synovitis_voxels"] > 0 else without
        target[window] = True
    return with_synovitis, without & ~with_synovitis


@pytest.mark.parametrize("code", sorted(EXPECTED_TYPE))
def test_tissue_gets_expected_type(subject, code):
    phantom, analysis, _, _ = subject
    assert type_share(analysis, phantom.labels, code) >= 0.95


def test_arrival_is_first_enhanced_phase(subject):
    _, analysis, _, _ = subject
    assert analysis.arrival.arrival_index == ARTERIAL_PHASE


def test_mi_picks_arterial_phase(subject):
    _, _, arteries, _ = subject
    assert arteries.arterial_phase == ARTERIAL_PHASE
    assert arteries.rule == "largest_drop"


def test_default_mask_removes_artery(subject):
    phantom, _, arteries, _ = subject
    assert arteries.mask[phantom.labels == ARTERY].mean() >= 0.95


def test_default_mask_keeps_synovitis(subject):
    phantom, _, arteries, _ = subject
    assert arteries.mask[phantom.labels == SYNOVITIS].mean() <= 0.05


def test_synovitis_dice_in_joint_boxes(subject):
    """Dice of the rule-based map against code 8 in the boxes that contain synovitis."""
    phantom, _, _, synovitis = subject
    boxes, _ = box_regions(phantom)
    truth = phantom.labels[boxes] == SYNOVITIS
    assert f1_score(truth, synovitis[boxes]) >= 0.85


def test_few_false_positives_in_clear_boxes(subject):
    """Share of detected voxels in the boxes without synovitis."""
    phantom, _, _, synovitis = subject
    _, clear = box_regions(phantom)
    if not clear.any():
        pytest.skip("every joint box of this subject contains synovitis")
    assert synovitis[clear].mean() <= 0.01
