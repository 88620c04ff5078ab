"""Studies, dynamic series, their stored instances, and what people draw and grade on them."""

from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

JOINT_NAMES = ["DRUJ", "RC", "IC-CMC", "MCP2", "MCP3", "MCP4", "MCP5"]
OPTIONAL_JOINT_NAMES = ["MCP1", "PIP2", "PIP3", "PIP4", "PIP5", "IP1"]


class Subject(models.Model):
    """A patient, known only by a pseudonym; cross-validation splits by subject."""

    pseudonym = models.CharField(_("pseudonym"), max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.pseudonym


class Study(models.Model):
    study_instance_uid = models.CharField(max_length=64, unique=True)
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="studies")
    study_date = models.DateField(null=True, blank=True)
    description = models.CharField(max_length=256, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.subject} {self.study_date or ''} {self.description}".strip()


class ImportJob(models.Model):
    """One upload or folder import, with its per-file report."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=512)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    report = models.JSONField(default=dict)
    upload_dir = models.CharField(max_length=512, blank=True)

    class Meta:
        ordering = ["-created"]


class Series(models.Model):
    """One dynamic acquisition as a 4-D volume (phase, slice, row, column) in modality units.

    Several DICOM series may make up one Series when the scanner stored every phase as its own
    DICOM series; `source_series_uids` lists them in phase order.
    """

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="series")
    series_key = models.CharField(max_length=64, unique=True)
    source_series_uids = models.JSONField(default=list)
    frame_of_reference_uid = models.CharField(max_length=64, blank=True)
    description = models.CharField(max_length=256, blank=True)
    modality = models.CharField(max_length=16, default="MR")
    manufacturer = models.CharField(max_length=128, blank=True)
    phases = models.PositiveIntegerField()
    slices = models.PositiveIntegerField()
    rows = models.PositiveIntegerField()
    columns = models.PositiveIntegerField()
    phase_times_s = models.JSONField()
    time_source = models.CharField(max_length=128)
    time_is_estimated = models.BooleanField(default=False)
    pixel_spacing_mm = models.JSONField()
    slice_thickness_mm = models.FloatField(null=True, blank=True)
    slice_positions_mm = models.JSONField()
    image_positions_patient = models.JSONField()
    image_orientation_patient = models.JSONField()
    dtype = models.CharField(max_length=16)
    volume_path = models.CharField(max_length=512)
    window_center = models.FloatField()
    window_width = models.FloatField()
    rescale_convention = models.CharField(max_length=128, blank=True)
    warnings = models.JSONField(default=list)
    import_job = models.ForeignKey(ImportJob, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "series"

    def __str__(self):
        return f"{self.study.subject} · {self.description or self.series_key}"

    @property
    def shape(self):
        return (self.phases, self.slices, self.rows, self.columns)

    @property
    def slice_spacing_mm(self):
        positions = self.slice_positions_mm
        if len(positions) > 1:
            return float(np.median(np.abs(np.diff(positions))))
        return float(self.slice_thickness_mm or 1.0)

    def volume_file(self):
        return Path(settings.MEDIA_ROOT) / self.volume_path

    def load_volume(self, mmap=True):
        """Return the (P, S, R, C) volume, memory-mapped read-only by default."""
        return np.load(self.volume_file(), mmap_mode="r" if mmap else None)


class Instance(models.Model):
    """One stored DICOM file, or one frame of a multi-frame file, and its place in the volume."""

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="instances")
    sop_instance_uid = models.CharField(max_length=64)
    frame_index = models.PositiveIntegerField(default=0)
    sop_class_uid = models.CharField(max_length=64, blank=True)
    transfer_syntax_uid = models.CharField(max_length=64, blank=True)
    storage_path = models.CharField(max_length=512)
    # Null for a file that contains the whole series (a NIfTI volume) rather than one image.
    phase_index = models.PositiveIntegerField(null=True, blank=True)
    slice_index = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sop_instance_uid", "frame_index"], name="unique_instance_frame"
            ),
        ]
        indexes = [models.Index(fields=["series", "phase_index", "slice_index"])]


class Label(models.Model):
    """A tissue class that ROIs carry and classifiers learn."""

    name = models.SlugField(max_length=32, unique=True)
    display_name = models.CharField(max_length=64)
    color = models.CharField(max_length=7)
    order = models.PositiveIntegerField()

    class Meta:
        ordering = ["order"]

    def __str__(self):
        return self.name


class ROI(models.Model):
    """A freehand outline on one slice; it applies to every phase of that slice.

    `polygon` is in image pixel coordinates ([column, row] pairs, pixel centres at integers) and
    `polygon_mm` is the same outline in patient coordinates (x, y, z in mm).
    """

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="rois")
    slice_index = models.PositiveIntegerField()
    label = models.ForeignKey(Label, on_delete=models.PROTECT)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    polygon = models.JSONField()
    polygon_mm = models.JSONField()
    version = models.PositiveIntegerField(default=1)
    is_deleted = models.BooleanField(default=False)
    is_generated = models.BooleanField(
        default=False, help_text=_("Created from phantom ground truth, not drawn by a person.")
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["series", "slice_index"])]


class ROIRevision(models.Model):
    """The state of an ROI after each accepted write, so that edits can be traced and undone."""

    roi = models.ForeignKey(ROI, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField()
    label_name = models.CharField(max_length=32)
    polygon = models.JSONField()
    is_deleted = models.BooleanField(default=False)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["roi", "version"]


class JointRegion(models.Model):
    """A joint as a box on a range of slices (inclusive), for per-joint grading and summaries."""

    class Side(models.TextChoices):
        LEFT = "L", _("left")
        RIGHT = "R", _("right")

    class Source(models.TextChoices):
        DRAWN = "drawn", _("drawn")
        PHANTOM = "phantom", _("phantom ground truth")

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="joints")
    name = models.CharField(max_length=16)
    side = models.CharField(max_length=1, choices=Side.choices)
    slice_start = models.PositiveIntegerField()
    slice_end = models.PositiveIntegerField()
    box = models.JSONField(help_text="[column0, row0, column1, row1], inclusive pixel indices")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.DRAWN)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["series", "side", "id"]
        constraints = [
            models.UniqueConstraint(fields=["series", "name", "side"], name="unique_joint_per_side")
        ]

    def __str__(self):
        return f"{self.name} ({self.side})"
