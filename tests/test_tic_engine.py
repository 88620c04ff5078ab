"""TIC engine: maps and shape types against a per-pixel reference, known curves, motion
correction, arterial mask and joint summaries, on small synthetic series."""

import math
import statistics

import numpy as np
import pytest
from scipy import ndimage

from inference.arterial import (
    ArterialMaskParams,
    arterial_mask,
    arterial_rise_window,
    choose_arterial_phase,
    mutual_information,
    rule_based_synovitis,
)
from inference.motion import correct_motion
from inference.shapes import (
    SHAPE_COLORS,
    SHAPE_NAMES,
    ShapeParams,
    analyse_tics,
    shape_types,
)
from inference.summaries import JointBox, enhancing_voxel_count, summarise_joint
from inference.tic import (
    MAP_UNITS,
    ArrivalParams,
    MapParams,
    detect_bolus_arrival,
    quantitative_maps,
    resolve_arrival,
)

EVEN_TIMES = np.arange(27) * 15.0
ONSET_S = 30.0  # contrast reaches tissue after phase 2 (t = 30 s), so 3 phases are baseline
IRREGULAR_TIMES = np.array([0, 12, 25, 36, 50, 70, 95, 120, 160, 210, 270, 330], dtype=float)


def relative_enhancement(kind, times, onset=ONSET_S, scale=1.0):
    """Analytic (S - S0) / S0 of each curve kind, zero before `onset`."""
    te = np.clip(times - onset, 0.0, None)
    if kind == "washout":
        return scale * 1.5 * (1 - np.exp(-0.08 * te)) * np.exp(-0.003 * te)
    if kind == "plateau":
        return scale * 1.2 * (1 - np.exp(-0.08 * te))
    if kind == "persistent":
        return scale * 0.8 * (1 - np.exp(-0.005 * te))
    if kind == "continued":
        return scale * ((1 - np.exp(-0.1 * te)) + 0.0007 * te)
    if kind == "flat":
        return np.zeros_like(te)
    raise ValueError(kind)


EXPECTED_TYPE = {"washout": 4, "plateau": 3, "persistent": 2, "continued": 5, "flat": 1}


def noisy_curves(kinds, times, rng, s0=500.0, noise=5.0, onset=ONSET_S):
    """Return float32 (P, N) curves, one per kind, with Gaussian noise of SD `noise`."""
    columns = [s0 * (1 + relative_enhancement(kind, times, onset)) for kind in kinds]
    curves = np.stack(columns, axis=1)
    return (curves + rng.normal(0, noise, curves.shape)).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Independent per-pixel reference (plain Python over one curve at a time)


def reference_arrival(curves, initial=2, sigma_factor=5.0, fraction=0.001, minimum=9):
    pixels = curves.shape[1]
    count = min(pixels, max(minimum, math.ceil(fraction * pixels)))
    rise = [max(curves[:, i]) - sum(curves[:initial, i]) / initial for i in range(pixels)]
    chosen = sorted(range(pixels), key=lambda i: rise[i])[pixels - count :]
    mean_curve = [sum(float(curves[k, i]) for i in chosen) / count for k in range(len(curves))]
    s0 = sum(mean_curve[:initial]) / initial
    variances = [statistics.variance([float(v) for v in curves[:initial, i]]) for i in chosen]
    sigma = math.sqrt(sum(variances) / count)
    for k in range(initial, len(curves)):
        if mean_curve[k] > s0 + sigma_factor * sigma:
            return k
    return initial


def segment_integral(times, values, start, end):
    """Exact integral of the linear interpolant of (times, values) over [start, end]."""
    total = 0.0
    for k in range(len(times) - 1):
        ta, tb = times[k], times[k + 1]
        lo, hi = max(ta, start), min(tb, end)
        if hi <= lo:
            continue
        slope = (values[k + 1] - values[k]) / (tb - ta)
        y_lo = values[k] + slope * (lo - ta)
        y_hi = values[k] + slope * (hi - ta)
        total += (y_lo + y_hi) / 2 * (hi - lo)
    return total


