"""Rule-based TIC shape types (4-type scheme with a separate continued-rise type).

Type 4, fast enhancement followed by washout, is the synovitis candidate. The thresholds are
our own defaults, because the published pixel-by-pixel tools do not state theirs; the
+-10 % late-phase band follows the breast MRI convention.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from inference.tic import (
    ArrivalParams,
    BolusArrival,
    MapParams,
    TicFeatures,
    compute_features,
    compute_maps,
    resolve_arrival,
)

NOISE = 0
NO_ENHANCEMENT = 1
SLOW_PERSISTENT = 2
FAST_PLATEAU = 3
FAST_WASHOUT = 4
FAST_CONTINUED_RISE = 5

SHAPE_NAMES = {
    NOISE: "noise",
    NO_ENHANCEMENT: "no enhancement",
    SLOW_PERSISTENT: "slow persistent",
    FAST_PLATEAU: "fast plateau",
    FAST_WASHOUT: "fast washout",
    FAST_CONTINUED_RISE: "fast continued rise",
}

# Legend colours as hex RGB. Noise and no enhancement are left dark so that the enhancing
# types stand out on an overlay.
SHAPE_COLORS = {
    NOISE: "#000000",
    NO_ENHANCEMENT: "#5a5a5a",
    SLOW_PERSISTENT: "#3a7bd5",
    FAST_PLATEAU: "#f2c230",
    FAST_WASHOUT: "#e0312b",
    FAST_CONTINUED_RISE: "#9b59b6",
}

ENHANCING_TYPES = (SLOW_PERSISTENT, FAST_PLATEAU, FAST_WASHOUT, FAST_CONTINUED_RISE)


@dataclass(frozen=True)
class ShapeParams:
    """Thresholds of the shape types; signal values are relative to S0 or to sigma.

    sigma is the larger of the pixel's baseline temporal SD and the series noise SD.
    """

    # Type 0 when the baseline temporal SD exceeds noise_cv * S0.
    noise_cv: float = 0.3
    # Type 0 when S0 < min_baseline_snr * noise SD. This rule is ours: it keeps air, whose
    # two-phase baseline SD is too unreliable for the noise_cv rule, out of the enhancing types.
    min_baseline_snr: float = 3.0
    # Type 1 when max(S) - S0 < max(enhancement_sigma * sigma, enhancement_fraction * S0).
    enhancement_sigma: float = 3.0
    enhancement_fraction: float = 0.2
    # "Fast" means the maximum in [t0, t0 + early_window_s] reaches fast_fraction of max(S) - S0.
    early_window_s: float = 90.0
    fast_fraction: float = 0.8
    # Plateau when the late change (S_last - S_peak,early) / (S_peak,early - S0) lies within
    # +-plateau_band; below is washout, above is continued rise.
    plateau_band: float = 0.10
    # S_last is the mean of this many final phases.
    late_phases: int = 1


@dataclass(frozen=True)
class TicAnalysis:
    """Shape types and quantitative maps of one series.

    shape_types: uint8 with the spatial shape; maps: name -> float32 (see
    `inference.tic.MAP_UNITS`); noise_sd in modality units.
    """

    shape_types: np.ndarray
    maps: dict[str, np.ndarray]
    arrival: BolusArrival
    noise_sd: float


def estimate_noise_sd(features: TicFeatures) -> float:
    """Estimate the series noise SD (modality units) from the pixels' baseline SDs.

    The median of the per-pixel baseline variances is robust to pixels that move or enhance
    early, and is divided by the median of chi-square(nu) / nu (nu = baseline phases - 1) so
    that it estimates the variance rather than its median. Pixels with S0 <= 0 (zero
    padding) are left out. Returns 0.0 with a single baseline phase.
    """
    dof = features.arrival.baseline_phases - 1
    usable = features.finite & (features.s0 > 0)
    if dof < 1 or not usable.any():
        return 0.0
    variances = np.square(features.baseline_sd[usable], dtype=np.float64)
    median_ratio = stats.chi2.median(dof) / dof
    return float(np.sqrt(np.median(variances) / median_ratio))


def classify_shapes(
    features: TicFeatures, params: ShapeParams = ShapeParams(), noise_sd: float = 0.0
) -> np.ndarray:
    """Assign each pixel a shape type 0-5 from its features; returns uint8, spatial shape.

    The features must come from `compute_features` with the same early window and
    late_phases as `params`.
    """
    s0 = features.s0
    sigma = np.maximum(features.baseline_sd, np.float32(noise_sd))
    rise = features.s_max - s0
    threshold = np.maximum(params.enhancement_sigma * sigma, params.enhancement_fraction * s0)
    enhancing = rise >= threshold

    early_rise = features.s_peak_early - s0
    fast = enhancing & (early_rise >= params.fast_fraction * rise)
    with np.errstate(divide="ignore", invalid="ignore"):
        late_change = (features.s_last - features.s_peak_early) / early_rise

    types = np.where(enhancing, SLOW_PERSISTENT, NO_ENHANCEMENT).astype(np.uint8)
    types[fast & (late_change < -params.plateau_band)] = FAST_WASHOUT
    types[fast & (np.abs(late_change) <= params.plateau_band)] = FAST_PLATEAU
    types[fast & (late_change > params.plateau_band)] = FAST_CONTINUED_RISE

    noise = ~features.finite | ~(s0 > 0)
    noise |= features.baseline_sd > params.noise_cv * s0
    noise |= s0 < params.min_baseline_snr * noise_sd
    types[noise] = NOISE
    return types


def analyse_tics(
    volume: np.ndarray,
    times_s: np.ndarray,
    params: ShapeParams = ShapeParams(),
    map_params: MapParams | None = None,
    baseline_phases: int | None = None,
    noise_sd: float | None = None,
    arrival_params: ArrivalParams | None = None,
) -> TicAnalysis:
    """Compute shape types and all quantitative maps in one pass over the series.

    volume: (P, ...) signal in modality units (int16, uint16 or float32); times_s: (P,)
    seconds. `baseline_phases` is detected from bolus arrival when None. `noise_sd`
    (modality units) is estimated with `estimate_noise_sd` when None.
    """
    arrival = resolve_arrival(volume, times_s, baseline_phases, arrival_params)
    features = compute_features(
        volume, times_s, arrival, map_params, params.early_window_s, params.late_phases
    )
    if noise_sd is None:
        noise_sd = estimate_noise_sd(features)
    return TicAnalysis(
        shape_types=classify_shapes(features, params, noise_sd),
        maps=compute_maps(features),
        arrival=arrival,
        noise_sd=noise_sd,
    )


def shape_types(
    volume: np.ndarray,
    times_s: np.ndarray,
    params: ShapeParams = ShapeParams(),
    baseline_phases: int | None = None,
    noise_sd: float | None = None,
    arrival_params: ArrivalParams | None = None,
) -> np.ndarray:
    """Classify every pixel's TIC into a shape type 0-5 (see SHAPE_NAMES).

    volume: (P, ...) signal, for example (P, S, R, C) or curves (P, N); times_s: (P,) seconds.
    Returns uint8 with the spatial shape, e.g. (S, R, C). See `analyse_tics` for the
    other arguments.
    """
    arrival = resolve_arrival(volume, times_s, baseline_phases, arrival_params)
    features = compute_features(
        volume,
        times_s,
        arrival,
        early_window_s=params.early_window_s,
        late_phases=params.late_phases,
    )
    if noise_sd is None:
        noise_sd = estimate_noise_sd(features)
    return classify_shapes(features, params, noise_sd)
