"""Export labelled TICs and per-series label masks as one ZIP for research use."""

import csv
import gzip
import io
import json
import zipfile
from collections import defaultdict

import nibabel as nib
import numpy as np

from annotations.models import Label
from pannusmap.version import code_version

from .training_sets import active_rois, roi_tics

README = """PannusMap labelled dataset
==========================

tics.npz (NumPy) and tics.csv hold one row per pixel inside an ROI (pixel-centre rule):
  subject      pseudonymous subject id
  series_id    PannusMap series id (see series.json for its phase times)
  annotator    user name of the ROI's author ("demo-groundtruth" marks ROIs generated from phantom truth)
  roi_id       PannusMap ROI id
  label        tissue label (muscle, bone, synovitis, artery, vein, other)
  slice, row, column   pixel position (0-based indices into the series volume)
  s0 … s{P-1}  signal at each phase in modality units (DICOM stored value × RescaleSlope +
               RescaleIntercept); empty in the CSV and NaN in the NPZ after a series' last phase
series.json lists, per series: subject, shape (phases, slices, rows, columns), phase times in
seconds from the first phase, pixel spacing (row, column) in mm and slice positions in mm.

masks/series_<id>_<annotator>.nii.gz: one label mask per annotated series and annotator, uint8,
voxel value = label code (0 none, %(codes)s). Where two ROIs of one annotator overlap, the later ROI wins.
The NIfTI affine maps (column, row, slice) voxel indices to RAS millimetres.
"""


def export_dataset(path):
    """Write the ZIP and return counts of TICs, ROIs and masks written."""
    rois = active_rois()
    label_codes = {label.name: label.order for label in Label.objects.all()}
    by_series = defaultdict(list)
    for roi in rois:
        by_series[roi.series_id].append(roi)
    max_phases = max((roi.series.phases for roi in rois), default=0)
    rows, tics = [], []
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for roi in rois:
            chunk = roi_tics(roi, max_phases)
            tics.append(chunk["tics"])
            for slice_index, row, column in chunk["positions"]:
                rows.append(
                    (
                        roi.series.study.subject.pseudonym,
                        roi.series_id,
                        roi.author.username,
                        roi.pk,
                        roi.label.name,
                        int(slice_index),
                        int(row),
                        int(column),
                    )
                )
        tic_array = np.concatenate(tics) if tics else np.zeros((0, max_phases), np.float32)
        archive.writestr("tics.npz", npz_bytes(rows, tic_array))
        archive.writestr("tics.csv", csv_text(rows, tic_array))
        archive.writestr(
            "series.json",
            json.dumps(
                [series_record(rois_of[0].series) for rois_of in by_series.values()], indent=2
            ),
        )
        masks = 0
        for series_rois in by_series.values():
            for annotator, mask in label_masks(series_rois, label_codes).items():
                archive.writestr(
                    f"masks/series_{series_rois[0].series_id}_{annotator}.nii.gz",
                    nifti_bytes(mask, series_rois[0].series),
                )
                masks += 1
        codes = ", ".join(
            f"{code} {name}" for name, code in sorted(label_codes.items(), key=lambda item: item[1])
        )
        archive.writestr(
            "README.txt", README % {"codes": codes} + f"\nExported by PannusMap {code_version()}.\n"
        )
    return {"tics": len(rows), "rois": len(rois), "masks": masks}


def npz_bytes(rows, tics):
    columns = list(zip(*rows, strict=False)) if rows else [[]] * 8
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        tics=tics,
        subject=np.array(columns[0], dtype="U64"),
        series_id=np.array(columns[1], dtype=np.int64),
        annotator=np.array(columns[2], dtype="U150"),
        roi_id=np.array(columns[3], dtype=np.int64),
        label=np.array(columns[4], dtype="U16"),
        position=np.array([row[5:8] for row in rows], dtype=np.int32).reshape(-1, 3),
    )
    return buffer.getvalue()


def csv_text(rows, tics):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["subject", "series_id", "annotator", "roi_id", "label", "slice", "row", "column"]
        + [f"s{k}" for k in range(tics.shape[1])]
    )
    for row, tic in zip(rows, tics, strict=False):
        writer.writerow(list(row) + ["" if np.isnan(v) else f"{v:.6g}" for v in tic])
    return buffer.getvalue()


def series_record(series):
    return {
        "series_id": series.pk,
        "subject": series.study.subject.pseudonym,
        "shape": list(series.shape),
        "phase_times_s": series.phase_times_s,
        "time_source": series.time_source,
        "time_is_estimated": series.time_is_estimated,
        "pixel_spacing_mm": series.pixel_spacing_mm,
        "slice_positions_mm": series.slice_positions_mm,
        "unit": "modality units",
    }


def label_masks(rois, label_codes):
    from .roi import polygon_mask

    series = rois[0].series
    masks = {}
    for roi in sorted(rois, key=lambda r: r.pk):
        mask = masks.setdefault(
            roi.author.username, np.zeros((series.slices, series.rows, series.columns), np.uint8)
        )
        mask[roi.slice_index][polygon_mask(roi.polygon, (series.rows, series.columns))] = (
            label_codes[roi.label.name]
        )
    return masks


def nifti_affine(series):
    """Affine from (column, row, slice) indices to RAS mm, using per-slice positions of the series."""
    orientation = np.asarray(series.image_orientation_patient, dtype=float)
    row_spacing, column_spacing = series.pixel_spacing_mm
    positions = np.asarray(series.image_positions_patient, dtype=float)
    slice_step = (
        (positions[-1] - positions[0]) / (len(positions) - 1)
        if len(positions) > 1
        else np.cross(orientation[:3], orientation[3:]) * series.slice_spacing_mm
    )
    lps = np.eye(4)
    lps[:3, 0] = orientation[:3] * column_spacing
    lps[:3, 1] = orientation[3:] * row_spacing
    lps[:3, 2] = slice_step
    lps[:3, 3] = positions[0]
    return np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps


def nifti_bytes(mask, series):
    # NIfTI stores (i, j, k) = (column, row, slice), so the (slice, row, column) mask is transposed.
    image = nib.Nifti1Image(np.ascontiguousarray(mask.transpose(2, 1, 0)), nifti_affine(series))
    image.header.set_xyzt_units("mm")
    return gzip.compress(image.to_bytes(), mtime=0)