def reference_pixel(curve, times, baseline, noise_sd, shape, maps):
    curve = [float(v) for v in curve]
    times = [float(t) for t in times]
    s0 = sum(curve[:baseline]) / baseline
    sd = statistics.stdev(curve[:baseline]) if baseline > 1 else 0.0
    t0 = times[baseline]

    post = curve[baseline:]
    s_max = max(post)
    peak = baseline + post.index(s_max)
    early = [curve[k] for k in range(baseline, len(curve)) if times[k] <= t0 + shape.early_window_s]
    s_early = max(early)
    s_last = sum(curve[-shape.late_phases :]) / shape.late_phases

    result = {}
    result["me"] = (s_max - s0) / s0 * 100
    result["ttp"] = times[peak] - t0
    result["ire"] = result["me"] / ((times[peak] - times[baseline - 1]) / 60)
    slopes = [
        (curve[k + 1] - curve[k]) / (times[k + 1] - times[k])
        for k in range(baseline - 1, len(curve) - 1)
        if times[k + 1] <= t0 + maps.mis_window_s
    ]
    result["mis"] = max(slopes) / s0 * 100 * 60
    end = min(t0 + maps.iauc_window_s, times[-1])
    relative = [(v - s0) / s0 * 100 for v in curve]
    result["iauc"] = segment_integral(times, relative, t0, end)
    s_ser_early = float(np.interp(t0 + maps.ser_early_s, times, curve))
    s_ser_late = float(np.interp(t0 + maps.ser_late_s, times, curve))
    result["ser"] = (s_ser_early - s0) / (s_ser_late - s0) if s_ser_late > s0 else math.nan
    result["washout"] = (s_early - s_last) / (s_early - s0) * 100 if s_early > s0 else math.nan

    sigma = max(sd, noise_sd)
    if s0 <= 0 or sd > shape.noise_cv * s0 or s0 < shape.min_baseline_snr * noise_sd:
        kind = 0
    elif s_max - s0 < max(shape.enhancement_sigma * sigma, shape.enhancement_fraction * s0):
        kind = 1
    elif s_early - s0 < shape.fast_fraction * (s_max - s0):
        kind = 2
    else:
        late = (s_last - s_early) / (s_early - s0)
        if late < -shape.plateau_band:
            kind = 4
        elif late > shape.plateau_band:
            kind = 5
        else:
            kind = 3
    return kind, result


def random_volume(rng, times, shape=(2, 5, 6)):
    """float32 (P, S, R, C) of random curve kinds, amplitudes and noise; some air pixels."""
    kinds = ["washout", "plateau", "persistent", "continued", "flat"]
    phases = len(times)
    volume = np.empty((phases, *shape), dtype=np.float32)
    for index in np.ndindex(shape):
        s0 = rng.uniform(200, 800)
        if rng.random() < 0.15:
            curve = np.abs(rng.normal(0, 8, phases) + 1j * rng.normal(0, 8, phases))
        else:
            kind = kinds[rng.integers(len(kinds))]
            enhancement = relative_enhancement(kind, times, onset=25.0, scale=rng.uniform(0.7, 1.3))
            curve = s0 * (1 + enhancement) + rng.normal(0, rng.uniform(1, 15), phases)
        volume[(slice(None), *index)] = curve
    return volume


# ---------------------------------------------------------------------------------------------
# Maps and shape types against the reference


@pytest.mark.parametrize("dtype", [np.float32, np.int16])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    "shape_params, map_params",
    [
        (ShapeParams(), MapParams()),
        (
            ShapeParams(early_window_s=60.0, late_phases=2, plateau_band=0.15),
            MapParams(45.0, 50.0, 40.0, 200.0),
        ),
    ],
)
def test_maps_match_reference(seed, shape_params, map_params, dtype):
    rng = np.random.default_rng(seed)
    volume = random_volume(rng, IRREGULAR_TIMES)
    if dtype == np.int16:
        volume = np.rint(volume).astype(np.int16)
    baseline, noise_sd = 2, 6.0

    analysis = analyse_tics(
        volume,
        IRREGULAR_TIMES,
        shape_params,
        map_params,
        baseline_phases=baseline,
        noise_sd=noise_sd,
    )

    for index in np.ndindex(volume.shape[1:]):
        curve = volume[(slice(None), *index)]
        kind, expected = reference_pixel(
            curve, IRREGULAR_TIMES, baseline, noise_sd, shape_params, map_params
        )
        assert analysis.shape_types[index] == kind, f"shape type at {index}"
        for name, value in expected.items():
            got = float(analysis.maps[name][index])
            if math.isnan(value):
                assert math.isnan(got), f"{name} at {index} should be NaN"
            else:
                # The engine works in float32, so noise pixels with S_peak,early close to S0
                # lose about 1e-4 of relative precision in the washout ratio.
                assert got == pytest.approx(value, rel=1e-3, abs=1e-3), f"{name} at {index}"


