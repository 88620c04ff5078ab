"""Build immutable training-set snapshots from the ROIs stored in the database."""

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
from django.conf import settings
from django.utils.translation import gettext as _

from annotations.models import ROI
from pannusmap.errors import UserError

from .models import TrainingSet

logger = logging.getLogger(__name__)

TRAINABLE_LABELS = ("muscle", "bone", "synovitis", "artery", "vein", "other")


def roi_state_hash(rois):
    state = [(roi.pk, roi.version) for roi in rois]
    return hashlib.sha256(json.dumps(state).encode()).hexdigest()


def active_rois():
    return list(
        ROI.objects.filter(is_deleted=False, label__name__in=TRAINABLE_LABELS)
        .select_related("label", "series__study__subject")
        .order_by("series_id", "slice_index", "pk")
    )


def build_training_set(user=None):
    """Snapshot the TICs of every pixel inside every ROI; reuse the last one if nothing changed.

    The arrays file stores tics (N, P_max) float32 with NaN after a series' last phase,
    series_index (N,), times_by_series (n_series, P_max) with NaN padding, labels, subjects,
    ROI ids and (slice, row, column) positions.
    """
    rois = active_rois()
    state_hash = roi_state_hash(rois)
    existing = TrainingSet.objects.filter(roi_state_hash=state_hash).first()
    if existing is not None:
        return existing
    if not rois:
        raise UserError(
            _("There are no ROIs to train on. Draw muscle, bone and synovitis ROIs first."),
            code="no_rois",
        )

    series_list = sorted({roi.series for roi in rois}, key=lambda s: s.pk)
    series_position = {series.pk: index for index, series in enumerate(series_list)}
    max_phases = max(series.phases for series in series_list)
    times_by_series = np.full((len(series_list), max_phases), np.nan)
    for index, series in enumerate(series_list):
        times_by_series[index, : series.phases] = series.phase_times_s

    chunks = [roi_tics(roi, max_phases) for roi in rois]
    tics = np.concatenate([chunk["tics"] for chunk in chunks])
    positions = np.concatenate([chunk["positions"] for chunk in chunks])
    labels = np.concatenate(
        [[roi.label.name] * len(chunk["tics"]) for roi, chunk in zip(rois, chunks, strict=False)]
    )
    subjects = np.concatenate(
        [
            [roi.series.study.subject.pseudonym] * len(chunk["tics"])
            for roi, chunk in zip(rois, chunks, strict=False)
        ]
    )
    roi_ids = np.concatenate([[roi.pk] * len(chunk["tics"]) for roi, chunk in zip(rois, chunks, strict=False)])
    series_index = np.concatenate(
        [[series_position[roi.series_id]] * len(chunk["tics"]) for roi, chunk in zip(rois, chunks, strict=False)]
    )

    relative = f"training_sets/{state_hash[:16]}.npz"
    path = Path(settings.MEDIA_ROOT) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp.npz")
    np.savez(
        temporary,
        tics=tics,
        labels=labels.astype("U16"),
        subjects=subjects.astype("U64"),
        roi_ids=roi_ids.astype(np.int64),
        series_index=series_index.astype(np.int32),
        series_ids=np.array([s.pk for s in series_list], dtype=np.int64),
        times_by_series=times_by_series,
        positions=positions.astype(np.int32),
    )
    temporary.replace(path)
    counts = count_tics(labels, subjects)
    training_set = TrainingSet.objects.create(
        created_by=user,
        roi_state_hash=state_hash,
        arrays_path=relative,
        counts=counts,
        tic_count=len(tics),
    )
    logger.info(
        "Built training set %s with %d TICs from %d ROIs", training_set.pk, len(tics), len(rois)
    )
    return training_set


def roi_tics(roi, max_phases):
    from inference.roi import polygon_mask

    series = roi.series
    mask = polygon_mask(roi.polygon, (series.rows, series.columns))
    rows, columns = np.nonzero(mask)
    volume = series.load_volume()
    tics = np.full((len(rows), max_phases), np.nan, dtype=np.float32)
    tics[:, : series.phases] = np.asarray(
        volume[:, roi.slice_index][:, rows, columns], dtype=np.float32
    ).T
    positions = np.stack([np.full(len(rows), roi.slice_index), rows, columns], axis=1)
    return {"tics": tics, "positions": positions}


def count_tics(labels, subjects):
    counts = {"per_label": {}, "per_subject": {}}
    for label in np.unique(labels):
        counts["per_label"][str(label)] = int((labels == label).sum())
    for subject in np.unique(subjects):
        in_subject = subjects == subject
        counts["per_subject"][str(subject)] = {
            str(label): int((labels[in_subject] == label).sum())
            for label in np.unique(labels[in_subject])
        }
    return counts


def load_training_set(training_set):
    with np.load(Path(settings.MEDIA_ROOT) / training_set.arrays_path) as arrays:
        return {key: arrays[key] for key in arrays.files}
