"""Arterial mask subtraction: find arterial pixels and drop them from the type-4 map.

Arteries enhance first and wash out, so their TICs look like synovitis (type 4). The arterial
phase is chosen by mutual information (MI) between a pre-contrast image and each phase,
because the first arterial enhancement changes the joint histogram. Pixels that are much
brighter in that phase than the mean of the baseline phases, and that are at or near their
own peak there, form the arterial mask. The rules and thresholds below are our own defaults
because the published method gives no algorithm; see ArterialMaskParams.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.filters import threshold_otsu
from skimage.morphology import remove_small_objects

from inference.shapes import FAST_WASHOUT, ShapeParams, shape_types
from inference.tic import (
    ArrivalParams,
    BolusArrival,
    arterial_reference_curve,
    resolve_arrival,
    validate_series,
)

logger = logging.getLogger(__name__)

PHASE_RULES = ("largest_drop", "threshold", "arrival")
THRESHOLD_METHODS = ("sd", "otsu", "arterial_fraction")

# Largest connected component (voxels) that the body mask treats as noise in the air.
BODY_SPECK_VOXELS = 27

# In-plane 4-connected neighbourhood applied slice by slice: the dilation grows the mask by
# one pixel within each slice and never into the neighbouring slices.
_IN_PLANE_CROSS = ndimage.generate_binary_structure(2, 1)[np.newaxis]


@dataclass(frozen=True)
class ArterialMaskParams:
    """Settings of the arterial phase choice and of the arterial mask."""

    bins: int = 64  # joint histogram bins per axis for MI
    # The largest one-step MI drop is searched at phases within this time after arrival.
    search_window_s: float = 60.0
    # With limit_to_arterial_rise, the search is also limited to the arterial rise: from the
    # first phase where the arterial reference curve (`inference.tic.arterial_reference_curve`)
    # reaches arterial_rise_fraction of its peak enhancement, to its peak. Before that the
    # arteries are barely enhanced. After the peak MI keeps falling as the tissues take up
    # contrast, so over the whole window the largest drop can mark tissue enhancement, and
    # the subtraction would then contain synovitis.
    limit_to_arterial_rise: bool = True
    arterial_rise_fraction: float = 0.8
    # "threshold" rule: first phase with MI < (1 - mi_drop_fraction) * MI of the last
    # baseline phase. "arrival" rule: the bolus arrival phase itself.
    mi_drop_fraction: float = 0.05
    rule: str = "largest_drop"  # one of PHASE_RULES
    # "arterial_fraction": D > arterial_fraction * the mean of the top arterial_top_fraction
    # of D in the body, a level set by the arteries themselves, so the threshold follows the
    # arterial enhancement whatever the share of enhancing tissue. "sd": D > mean +
    # threshold_sd * SD of D in the body. Most of the hand does not enhance, so this level
    # sits low and also takes in enhancing synovitis. "otsu": Otsu's threshold of D in the body.
    threshold_method: str = "arterial_fraction"
    threshold_sd: float = 3.0
    arterial_fraction: float = 0.5
    arterial_top_fraction: float = 0.001
    # Temporal criterion: a pixel is arterial only where D >= min_peak_ratio * (S_max - S0),
    # that is where it is near its own peak in the arterial phase. Arteries peak there, while
    # synovitis and veins peak later. 0 turns the criterion off.
    min_peak_ratio: float = 0.5
    # Connected components with fewer voxels are dropped. Components are 3-D (26-connected),
    # so that an artery crossing the slices obliquely, 1-2 pixels per slice, is kept.
    min_component_voxels: int = 3
    dilation_px: int = 1

    def __post_init__(self):
        if self.rule not in PHASE_RULES:
            raise ValueError(f"rule={self.rule!r} is invalid; choose one of {PHASE_RULES}.")
        if self.threshold_method not in THRESHOLD_METHODS:
            raise ValueError(
                f"threshold_method={self.threshold_method!r} is invalid; choose one of "
                f"{THRESHOLD_METHODS}."
            )
        for name in ("arterial_rise_fraction", "min_peak_ratio", "arterial_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}={value!r} is invalid; use a value from 0 to 1.")


@dataclass(frozen=True)
class ArterialMaskResult:
    """Arterial mask of a (P, S, R, C) series and how its phase was chosen.

    mask, body_mask: bool (S, R, C). subtraction: float32 (S, R, C), the arterial phase minus
    the pre-contrast mean, in modality units. mutual_information: float64 (P,) in nats.
    rule: one of PHASE_RULES, or "override". threshold_phase is None when no phase
    met the alternative rule. threshold: the D threshold in modality units. rise_window:
    the first and last phase of the arterial rise (see ArterialMaskParams), or None when
    limit_to_arterial_rise is off.
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
    rise_window: tuple[int, int] | None = None


