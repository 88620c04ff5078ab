"""Synthetic coronal hand/wrist DCE-MRI phantom with exact ground truth.

``generate_subject`` builds one subject. Its anatomy is a right hand from the distal forearm
to the proximal phalanges, stored as a tissue label volume with the codes of
``TISSUE_CODES`` and built in ``inference.phantom_anatomy``. Its dynamic series is simulated
from the labels with the extended Tofts model, the Parker population AIF, a spoiled
gradient-echo signal equation and Rician noise.

Geometry, time and units:

- The hand fills a 160 × 160 mm in-plane, 40 mm deep frame that is mapped onto the matrix
  whatever its size, so a 64 × 64 test matrix contains the same anatomy at a lower
  resolution. ``pixel_spacing_mm`` and ``slice_thickness_mm`` of ``PhantomGeometry`` are
  what the DICOM headers report; they do not resize the hand.
- Rows run from the fingers (row 0) to the forearm, columns from the thumb side to the
  little-finger side, slices from palmar (slice 0) to dorsal.
- Phase k starts at k·Δt seconds and shows the concentrations at that moment, when a
  centric phase-encoding order acquires the centre of k-space. The bolus is injected at the
  start of phase 3 (index 2) and reaches the hand arteries 5–10 s later, so phases 1–3 are
  baseline and phase 4 shows the arterial first pass.
- Signal values are arbitrary units scaled so that muscle at baseline is about 300.

The same ``(subject_id, seed, geometry)`` gives identical arrays in the same environment.
NOTE: numpy's vectorised exp and log may differ in the last bit between CPU instruction
sets, which can change a rounded voxel value by one on another machine.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from inference import pk
from inference.phantom_anatomy import (
    ARTERY,
    CORTEX,
    FAT,
    FLUID,
    HAND_SIDE,
    JOINT_NAMES,
    MARROW,
    MUSCLE,
    SKIN,
    SYNOVITIS,
    SYNOVITIS_MILD,
    SYNOVIUM,
    TENDON,
    TISSUE_CODES,
    VEIN,
    Anatomy,
    build_anatomy,
)

__all__ = [
    "HAND_SIDE",
    "JOINT_NAMES",
    "TISSUE_CODES",
    "PhantomGeometry",
    "PhantomSubject",
    "generate_subject",
]

# Acquisition: 3 T 3D SPGR with Gd-DTPA (r1 at 3 T from Pintaske et al. 2006).
TR_S = 0.005
TE_S = 0.002
FLIP_DEG = 15.0
FIELD_STRENGTH_T = 3.0
RELAXIVITY_PER_MM_S = 3.9
CONTRAST_AGENT = "Gd-DTPA"
INJECTION_PHASE_INDEX = 2

MUSCLE_BASELINE = 300.0
VOXEL_AMPLITUDE_SD = 0.2
SIMULATION_STEP_S = 0.5
# Time within a phase at which the centre of k-space is acquired, as a fraction of the phase
# interval. 0 models centric phase-encoding order, which dynamic 3D spoiled gradient-echo
# protocols use so that each phase shows the contrast at its start time. 0.5 would model
# sequential (linear) order.
KSPACE_CENTRE_FRACTION = 0.0


@dataclass(frozen=True)
class PhantomGeometry:
    """Matrix, spacing and timing of a phantom series (defaults: 27 × 20 × 256 × 256)."""

    phases: int = 27
    slices: int = 20
    rows: int = 256
    columns: int = 256
    pixel_spacing_mm: float = 0.625
    slice_thickness_mm: float = 2.0
    phase_interval_s: float = 15.0

    def __post_init__(self) -> None:
        minimums = {"phases": 4, "slices": 3, "rows": 32, "columns": 32}
        for name, minimum in minimums.items():
            value = getattr(self, name)
            if not isinstance(value, int) or value < minimum:
                raise ValueError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
        for name in ("pixel_spacing_mm", "slice_thickness_mm", "phase_interval_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """Volume shape (phases, slices, rows, columns)."""
        return (self.phases, self.slices, self.rows, self.columns)

    def phase_times_s(self) -> np.ndarray:
        """Start time of each phase in seconds from the first phase, float64 (P,)."""
        return np.arange(self.phases, dtype=np.float64) * self.phase_interval_s

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class PhantomSubject:
    """One simulated subject.

    ``volume`` is uint16 (P, S, R, C). ``labels`` is uint8 (S, R, C) with ``TISSUE_CODES``
    and matches phase 1, because motion jitter shifts only the later phases.
    ``joints`` lists the 7 synovitis sites in ``JOINT_NAMES`` order.
    """

    subject_id: str
    geometry: PhantomGeometry
    volume: np.ndarray
    labels: np.ndarray
    phase_times_s: np.ndarray
    joints: list[dict]
    parameters: dict = field(default_factory=dict)


def generate_subject(
    subject_id: str,
    seed: int,
    geometry: PhantomGeometry | None = None,
    *,
    noise: bool = True,
    jitter_px: float = 0.0,
) -> PhantomSubject:
    """Simulate one subject of the cohort ``seed``.

    With ``noise=False`` the volume is the rounded noise-free signal; anatomy and tissue
    parameters are the same as with noise. ``jitter_px`` > 0 shifts phases 2… by a random
    rigid in-plane translation of up to that many pixels per axis (bilinear), while the
    labels stay in the position of phase 1.
    """
    geometry = geometry or PhantomGeometry()
    anatomy_rng, kinetics_rng, noise_rng, motion_rng = _subject_rngs(subject_id, seed)

    anatomy = build_anatomy(geometry.shape[1:], anatomy_rng)
    kinetics = _sample_kinetics(anatomy, geometry, kinetics_rng)
    shifts = _sample_shifts(geometry.phases, jitter_px, motion_rng)
    volume = _render_volume(anatomy, kinetics, shifts, noise_rng if noise else None)

    parameters = {
        **kinetics.parameters,
        "anatomy": anatomy.placement,
        "motion": {"jitter_px": float(jitter_px), "shifts_px": shifts.tolist()},
        "noise": bool(noise),
    }
    return PhantomSubject(
        subject_id=subject_id,
        geometry=geometry,
        volume=volume,
        labels=anatomy.labels,
        phase_times_s=geometry.phase_times_s(),
        joints=anatomy.joints,
        parameters=parameters,
    )


def _subject_rngs(subject_id: str, seed: int) -> list[np.random.Generator]:
    """Create independent generators for anatomy, kinetics, noise and motion of one subject.

    Separate streams keep the anatomy and kinetics unchanged when noise or motion is
    switched off.
    """
    digest = hashlib.sha256(subject_id.encode("utf-8")).digest()
    sequence = np.random.SeedSequence([int(seed), int.from_bytes(digest[:8], "little")])
    return [np.random.default_rng(child) for child in sequence.spawn(4)]


# ----------------------------------------------------------------------------------------
# Kinetics and signal
# ----------------------------------------------------------------------------------------

# Base tissue properties at 3 T: T10 in ms, relative M0, Ktrans in min⁻¹, ve and vp as
# fractions. Muscle uses a larger ve and smaller vp than the usual 0.10 / 0.015 so that its
# curve keeps rising over 6.5 min at 15 s phases instead of peaking with the first pass.
# Skin has slow uptake into a large ve and a small vp, so it enhances slowly and keeps
# rising. With vp 0.02 its first-pass bump made noisy skin pixels look like washout.
# Tendon and cortical bone have very short T2*, so at TE 2 ms they are nearly black on
# gradient-echo images; M0 0.05 (the low end of the 0.05–0.1 range used for short-T2*
# tissue) puts their baseline at about twice the noise SD.
TISSUES = {
    SKIN: {"t10_ms": 1000.0, "m0": 0.8, "ktrans_per_min": 0.04, "ve": 0.30, "vp": 0.01},
    FAT: {"t10_ms": 382.0, "m0": 1.2, "ktrans_per_min": 0.005, "ve": 0.05, "vp": 0.005},
    MUSCLE: {"t10_ms": 1420.0, "m0": 1.0, "ktrans_per_min": 0.025, "ve": 0.20, "vp": 0.005},
    MARROW: {"t10_ms": 371.0, "m0": 1.1, "ktrans_per_min": 0.01, "ve": 0.05, "vp": 0.01},
    CORTEX: {"t10_ms": 800.0, "m0": 0.05, "ktrans_per_min": 0.005, "ve": 0.05, "vp": 0.0},
    TENDON: {"t10_ms": 800.0, "m0": 0.05, "ktrans_per_min": 0.005, "ve": 0.05, "vp": 0.0},
    SYNOVIUM: {"t10_ms": 1300.0, "m0": 0.9, "ktrans_per_min": 0.02, "ve": 0.20, "vp": 0.01},
    FLUID: {"t10_ms": 3620.0, "m0": 1.0, "ktrans_per_min": 0.02, "ve": 0.90, "vp": 0.0},
}
BLOOD = {"t10_ms": 1650.0, "m0": 1.0}
SYNOVITIS_T10_MS = 1300.0
SYNOVITIS_M0 = 0.9
VEIN_DISPERSION_S = 20.0
# Capillaries of every tissue receive the arterial blood curve 1–3 s late and spread by an
# exponential kernel of this time constant. These values are our estimate of the transit
# through the arterioles, not measured ones. Tissue fed by an artery cannot enhance before
# it, but without this lag the vp·C_p term of the extended Tofts model lets synovitis peak
# in the arterial phase. Arterial mask subtraction relies on the arteries enhancing first.
TISSUE_DISPERSION_S = 3.0


@dataclass
class _Kinetics:
    """Noise-free signal of every parameter group at each phase.

    ``group`` (S, R, C) int16 indexes the columns of ``table`` (P, G). Synovitis voxels
    (``voxel_index``, a tuple of index arrays) get their own curves ``voxel_signal`` (P, N).
    """

    group: np.ndarray
    table: np.ndarray
    voxel_index: tuple
    voxel_signal: np.ndarray
    noise_sigma: float
    parameters: dict


def _sample_kinetics(anatomy: Anatomy, geometry: PhantomGeometry, rng) -> _Kinetics:
    """Draw per-subject tissue parameters and compute the noise-free signal curves."""
    step = SIMULATION_STEP_S
    times = np.arange(0.0, geometry.phases * geometry.phase_interval_s + step, step)
    injection_s = INJECTION_PHASE_INDEX * geometry.phase_interval_s
    aif = _draw_aif(rng)
    # The hand arteries carry the blood curve from its arrival on and define the local AIF.
    # Each tissue's capillaries receive it a little later and spread out (see
    # TISSUE_DISPERSION_S). The veins drain it after a longer delay and more dispersion.
    blood = pk.parker_aif(times, injection_s + aif["arrival_delay_s"])
    capillary_blood = pk.disperse_and_delay(blood, step, aif["tissue_delay_s"], TISSUE_DISPERSION_S)
    plasma = pk.plasma_from_blood(capillary_blood)

    tissues = _draw_tissues(rng)
    lesions = _draw_synovitis(anatomy, rng)
    groups = list(tissues.values()) + lesions
    tofts = _extended_tofts_groups(plasma, step, groups)

    concentration = np.zeros((times.shape[0], len(TISSUE_CODES) + len(lesions)))
    tofts_columns = list(tissues.keys()) + [len(TISSUE_CODES) + i for i in range(len(lesions))]
    concentration[:, tofts_columns] = tofts
    concentration[:, ARTERY] = blood
    concentration[:, VEIN] = pk.disperse_and_delay(
        blood, step, aif["vein_delay_s"], VEIN_DISPERSION_S
    )
    phase_concentration = _sample_phases(concentration, times, geometry)

    return _assemble_signal(anatomy, geometry, phase_concentration, tissues, lesions, aif, rng)


def _extended_tofts_groups(plasma, step, groups: list[dict]) -> np.ndarray:
    """Compute extended Tofts concentration (T, K) for K dicts of ktrans_per_min, ve, vp."""
    return pk.extended_tofts(
        plasma,
        step,
        np.array([g["ktrans_per_min"] for g in groups]),
        np.array([g["ve"] for g in groups]),
        np.array([g["vp"] for g in groups]),
    )


def _draw_aif(rng) -> dict:
    return {
        "model": "Parker 2006 population AIF",
        "haematocrit": pk.HAEMATOCRIT,
        "arrival_delay_s": float(rng.uniform(5.0, 10.0)),
        "tissue_delay_s": float(rng.uniform(1.0, 3.0)),
        "tissue_dispersion_s": TISSUE_DISPERSION_S,
        "vein_delay_s": float(rng.uniform(10.0, 20.0)),
        "vein_dispersion_s": VEIN_DISPERSION_S,
    }


def _draw_tissues(rng) -> dict[int, dict]:
    """Draw per-subject tissue properties: the base table times random factors."""
    tissues = {}
    for code, base in TISSUES.items():
        factor_k = float(np.clip(np.exp(rng.normal(0.0, 0.2)), 0.7, 1.4))
        tissues[code] = {
            "t10_ms": base["t10_ms"] * float(rng.uniform(0.95, 1.05)),
            "m0": base["m0"] * float(rng.uniform(0.95, 1.05)),
            "ktrans_per_min": base["ktrans_per_min"] * factor_k,
            "ve": min(base["ve"] * float(rng.uniform(0.9, 1.2)), 0.95),
            "vp": base["vp"] * float(rng.uniform(0.8, 1.2)),
        }
    return tissues


def _draw_synovitis(anatomy: Anatomy, rng) -> list[dict]:
    """Draw PK parameters of active (code 8) and mild (code 9) synovitis per affected joint.

    Active: Ktrans log-uniform in 0.05–1.5 min⁻¹ with k_ep log-uniform in 0.8–3 min⁻¹, so
    the curve follows the falling plasma curve and washes out. Mild: Ktrans 0.06–0.15
    min⁻¹ with k_ep 0.28–0.34 min⁻¹, where uptake balances the plasma decay: the late
    change of the noise-free curve is about 0 to +10 % of its early rise (plateau). Centring the
    range a little above zero keeps noisy pixels, whose early maximum is biased upwards by
    the noise, inside the plateau band rather than in washout.
    """
    lesions = []
    for joint in anatomy.joints:
        lesion = anatomy.inflammation.get(joint["name"])
        if lesion is None:
            continue
        codes = [SYNOVITIS] if lesion["active_core"] > 0.0 else []
        codes += [SYNOVITIS_MILD] if lesion["active_core"] < 1.0 else []
        for code in codes:
            if code == SYNOVITIS:
                ktrans = _log_uniform(rng, 0.05, 1.5)
                ve = float(np.clip(ktrans / _log_uniform(rng, 0.8, 3.0), 0.05, 0.45))
                vp = float(rng.uniform(0.02, 0.10))
            else:
                ktrans = _log_uniform(rng, 0.06, 0.15)
                ve = ktrans / float(rng.uniform(0.28, 0.34))
                vp = float(rng.uniform(0.005, 0.015))
            lesions.append({
                "joint": joint["name"], "code": code, "ktrans_per_min": ktrans, "ve": ve,
                "vp": vp, "kep_per_min": ktrans / ve,
                "t10_ms": SYNOVITIS_T10_MS * float(rng.uniform(0.95, 1.05)),
                "m0": SYNOVITIS_M0 * float(rng.uniform(0.95, 1.05)),
            })  # fmt: skip
    return lesions


def _log_uniform(rng, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _sample_phases(curves, times, geometry: PhantomGeometry) -> np.ndarray:
    """Sample (T, K) curves at the k-space centre time of each phase, giving (P, K).

    The contrast of a 3D spoiled gradient-echo image is set by the centre of k-space, so a
    phase shows the concentration at the moment that centre is acquired. Averaging over the
    whole phase window instead blurs the first pass of the bolus into the next phase.
    """
    centre_s = (np.arange(geometry.phases) + KSPACE_CENTRE_FRACTION) * geometry.phase_interval_s
    return np.stack([np.interp(centre_s, times, column) for column in curves.T], axis=1)


def _assemble_signal(anatomy, geometry, concentration, tissues, lesions, aif, rng) -> _Kinetics:
    """Turn phase concentrations (P, G) into signal curves and per-voxel synovitis curves."""
    gain = float(rng.uniform(0.85, 1.15))
    scale = gain * MUSCLE_BASELINE / _spgr(1.0, TISSUES[MUSCLE]["t10_ms"], 0.0)
    snr = float(rng.uniform(20.0, 30.0))
    noise_sigma = gain * MUSCLE_BASELINE / snr

    properties = {**tissues, ARTERY: BLOOD, VEIN: BLOOD}
    n_columns = concentration.shape[1]
    t10 = np.ones(n_columns)
    m0 = np.zeros(n_columns)
    for code, entry in properties.items():
        t10[code], m0[code] = entry["t10_ms"], entry["m0"]
    for i, entry in enumerate(lesions):
        t10[len(TISSUE_CODES) + i], m0[len(TISSUE_CODES) + i] = entry["t10_ms"], entry["m0"]
    table = scale * _spgr(m0, t10, concentration)

    group, voxel_index, voxel_signal = _synovitis_voxels(
        anatomy, lesions, concentration, t10, m0, scale, rng
    )
    parameters = {
        "acquisition": _acquisition_parameters(geometry),
        "aif": aif,
        "signal": {
            "scale": scale, "gain": gain, "noise_sigma": noise_sigma,
            "baseline_snr_muscle": snr, "noise_model": "Rician",
            "voxel_amplitude_log_sd": VOXEL_AMPLITUDE_SD,
        },
        "tissues": {TISSUE_CODES[code]: entry for code, entry in tissues.items()},
        "blood": BLOOD,
        "synovitis": lesions,
        "inflammation": anatomy.inflammation,
    }  # fmt: skip
    return _Kinetics(
        group, table.astype(np.float32), voxel_index, voxel_signal, noise_sigma, parameters
    )


def _synovitis_voxels(anatomy, lesions, concentration, t10, m0, scale, rng):
    """Return the group map and per-voxel synovitis curves with a log-normal amplitude factor.

    Scaling Ktrans, ve and vp of a voxel by the same factor keeps k_ep, so every voxel of
    a joint has the same curve shape and only its concentration scales.
    """
    labels = anatomy.labels
    group = labels.astype(np.int16)
    column_of = {(e["joint"], e["code"]): len(TISSUE_CODES) + i for i, e in enumerate(lesions)}
    for index, joint in enumerate(anatomy.joints):
        for code in (SYNOVITIS, SYNOVITIS_MILD):
            if (joint["name"], code) in column_of:
                mask = (anatomy.joint_of_voxel == index) & (labels == code)
                group[mask] = column_of[(joint["name"], code)]

    voxel_index = np.nonzero(group >= len(TISSUE_CODES))
    columns = group[voxel_index]
    factor = np.exp(rng.normal(0.0, VOXEL_AMPLITUDE_SD, size=columns.shape[0]))
    voxel_concentration = concentration[:, columns] * factor[None, :]
    voxel_signal = scale * _spgr(m0[columns], t10[columns], voxel_concentration)
    return group, voxel_index, voxel_signal.astype(np.float32)


def _spgr(m0, t10_ms, concentration):
    # NOTE: blood is modelled at the steady state, without inflow enhancement. In a coronal
    # slab the hand and forearm arteries run in the slab plane, so we assume their blood has
    # seen many excitations before it enters the field of view.
    return pk.spgr_signal(
        m0,
        1000.0 / np.asarray(t10_ms),
        concentration,
        tr_s=TR_S,
        flip_deg=FLIP_DEG,
        r1_per_mM_s=RELAXIVITY_PER_MM_S,
    )


def _acquisition_parameters(geometry: PhantomGeometry) -> dict:
    return {
        "field_strength_t": FIELD_STRENGTH_T,
        "sequence": "3D spoiled gradient echo",
        "repetition_time_ms": TR_S * 1000.0,
        "echo_time_ms": TE_S * 1000.0,
        "flip_angle_deg": FLIP_DEG,
        "contrast_agent": CONTRAST_AGENT,
        "relaxivity_per_mM_s": RELAXIVITY_PER_MM_S,
        "injection_time_s": INJECTION_PHASE_INDEX * geometry.phase_interval_s,
        "phase_signal": "concentration at t_k + kspace_centre_fraction * phase_interval_s",
        "kspace_centre_fraction": KSPACE_CENTRE_FRACTION,
    }


def _sample_shifts(phases: int, jitter_px: float, rng) -> np.ndarray:
    """Draw per-phase (row, column) shifts in pixels as float64 (P, 2). Phase 1 stays put."""
    if jitter_px < 0:
        raise ValueError(f"jitter_px must be ≥ 0, got {jitter_px}")
    shifts = rng.uniform(-jitter_px, jitter_px, size=(phases, 2))
    shifts[0] = 0.0
    return shifts


def _render_volume(anatomy, kinetics: _Kinetics, shifts, noise_rng) -> np.ndarray:
    """Fill the uint16 (P, S, R, C) volume phase by phase to bound memory."""
    phases = kinetics.table.shape[0]
    volume = np.empty((phases, *anatomy.labels.shape), dtype=np.uint16)
    for phase in range(phases):
        signal = kinetics.table[phase][kinetics.group]
        signal[kinetics.voxel_index] = kinetics.voxel_signal[phase]
        if np.any(shifts[phase]):
            signal = ndimage.shift(signal, (0.0, *shifts[phase]), order=1, mode="nearest")
        if noise_rng is not None:
            signal = pk.add_rician_noise(signal, kinetics.noise_sigma, noise_rng)
        volume[phase] = np.clip(np.rint(signal), 0, np.iinfo(np.uint16).max)
    return volume
