"""TIC analysis of a stored series: maps, shape types, arterial mask and per-joint summaries.

The parameters arrive as a JSON object from the API or the viewer. Building the engine's
parameter dataclasses checks them, so an unknown or invalid field is rejected with its name
before anything is queued. Results are stored with the parameters and the code version.
"""

import dataclasses
import hashlib
import json
import logging
import math
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pannusmap.errors import UserError
from pannusmap.version import code_version

from .arterial import ArterialMaskParams, arterial_mask
from .models import JobStatus, TicAnalysis
from .motion import correct_motion
from .shapes import FAST_WASHOUT, SHAPE_COLORS, SHAPE_NAMES, ShapeParams, analyse_tics
from .summaries import JointBox, enhancing_voxel_count, summarise_joint
from .tic import MAP_DESCRIPTIONS, MAP_UNITS, MapParams

logger = logging.getLogger(__name__)

PARAMETER_GROUPS = {"shape": ShapeParams, "maps": MapParams, "arterial": ArterialMaskParams}
# Layers an analysis stores beside the quantitative maps, each (S, R, C).
LAYERS = ("shape_types", "arterial_mask", "synovitis")


def normalise_parameters(raw):
    """Return the full parameter set (defaults filled in) or raise UserError naming the field."""
    raw = raw or {}
    if not isinstance(raw, dict):
        raise UserError(_("Analysis parameters must be a JSON object."), code="invalid_parameters")
    unknown = (
        set(raw)
        - set(PARAMETER_GROUPS)
        - {"baseline_phases", "arterial_phase", "motion_correction"}
    )
    if unknown:
        raise UserError(
            _("Unknown analysis parameters: %(names)s.") % {"names": ", ".join(sorted(unknown))},
            code="invalid_parameters",
        )
    result = {}
    for group, params_class in PARAMETER_GROUPS.items():
        values = raw.get(group, {})
        if not isinstance(values, dict):
            raise UserError(
                _("Analysis parameters %(group)s must be a JSON object.") % {"group": group},
                code="invalid_parameters",
            )
        try:
            result[group] = dataclasses.asdict(params_class(**coerce_numbers(params_class, values)))
        except (TypeError, ValueError) as error:
            raise UserError(
                _("Invalid %(group)s parameters: %(error)s") % {"group": group, "error": error},
                code="invalid_parameters",
            ) from None
    for name, lowest in (("baseline_phases", 1), ("arterial_phase", 0)):
        value = raw.get(name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < lowest
        ):
            raise UserError(
                _(
                    "%(name)s must be a whole number of at least %(lowest)s, or null for automatic, got %(value)r."
                )
                % {"name": name, "lowest": lowest, "value": value},
                code="invalid_parameters",
            )
        result[name] = value
    if result["maps"]["ser_late_s"] <= result["maps"]["ser_early_s"]:
        raise UserError(
            _("maps.ser_late_s must be later than maps.ser_early_s."), code="invalid_parameters"
        )
    motion = raw.get("motion_correction", False)
    if not isinstance(motion, bool):
        raise UserError(
            _("motion_correction must be true or false, got %(value)r.") % {"value": motion},
            code="invalid_parameters",
        )
    result["motion_correction"] = motion
    return result


# Allowed ranges (inclusive lower, inclusive upper; None = open) of the numeric parameters. A
# value outside them gives maps that mean nothing, and every user of the series would see them.
FRACTION = (0.0, 1.0)
POSITIVE = (1e-9, None)
PARAMETER_RANGES = {
    "noise_cv": POSITIVE,
    "min_baseline_snr": (0.0, None),
    "enhancement_sigma": (0.0, None),
    "enhancement_fraction": (0.0, None),
    "early_window_s": POSITIVE,
    "fast_fraction": (1e-9, 1.0),
    "plateau_band": FRACTION,
    "late_phases": (1, None),
    "iauc_window_s": POSITIVE,
    "mis_window_s": POSITIVE,
    "ser_early_s": POSITIVE,
    "ser_late_s": POSITIVE,
    "bins": (2, 1024),
    "search_window_s": POSITIVE,
    "arterial_rise_fraction": (1e-9, 1.0),
    "mi_drop_fraction": FRACTION,
    "threshold_sd": (0.0, None),
    "arterial_fraction": (1e-9, 1.0),
    "arterial_top_fraction": (1e-9, 1.0),
    "min_peak_ratio": FRACTION,
    "min_component_voxels": (1, None),
    "dilation_px": (0, 10),
}


