"""Time the DICOM importer against dcm2niix and against reading the files' bytes.

Usage: .venv/bin/python bench/bench_import.py [--runs 3] [--append]

Inputs: the real Siemens prostate DCE folder (../shared/data/prostate_dce_siemens, 160 DCE
files + 16 masks) and one phantom subject written by inference.phantom_dicom.write_cohort
(27 x 20 x 256 x 256). An input that is not available is reported and skipped.

Each run of each tool is a fresh subprocess, so its peak resident memory (ru_maxrss from
os.wait4) belongs to that run alone. For the importer the subprocess also reports the peak
before import_paths was called (interpreter, numpy, pydicom), and the increase over it is
compared with the size of the 4-D volume.

dcm2niix is the Debian package: `apt-get install -y dcm2niix`. It converts the same folder
to uncompressed NIfTI in a temporary directory.

Prints a Markdown block; --append adds it to bench/BENCHMARKS.md under "## Import".
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
BENCHMARKS = REPO / "bench" / "BENCHMARKS.md"

IMPORT_CHILD = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from annotations.importer import import_paths
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
result = import_paths([Path(sys.argv[1])])
seconds = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
volume = max(result.series, key=lambda s: s.volume.nbytes)
print(json.dumps({"seconds": seconds, "before_kb": before, "after_kb": after,
                  "volume_bytes": volume.volume.nbytes, "shape": list(volume.volume.shape),
                  "dtype": str(volume.volume.dtype), "files": len(result.files)}))
"""

READ_CHILD = """
import json, os, sys, time
start = time.perf_counter()
total = 0
for root, _dirs, names in os.walk(sys.argv[1]):
    for name in names:
        with open(os.path.join(root, name), "rb") as handle:
            total += len(handle.read())
print(json.dumps({"seconds": time.perf_counter() - start, "bytes": total}))
"""


def run_measured(command: list[str]) -> tuple[float, int, str]:
    """Run a command; return (wall seconds, peak RSS in kB, stdout)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{command[0]} exited with {process.returncode}")
    return seconds, usage.ru_maxrss, output


def bench_importer(folder: Path, runs: int) -> dict:
    samples = []
    for _ in range(runs):
        _wall, peak_kb, output = run_measured(
            [sys.executable, "-c", IMPORT_CHILD, str(folder), str(REPO)])
        report = json.loads(output)
        report["peak_kb"] = peak_kb
        samples.append(report)
    return {
        "seconds": [s["seconds"] for s in samples],
        "peak_kb": [s["peak_kb"] for s in samples],
        "increase_kb": [s["after_kb"] - s["before_kb"] for s in samples],
        "volume_bytes": samples[0]["volume_bytes"],
        "shape": samples[0]["shape"],
        "dtype": samples[0]["dtype"],
        "files": samples[0]["files"],
    }


def bench_dcm2niix(folder: Path, runs: int) -> dict | None:
    if shutil.which("dcm2niix") is None:
        return None
    seconds, peaks = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as out:
            wall, peak_kb, _ = run_measured(
                ["dcm2niix", "-z", "n", "-v", "0", "-o", out, "-f", "%s_%p", str(folder)])
        seconds.append(wall)
        peaks.append(peak_kb)
    return {"seconds": seconds, "peak_kb": peaks}


def bench_read_bytes(folder: Path, runs: int) -> dict:
    seconds = []
    for _ in range(runs):
        _wall, _peak, output = run_measured([sys.executable, "-c", READ_CHILD, str(folder)])
        seconds.append(json.loads(output)["seconds"])
    return {"seconds": seconds}


PHANTOM_CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from inference.phantom_dicom import write_cohort
print(write_cohort(Path(sys.argv[1]), subjects=1, seed=2022)[0])
"""