def test_maps_have_units_and_dtype():
    rng = np.random.default_rng(3)
    volume = random_volume(rng, IRREGULAR_TIMES)
    maps = quantitative_maps(volume, IRREGULAR_TIMES, baseline_phases=2)
    assert set(maps) == set(MAP_UNITS)
    for name, values in maps.items():
        assert values.dtype == np.float32, name
        assert values.shape == volume.shape[1:], name


def test_arrival_matches_reference():
    rng = np.random.default_rng(4)
    kinds = ["washout"] * 12 + ["persistent"] * 40 + ["flat"] * 60
    curves = noisy_curves(kinds, EVEN_TIMES, rng)
    arrival = detect_bolus_arrival(curves, EVEN_TIMES)
    assert arrival.detected
    assert arrival.arrival_index == reference_arrival(curves)
    assert arrival.arrival_index == 3
    assert arrival.arrival_time_s == 45.0


def test_arrival_falls_back_without_enhancement():
    rng = np.random.default_rng(5)
    curves = noisy_curves(["flat"] * 200, EVEN_TIMES, rng)
    arrival = detect_bolus_arrival(curves, EVEN_TIMES)
    assert not arrival.detected
    assert arrival.baseline_phases == 2


def test_volume_and_curves_agree():
    rng = np.random.default_rng(6)
    volume = random_volume(rng, IRREGULAR_TIMES)
    curves = volume.reshape(volume.shape[0], -1)
    from_volume = shape_types(volume, IRREGULAR_TIMES)
    from_curves = shape_types(curves, IRREGULAR_TIMES)
    assert from_volume.shape == volume.shape[1:]
    assert np.array_equal(from_volume.ravel(), from_curves)


def test_int16_and_float_agree():
    rng = np.random.default_rng(7)
    volume = np.rint(random_volume(rng, IRREGULAR_TIMES))
    as_int = shape_types(volume.astype(np.int16), IRREGULAR_TIMES, baseline_phases=2)
    as_float = shape_types(volume.astype(np.float32), IRREGULAR_TIMES, baseline_phases=2)
    assert np.array_equal(as_int, as_float)


def test_chunking_does_not_change_features():
    from inference.tic import compute_features, resolve_arrival

    rng = np.random.default_rng(8)
    volume = random_volume(rng, IRREGULAR_TIMES, shape=(3, 7, 9))
    arrival = resolve_arrival(volume, IRREGULAR_TIMES, 2, ArrivalParams())
    whole = compute_features(volume, IRREGULAR_TIMES, arrival)
    chunked = compute_features(volume, IRREGULAR_TIMES, arrival, chunk_pixels=10)
    for name in ("s0", "s_max", "peak_time_s", "max_slope", "integral", "s_ser_late"):
        assert np.array_equal(getattr(whole, name), getattr(chunked, name)), name


# ---------------------------------------------------------------------------------------------
# Constructed curves of each type


@pytest.mark.parametrize("kind", sorted(EXPECTED_TYPE))
def test_constructed_curve_type(kind):
    rng = np.random.default_rng(10)
    # Washout curves lead the arrival detection, as arteries do in a real volume.
    kinds = [kind] * 50 + ["washout"] * 10
    curves = noisy_curves(kinds, EVEN_TIMES, rng)
    types = shape_types(curves, EVEN_TIMES)
    assert np.all(types[:50] == EXPECTED_TYPE[kind]), np.bincount(types[:50], minlength=6)


def test_alternating_curve_is_noise():
    curves = np.tile(np.array([100.0, 10.0] * 13 + [100.0], dtype=np.float32)[:, None], (1, 5))
    types = shape_types(curves, EVEN_TIMES, baseline_phases=3, noise_sd=1.0)
    assert np.all(types == 0)


def test_rician_air_is_not_enhancing():
    rng = np.random.default_rng(11)
    air = np.abs(rng.normal(0, 10, (27, 500)) + 1j * rng.normal(0, 10, (27, 500)))
    tissue = noisy_curves(["washout"] * 20 + ["flat"] * 200, EVEN_TIMES, rng, noise=10.0)
    curves = np.concatenate([air.astype(np.float32), tissue], axis=1)
    types = shape_types(curves, EVEN_TIMES)
    enhancing_air = np.isin(types[:500], (2, 3, 4, 5)).mean()
    assert enhancing_air <= 0.01


