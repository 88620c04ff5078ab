"""Plain-Python DICOM and NIfTI importer for dynamic (DCE) series; no Django imports.

    from annotations.importer import import_paths, ImportOptions
    result = import_paths([Path("upload.zip")], ImportOptions(deidentify=True))
    for series in result.series:
        series.volume          # (phases, slices, rows, columns)
        series.phase_times_s   # seconds from the first phase
    for report in result.files:
        report.path, report.status, report.reason
"""

from .errors import ImportRejected, MissingDecoderError
from .options import ImportOptions
from .pipeline import import_paths
from .records import DynamicSeries, InstanceRecord
from .report import FileReport, ImportResult

__all__ = [
    "DynamicSeries",
    "FileReport",
    "ImportOptions",
    "ImportRejected",
    "ImportResult",
    "InstanceRecord",
    "MissingDecoderError",
    "import_paths",
]
