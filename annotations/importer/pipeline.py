"""The import run: collect files, read headers, group, plan phases, assemble volumes, report."""

import hashlib
import logging
import shutil
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from .deidentify import deidentify_text, pseudonym, write_deidentified_copy
from .errors import MissingDecoderError
from .grouping import describe_key, exclusion_reason, group_images, remove_duplicates
from .nifti import import_nifti, is_nifti, sidecar_path
from .options import ImportOptions
from .phases import GroupPlan, plan_group
from .reading import (
    FileFailed,
    FileSkipped,
    decoder_available,
    read_header,
    transfer_syntax_name,
)
from .records import DynamicSeries, ImageRecord, InstanceRecord, SourceFile
from .report import ImportResult, Ledger
from .sources import collect_sources
from .volume import assemble_volume

logger = logging.getLogger(__name__)


def import_paths(paths: list[Path], options: ImportOptions | None = None) -> ImportResult:
    """Import DICOM (and 4-D NIfTI) files from folders, ZIP archives or single files.

    Every input file appears in ImportResult.files with its status. Raises ImportRejected
    for an unsafe or oversized ZIP archive, MissingDecoderError when images of a dynamic
    series need a pixel decoder that is not installed (nothing is imported then), and
    FileNotFoundError for a missing input path.
    """
    options = options or ImportOptions()
    started = time.perf_counter()
    workspace = _Workspace(options.work_dir)
    ledger = Ledger()
    try:
        sources = collect_sources([Path(p) for p in paths], options, ledger,
                                  workspace.new_directory)
        nifti_pairs, dicom_sources = _split_nifti(sources)
        records = _read_headers(dicom_sources, ledger)
        records = _drop_duplicates(records, ledger)
        records = _drop_excluded(records, ledger)
        plans = [plan_group(group, options.partial_phase) for group in group_images(records)]
        _check_decoders(plans)
        series, errors = _build_all(plans, options, ledger, workspace)
        series.extend(_import_nifti_files(nifti_pairs, options, ledger, len(series)))
    except BaseException:
        workspace.cleanup()
        raise
    result = ImportResult(series, ledger.reports(), errors, [], workspace.temporary)
    if not series:
        result.warnings.append(_nothing_imported_message(result))
    counts = result.counts()
    logger.info("Import finished in %.2f s: %d files (%s), %d dynamic series, %d errors",
                time.perf_counter() - started, len(result.files),
                ", ".join(f"{k} {v}" for k, v in counts.items() if v), len(series), len(errors))
    return result


def _nothing_imported_message(result: ImportResult) -> str:
    reasons = ", ".join(f"{code} {count}" for code, count in result.reason_counts().items())
    return (f"No dynamic series was found in {len(result.files)} file(s)"
            + (f" (not imported: {reasons})" if reasons else "")
            + "; see the file report for each file's reason.")


class _Workspace:
    """Directories for extracted archives and de-identified copies."""

    def __init__(self, work_dir: Path | None):
        self.work_dir = Path(work_dir) if work_dir is not None else None
        self.temporary: list[tempfile.TemporaryDirectory] = []
        self.created: list[Path] = []

    def new_directory(self, prefix: str) -> Path:
        if self.work_dir is None:
            if not self.temporary:
                self.temporary.append(tempfile.TemporaryDirectory(prefix="pannusmap-import-"))
            base = Path(self.temporary[0].name)
        else:
            base = self.work_dir
            base.mkdir(parents=True, exist_ok=True)
        directory = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=base))
        self.created.append(directory)
        return directory

    def cleanup(self) -> None:
        for directory in self.created:
            shutil.rmtree(directory, ignore_errors=True)
        for temporary in self.temporary:
            temporary.cleanup()


def _split_nifti(sources: list[SourceFile]):
    """Return ([(nifti, sidecar or None)], other sources)."""
    by_path = {source.path: source for source in sources}
    pairs, sidecars = [], set()
    for source in sources:
        if is_nifti(source.path):
            sidecar = by_path.get(sidecar_path(source.path))
            pairs.append((source, sidecar))
            if sidecar is not None:
                sidecars.add(sidecar.path)
    paired = {nifti.path for nifti, _ in pairs} | sidecars
    return pairs, [source for source in sources if source.path not in paired]