def test_noise_sd_estimate():
    from inference.shapes import estimate_noise_sd

    rng = np.random.default_rng(12)
    curves = (1000 + rng.normal(0, 20, (27, 20_000))).astype(np.float32)
    assert estimate_noise_sd(curves, 3) == pytest.approx(20.0, rel=0.03)
    assert estimate_noise_sd(curves, 3, max_pixels=5_000) == pytest.approx(20.0, rel=0.05)
    assert estimate_noise_sd(curves, 1) == 0.0


def test_noise_sd_ignores_rayleigh_air():
    from inference.shapes import estimate_noise_sd

    rng = np.random.default_rng(13)
    # Three times more air than tissue, as in a hand field of view. Air alone has an SD of
    # 0.66 sigma, which the median over all pixels would report.
    air = np.abs(rng.normal(0, 20, (3, 30_000)) + 1j * rng.normal(0, 20, (3, 30_000)))
    tissue = 600 + rng.normal(0, 20, (3, 10_000))
    curves = np.concatenate([air, tissue], axis=1).astype(np.float32)
    assert estimate_noise_sd(curves, 3) == pytest.approx(20.0, rel=0.05)


def test_shape_legend_complete():
    assert sorted(SHAPE_NAMES) == list(range(6))
    assert sorted(SHAPE_COLORS) == list(range(6))
    assert all(color.startswith("#") and len(color) == 7 for color in SHAPE_COLORS.values())


