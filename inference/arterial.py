"""Arterial mask subtraction: find arterial pixels and drop them from the type-4 map.

Arteries enhance first and wash out, so their TICs look like synovitis (type 4). The arterial
phase is chosen by mutual information (MI) between the pre-contrast mean image and each
phase, because the first arterial enhancement changes the joint histogram most. Pixels that
are much brighter in that phase than before contrast form the arterial mask. The MI criterion
follows Kobayashi et al., JMRI 2018 (doi:10.1002/jmri.25995); its abstract gives no
algorithm, so the rules and thresholds below are our own defaults.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.filters import threshold_otsu
from skimage.morphology import remove_small_objects

from inference.shapes import FAST_WASHOUT, ShapeParams, shape_types
from inference.tic import ArrivalParams, BolusArrival, resolve_arrival, validate_series

logger = logging.getLogger(__name__)

PHASE_RULES = ("largest_drop", "threshold")
THRESHOLD_METHODS = ("sd", "otsu")

# In-plane 4-connected neighbourhood applied slice by slice: the dilation grows the mask by
# one pixel within each slice and never into the neighbouring slices.
_IN_PLANE_CROSS = ndimage.generate_binary_structure(2, 1)[np.newaxis]


@dataclass(frozen=True)
class ArterialMaskParams:
    """Settings of the arterial phase choice and of the arterial mask."""

    bins: int = 64  # joint histogram bins per axis for MI
    # The largest one-step MI drop is searched at phases within this time after arrival.
    search_window_s: float = 60.0
    # Alternative rule: first phase with MI < (1 - mi_drop_fraction) * MI(P, second baseline).
    mi_drop_fraction: float = 0.05
    rule: str = "largest_drop"  # one of PHASE_RULES
    threshold_method: str = "sd"  # "sd": mean + threshold_sd * SD of D in the body; "otsu"
    threshold_sd: float = 3.0
    # Connected components (4-connected, within one slice) with fewer pixels are dropped.
    min_component_px: int = 3
    dilation_px: int = 1

    def __post_init__(self):
        if self.rule not in PHASE_RULES:
            raise ValueError(f"rule={self.rule!r} is invalid; choose one of {PHASE_RULES}.")
        if self.threshold_method not in THRESHOLD_METHODS:
            raise ValueError(
                f"threshold_method={self.threshold_method!r} is invalid; choose one of "
                f"{THRESHOLD_METHODS}."
            )


@dataclass(frozen=True)
class ArterialMaskResult:
    """Arterial mask of a (P, S, R, C) series and how its phase was chosen.

    mask, body_mask: bool (S, R, C). subtraction: float32 (S, R, C), the arterial phase minus
    the pre-contrast mean, in modality units. mutual_information: float64 (P,) in nats.
    rule: "largest_drop", "threshold" or "override". threshold_phase is None when no phase
    met the alternative rule.
    """

    mask: np.ndarray
    arterial_phase: int
    rule: str
    mutual_information: np.ndarray
    largest_drop_phase: int
    threshold_phase: int | None
    threshold: float
    body_mask: np.ndarray
    subtraction: np.ndarray
    arrival: BolusArrival


def compute_body_mask(image: np.ndarray) -> np.ndarray:
    """Return the body mask of a pre-contrast image (S, R, C): Otsu threshold, holes filled.

    Holes are filled slice by slice, so that dark structures inside the hand (vessels before
    contrast, cortical bone) stay in the mask. Returns bool (S, R, C).
    """
    mask = image > threshold_otsu(image)
    for index in range(mask.shape[0]):
        mask[index] = ndimage.binary_fill_holes(mask[index])
    return mask


def mutual_information(first: np.ndarray, second: np.ndarray, bins: int = 64) -> float:
    """Mutual information (nats) of two equally long 1-D samples from a bins x bins histogram.

    Each sample is binned evenly between its own minimum and maximum.
    """
    first_bins = _bin_indices(first, bins)
    return _mutual_information_binned(first_bins, _bin_indices(second, bins), bins)


def _bin_indices(values: np.ndarray, bins: int) -> np.ndarray:
    low = float(values.min())
    span = float(values.max()) - low
    if span <= 0:
        return np.zeros(values.shape, dtype=np.intp)
    scaled = (values - low) * (bins / span)
    return np.minimum(scaled.astype(np.intp), bins - 1)


def _mutual_information_binned(first: np.ndarray, second: np.ndarray, bins: int) -> float:
    joint = np.bincount(first * bins + second, minlength=bins * bins).astype(np.float64)
    joint = joint.reshape(bins, bins) / joint.sum()
    first_marginal = joint.sum(axis=1, keepdims=True)
    second_marginal = joint.sum(axis=0, keepdims=True)
    nonzero = joint > 0
    ratio = joint[nonzero] / (first_marginal @ second_marginal)[nonzero]
    return float(np.sum(joint[nonzero] * np.log(ratio)))


def mutual_information_curve(
    volume: np.ndarray, reference: np.ndarray, mask: np.ndarray, bins: int = 64
) -> np.ndarray:
    """MI (nats) between `reference` and each phase of `volume` inside `mask`.

    volume: (P, S, R, C); reference: (S, R, C); mask: bool (S, R, C). Returns float64 (P,).
    """
    reference_bins = _bin_indices(reference[mask], bins)
    curve = np.empty(volume.shape[0], dtype=np.float64)
    for phase in range(volume.shape[0]):
        phase_bins = _bin_indices(volume[phase][mask].astype(np.float32), bins)
        curve[phase] = _mutual_information_binned(reference_bins, phase_bins, bins)
    return curve


def choose_arterial_phase(
    mi: np.ndarray, times_s: np.ndarray, arrival: BolusArrival, params: ArterialMaskParams
) -> tuple[int, int | None]:
    """Return (largest-drop phase, threshold-rule phase) from the MI curve (P,).

    The largest-drop phase k maximises MI[k-1] - MI[k] over the phases from arrival to
    arrival + search_window_s. The threshold-rule phase is the first post-contrast phase with
    MI below (1 - mi_drop_fraction) times the MI of the second baseline phase (the first
    when there is only one), or None.
    """
    times = np.asarray(times_s, dtype=np.float64)
    start = arrival.arrival_index
    window_end = arrival.arrival_time_s + params.search_window_s + 1e-6
    stop = max(start + 1, int(np.searchsorted(times, window_end, side="right")))
    drops = mi[start - 1 : stop - 1] - mi[start:stop]
    largest_drop = start + int(np.argmax(drops))

    baseline_reference = mi[min(1, arrival.baseline_phases - 1)]
    below = np.flatnonzero(mi[start:] < (1.0 - params.mi_drop_fraction) * baseline_reference)
    threshold_phase = start + int(below[0]) if below.size else None
    return largest_drop, threshold_phase


def arterial_mask(
    volume: np.ndarray,
    times_s: np.ndarray,
    params: ArterialMaskParams = ArterialMaskParams(),
    baseline_phases: int | None = None,
    arterial_phase: int | None = None,
    body_mask: np.ndarray | None = None,
    arrival_params: ArrivalParams | None = None,
) -> ArterialMaskResult:
    """Find arterial pixels by subtracting the pre-contrast mean from the arterial phase.

    volume: (P, S, R, C) signal, ideally motion-corrected; times_s: (P,) seconds.
    `arterial_phase` overrides the MI choice. `body_mask` (bool (S, R, C)) defaults to
    `compute_body_mask` of the pre-contrast mean. The mask is D > mean + threshold_sd * SD
    of D inside the body (or D > Otsu's threshold of D there), without components under
    min_component_px pixels, dilated by dilation_px pixels in-plane.
    """
    times = validate_series(volume, times_s)
    if volume.ndim != 4:
        raise ValueError(f"Arterial mask needs a (P, S, R, C) volume, got shape {volume.shape}.")
    arrival = resolve_arrival(volume, times, baseline_phases, arrival_params)
    precontrast = volume[: arrival.baseline_phases].mean(axis=0, dtype=np.float32)
    body = compute_body_mask(precontrast) if body_mask is None else body_mask.astype(bool)

    mi = mutual_information_curve(volume, precontrast, body, params.bins)
    largest_drop, threshold_phase = choose_arterial_phase(mi, times, arrival, params)
    phase, rule = _pick_phase(largest_drop, threshold_phase, arterial_phase, params, volume)
    logger.info(
        "Arterial phase %d (%s); largest MI drop at %d, threshold rule at %s.",
        phase,
        rule,
        largest_drop,
        threshold_phase,
    )

    subtraction = volume[phase].astype(np.float32) - precontrast
    threshold = _subtraction_threshold(subtraction[body], params)
    mask = _clean_mask(subtraction > threshold, params)
    return ArterialMaskResult(
        mask=mask,
        arterial_phase=phase,
        rule=rule,
        mutual_information=mi,
        largest_drop_phase=largest_drop,
        threshold_phase=threshold_phase,
        threshold=threshold,
        body_mask=body,
        subtraction=subtraction,
        arrival=arrival,
    )


def _pick_phase(largest_drop, threshold_phase, override, params, volume) -> tuple[int, str]:
    if override is not None:
        if not 0 <= override < volume.shape[0]:
            raise ValueError(
                f"arterial_phase={override} is outside the series' phases 0-{volume.shape[0] - 1}."
            )
        return override, "override"
    if params.rule == "threshold" and threshold_phase is not None:
        return threshold_phase, "threshold"
    if params.rule == "threshold":
        logger.warning("No phase met the MI threshold rule; using the largest MI drop.")
    return largest_drop, "largest_drop"


def _subtraction_threshold(values: np.ndarray, params: ArterialMaskParams) -> float:
    if values.size == 0:
        raise ValueError("The body mask is empty; pass a body_mask that covers the hand.")
    if params.threshold_method == "otsu":
        return float(threshold_otsu(values))
    values = values.astype(np.float64)
    return float(values.mean() + params.threshold_sd * values.std())


def _clean_mask(mask: np.ndarray, params: ArterialMaskParams) -> np.ndarray:
    """Drop small in-plane components and dilate in-plane; mask is bool (S, R, C)."""
    if params.min_component_px > 1:
        for index in range(mask.shape[0]):
            remove_small_objects(mask[index], max_size=params.min_component_px - 1, out=mask[index])
    if params.dilation_px > 0:
        mask = ndimage.binary_dilation(
            mask, structure=_IN_PLANE_CROSS, iterations=params.dilation_px
        )
    return mask


def rule_based_synovitis(
    volume: np.ndarray,
    times_s: np.ndarray,
    shape_params: ShapeParams | None = None,
    arterial_params: ArterialMaskParams = ArterialMaskParams(),
    baseline_phases: int | None = None,
    arterial_phase: int | None = None,
    arrival_params: ArrivalParams | None = None,
) -> np.ndarray:
    """Mark synovitis pixels: shape type 4 (fast washout) outside the arterial mask.

    volume: (P, S, R, C) signal; times_s: (P,) seconds. Returns bool (S, R, C).
    """
    arrival = resolve_arrival(volume, times_s, baseline_phases, arrival_params)
    arteries = arterial_mask(
        volume,
        times_s,
        arterial_params,
        baseline_phases=arrival.baseline_phases,
        arterial_phase=arterial_phase,
    )
    types = shape_types(
        volume, times_s, shape_params or ShapeParams(), baseline_phases=arrival.baseline_phases
    )
    return (types == FAST_WASHOUT) & ~arteries.mask