def _read_headers(sources: list[SourceFile], ledger: Ledger) -> list[ImageRecord]:
    records = []
    for source in sources:
        try:
            file_records = read_header(source)
        except FileSkipped as skipped:
            ledger.set_file(source.display, skipped.status, skipped.code, skipped.reason)
            continue
        except FileFailed as failed:
            ledger.set_file(source.display, "error", failed.code, failed.reason)
            continue
        for warning in file_records[0].warnings:
            ledger.add_warning(source.display, warning)
        records.extend(file_records)
    return records


def _drop_duplicates(records: list[ImageRecord], ledger: Ledger) -> list[ImageRecord]:
    kept, duplicates = remove_duplicates(records)
    for duplicate, original in duplicates:
        ledger.add_frame(duplicate.source.display, "duplicate", "duplicate",
                         f"same SOPInstanceUID as {original.source.display}; stored once")
    return kept


def _drop_excluded(records: list[ImageRecord], ledger: Ledger) -> list[ImageRecord]:
    kept = []
    for record in records:
        reason = exclusion_reason(record)
        if reason is None:
            kept.append(record)
        else:
            ledger.add_frame(record.source.display, "excluded", *reason)
    return kept


def _check_decoders(plans: list[GroupPlan]) -> None:
    files_by_syntax: dict[str, set] = defaultdict(set)
    for plan in plans:
        if plan.status != "dynamic":
            continue
        for record in plan.slots.values():
            if not decoder_available(record.transfer_syntax_uid):
                files_by_syntax[record.transfer_syntax_uid].add(record.source.path)
    if files_by_syntax:
        counts = {uid: len(files) for uid, files in files_by_syntax.items()}
        raise MissingDecoderError(counts, {uid: transfer_syntax_name(uid) for uid in counts})


def _build_all(plans, options, ledger, workspace) -> tuple[list[DynamicSeries], list[str]]:
    series: list[DynamicSeries] = []
    errors: list[str] = []
    for plan in plans:
        for record, code, reason in plan.excluded:
            ledger.add_frame(record.source.display, "excluded", code, reason)
        if plan.status == "error":
            errors.append(f"{len(plan.records)} images ({describe_key(plan.records[0])}) were "
                          f"not imported: {plan.reason}")
            _mark(plan.records, ledger, "error", plan.code, plan.reason)
        elif plan.status == "non-dynamic":
            _mark(plan.records, ledger, "excluded", plan.code, plan.reason)
        else:
            series.append(_build_series(plan, options, ledger, workspace, len(series)))
    return series, errors


def _mark(records, ledger: Ledger, status: str, code: str, reason: str) -> None:
    for record in records:
        ledger.add_frame(record.source.display, status, code, reason)


def _build_series(plan: GroupPlan, options: ImportOptions, ledger: Ledger, workspace,
                  index: int) -> DynamicSeries:
    assembled = assemble_volume(plan, options.philips_scaling)
    failed = {id(record) for record, _ in assembled.failures}
    for record, reason in assembled.failures:
        ledger.add_frame(record.source.display, "error", "decode-failed", reason)
    warnings = list(plan.warnings) + assembled.warnings
    if assembled.failures:
        warnings.append(f"{len(assembled.failures)} image(s) could not be decoded; their "
                        "slices are NaN")
    warnings.extend(_text_warnings(plan.slots.values()))

    ordered = sorted(plan.slots.items())
    first = ordered[0][1]
    text = deidentify_text(first.text, options.pseudonym_salt) if options.deidentify \
        else first.text
    instances = _instances(ordered, failed, options, workspace, first)
    for (phase, slice_index), record in ordered:
        if id(record) not in failed:
            ledger.add_frame(record.source.display, "imported", "imported",
                             f"series {index}, phase {phase}, slice {slice_index}",
                             index, phase, slice_index)
    series_uids = list(dict.fromkeys(record.series_uid for _, record in ordered))
    logger.info("Dynamic series %d: shape %s, time source %s, study %s", index,
                "x".join(map(str, assembled.volume.shape)), plan.time_source,
                _uid_hash(first.study_uid))
    return DynamicSeries(
        volume=assembled.volume, phase_times_s=plan.phase_times_s,
        time_source=plan.time_source, time_is_estimated=plan.time_is_estimated,
        per_slice_times_s=plan.per_slice_times_s, slice_positions_mm=plan.slice_positions_mm,
        image_positions_patient=plan.image_positions_patient,
        image_orientation_patient=plan.orientation,
        pixel_spacing_mm=_spacing(first, warnings), slice_thickness_mm=first.slice_thickness,
        study_instance_uid=first.study_uid, series_instance_uids=series_uids,
        frame_of_reference_uid=first.frame_of_reference_uid, patient_id=text.patient_id,
        patient_name=text.patient_name, study_date=text.study_date,
        study_description=text.study_description, series_description=text.series_description,
        protocol_name=text.protocol_name, modality=first.modality,
        manufacturer=text.manufacturer, window_center=assembled.window_center,
        window_width=assembled.window_width, window_source=assembled.window_source,
        rescale_convention=assembled.convention, instances=instances, warnings=warnings,
        group_key=describe_key(first), rescale_factors=assembled.factors,
        deidentified=options.deidentify,
    )