def compute_body_mask(image: np.ndarray) -> np.ndarray:
    """Return the body mask of a pre-contrast image (S, R, C): Otsu threshold, holes filled.

    Otsu's threshold is taken on log intensities. On linear intensities it falls between
    muscle and fat, because bright fat dominates the hand, and drops muscle and synovium.
    Components of up to `BODY_SPECK_VOXELS` voxels are removed because single noisy air
    voxels would set the MI histogram range. Holes are filled slice by slice, so that dark
    structures inside the hand (cortical bone, tendons) stay in the mask. Returns bool
    (S, R, C).
    """
    logarithm = np.log1p(np.maximum(image, 0.0))
    mask = logarithm > threshold_otsu(logarithm)
    mask = remove_small_objects(mask, max_size=BODY_SPECK_VOXELS)
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
    volume: np.ndarray,
    reference: np.ndarray,
    mask: np.ndarray,
    bins: int = 64,
    first_phase: int = 0,
) -> np.ndarray:
    """MI (nats) between `reference` and each phase of `volume` inside `mask`.

    volume: (P, S, R, C); reference: (S, R, C); mask: bool (S, R, C). Returns float64 (P,),
    NaN before `first_phase`.
    """
    reference_bins = _bin_indices(reference[mask], bins)
    curve = np.full(volume.shape[0], np.nan, dtype=np.float64)
    for phase in range(first_phase, volume.shape[0]):
        phase_bins = _bin_indices(volume[phase][mask].astype(np.float32), bins)
        curve[phase] = _mutual_information_binned(reference_bins, phase_bins, bins)
    return curve


def mutual_information_reference(
    volume: np.ndarray, baseline_phases: int
) -> tuple[np.ndarray, int]:
    """Return the MI reference image (S, R, C) float32 and the first phase to compare with it.

    The reference is the mean of all baseline phases but the last, which then gives the
    pre-contrast MI level. A phase averaged into the reference shares its noise and would
    show an inflated MI, so that the first post-contrast phase always looked like a large
    drop. With one baseline phase the reference is that phase and MI starts at phase 1.
    """
    averaged = max(1, baseline_phases - 1)
    reference = volume[:averaged].mean(axis=0, dtype=np.float32)
    return reference, averaged


def arterial_rise_window(
    reference: np.ndarray, arrival: BolusArrival, fraction: float
) -> tuple[int, int]:
    """Return (first, last) phase of the arterial rise of a reference curve (P,).

    The last phase is the reference's peak at or after arrival, the first the earliest
    phase from arrival on where the reference reaches `fraction` of that peak's enhancement
    over the baseline mean.
    """
    start = arrival.arrival_index
    enhancement = reference[start:] - reference[: arrival.baseline_phases].mean()
    peak = int(np.argmax(enhancement))
    if enhancement[peak] <= 0:
        return start, start
    first = int(np.flatnonzero(enhancement >= fraction * enhancement[peak])[0])
    return start + first, start + peak


