"""Turn the input paths (folders, ZIP archives, single files) into a list of files to read.

Files that are certainly not images (hidden files, macOS metadata, Thumbs.db, DICOMDIR by
name, empty files, symbolic links) are reported as skipped here. ZIP archives are checked as a
whole before anything is extracted: an entry that would land outside the extraction
directory, a symbolic-link entry, or an archive over the entry-count or size limits rejects
the whole upload with ImportRejected.
"""

import contextlib
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from .errors import ImportRejected
from .options import ImportOptions
from .records import SourceFile
from .report import Ledger

SYSTEM_FILE_NAMES = {"thumbs.db", "desktop.ini", "ehthumbs.db"}
_DRIVE_LETTER = re.compile(r"^[A-Za-z]:")
_COPY_CHUNK_BYTES = 1024 * 1024


def collect_sources(paths: list[Path], options: ImportOptions, ledger: Ledger,
                    new_directory: Callable[[str], Path]) -> list[SourceFile]:
    """Return the candidate files of all inputs, sorted by display path.

    Every ZIP archive is validated before the first one is extracted, so a rejected upload
    writes nothing. new_directory(prefix) creates an empty directory for one archive.
    Raises ImportRejected for an unsafe or oversized ZIP archive and FileNotFoundError for a
    missing input path.
    """
    found: list[SourceFile] = []
    archives: list[SourceFile] = []
    # One folder (an upload directory) is shown from inside; several keep their names apart.
    single_folder = len(paths) == 1
    for path in paths:
        path = Path(path)
        if path.is_symlink():
            ledger.set_file(path.name, "skipped", "symlink", "symbolic link not followed")
        elif path.is_dir():
            base = path if single_folder else path.parent
            for source in _walk_folder(path, base):
                _sort_file(source, ledger, found, archives)
        elif path.is_file():
            _sort_file(SourceFile(path, path.name), ledger, found, archives)
        else:
            raise FileNotFoundError(f"Input path {path} does not exist.")

    with contextlib.ExitStack() as stack:
        opened = [(source, stack.enter_context(_open_archive(source))) for source in archives]
        checked = [(source, archive, check_archive(archive, source.display, options))
                   for source, archive in opened]
        _check_total_size([archive for _source, archive in opened], options)
        for source, archive, entries in checked:
            target = new_directory(source.path.stem)
            for member in _extract_entries(archive, entries, target, source.display, options):
                _sort_file(member, ledger, found, None)
    return sorted(found, key=lambda source: source.display)


def _open_archive(source: SourceFile) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(source.path)
    except (zipfile.BadZipFile, OSError) as error:
        raise ImportRejected(f"ZIP archive {source.display} cannot be opened: {error}. "
                             "Re-create the archive and upload it again.") from error


def _walk_folder(root: Path, base: Path):
    """Yield the files under root, named by their path relative to base."""
    for directory, dir_names, file_names in os.walk(root, followlinks=False):
        dir_names.sort()
        # os.walk lists a symbolic link to a folder among the folders and does not enter it.
        links = [name for name in dir_names if (Path(directory) / name).is_symlink()]
        for name in sorted(file_names + links):
            path = Path(directory) / name
            yield SourceFile(path, path.relative_to(base).as_posix())


def _sort_file(source: SourceFile, ledger: Ledger, found: list, archives: list | None) -> None:
    """Put a file into found or archives, or record why it is skipped."""
    if source.display in ledger:
        source = SourceFile(source.path, _unique_display(source.display, ledger))
    skip = skip_reason(source.display, source.path)
    if skip is not None:
        ledger.set_file(source.display, "skipped", *skip)
    elif source.path.suffix.lower() == ".zip":
        if archives is None:
            ledger.set_file(source.display, "skipped", "nested-archive",
                            "ZIP archive inside a ZIP archive is not opened")
        elif not zipfile.is_zipfile(source.path):
            ledger.set_file(source.display, "error", "bad-archive",
                            "the file name ends in .zip but it is not a readable ZIP archive")
        else:
            # Like a folder, the archive itself gets no report line; its entries do.
            archives.append(source)
    else:
        ledger.register(source.display)
        found.append(source)


def _unique_display(display: str, ledger: Ledger) -> str:
    """Return display with " (2)", " (3)", ... appended until no other file uses it."""
    number = 2
    while f"{display} ({number})" in ledger:
        number += 1
    return f"{display} ({number})"


def skip_reason(display: str, path: Path) -> tuple[str, str] | None:
    """Return (code, reason) when a file is certainly not an image to read, else None."""
    parts = PurePosixPath(display).parts
    name = parts[-1]
    if path.is_symlink():
        return "symlink", "symbolic link not followed"
    if "__MACOSX" in parts:
        return "macos-metadata", "macOS metadata (__MACOSX folder)"
    if any(part.startswith(".") for part in parts):
        return "hidden", "hidden file or folder"
    if name.lower() in SYSTEM_FILE_NAMES:
        return "system-file", "operating-system file (thumbnail cache or folder settings)"
    if name.upper() == "DICOMDIR":
        return "dicomdir", "DICOMDIR directory record, not an image"
    if path.stat().st_size == 0:
        return "empty", "empty file (0 bytes)"
    return None


