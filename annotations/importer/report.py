"""Per-file import report and the result object returned by `import_paths`."""

from collections import Counter
from dataclasses import asdict, dataclass, field

from .records import DynamicSeries

STATUSES = ("imported", "duplicate", "skipped", "error", "excluded")


@dataclass
class FileReport:
    """Outcome of one input file.

    path is the display path: relative to the input folder when it is the only input (else
    to the folder's parent), the name of a single input file, or "<archive path>/<entry>" for
    ZIP members, with " (2)", " (3)" appended to repeated names. code is a stable reason
    (for example "not-dicom", "duplicate", "non-dynamic"); reason is the English sentence.
    phase_index and slice_index are set for imported single-frame files; a multi-frame file
    sets frames to the number of frames it contributed.
    """

    path: str
    status: str
    reason: str = ""
    code: str = ""
    series_index: int | None = None
    phase_index: int | None = None
    slice_index: int | None = None
    frames: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Outcome:
    status: str
    code: str
    reason: str
    series_index: int | None = None
    phase_index: int | None = None
    slice_index: int | None = None


class Ledger:
    """Collects the outcome of every file, and of every frame of multi-frame files."""

    def __init__(self):
        self._order: list[str] = []
        self._outcomes: dict[str, list[_Outcome]] = {}
        self._warnings: dict[str, list[str]] = {}

    def register(self, display: str) -> None:
        if display not in self._outcomes:
            self._order.append(display)
            self._outcomes[display] = []
            self._warnings[display] = []

    def set_file(self, display: str, status: str, code: str, reason: str,
                 series_index: int | None = None) -> None:
        """Record one outcome for the whole file, replacing earlier frame outcomes."""
        self.register(display)
        self._outcomes[display] = [_Outcome(status, code, reason, series_index)]

    def add_frame(self, display: str, outcome_status: str, code: str, reason: str,
                  series_index: int | None = None, phase_index: int | None = None,
                  slice_index: int | None = None) -> None:
        self.register(display)
        self._outcomes[display].append(
            _Outcome(outcome_status, code, reason, series_index, phase_index, slice_index)
        )

    def add_warning(self, display: str, message: str) -> None:
        self.register(display)
        if message not in self._warnings[display]:
            self._warnings[display].append(message)

    def __contains__(self, display: str) -> bool:
        return display in self._outcomes

    def status_of(self, display: str) -> str | None:
        outcomes = self._outcomes.get(display) or []
        return outcomes[0].status if outcomes else None

    def reports(self) -> list[FileReport]:
        return [self._summarise(display) for display in sorted(self._order)]

    def _summarise(self, display: str) -> FileReport:
        outcomes = self._outcomes[display]
        warnings = list(self._warnings[display])
        if not outcomes:
            return FileReport(display, "error", "the file was not processed", "internal",
                              warnings=warnings)
        imported = [o for o in outcomes if o.status == "imported"]
        if len(outcomes) == 1:
            o = outcomes[0]
            return FileReport(display, o.status, o.reason, o.code, o.series_index,
                              o.phase_index, o.slice_index, len(imported), warnings)
        if imported:
            series = sorted({o.series_index for o in imported})
            reason = f"{len(imported)} of {len(outcomes)} frames imported"
            others = Counter(o.reason for o in outcomes if o.status != "imported")
            if others:
                reason += "; " + "; ".join(f"{n} frame(s): {r}" for r, n in sorted(others.items()))
            return FileReport(display, "imported", reason, "imported", series[0], None, None,
                              len(imported), warnings)
        first = outcomes[0]
        return FileReport(display, first.status, f"all {len(outcomes)} frames: {first.reason}",
                          first.code, warnings=warnings)


@dataclass
class ImportResult:
    """Everything one import run produced.

    series: the dynamic series found, in a deterministic order.
    files: one FileReport per input file, sorted by display path.
    errors: problems that stopped a whole group of images from being imported.
    """

    series: list[DynamicSeries]
    files: list[FileReport]
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    _temporary_dirs: list = field(default_factory=list, repr=False)

    def counts(self) -> dict[str, int]:
        """Return the number of files per status."""
        counted = Counter(report.status for report in self.files)
        return {status: counted.get(status, 0) for status in STATUSES}

    def reason_counts(self) -> dict[str, int]:
        """Return the number of files per reason code, for files not imported."""
        return dict(sorted(Counter(r.code for r in self.files if r.status != "imported").items()))

    def cleanup(self) -> None:
        """Delete the temporary directories holding extracted or de-identified files.

        After this, InstanceRecord.source_path of ZIP members and de-identified copies no
        longer exists. They are also deleted when the result is garbage-collected.
        """
        for directory in self._temporary_dirs:
            directory.cleanup()
        self._temporary_dirs.clear()

    def to_dict(self) -> dict:
        """Return the report as JSON-safe values (volumes and patient names left out)."""
        return {
            "series": [series.to_dict() for series in self.series],
            "files": [asdict(report) for report in self.files],
            "counts": self.counts(),
            "reason_counts": self.reason_counts(),
            "errors": list(self.errors),
            "warnings": list(self.warnings),
        }
