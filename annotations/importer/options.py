"""Settings of one import run."""

from dataclasses import dataclass
from pathlib import Path

PARTIAL_PHASE_CHOICES = ("drop", "keep")
PHILIPS_SCALING_CHOICES = ("displayed", "floating")


@dataclass(frozen=True)
class ImportOptions:
    """Settings of one import run.

    partial_phase: handling of a last phase that lacks some slices. "drop" removes that phase
        and reports its files as excluded. "keep" keeps it, fills the missing slices with NaN
        in a float32 volume and adds a warning.
    deidentify: replace patient identifiers in the returned metadata by a pseudonym and write
        de-identified copies of the DICOM files (see `deidentify.py`).
    pseudonym_salt: secret mixed into the pseudonym hash, so pseudonyms cannot be recomputed
        from a known PatientID without it.
    max_uncompressed_bytes, max_entries: limits checked on ZIP archives before extraction.
    work_dir: where ZIP archives are extracted and de-identified copies are written. When None,
        a temporary directory is created that lives as long as the ImportResult.
    philips_scaling: convention for Philips images that carry the private MR scale slope
        (2005,100E). "displayed" stores DV = PV * RescaleSlope + RescaleIntercept; "floating"
        stores FP = DV / (RescaleSlope * MRScaleSlope).
    """

    partial_phase: str = "drop"
    deidentify: bool = False
    pseudonym_salt: str = ""
    max_uncompressed_bytes: int = 4 * 1024**3
    max_entries: int = 100_000
    work_dir: Path | None = None
    philips_scaling: str = "displayed"

    def __post_init__(self):
        if self.partial_phase not in PARTIAL_PHASE_CHOICES:
            raise ValueError(
                f"partial_phase must be one of {PARTIAL_PHASE_CHOICES}, got {self.partial_phase!r}"
            )
        if self.philips_scaling not in PHILIPS_SCALING_CHOICES:
            raise ValueError(
                f"philips_scaling must be one of {PHILIPS_SCALING_CHOICES}, "
                f"got {self.philips_scaling!r}"
            )
        if self.max_entries < 1 or self.max_uncompressed_bytes < 1:
            raise ValueError("max_entries and max_uncompressed_bytes must be positive")
