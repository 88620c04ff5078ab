"""TIC engine on phantom subjects: shape type per tissue, arterial mask and rule-based
synovitis against the phantom's ground-truth labels."""

import numpy as np
import pytest
from sklearn.metrics import f1_score

from inference.arterial import arterial_mask, rule_based_synovitis
from inference.phantom import PhantomGeometry, generate_subject
from inference.shapes import analyse_tics

FAT, MUSCLE, MARROW, SYNOVITIS, ARTERY = 2, 3, 4, 8, 10
EXPECTED_TYPE = {SYNOVITIS: 4, MUSCLE: 2, FAT: 1, MARROW: 1, ARTERY: 4}

# Same timing as the full phantom (27 phases, 15 s), smaller matrix to keep the test fast.
GEOMETRY = PhantomGeometry(phases=27, slices=8, rows=128, columns=128)
SUBJECTS = ("PH001", "PH002", "PH003")
COHORT_SEED = 5


@pytest.fixture(scope="module", params=SUBJECTS)
def subject(request):
    phantom = generate_subject(request.param, COHORT_SEED, GEOMETRY)
    analysis = analyse_tics(phantom.volume, phantom.phase_times_s)
    return phantom, analysis


def type_share(analysis, labels, code):
    """Share of the pixels of tissue `code` that get that tissue's expected shape type."""
    return float(np.mean(analysis.shape_types[labels == code] == EXPECTED_TYPE[code]))


@pytest.mark.parametrize("code", sorted(EXPECTED_TYPE))
def test_tissue_gets_expected_type(subject, code):
    phantom, analysis = subject
    assert type_share(analysis, phantom.labels, code) >= 0.95


def test_arrival_is_injection_phase(subject):
    phantom, analysis = subject
    # Injection is at the start of phase index 2, and each phase shows its window's mean.
    assert analysis.arrival.arrival_index in (2, 3)


def test_default_mask_removes_artery(subject):
    phantom, _ = subject
    result = arterial_mask(phantom.volume, phantom.phase_times_s)
    assert result.mask[phantom.labels == ARTERY].mean() >= 0.95


@pytest.mark.xfail(
    strict=True,
    reason="At 15 s phases synovitis enhances in the same phases as the arteries, and the "
    "mean + 3 SD threshold of D over the hand falls below synovitis D.",
)
def test_default_mask_keeps_synovitis(subject):
    phantom, _ = subject
    result = arterial_mask(phantom.volume, phantom.phase_times_s)
    assert result.mask[phantom.labels == SYNOVITIS].mean() <= 0.05


@pytest.mark.xfail(
    strict=True,
    reason="Veins, skin and mild synovitis also give type-4 curves, and the default arterial "
    "mask removes most synovitis.",
)
def test_rule_based_synovitis_dice(subject):
    phantom, _ = subject
    detected = rule_based_synovitis(phantom.volume, phantom.phase_times_s)
    dice = f1_score((phantom.labels == SYNOVITIS).ravel(), detected.ravel())
    assert dice >= 0.85