def _check_total_size(archives: list[zipfile.ZipFile], options: ImportOptions) -> None:
    declared = sum(info.file_size for archive in archives for info in archive.infolist())
    if declared > options.max_uncompressed_bytes:
        raise ImportRejected(
            f"The {len(archives)} ZIP archives of this upload declare {declared} bytes "
            f"uncompressed together; the limit is {options.max_uncompressed_bytes} bytes. "
            "Upload them separately."
        )


def check_archive(archive: zipfile.ZipFile, display: str,
                  options: ImportOptions) -> list[tuple[zipfile.ZipInfo, str]]:
    """Validate every entry of a ZIP archive; return (entry, safe relative name) for files.

    Raises ImportRejected naming the first offending entry. Nothing is written here.
    """
    infos = archive.infolist()
    if len(infos) > options.max_entries:
        raise ImportRejected(
            f"ZIP archive {display} has {len(infos)} entries; the limit is "
            f"{options.max_entries}. Split the upload into smaller archives."
        )
    declared = sum(info.file_size for info in infos)
    if declared > options.max_uncompressed_bytes:
        raise ImportRejected(
            f"ZIP archive {display} declares {declared} bytes uncompressed; the limit is "
            f"{options.max_uncompressed_bytes} bytes. Split the upload into smaller archives."
        )
    entries = []
    seen = set()
    for info in infos:
        name = safe_entry_name(info, display)
        if info.is_dir():
            continue
        if name in seen:
            raise ImportRejected(f"ZIP archive {display} contains entry {name!r} twice.")
        seen.add(name)
        entries.append((info, name))
    return entries


def safe_entry_name(info: zipfile.ZipInfo, display: str) -> str:
    """Return the entry name as a safe relative POSIX path, or raise ImportRejected."""
    raw = info.filename
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ImportRejected(
            f"ZIP archive {display} contains a symbolic link entry {raw!r}; links are not "
            "allowed in uploads. Archive the files themselves."
        )
    if info.flag_bits & 0x1:
        raise ImportRejected(
            f"ZIP archive {display} contains an encrypted entry {raw!r}; upload an "
            "archive without a password."
        )
    # Backslashes are treated as separators, so a Windows-style "..\\" cannot hide a parent step.
    normalised = raw.replace("\\", "/")
    parts = [part for part in normalised.split("/") if part not in ("", ".")]
    if normalised.startswith("/") or _DRIVE_LETTER.match(normalised) or ".." in parts \
            or "\x00" in raw or not parts:
        raise ImportRejected(
            f"ZIP archive {display} contains entry {raw!r}, whose path is absolute or leaves "
            "the archive folder; the upload was rejected. Re-create the archive with "
            "relative paths only."
        )
    return "/".join(parts)


def _extract_entries(archive, entries, target: Path, display: str,
                     options) -> list[SourceFile]:
    root = target.resolve()
    budget = options.max_uncompressed_bytes
    members = []
    for info, name in entries:
        destination = (root / name).resolve()
        # Separator-aware containment: "/tmp/x-extra" is not inside "/tmp/x".
        if os.path.commonpath([root, destination]) != str(root) or destination == root:
            raise ImportRejected(
                f"ZIP archive {display} contains entry {info.filename!r}, which resolves "
                "outside the extraction folder; the upload was rejected."
            )
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            budget -= _copy_entry(archive, info, destination, budget, display)
        except OSError as error:
            raise ImportRejected(
                f"ZIP archive {display}: entry {info.filename!r} could not be extracted "
                f"({error}); a file and a folder may share its name."
            ) from error
        members.append(SourceFile(destination, f"{display}/{name}"))
    return members


def _copy_entry(archive, info, destination: Path, budget: int, display: str) -> int:
    written = 0
    limit = min(budget, info.file_size)
    try:
        with archive.open(info) as source, open(destination, "xb") as sink:
            while chunk := source.read(_COPY_CHUNK_BYTES):
                written += len(chunk)
                if written > limit:
                    raise ImportRejected(
                        f"ZIP archive {display}: entry {info.filename!r} expands beyond its "
                        "declared size or the upload size limit; the upload was rejected."
                    )
                sink.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
        # zipfile stops at the declared size, so an entry that inflates beyond it ends
        # with a CRC mismatch here rather than with the size check above.
        raise ImportRejected(
            f"ZIP archive {display}: entry {info.filename!r} is corrupt or expands beyond its "
            f"declared size ({error}); the upload was rejected."
        ) from error
    return written
