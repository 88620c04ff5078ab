"""The built-in demo: a phantom cohort, its import, demo accounts, and ROIs from ground truth.

Generated ROIs are outlines of small patches of known tissue (muscle, bone marrow, active
synovitis, artery, vein, and skin or fat as "other") on the phantom's label volume. They belong to the `demo-groundtruth` account
and are flagged `is_generated`, so they are never mistaken for a person's work.
"""

import json
import logging
from pathlib import Path

import numpy as np
from django.contrib.auth.models import Group, User
from django.db import transaction
from scipy import ndimage
from skimage import measure, morphology

from .joints import create_joint
from .models import JointRegion, Series
from .rois import create_roi

logger = logging.getLogger(__name__)

DEMO_ACCOUNTS = [
    ("annotator1", "annotator", "pannus-annotator1"),
    ("annotator2", "annotator", "pannus-annotator2"),
    ("reviewer", "reviewer", "pannus-reviewer"),
    ("admin", "admin", "pannus-admin"),
]
GROUND_TRUTH_ACCOUNT = "demo-groundtruth"
# Phantom tissue code -> ROI label, for the generated ROIs.
# Vessels and "other" tissue (skin, fat) get ROIs too: a model trained on muscle, bone and
# synovitis alone has to put every other voxel of the hand into one of them.
TRUTH_LABELS = {
    "muscle": (3,),
    "bone": (4,),
    "synovitis": (8,),
    "artery": (10,),
    "vein": (11,),
    "other": (1, 2),
}
PATCH_SIZE = {"muscle": 10, "bone": 10, "synovitis": 16, "artery": 16, "vein": 16, "other": 10}
ROIS_PER_LABEL = {"muscle": 8, "bone": 8, "synovitis": 10, "artery": 4, "vein": 4, "other": 8}


def create_accounts():
    """Create (or reset) the demo accounts; return [(username, role, password)]."""
    accounts = []
    for username, role, password in DEMO_ACCOUNTS:
        user, _created = User.objects.get_or_create(username=username)
        user.set_password(password)
        user.is_staff = role == "admin"
        user.is_superuser = role == "admin"
        user.save()
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        accounts.append((username, role, password))
    generator, _created = User.objects.get_or_create(username=GROUND_TRUTH_ACCOUNT)
    generator.set_unusable_password()
    generator.save()
    generator.groups.add(Group.objects.get_or_create(name="annotator")[0])
    return accounts


def series_for_subject(subject_dir):
    truth = json.loads((subject_dir / "truth.json").read_text())
    return Series.objects.filter(
        source_series_uids__contains=[truth["series_instance_uid"]]
    ).first(), truth


def add_phantom_joints(series, truth):
    """Create the joint regions of a phantom series from its ground-truth joint boxes."""
    created = 0
    for joint in truth["joints"]:
        if JointRegion.objects.filter(
            series=series, name=joint["name"], side=joint["side"]
        ).exists():
            continue
        box = joint["box"]
        create_joint(
            series,
            None,
            joint["name"],
            joint["side"],
            box["slices"][0],
            box["slices"][1],
            [box["cols"][0], box["rows"][0], box["cols"][1], box["rows"][1]],
            source=JointRegion.Source.PHANTOM,
        )
        created += 1
    return created


def patch_outlines(mask, patch_size, limit, rng):
    """Outlines ([column, row] lists) of up to `limit` square patches of a tissue mask on one slice."""
    eroded = ndimage.binary_erosion(mask, morphology.disk(1))
    components = measure.label(eroded)
    outlines = []
    for region in rng.permutation(measure.regionprops(components)):
        if len(outlines) >= limit or region.area < 6:
            continue
        centre_row, centre_column = (
            int(v) for v in region.coords[rng.integers(len(region.coords))]
        )
        half = patch_size // 2
        window = np.zeros_like(mask)
        window[
            max(centre_row - half, 0) : centre_row + half,
            max(centre_column - half, 0) : centre_column + half,
        ] = True
        patch = (components == region.label) & window
        patch = morphology.remove_small_objects(patch, max_size=5)
        if not patch.any():
            continue
        patch = measure.label(patch) == 1
        contours = measure.find_contours(np.pad(patch, 1).astype(float), 0.5)
        if not contours:
            continue
        contour = measure.approximate_polygon(max(contours, key=len), tolerance=0.3) - 1.0
        if len(contour) >= 4:
            outlines.append([[float(c), float(r)] for r, c in contour[:-1]])
    return outlines


@transaction.atomic
def add_ground_truth_rois(series, labels, seed):
    """Create generated ROIs of every label from a phantom label volume."""
    author = User.objects.get(username=GROUND_TRUTH_ACCOUNT)
    if series.rois.filter(author=author).exists():
        return 0
    rng = np.random.default_rng(seed)
    created = 0
    for label, codes in TRUTH_LABELS.items():
        tissue = np.isin(labels, codes)
        slices_with_tissue = [s for s in range(labels.shape[0]) if tissue[s].sum() > 20]
        budget = ROIS_PER_LABEL[label]
        for slice_index in rng.permutation(slices_with_tissue):
            if budget <= 0:
                break
            for outline in patch_outlines(
                tissue[slice_index], PATCH_SIZE[label], min(budget, 2), rng
            ):
                create_roi(series, author, int(slice_index), label, outline, is_generated=True)
                budget -= 1
                created += 1
    return created


def prepare_demo_series(cohort_dir, seed):
    """Add joints and generated ROIs to every imported phantom subject of a cohort folder."""
    cohort = json.loads((Path(cohort_dir) / "cohort.json").read_text())
    summary = []
    for index, subject in enumerate(cohort["subjects"]):
        subject_dir = Path(cohort_dir) / subject
        series, truth = series_for_subject(subject_dir)
        if series is None:
            continue
        with np.load(subject_dir / "truth.npz") as arrays:
            labels = arrays["labels"]
        joints = add_phantom_joints(series, truth)
        rois = add_ground_truth_rois(series, labels, seed + index)
        summary.append((subject, series.pk, joints, rois))
    return summary