def check_value(group, name, value, default):
    """Raise UserError unless value has the default's type (int or float) and lies in range."""
    label = f"{group}.{name}"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise UserError(
                _("%(name)s must be true or false, got %(value)r.")
                % {"name": label, "value": value},
                code="invalid_parameters",
            )
        return
    if not isinstance(default, (int, float)):
        return
    numeric = (
        isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    )
    if not numeric or (isinstance(default, int) and not isinstance(value, int)):
        kind = _("a whole number") if isinstance(default, int) else _("a number")
        raise UserError(
            _("%(name)s must be %(kind)s, got %(value)r.")
            % {"name": label, "kind": kind, "value": value},
            code="invalid_parameters",
        )
    low, high = PARAMETER_RANGES.get(name, (None, None))
    if (low is not None and value < low) or (high is not None and value > high):
        raise UserError(
            _("%(name)s = %(value)s is outside the allowed range (%(range)s).")
            % {"name": label, "value": value, "range": describe_range(low, high)},
            code="invalid_parameters",
        )


def describe_range(low, high):
    if low == POSITIVE[0]:
        low_text = _("greater than 0")
    else:
        low_text = _("at least %(low)s") % {"low": f"{low:g}"}
    if high is None:
        return low_text
    return _("%(low)s and at most %(high)s") % {"low": low_text, "high": f"{high:g}"}


def group_name(params_class):
    """Return the parameter group's name as the API and the viewer send it ("shape", …)."""
    return next(group for group, cls in PARAMETER_GROUPS.items() if cls is params_class)


def coerce_numbers(params_class, values):
    """Turn whole numbers into floats where the field's default is a float.

    JSON from a browser cannot tell 90 from 90.0, and without this the same settings would
    hash differently and be computed twice.
    """
    defaults = {field.name: field.default for field in dataclasses.fields(params_class)}
    for name, value in values.items():
        if name in defaults:
            check_value(group_name(params_class), name, value, defaults[name])
    return {
        name: float(value)
        if isinstance(defaults.get(name), float)
        and isinstance(value, int)
        and not isinstance(value, bool)
        else value
        for name, value in values.items()
    }


def parameters_hash(parameters):
    return hashlib.sha256(json.dumps(parameters, sort_keys=True).encode()).hexdigest()


def request_analysis(series, raw_parameters=None):
    """Return the analysis of these parameters, creating it (and queueing its task) if new."""
    from .tasks import analyse_series

    parameters = normalise_parameters(raw_parameters)
    for name in ("baseline_phases", "arterial_phase"):
        if parameters[name] is not None and parameters[name] >= series.phases:
            raise UserError(
                _("%(name)s %(value)s is outside this series' %(count)s phases.")
                % {"name": name, "value": parameters[name], "count": series.phases},
                code="invalid_parameters",
            )
    digest = parameters_hash(parameters)
    try:
        with transaction.atomic():
            analysis, created = TicAnalysis.objects.get_or_create(
                series=series, parameters_hash=digest, defaults={"parameters": parameters}
            )
            if created or analysis.status == JobStatus.FAILED:
                TicAnalysis.objects.filter(pk=analysis.pk).update(status=JobStatus.QUEUED, error="")
                transaction.on_commit(lambda: analyse_series.defer(analysis_id=analysis.pk))
    except IntegrityError:
        analysis = TicAnalysis.objects.get(series=series, parameters_hash=digest)
    return TicAnalysis.objects.get(pk=analysis.pk)


def layer_path(analysis, name):
    return Path(settings.MEDIA_ROOT) / analysis.arrays_path / f"{name}.npy"


def run_analysis(analysis_id):
    """Compute and store every map and layer of one analysis; failures are recorded on it."""
    analysis = TicAnalysis.objects.select_related("series").get(pk=analysis_id)
    if analysis.status == JobStatus.DONE:
        return analysis
    TicAnalysis.objects.filter(pk=analysis.pk).update(status=JobStatus.RUNNING)
    try:
        results, layers = compute(analysis.series, analysis.parameters)
        relative = f"analyses/{analysis.pk}"
        folder = Path(settings.MEDIA_ROOT) / relative
        folder.mkdir(parents=True, exist_ok=True)
        for name, array in layers.items():
            temporary = folder / f"{name}.tmp.npy"
            np.save(temporary, array)
            temporary.replace(folder / f"{name}.npy")
    except Exception as error:
        logger.exception("TIC analysis %s of series %s failed", analysis.pk, analysis.series_id)
        TicAnalysis.objects.filter(pk=analysis.pk).update(
            status=JobStatus.FAILED, error=str(error), finished=timezone.now()
        )
        raise
    TicAnalysis.objects.filter(pk=analysis.pk).update(
        status=JobStatus.DONE,
        arrays_path=relative,
        results=results,
        code_version=code_version(),
        finished=timezone.now(),
    )
    logger.info("TIC analysis %s of series %s done", analysis.pk, analysis.series_id)
    return TicAnalysis.objects.get(pk=analysis.pk)


