"""Uploads: clutter in folders and ZIPs, unsafe ZIP entries and limits."""

import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset

from annotations.importer import ImportOptions, ImportRejected, import_paths

DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"


def write_dicomdir(dicom, path: Path) -> None:
    ds = Dataset()
    ds.SOPClassUID = DICOMDIR_SOP_CLASS
    ds.SOPInstanceUID = dicom.uid("dicomdir", path.as_posix())
    ds.FileSetID = "TEST"
    dicom.write_dataset(ds, path)


@pytest.fixture
def cluttered_zip(tmp_path, dicom):
    """F0 in nested folders with DICOMDIRs, macOS and Windows clutter, a truncated file."""
    folder = tmp_path / "export"
    datasets = dicom.f0_series()
    paths = []
    for index, ds in enumerate(datasets):
        subfolder = folder / "PATIENT" / f"PHASE{(index // 4) + 1}"
        paths.append(dicom.write_dataset(ds, subfolder / f"IM{index:04d}"))
    write_dicomdir(dicom, folder / "DICOMDIR")
    write_dicomdir(dicom, folder / "PATIENT" / "DICOMDIR")
    write_dicomdir(dicom, folder / "PATIENT" / "index.dcm")
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (folder / "__MACOSX").mkdir()
    (folder / "__MACOSX" / "._IM0001").write_bytes(b"\x00\x05\x16\x07")
    (folder / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    (folder / "readme.txt").write_text("Exported images\n")
    (folder / "empty.dcm").write_bytes(b"")
    whole = paths[0].read_bytes()
    (folder / "PATIENT" / "cut.dcm").write_bytes(whole[:-50])
    return dicom.zip_folder(folder, tmp_path / "export.zip")


def test_clutter_leaves_f0(cluttered_zip, dicom):
    result = import_paths([cluttered_zip])
    assert len(result.series) == 1
    np.testing.assert_array_equal(result.series[0].volume, dicom.f0_expected())


def test_clutter_counted_by_reason(cluttered_zip):
    result = import_paths([cluttered_zip])
    assert result.reason_counts() == {
        "dicomdir": 3, "empty": 1, "hidden": 1, "macos-metadata": 1, "not-dicom": 1,
        "system-file": 1, "truncated": 1,
    }
    assert result.counts()["imported"] == 12


def test_truncated_file_is_error(cluttered_zip):
    result = import_paths([cluttered_zip])
    report = next(r for r in result.files if r.path.endswith("cut.dcm"))
    assert report.status == "error"
    assert "truncated" in report.reason


def test_every_file_reported(cluttered_zip):
    with zipfile.ZipFile(cluttered_zip) as archive:
        names = {f"export.zip/{info.filename}" for info in archive.infolist()}
    reported = {r.path for r in import_paths([cluttered_zip]).files}
    assert reported == names


def test_real_truncated_file(dicom):
    folder = dicom.shared_data("dicom_stress")
    report = import_paths([folder / "MR_truncated.dcm"]).files[0]
    assert report.status == "error"
    assert report.reason == "pixel data is truncated: the file ends after 8130 of 8192 bytes"


def zip_with(tmp_path, entry: zipfile.ZipInfo | str, data: bytes = b"x") -> Path:
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("ok/1.dcm", b"DICM")
        handle.writestr(entry, data)
    return archive


def symlink_entry() -> zipfile.ZipInfo:
    info = zipfile.ZipInfo("ok/link.dcm")
    info.external_attr = 0o120777 << 16
    return info


@pytest.mark.parametrize("entry", [
    "../../tmp/pwn.dcm", "/etc/cron.d/x", "ok/..\\..\\w.dcm", "C:\\evil.dcm",
    "../work-extra/x", symlink_entry(),
])
def test_unsafe_entry_rejects_upload(tmp_path, entry):
    """The whole upload is rejected before anything is written."""
    work = tmp_path / "work"
    archive = zip_with(tmp_path, entry)
    with pytest.raises(ImportRejected) as raised:
        import_paths([archive], ImportOptions(work_dir=work))
    name = entry.filename if isinstance(entry, zipfile.ZipInfo) else entry
    assert repr(name) in str(raised.value)
    assert not any(work.rglob("*")) if work.exists() else True
    assert not (tmp_path / "work-extra").exists()


def test_rejection_before_other_archives(tmp_path, dicom, f0_folder):
    """A bad archive stops the upload even when a good archive comes first."""
    good = dicom.zip_folder(f0_folder, tmp_path / "a_good.zip")
    bad = zip_with(tmp_path, "../escape.dcm")
    work = tmp_path / "work"
    with pytest.raises(ImportRejected):
        import_paths([good, bad], ImportOptions(work_dir=work))
    assert not any(work.rglob("*.dcm")) if work.exists() else True


def test_entry_count_limit(tmp_path):
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for index in range(10_000):
            handle.writestr(f"f{index}.dcm", b"")
    with pytest.raises(ImportRejected, match="10000 entries; the limit is 5000"):
        import_paths([archive], ImportOptions(max_entries=5000))


def declare_size(archive: Path, size: int) -> None:
    """Overwrite the uncompressed size of every central-directory entry (a zip-bomb header)."""
    data = bytearray(archive.read_bytes())
    position = data.find(b"PK\x01\x02")
    while position != -1:
        struct.pack_into("<I", data, position + 24, size)
        position = data.find(b"PK\x01\x02", position + 4)
    archive.write_bytes(bytes(data))


def test_declared_size_limit(tmp_path):
    """5 entries declaring about 4 GB each (20 GB) exceed the 4 GiB default."""
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for index in range(5):
            handle.writestr(f"f{index}.dcm", b"small")
    declare_size(archive, 0xF0000000)
    with pytest.raises(ImportRejected, match="declares 20132659200 bytes uncompressed"):
        import_paths([archive])


def test_size_lie_detected(tmp_path):
    """An entry that inflates beyond its declared size is rejected and its files removed."""
    archive = tmp_path / "lie.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        handle.writestr("zeros.dcm", bytes(4_000_000))
    declare_size(archive, 1000)
    work = tmp_path / "work"
    with pytest.raises(ImportRejected, match="expands beyond its declared size"):
        import_paths([archive], ImportOptions(work_dir=work))
    assert not any(work.rglob("*.dcm"))


def test_folder_symlink_not_followed(tmp_path, f0_folder):
    link_folder = tmp_path / "upload"
    link_folder.mkdir()
    (link_folder / "linked").symlink_to(f0_folder, target_is_directory=True)
    result = import_paths([link_folder])
    assert result.series == []
    assert [(r.path, r.code) for r in result.files] == [("linked", "symlink")]


def test_single_files_accepted(tmp_path, f0_folder, dicom):
    """A browser multi-file upload: a plain list of files."""
    files = sorted(f0_folder.iterdir())
    result = import_paths(files)
    np.testing.assert_array_equal(result.series[0].volume, dicom.f0_expected())
    assert {r.path for r in result.files} == {f.name for f in files}


def test_missing_input_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        import_paths([tmp_path / "absent"])


def test_damaged_header_is_error(tmp_path, f0_folder, dicom):
    """A file with a DICM preamble and garbage after it is an error; the rest imports."""
    damaged = f0_folder / "damaged.dcm"
    damaged.write_bytes(bytes(128) + b"DICM" + b"\x02\x00\x10\x00UI\xff\x7f" + bytes(40))
    result = import_paths([f0_folder])
    report = next(r for r in result.files if r.path.endswith("damaged.dcm"))
    assert report.status in ("error", "skipped")
    assert report.reason
    np.testing.assert_array_equal(result.series[0].volume, dicom.f0_expected())


def test_display_paths_of_inputs(tmp_path, dicom):
    """One folder is shown from inside; two folders keep their names; equal names get (2)."""
    first = dicom.write_series(dicom.f0_series(phases=1, slices=1), tmp_path / "a")
    dicom.write_series(dicom.f0_series(phases=1, slices=1, seed="b"), tmp_path / "b")
    assert [r.path for r in import_paths([tmp_path / "a"]).files] == ["IM0001.dcm"]
    both = import_paths([tmp_path / "a", tmp_path / "b"])
    assert [r.path for r in both.files] == ["a/IM0001.dcm", "b/IM0001.dcm"]
    same_name = import_paths([first[0], tmp_path / "b" / "IM0001.dcm"])
    assert [r.path for r in same_name.files] == ["IM0001.dcm", "IM0001.dcm (2)"]


def test_file_folder_clash_rejected(tmp_path):
    archive = tmp_path / "clash.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("a", b"file")
        handle.writestr("a/b.dcm", b"inside")
    with pytest.raises(ImportRejected, match="'a/b.dcm' could not be extracted"):
        import_paths([archive])