def test_invalid_times_rejected():
    curves = np.ones((4, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="strictly increasing"):
        shape_types(curves, np.array([0.0, 10.0, 10.0, 20.0]))
    with pytest.raises(ValueError, match="one time in seconds per phase"):
        shape_types(curves, np.array([0.0, 10.0, 20.0]))


# ---------------------------------------------------------------------------------------------
# Motion correction


def smooth_stack(rng, slices=3, size=64):
    noise = rng.normal(0, 1, (slices, size, size))
    return ndimage.gaussian_filter(noise, sigma=(0, 3, 3)) * 100 + 500


def shifted(image, dy, dx):
    """Shift each slice of (S, R, C) by (dy, dx) with a periodic Fourier shift."""
    spectrum = ndimage.fourier_shift(np.fft.fftn(image, axes=(1, 2)), (0, dy, dx))
    return np.fft.ifftn(spectrum, axes=(1, 2)).real


@pytest.mark.parametrize(
    "applied",
    [[(0, 0), (0, 0), (2, -3), (-1, 4), (0, 1)], [(0, 0), (0, 0), (0.4, -0.7), (1.3, 0.25)]],
    ids=["integer", "subpixel"],
)
def test_motion_shifts_recovered(applied):
    rng = np.random.default_rng(20)
    base = smooth_stack(rng)
    # Later phases get brighter, as with contrast, which phase correlation must ignore.
    volume = np.stack([shifted(base, dy, dx) * (1 + 0.2 * k) for k, (dy, dx) in enumerate(applied)])

    result = correct_motion(volume, baseline_phases=2, pixel_spacing_mm=(0.5, 1.0))

    expected = -np.asarray(applied, dtype=float)
    assert np.allclose(result.shifts_px, expected, atol=0.06)
    assert np.allclose(result.shifts_mm, expected * [0.5, 1.0], atol=0.06)


def test_motion_integer_shift_restores_image():
    rng = np.random.default_rng(21)
    base = smooth_stack(rng)
    volume = np.stack([base, base, np.roll(base, (2, -3), axis=(1, 2))])
    result = correct_motion(volume, baseline_phases=2)
    interior = (slice(None), slice(8, -8), slice(8, -8))
    assert np.allclose(result.volume[2][interior], base[interior], atol=1e-3)


# ---------------------------------------------------------------------------------------------
# Arterial mask


def arterial_phantom(rng):
    """(P, S, R, C) float32 with a small artery and a synovitis blob in a muscle ellipse.

    Returns the volume and the artery and synovitis masks (S, R, C).
    """
    slices, size = 3, 64
    rows, cols = np.mgrid[:size, :size]
    body = ((rows - 32) / 26) ** 2 + ((cols - 32) / 22) ** 2 <= 1
    artery = (np.abs(rows - 20) <= 1) & (np.abs(cols - 22) <= 1)
    synovitis = (rows - 38) ** 2 + (cols - 38) ** 2 <= 36
    te = np.clip(EVEN_TIMES - ONSET_S, 0, None)[:, None, None]

    image = np.where(body, 400.0, 6.0)[None] * np.ones((len(te), 1, 1))
    image = image + np.where(body, 400.0, 0.0) * 0.3 * (1 - np.exp(-0.01 * te))
    artery_curve = 300 * (1 + 4 * (1 - np.exp(-0.5 * te)) * np.exp(-0.008 * te))
    synovitis_curve = 450 * (1 + 1.5 * (1 - np.exp(-0.03 * te)) * np.exp(-0.003 * te))
    image = np.where(artery, artery_curve, image)
    image = np.where(synovitis, synovitis_curve, image)

    volume = np.repeat(image[:, None], slices, axis=1)
    noise = rng.normal(0, 8, volume.shape) + 1j * rng.normal(0, 8, volume.shape)
    volume = np.abs(volume + noise).astype(np.float32)
    repeat = np.ones((slices, 1, 1), dtype=bool)
    return volume, artery & repeat, synovitis & repeat


def test_arterial_phase_in_first_pass():
    volume, _, _ = arterial_phantom(np.random.default_rng(30))
    result = arterial_mask(volume, EVEN_TIMES)
    assert result.arrival.arrival_index == 3
    assert result.arterial_phase in (3, 4)
    assert result.rule == "largest_drop"


def test_arterial_mask_separates_artery():
    volume, artery, synovitis = arterial_phantom(np.random.default_rng(31))
    result = arterial_mask(volume, EVEN_TIMES)
    removed_artery = result.mask[artery].mean()
    kept_synovitis = 1 - result.mask[synovitis].mean()
    assert removed_artery >= 0.95
    assert kept_synovitis >= 0.95


def test_arterial_mask_otsu_and_override():
    volume, artery, _ = arterial_phantom(np.random.default_rng(32))
    result = arterial_mask(
        volume, EVEN_TIMES, ArterialMaskParams(threshold_method="otsu"), arterial_phase=4
    )
    assert result.rule == "override"
    assert result.arterial_phase == 4
    assert result.mask[artery].mean() >= 0.95


def test_arterial_threshold_rule_reported():
    volume, _, _ = arterial_phantom(np.random.default_rng(33))
    result = arterial_mask(volume, EVEN_TIMES, ArterialMaskParams(rule="threshold"))
    assert result.threshold_phase is not None
    assert result.arterial_phase == result.threshold_phase
    assert result.rule == "threshold"


def test_arrival_fraction_option():
    volume, artery, synovitis = arterial_phantom(np.random.default_rng(36))
    params = ArterialMaskParams(rule="arrival", threshold_method="arterial_fraction")
    result = arterial_mask(volume, EVEN_TIMES, params)
    assert result.rule == "arrival"
    assert result.arterial_phase == result.arrival.arrival_index
    assert result.mask[artery].mean() >= 0.95
    assert result.mask[synovitis].mean() <= 0.05


def test_rise_window_from_reference():
    reference = np.array([100, 100, 100, 150, 190, 200, 180, 170], dtype=float)
    arrival = resolve_arrival(np.zeros((8, 1), np.float32), EVEN_TIMES[:8], 3)
    # Enhancement 50, 90, 100, 80, 70: 80 % of the peak is first reached at phase 4.
    assert arterial_rise_window(reference, arrival, 0.8) == (4, 5)
    assert arterial_rise_window(reference, arrival, 0.4) == (3, 5)


def test_largest_drop_within_rise_window():
    mi = np.array([np.nan, np.nan, 1.0, 0.98, 0.97, 0.7, 0.65])
    arrival = resolve_arrival(np.zeros((7, 1), np.float32), EVEN_TIMES[:7], 3)
    params = ArterialMaskParams()
    # Over the whole window the drop at phase 5 (tissue enhancing) is the largest.
    assert choose_arterial_phase(mi, EVEN_TIMES[:7], arrival, params)[0] == 5
    assert choose_arterial_phase(mi, EVEN_TIMES[:7], arrival, params, (3, 4))[0] == 3


def test_late_peaking_tissue_not_arterial():
    volume, artery, _ = arterial_phantom(np.random.default_rng(38))
    # A bright region that is already well enhanced in the arterial phase but peaks later.
    bright = np.zeros(volume.shape[1:], dtype=bool)
    bright[:, 40:44, 20:24] = True
    te = np.clip(EVEN_TIMES - ONSET_S, 0, None)
    curve = 400 * (1 + 6 * (1 - np.exp(-0.02 * te)))
    volume[:, bright] = curve[:, None].astype(np.float32)
    kept = arterial_mask(volume, EVEN_TIMES)
    without_criterion = arterial_mask(volume, EVEN_TIMES, ArterialMaskParams(min_peak_ratio=0))
    assert kept.arterial_phase == without_criterion.arterial_phase
    assert without_criterion.mask[bright].mean() >= 0.95
    assert not kept.mask[bright].any()
    assert kept.mask[artery].mean() >= 0.95


def test_sd_threshold_option():
    volume, artery, _ = arterial_phantom(np.random.default_rng(39))
    result = arterial_mask(volume, EVEN_TIMES, ArterialMaskParams(threshold_method="sd"))
    subtraction = result.subtraction[result.body_mask]
    assert result.threshold == pytest.approx(subtraction.mean() + 3 * subtraction.std(), rel=1e-4)
    assert result.mask[artery].mean() >= 0.95


@pytest.mark.parametrize("name", ["arterial_rise_fraction", "min_peak_ratio", "arterial_fraction"])
def test_fraction_out_of_range_rejected(name):
    with pytest.raises(ValueError, match=name):
        ArterialMaskParams(**{name: 1.5})


def test_mi_flat_without_contrast():
    # Without contrast every phase is the same image with new noise, so MI must not drop at
    # the first phase after the baseline (a phase averaged into the reference would).
    rng = np.random.default_rng(37)
    base = smooth_stack(rng, slices=2, size=48)
    volume = (base[None] + rng.normal(0, 5, (8, *base.shape))).astype(np.float32)
    result = arterial_mask(volume, EVEN_TIMES[:8], baseline_phases=3)
    mi = result.mutual_information
    assert np.all(np.isnan(mi[:2]))
    # Sharing the reference's noise lifted the last baseline phase by about 25 % here.
    assert np.max(np.abs(mi[3:] - mi[2])) <= 0.12 * mi[2]


def test_synovitis_excludes_artery():
    volume, artery, synovitis = arterial_phantom(np.random.default_rng(34))
    detected = rule_based_synovitis(volume, EVEN_TIMES)
    assert detected[synovitis].mean() >= 0.95
    assert not detected[artery].any()


def test_mutual_information_known_values():
    rng = np.random.default_rng(35)
    values = rng.uniform(0, 1, 100_000)
    independent = rng.uniform(0, 1, 100_000)
    # Identical uniform samples in 8 even bins share all information: MI = ln 8.
    assert mutual_information(values, values, bins=8) == pytest.approx(math.log(8), rel=1e-3)
    assert mutual_information(values, independent, bins=8) == pytest.approx(0.0, abs=2e-3)


def test_invalid_rule_rejected():
    with pytest.raises(ValueError, match="largest_drop"):
        ArterialMaskParams(rule="first")


# ---------------------------------------------------------------------------------------------
# Summaries


def test_joint_summary_counts():
    types = np.zeros((4, 6, 6), dtype=np.uint8)
    types[1:3, 1:4, 1:4] = 2  # 18 enhancing voxels inside the box
    types[1, 1, 1:4] = 4  # 3 of them type 4
    types[0, 0, 0] = 4  # outside the box
    me = np.full(types.shape, 50.0, dtype=np.float32)
    me[1, 1, 1:4] = 200.0
    maps = {"me": me, "ire": me / 10, "ttp": np.full(types.shape, 30.0, dtype=np.float32)}
    synovitis = types == 4
    arteries = np.zeros(types.shape, dtype=bool)
    arteries[1, 1, 1] = True
    synovitis &= ~arteries
    box = JointBox.from_corners(1, 2, [1, 1, 3, 3])

    summary = summarise_joint(types, maps, synovitis, box, (0.5, 0.4), 2.0, arteries)

    assert summary.region_voxels == 18
    assert summary.region_volume_mm3 == pytest.approx(18 * 0.4)
    assert summary.enhancing_voxels == 18
    assert summary.type4_fraction == pytest.approx(3 / 18)
    assert summary.synovitis_voxels == 2
    assert summary.synovitis_volume_mm3 == pytest.approx(2 * 0.4)
    assert summary.arterial_voxels_removed == 1
    assert summary.mean_me == pytest.approx((15 * 50 + 3 * 200) / 18)
    assert summary.mean_ttp == pytest.approx(30.0)
    assert enhancing_voxel_count(types) == 19


def test_joint_box_out_of_bounds():
    box = JointBox.from_phantom({"slices": [0, 4], "rows": [0, 1], "cols": [0, 1]})
    with pytest.raises(ValueError, match="slices 0-4"):
        box.index((4, 6, 6))