def _spacing(record: ImageRecord, warnings: list[str]) -> tuple[float, float]:
    if record.pixel_spacing is not None:
        return record.pixel_spacing
    warnings.append("PixelSpacing is missing; 1 mm per pixel is assumed, so distances and "
                    "areas are in pixels")
    return (1.0, 1.0)


def _text_warnings(records) -> list[str]:
    counted = Counter()
    for record in {id(r): r for r in records}.values():
        if record.frame_index == 0:
            counted.update(record.warnings)
    return [f"{message} ({count} file(s))" for message, count in sorted(counted.items())]


def _instances(ordered, failed, options, workspace, first) -> list[InstanceRecord]:
    copies: dict[Path, Path] = {}
    alias = pseudonym(first.text.patient_id, first.text.patient_name, options.pseudonym_salt)
    instances = []
    for (phase, slice_index), record in ordered:
        if id(record) in failed:
            continue
        path = record.source.path
        if options.deidentify and path not in copies:
            directory = workspace.new_directory("deidentified") if not copies else \
                next(iter(copies.values())).parent
            copies[path] = directory / f"{len(copies):06d}.dcm"
            write_deidentified_copy(path, copies[path], alias)
        instances.append(InstanceRecord(
            sop_instance_uid=record.sop_instance_uid,
            source_path=str(copies.get(path, path)), phase_index=phase,
            slice_index=slice_index, frame_index=record.frame_index,
            sop_class_uid=record.sop_class_uid, transfer_syntax_uid=record.transfer_syntax_uid,
            original_path=str(path), display_path=record.source.display,
        ))
    return instances


def _import_nifti_files(pairs, options: ImportOptions, ledger: Ledger,
                        first_index: int) -> list[DynamicSeries]:
    series = []
    for nifti, sidecar in pairs:
        try:
            dynamic = import_nifti(nifti, sidecar)
        except (FileSkipped, FileFailed) as problem:
            status = getattr(problem, "status", "error")
            ledger.set_file(nifti.display, status, problem.code, problem.reason)
            if sidecar is not None:
                ledger.set_file(sidecar.display, "skipped", "sidecar",
                                f"JSON sidecar of {nifti.display}, which was not imported")
            continue
        if options.deidentify:
            dynamic.patient_id = pseudonym(dynamic.patient_id, "", options.pseudonym_salt)
            dynamic.patient_name = dynamic.patient_id
            dynamic.deidentified = True
        index = first_index + len(series)
        ledger.set_file(nifti.display, "imported", "imported", f"series {index} (NIfTI)",
                        series_index=index)
        if sidecar is not None:
            ledger.set_file(sidecar.display, "imported", "sidecar",
                            f"JSON sidecar of {nifti.display}", series_index=index)
        series.append(dynamic)
    return series


def _uid_hash(uid: str) -> str:
    """Return a short hash of a UID, for logs that must not carry identifying values."""
    return hashlib.sha256(uid.encode()).hexdigest()[:8]
