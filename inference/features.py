"""Fixed-length input features for per-pixel TIC classifiers.

Every TIC is resampled onto one time grid in seconds, so series with different phase counts
or phase intervals give inputs of the same length. The features are stored channel-major in
a float32 array of shape (N, C * G): C channels, each G grid points long.

Channels:
- ``"zscore"``: the normalised curve z-scored per TIC (zero mean, unit SD over the grid).
  It keeps only the shape, like the per-TIC z-scoring of the Hokkaido group's 1-D CNN
  (Jpn J Radiol 2024;42:1187-97).
- ``"enhancement"``: the normalised curve itself, clipped to ``enhancement_clip``. The
  z-score stretches a flat, noisy TIC (bone) to unit SD, so this channel keeps the amount
  of enhancement that the shape alone hides.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

NORMALISATIONS = ("relative", "none")
CHANNELS = ("zscore", "enhancement")

# 27 points at 15 s steps, 0-390 s: one point per phase of a 27-phase, 15 s protocol.
DEFAULT_GRID_S = tuple(float(t) for t in np.linspace(0.0, 390.0, 27))

# A TIC whose SD over the grid is below this is treated as flat: its z-score is all zeros.
_FLAT_SD = 1e-6


@dataclass(frozen=True)
class FeatureSpec:
    """Recipe that turns raw TICs into classifier inputs.

    grid_s: increasing sample times in seconds from the first phase. Grid times after a
        series' last phase take the last phase's value, and times before its first phase take
        the first value. Phases after the grid's last time are not used.
    normalisation: ``"relative"`` converts S to (S - S0) / S0, with S0 the mean of the
        baseline phases. ``"none"`` keeps modality units (for subtraction series, where S0 is
        near zero).
    channels: feature channels in order, chosen from CHANNELS.
    baseline_phases: number of leading pre-contrast phases averaged into S0.
    enhancement_clip: (low, high) limits of the ``"enhancement"`` channel, so air pixels with
        a near-zero S0 do not produce huge values.
    """

    grid_s: tuple[float, ...] = DEFAULT_GRID_S
    normalisation: str = "relative"
    channels: tuple[str, ...] = CHANNELS
    baseline_phases: int = 2
    enhancement_clip: tuple[float, float] = (-1.0, 10.0)

    def __post_init__(self) -> None:
        grid = np.asarray(self.grid_s, dtype=np.float64)
        if grid.ndim != 1 or grid.size < 2 or not np.all(np.diff(grid) > 0):
            raise ValueError(
                f"Invalid grid_s {self.grid_s!r}: it needs at least 2 strictly increasing times "
                "in seconds."
            )
        if self.normalisation not in NORMALISATIONS:
            raise ValueError(
                f"Invalid normalisation {self.normalisation!r}; valid choices: "
                f"{', '.join(NORMALISATIONS)}."
            )
        unknown = [name for name in self.channels if name not in CHANNELS]
        if not self.channels or unknown or len(set(self.channels)) != len(self.channels):
            raise ValueError(
                f"Invalid channels {self.channels!r}; choose distinct names from "
                f"{', '.join(CHANNELS)}."
            )
        if self.baseline_phases < 1:
            raise ValueError(f"Invalid baseline_phases {self.baseline_phases}: it must be >= 1.")

    @property
    def n_points(self) -> int:
        return len(self.grid_s)

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    @property
    def n_features(self) -> int:
        return self.n_points * self.n_channels

    def to_dict(self) -> dict:
        """Return the spec as plain lists and numbers (JSON- and checkpoint-safe)."""
        values = dataclasses.asdict(self)
        values["grid_s"] = [float(t) for t in self.grid_s]
        values["channels"] = list(self.channels)
        values["enhancement_clip"] = [float(v) for v in self.enhancement_clip]
        return values

    @classmethod
    def from_dict(cls, values: dict) -> FeatureSpec:
        """Build a spec from ``to_dict`` output; missing keys take their defaults."""
        unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(
                f"Unknown feature spec fields {unknown}; valid: "
                f"{', '.join(f.name for f in dataclasses.fields(cls))}."
            )
        converters = {
            "grid_s": lambda v: tuple(float(t) for t in v),
            "normalisation": str,
            "channels": tuple,
            "baseline_phases": int,
            "enhancement_clip": lambda v: tuple(float(limit) for limit in v),
        }
        return cls(**{name: converters[name](value) for name, value in values.items()})


def interpolation_matrix(times_s: np.ndarray, grid_s: np.ndarray) -> np.ndarray:
    """Return W, float64 (P, G), such that ``curves (N, P) @ W`` resamples curves onto the grid.

    It interpolates linearly between phases. Grid times outside [times_s[0], times_s[-1]] take
    the nearest end value.
    """
    times = np.asarray(times_s, dtype=np.float64)
    identity = np.eye(times.size)
    return np.stack([np.interp(grid_s, times, row) for row in identity])


def tic_features(
    tics: np.ndarray,
    times_s: np.ndarray,
    spec: FeatureSpec | None = None,
    baseline_phases: int | None = None,
) -> np.ndarray:
    """Convert TICs into classifier features.

    tics: (N, P) signal in modality units, any real dtype.
    times_s: (P,) phase times in seconds, strictly increasing.
    baseline_phases: overrides ``spec.baseline_phases`` when given.
    Returns float32 (N, C * G), channel-major (see the module docstring).
    """
    spec = spec or FeatureSpec()
    # float32 halves the memory traffic, and int16 or uint16 signal converts to it exactly.
    curves = np.asarray(tics, dtype=np.float32)
    times = _validated_times(times_s, curves)
    n_baseline = spec.baseline_phases if baseline_phases is None else baseline_phases
    if not 1 <= n_baseline < times.size:
        raise ValueError(
            f"Invalid baseline_phases {n_baseline} for a series of {times.size} phases: it must "
            f"be between 1 and {times.size - 1}."
        )

    if spec.normalisation == "relative":
        s0 = curves[:, :n_baseline].mean(axis=1, keepdims=True)
        curves = (curves - s0) / np.maximum(s0, np.float32(1e-6))
    weights = interpolation_matrix(times, np.asarray(spec.grid_s)).astype(np.float32)
    resampled = curves @ weights

    features = np.empty((curves.shape[0], spec.n_features), dtype=np.float32)
    for index, name in enumerate(spec.channels):
        block = features[:, index * spec.n_points : (index + 1) * spec.n_points]
        if name == "zscore":
            block[:] = zscore_rows(resampled)
        else:
            block[:] = np.clip(resampled, *spec.enhancement_clip)
    return features


def zscore_rows(curves: np.ndarray) -> np.ndarray:
    """Z-score each row of a (N, G) array; rows with SD below 1e-6 become zeros."""
    mean = curves.mean(axis=1, keepdims=True)
    sd = curves.std(axis=1, keepdims=True)
    flat = sd < _FLAT_SD
    return np.where(flat, 0.0, (curves - mean) / np.where(flat, 1.0, sd)).astype(curves.dtype)


def fit_normaliser(features: np.ndarray, spec: FeatureSpec) -> dict:
    """Fit one mean and SD per feature channel on (N, C * G) training features.

    Returns {"mean": [C floats], "sd": [C floats]}; an SD below 1e-6 is stored as 1.0.
    """
    blocks = np.asarray(features, dtype=np.float64).reshape(-1, spec.n_channels, spec.n_points)
    mean = blocks.mean(axis=(0, 2))
    sd = blocks.std(axis=(0, 2))
    sd = np.where(sd < _FLAT_SD, 1.0, sd)
    return {"mean": [float(v) for v in mean], "sd": [float(v) for v in sd]}


def apply_normaliser(features: np.ndarray, normaliser: dict, spec: FeatureSpec) -> np.ndarray:
    """Standardise (N, C * G) features per channel with fitted statistics; returns float32."""
    mean = np.asarray(normaliser["mean"], dtype=np.float32)[None, :, None]
    sd = np.asarray(normaliser["sd"], dtype=np.float32)[None, :, None]
    blocks = np.asarray(features, dtype=np.float32).reshape(-1, spec.n_channels, spec.n_points)
    return ((blocks - mean) / sd).reshape(blocks.shape[0], spec.n_features)


def feature_channel(features: np.ndarray, spec: FeatureSpec, name: str) -> np.ndarray:
    """Return the (N, G) view of one channel of (N, C * G) features."""
    if name not in spec.channels:
        raise ValueError(
            f"Channel {name!r} is not among the spec's channels {list(spec.channels)}."
        )
    index = spec.channels.index(name)
    return features[:, index * spec.n_points : (index + 1) * spec.n_points]


def render_tic_images(
    curves: np.ndarray, size: int = 224, line_width: float = 2.0, value_limit: float = 3.0
) -> np.ndarray:
    """Draw each curve as a black polyline on a white square canvas ("TIC shape image").

    curves: (N, G) z-scored TICs (the ``"zscore"`` channel). Point k sits at column
        k * (size - 1) / (G - 1). A value v is clipped to [-value_limit, value_limit] and drawn
        at row (value_limit - v) / (2 * value_limit) * (size - 1). So +value_limit is the top
        row, and a rising curve runs from lower left to upper right.
    line_width: vertical thickness in pixels. A flat line covers this many rows when
        line_width is an integer, except on the top and bottom rows, where the canvas cuts it.
    Returns uint8 (N, size, size): 0 on the line, 255 elsewhere. No axes or text.
    """
    values = np.clip(np.asarray(curves, dtype=np.float64), -value_limit, value_limit)
    n_points = values.shape[1]
    if n_points < 2 or size < 2:
        raise ValueError(f"Cannot render {n_points} points on a {size} px canvas: need >= 2 each.")
    rows = (value_limit - values) / (2.0 * value_limit) * (size - 1)
    low, high = _column_row_ranges(rows, size)

    half = line_width / 2.0
    row_centres = np.arange(size, dtype=np.float64)[None, :, None]
    on_line = (row_centres >= low[:, None, :] - half) & (row_centres < high[:, None, :] + half)
    return np.where(on_line, np.uint8(0), np.uint8(255))


def _column_row_ranges(rows: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the min and max row, each (N, size), that the polyline reaches in each column.

    Over column c, a piecewise-linear curve has its extremes at the column's edges
    (x = c - 0.5 and c + 0.5) or at a vertex inside the column.
    """
    n_points = rows.shape[1]
    vertex_x = np.arange(n_points) * (size - 1) / (n_points - 1)
    edges_x = np.clip(np.arange(size + 1) - 0.5, 0.0, size - 1.0)
    edge_rows = _interpolate_rows(rows, vertex_x, edges_x)
    low = np.minimum(edge_rows[:, :-1], edge_rows[:, 1:])
    high = np.maximum(edge_rows[:, :-1], edge_rows[:, 1:])

    # Loop over the G vertices (tens), vectorised over the N curves.
    vertex_columns = np.clip(np.floor(vertex_x + 0.5).astype(int), 0, size - 1)
    for point, column in enumerate(vertex_columns):
        low[:, column] = np.minimum(low[:, column], rows[:, point])
        high[:, column] = np.maximum(high[:, column], rows[:, point])
    return low, high