def choose_arterial_phase(
    mi: np.ndarray,
    times_s: np.ndarray,
    arrival: BolusArrival,
    params: ArterialMaskParams,
    rise_window: tuple[int, int] | None = None,
) -> tuple[int, int | None]:
    """Return (largest-drop phase, threshold-rule phase) from the MI curve (P,).

    The largest-drop phase k maximises MI[k-1] - MI[k] over the phases from arrival to
    arrival + search_window_s where MI[k-1] is defined, and within `rise_window`
    (first, last) when given. The threshold-rule phase is the first post-contrast phase with
    MI below (1 - mi_drop_fraction) times the MI of the last baseline phase, or None (also
    when that MI is undefined, with one baseline phase).
    """
    times = np.asarray(times_s, dtype=np.float64)
    first_defined = int(np.flatnonzero(np.isfinite(mi))[0])
    start = max(arrival.arrival_index, first_defined + 1)
    window_end = arrival.arrival_time_s + params.search_window_s + 1e-6
    stop = max(start + 1, int(np.searchsorted(times, window_end, side="right")))
    fallback = arrival.arrival_index
    if rise_window is not None:
        start = max(start, rise_window[0])
        stop = min(stop, rise_window[1] + 1)
        fallback = rise_window[1]
    drops = mi[start - 1 : stop - 1] - mi[start:stop]
    # Without two defined MI values in the window (a short series, or one baseline phase and
    # an arterial peak at the arrival phase) the phase falls back to the arterial peak, or
    # to the arrival phase without a rise window.
    largest_drop = start + int(np.argmax(drops)) if drops.size else fallback

    baseline_level = mi[arrival.baseline_phases - 1]
    if not np.isfinite(baseline_level):
        return largest_drop, None
    post = mi[arrival.arrival_index :]
    below = np.flatnonzero(post < (1.0 - params.mi_drop_fraction) * baseline_level)
    threshold_phase = arrival.arrival_index + int(below[0]) if below.size else None
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
    `compute_body_mask` of the pre-contrast mean. The mask is D above the threshold of
    `threshold_method` and at least min_peak_ratio * (S_max - S0), without components under
    min_component_voxels voxels, dilated by dilation_px pixels in-plane.
    """
    times = validate_series(volume, times_s)
    if volume.ndim != 4:
        raise ValueError(f"Arterial mask needs a (P, S, R, C) volume, got shape {volume.shape}.")
    arrival = resolve_arrival(volume, times, baseline_phases, arrival_params)
    precontrast = volume[: arrival.baseline_phases].mean(axis=0, dtype=np.float32)
    body = compute_body_mask(precontrast) if body_mask is None else body_mask.astype(bool)

    rise_window = None
    if params.limit_to_arterial_rise:
        reference = arterial_reference_curve(
            volume, arrival.baseline_phases, arrival_params or ArrivalParams()
        )
        rise_window = arterial_rise_window(reference, arrival, params.arterial_rise_fraction)
    mi_reference, first_phase = mutual_information_reference(volume, arrival.baseline_phases)
    mi = mutual_information_curve(volume, mi_reference, body, params.bins, first_phase)
    largest_drop, threshold_phase = choose_arterial_phase(mi, times, arrival, params, rise_window)
    phase, rule = _pick_phase(
        largest_drop, threshold_phase, arrival.arrival_index, arterial_phase, params, volume
    )
    logger.info(
        "Arterial phase %d (%s); largest MI drop at %d, threshold rule at %s, arterial rise %s.",
        phase,
        rule,
        largest_drop,
        threshold_phase,
        rise_window,
    )

    subtraction = volume[phase].astype(np.float32) - precontrast
    threshold = _subtraction_threshold(subtraction[body], params)
    candidates = subtraction > threshold
    if params.min_peak_ratio > 0:
        candidates &= _near_own_peak(volume, subtraction, precontrast, arrival, params)
    mask = _clean_mask(candidates, params)
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
        rise_window=rise_window,
    )


def _near_own_peak(volume, subtraction, precontrast, arrival, params) -> np.ndarray:
    """Mark pixels whose D reaches min_peak_ratio of their own peak enhancement, bool (S, R, C)."""
    peak = volume[arrival.arrival_index :].max(axis=0).astype(np.float32)
    peak -= precontrast
    return subtraction >= np.float32(params.min_peak_ratio) * peak


def _pick_phase(
    largest_drop, threshold_phase, arrival_index, override, params, volume
) -> tuple[int, str]:
    if override is not None:
        if not 0 <= override < volume.shape[0]:
            raise ValueError(
                f"arterial_phase={override} is outside the series' phases 0-{volume.shape[0] - 1}."
            )
        return override, "override"
    if params.rule == "arrival":
        return arrival_index, "arrival"
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
    if params.threshold_method == "arterial_fraction":
        count = max(9, int(np.ceil(params.arterial_top_fraction * values.size)))
        top = np.partition(values, values.size - count)[values.size - count :]
        return float(params.arterial_fraction * top.mean())
    return float(values.mean() + params.threshold_sd * values.std())


def _clean_mask(mask: np.ndarray, params: ArterialMaskParams) -> np.ndarray:
    """Drop small 3-D components and dilate in-plane; mask is bool (S, R, C)."""
    if params.min_component_voxels > 1:
        mask = remove_small_objects(
            mask, max_size=params.min_component_voxels - 1, connectivity=mask.ndim
        )
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