def phantom_folder(scratch: Path) -> tuple[Path | None, str]:
    """Write one phantom subject in a subprocess, so this process stays small.

    On Linux a child's ru_maxrss starts from the RSS of the process it was forked from, so
    a large parent would inflate every measured peak.
    """
    result = subprocess.run([sys.executable, "-c", PHANTOM_CHILD, str(scratch / "cohort"),
                             str(REPO)], capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        return None, f"phantom skipped: writing the phantom failed ({last})"
    return Path(result.stdout.strip()) / "dicom", ""


def median_text(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    scaled = [v * scale for v in values]
    return (f"{statistics.median(scaled):.{digits}f} "
            f"({min(scaled):.{digits}f}–{max(scaled):.{digits}f})")


def table_rows(name: str, folder: Path, runs: int) -> list[str]:
    ours = bench_importer(folder, runs)
    reference = bench_dcm2niix(folder, runs)
    reading = bench_read_bytes(folder, runs)
    volume_mb = ours["volume_bytes"] / 1e6
    increase_mb = [kb / 1024 for kb in ours["increase_kb"]]
    shape = "×".join(map(str, ours["shape"]))
    rows = [
        f"| {name}: import_paths ({ours['files']} files → {shape} {ours['dtype']}, "
        f"{volume_mb:.1f} MB) | {median_text(ours['seconds'])} | "
        f"{median_text(ours['peak_kb'], 1 / 1024, 0)} | "
        f"+{statistics.median(increase_mb):.0f} MB "
        f"({statistics.median(increase_mb) / volume_mb:.2f} × volume) |",
    ]
    if reference is None:
        rows.append(f"| {name}: dcm2niix | not installed (`apt-get install -y dcm2niix`) | | |")
    else:
        ratio = statistics.median(ours["seconds"]) / statistics.median(reference["seconds"])
        rows.append(f"| {name}: dcm2niix -z n | {median_text(reference['seconds'])} | "
                    f"{median_text(reference['peak_kb'], 1 / 1024, 0)} | "
                    f"import_paths / dcm2niix = {ratio:.2f} |")
    rows.append(f"| {name}: read all file bytes | {median_text(reading['seconds'], 1, 3)} | | |")
    return rows


def machine_line() -> str:
    dcm2niix = "absent"
    if shutil.which("dcm2niix"):
        first = subprocess.run(["dcm2niix", "-v"], capture_output=True, text=True).stdout
        dcm2niix = first.splitlines()[0].split("version")[-1].strip() if first else "present"
    load = os.getloadavg()[0]
    return (f"{os.cpu_count()} CPUs, Python {platform.python_version()}, dcm2niix {dcm2niix}, "
            f"load average {load:.1f} at the start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per tool and input (≥ 3)")
    parser.add_argument("--append", action="store_true", help="append to bench/BENCHMARKS.md")
    args = parser.parse_args()

    notes, rows = [], []
    with tempfile.TemporaryDirectory() as scratch:
        prostate = SHARED_DATA / "prostate_dce_siemens"
        if prostate.is_dir():
            rows += table_rows("prostate", prostate, args.runs)
        else:
            notes.append(f"prostate skipped: {prostate} not found")
        phantom, note = phantom_folder(Path(scratch))
        if phantom is not None:
            rows += table_rows("phantom PH001", phantom, args.runs)
        else:
            notes.append(note)

    block = "\n".join([
        "## Import",
        "",
        "Script: `bench/bench_import.py` times `import_paths` on a folder, dcm2niix converting "
        "the same folder to NIfTI, and plain reading of the files' bytes (page cache warm "
        "after the first run). Each run is a fresh subprocess. Peak RSS is its ru_maxrss, and "
        "the increase is the importer's peak over the RSS it had before calling import_paths "
        "(interpreter, numpy and pydicom).",
        "",
        f"- Machine: {machine_line()}.",
        f"- Command: `.venv/bin/python bench/bench_import.py --runs {args.runs}`",
        f"- Date: {time.strftime('%B %Y')}.",
        *[f"- {note}" for note in notes],
        "",
        "| what | median s (min–max) | peak RSS MB (min–max) | notes |",
        "|---|---|---|---|",
        *rows,
        "",
    ])
    print(block)
    if args.append:
        if not BENCHMARKS.exists():
            BENCHMARKS.write_text("# Benchmarks\n\n")
        with BENCHMARKS.open("a", encoding="utf-8") as handle:
            handle.write("\n" + block)


if __name__ == "__main__":
    main()
