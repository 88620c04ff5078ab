"""Contrast-agent kinetics and signal models for simulated DCE-MRI.

Time is in seconds and concentrations in mM throughout. Ktrans and k_ep are given in min⁻¹,
as the DCE literature quotes them, and converted to s⁻¹ here.

- ``parker_aif``: population arterial input function of Parker et al., Magn Reson Med
  2006;56:993–1000 (doi:10.1002/mrm.21066), blood concentration.
- ``convolve_exponential``: ∫ C(τ) e^{−k(t−τ)} dτ for curves sampled on a uniform grid.
- ``extended_tofts``: C_t = v_p·C_p + Ktrans ∫ C_p(τ) e^{−k_ep(t−τ)} dτ, with k_ep = Ktrans/v_e.
- ``spgr_signal``: spoiled gradient-echo steady-state signal with R1 = R10 + r1·C.
- ``add_rician_noise``: magnitude of the signal plus complex Gaussian noise.
"""

from __future__ import annotations

import numpy as np

# Parker 2006 population AIF: two Gaussians (first and second pass) plus an exponential
# washout modulated by a sigmoid. Amplitudes in mM·min, times in min, rates in min⁻¹.
PARKER_A = (0.809, 0.330)
PARKER_T = (0.17046, 0.365)
PARKER_SIGMA = (0.0563, 0.132)
PARKER_ALPHA = 1.050
PARKER_BETA = 0.1685
PARKER_S = 38.078
PARKER_TAU = 0.483

# Haematocrit used to convert Parker's blood curve into plasma concentration.
HAEMATOCRIT = 0.42


def parker_aif(t_s: np.ndarray, injection_s: float = 0.0) -> np.ndarray:
    """Return the Parker blood concentration C_b in mM at times ``t_s`` (seconds).

    The curve is zero before ``injection_s`` and follows Parker's fit from there on,
    so its first-pass peak comes about 10 s after the injection.
    """
    t_min = (np.asarray(t_s, dtype=np.float64) - injection_s) / 60.0
    concentration = np.zeros_like(t_min)

    for amplitude, centre, width in zip(PARKER_A, PARKER_T, PARKER_SIGMA, strict=True):
        gauss = np.exp(-((t_min - centre) ** 2) / (2.0 * width**2))
        concentration += amplitude / (width * np.sqrt(2.0 * np.pi)) * gauss

    sigmoid = 1.0 / (1.0 + np.exp(-PARKER_S * (t_min - PARKER_TAU)))
    concentration += PARKER_ALPHA * np.exp(-PARKER_BETA * t_min) * sigmoid
    return np.where(t_min >= 0.0, concentration, 0.0)


def plasma_from_blood(blood_mM: np.ndarray, haematocrit: float = HAEMATOCRIT) -> np.ndarray:
    """Convert blood concentration to plasma concentration, C_p = C_b / (1 − Hct)."""
    return blood_mM / (1.0 - haematocrit)


def convolve_exponential(curve: np.ndarray, step_s: float, rate_per_s: np.ndarray) -> np.ndarray:
    """Return R(t) = ∫₀ᵗ curve(τ) e^{−k(t−τ)} dτ for each rate k.

    ``curve`` has shape (T,) on a uniform grid of ``step_s`` seconds starting at 0 and is
    taken as piecewise linear between samples, which makes the recursion below exact.
    ``rate_per_s`` has shape (K,) in s⁻¹ (zero is allowed and gives the running integral).
    The result has shape (T, K) in curve units × s.
    """
    rate = np.atleast_1d(np.asarray(rate_per_s, dtype=np.float64))
    decay = np.exp(-rate * step_s)
    kh = rate * step_s

    # Weights of the current sample and of the slope over one step; the series forms
    # avoid cancellation when k·h is tiny.
    small = kh < 1e-6
    safe_rate = np.where(small, 1.0, rate)
    safe_kh = np.where(small, 1.0, kh)
    weight_level = np.where(small, step_s, (1.0 - decay) / safe_rate)
    weight_slope = np.where(small, step_s / 2.0, (1.0 - (1.0 - decay) / safe_kh) / safe_rate)

    result = np.zeros((curve.shape[0], rate.shape[0]))
    for n in range(curve.shape[0] - 1):
        slope = curve[n + 1] - curve[n]
        result[n + 1] = decay * result[n] + curve[n] * weight_level + slope * weight_slope
    return result


def extended_tofts(
    plasma_mM: np.ndarray,
    step_s: float,
    ktrans_per_min: np.ndarray,
    ve: np.ndarray,
    vp: np.ndarray,
) -> np.ndarray:
    """Return tissue concentration in mM, shape (T, K), for K parameter sets.

    ``plasma_mM`` is C_p of shape (T,) on a uniform grid of ``step_s`` seconds from 0.
    ``ktrans_per_min`` (min⁻¹), ``ve`` and ``vp`` (volume fractions) have shape (K,);
    ``ve`` must be positive.
    """
    ktrans = np.asarray(ktrans_per_min, dtype=np.float64) / 60.0
    ve = np.asarray(ve, dtype=np.float64)
    if np.any(ve <= 0.0):
        raise ValueError(f"ve must be positive, got {ve.min()}")

    residue = convolve_exponential(plasma_mM, step_s, ktrans / ve)
    return np.asarray(vp)[None, :] * plasma_mM[:, None] + ktrans[None, :] * residue


def disperse_and_delay(
    curve: np.ndarray, step_s: float, delay_s: float, dispersion_s: float
) -> np.ndarray:
    """Return ``curve`` convolved with e^{−t/τ}/τ (τ = ``dispersion_s``) and delayed.

    The kernel has unit area, so the amount of contrast agent is preserved. Both the
    input and the result have shape (T,) on a uniform grid of ``step_s`` seconds.
    """
    if dispersion_s > 0.0:
        curve = convolve_exponential(curve, step_s, np.array([1.0 / dispersion_s]))[:, 0]
        curve = curve / dispersion_s
    return delay_curve(curve, step_s, delay_s)


def delay_curve(curve: np.ndarray, step_s: float, delay_s: float) -> np.ndarray:
    """Shift a (T,) curve later by ``delay_s`` seconds, filling the start with zero."""
    t = np.arange(curve.shape[0]) * step_s
    return np.interp(t - delay_s, t, curve, left=0.0)


def spgr_signal(
    m0: np.ndarray,
    r10_per_s: np.ndarray,
    concentration_mM: np.ndarray,
    *,
    tr_s: float,
    flip_deg: float,
    r1_per_mM_s: float,
) -> np.ndarray:
    """Return the spoiled gradient-echo signal M0·sin α·(1 − E1)/(1 − cos α·E1).

    E1 = exp(−TR·R1) with R1 = R10 + r1·C. All arguments broadcast together; the
    signal has the units of ``m0``.
    """
    alpha = np.deg2rad(flip_deg)
    e1 = np.exp(-tr_s * (r10_per_s + r1_per_mM_s * concentration_mM))
    return m0 * np.sin(alpha) * (1.0 - e1) / (1.0 - np.cos(alpha) * e1)


def add_rician_noise(signal: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Return |signal + n_r + i·n_i| with n ~ N(0, sigma²), as float32 of the same shape.

    In air (signal 0) this gives Rayleigh noise with mean sigma·√(π/2).
    """
    real = signal.astype(np.float32, copy=True)
    real += rng.standard_normal(signal.shape, dtype=np.float32) * np.float32(sigma)
    imaginary = rng.standard_normal(signal.shape, dtype=np.float32) * np.float32(sigma)
    return np.hypot(real, imaginary)