def compute(series, parameters):
    """Run the engine on a series; return (JSON-safe results, name -> (S, R, C) array)."""
    volume = series.load_volume()
    times = np.asarray(series.phase_times_s, dtype=np.float64)
    shape_params = ShapeParams(**parameters["shape"])
    results = {}
    if parameters["motion_correction"]:
        baseline = parameters["baseline_phases"] or 2
        correction = correct_motion(
            np.asarray(volume),
            baseline_phases=baseline,
            pixel_spacing_mm=tuple(series.pixel_spacing_mm),
        )
        volume = correction.volume
        results["motion_shifts_px"] = correction.shifts_px.round(3).tolist()

    tic = analyse_tics(
        volume,
        times,
        shape_params,
        MapParams(**parameters["maps"]),
        baseline_phases=parameters["baseline_phases"],
    )
    arteries = arterial_mask(
        volume,
        times,
        ArterialMaskParams(**parameters["arterial"]),
        baseline_phases=tic.arrival.baseline_phases,
        arterial_phase=parameters["arterial_phase"],
    )
    synovitis = (tic.shape_types == FAST_WASHOUT) & ~arteries.mask
    results.update(describe_run(series, tic, arteries, synovitis))
    results["joints"] = joint_summaries(series, tic, synovitis, arteries.mask)
    layers = {name: array.astype(np.float32) for name, array in tic.maps.items()}
    layers.update(
        shape_types=tic.shape_types.astype(np.uint8),
        arterial_mask=arteries.mask.astype(np.uint8),
        synovitis=synovitis.astype(np.uint8),
    )
    return results, layers


def describe_run(series, tic, arteries, synovitis):
    voxel_mm3 = series.pixel_spacing_mm[0] * series.pixel_spacing_mm[1] * series.slice_spacing_mm
    counts = np.bincount(tic.shape_types.ravel(), minlength=len(SHAPE_NAMES))
    return {
        "baseline_phases": tic.arrival.baseline_phases,
        "arrival_phase": tic.arrival.arrival_index,
        "arrival_time_s": tic.arrival.arrival_time_s,
        "arrival_detected": tic.arrival.detected,
        "noise_sd": tic.noise_sd,
        "arterial_phase": arteries.arterial_phase,
        "arterial_phase_rule": arteries.rule,
        "arterial_phase_largest_drop": arteries.largest_drop_phase,
        "arterial_phase_threshold_rule": arteries.threshold_phase,
        "mutual_information_nats": [
            None if not np.isfinite(v) else round(float(v), 5) for v in arteries.mutual_information
        ],
        "arterial_voxels": int(arteries.mask.sum()),
        "shape_type_counts": {str(k): int(counts[k]) for k in SHAPE_NAMES},
        "enhancing_voxels": enhancing_voxel_count(tic.shape_types),
        "synovitis_voxels": int(synovitis.sum()),
        "synovitis_volume_mm3": round(float(synovitis.sum() * voxel_mm3), 3),
        "voxel_volume_mm3": voxel_mm3,
    }


def joint_summaries(series, tic, synovitis, arteries):
    summaries = []
    for joint in series.joints.all():
        summary = summarise_joint(
            tic.shape_types,
            tic.maps,
            synovitis,
            JointBox.from_corners(joint.slice_start, joint.slice_end, joint.box),
            tuple(series.pixel_spacing_mm),
            series.slice_spacing_mm,
            arteries,
        )
        summaries.append(
            {
                "joint_id": joint.pk,
                "name": joint.name,
                "side": joint.side,
                "slice_start": joint.slice_start,
                "slice_end": joint.slice_end,
                **{key: _json_number(value) for key, value in dataclasses.asdict(summary).items()},
            }
        )
    return summaries


def _json_number(value):
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def layer_catalogue():
    """Names, units, descriptions and legends of every layer an analysis offers."""
    maps = [
        {
            "name": name,
            "unit": MAP_UNITS[name],
            "description": MAP_DESCRIPTIONS[name],
            "kind": "map",
        }
        for name in MAP_UNITS
    ]
    return maps + [
        {
            "name": "shape_types",
            "unit": "",
            "kind": "categorical",
            "legend": [
                {"value": k, "name": SHAPE_NAMES[k], "color": SHAPE_COLORS[k]} for k in SHAPE_NAMES
            ],
        },
        {"name": "arterial_mask", "unit": "", "kind": "mask"},
        {
            "name": "synovitis",
            "unit": "",
            "kind": "mask",
            "description": "TIC shape type 4 outside the arterial mask",
        },
    ]