def _interpolate_rows(rows: np.ndarray, vertex_x: np.ndarray, query_x: np.ndarray) -> np.ndarray:
    """Linear interpolation of (N, G) vertex rows at query_x, returning (N, len(query_x))."""
    segment = np.clip(np.searchsorted(vertex_x, query_x, side="right") - 1, 0, len(vertex_x) - 2)
    left_x = vertex_x[segment]
    weight = (query_x - left_x) / (vertex_x[segment + 1] - left_x)
    return rows[:, segment] * (1.0 - weight) + rows[:, segment + 1] * weight


def _validated_times(times_s: np.ndarray, curves: np.ndarray) -> np.ndarray:
    times = np.asarray(times_s, dtype=np.float64)
    if curves.ndim != 2:
        raise ValueError(f"TICs must be a 2-D (N, P) array; got shape {curves.shape}.")
    if times.shape != (curves.shape[1],):
        raise ValueError(
            f"times_s has shape {times.shape} but the TICs have {curves.shape[1]} phases; "
            "pass one time in seconds per phase."
        )
    if times.size < 2 or not np.all(np.isfinite(times)) or not np.all(np.diff(times) > 0):
        raise ValueError(
            f"Invalid times_s {times.tolist()}: need >= 2 finite, strictly increasing times."
        )
    return times
