"""Time generating and writing one full-size phantom subject.

Usage: .venv/bin/python bench/bench_phantom.py [--runs 3]

Prints the machine, the median and spread of the generation and writing times, and the
file sizes, as a Markdown block for bench/BENCHMARKS.md.
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inference.phantom import PhantomGeometry, generate_subject  # noqa: E402
from inference.phantom_dicom import write_subject  # noqa: E402

SEED = 2022


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def time_one_run(geometry: PhantomGeometry, out_dir: Path) -> tuple[float, float, Path]:
    start = time.perf_counter()
    subject = generate_subject("PH001", SEED, geometry)
    generated = time.perf_counter()
    folder = write_subject(subject, out_dir, SEED)
    written = time.perf_counter()
    return generated - start, written - generated, folder


def folder_sizes(folder: Path) -> dict[str, float]:
    dicom = list((folder / "dicom").glob("*.dcm"))
    return {
        "files": len(dicom),
        "dicom_mb": sum(path.stat().st_size for path in dicom) / 1e6,
        "dicom_file_kb": dicom[0].stat().st_size / 1e3,
        "truth_npz_mb": (folder / "truth.npz").stat().st_size / 1e6,
        "truth_json_kb": (folder / "truth.json").stat().st_size / 1e3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="number of timed runs (default 3)")
    args = parser.parse_args()
    geometry = PhantomGeometry()

    generate_times, write_times = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _run in range(args.runs):
            generate_s, write_s, folder = time_one_run(geometry, Path(tmp))
            generate_times.append(generate_s)
            write_times.append(write_s)
        sizes = folder_sizes(folder)

    totals = [g + w for g, w in zip(generate_times, write_times, strict=True)]
    shape = " × ".join(str(n) for n in geometry.shape)
    print(f"Machine: {os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()}")
    print(f"Command: .venv/bin/python bench/bench_phantom.py --runs {args.runs}")
    print(f"Subject: {shape} (phases × slices × rows × columns), seed {SEED}")
    print()
    print("| step | median s | min–max s |")
    print("|---|---|---|")
    for name, values in (
        ("generate_subject", generate_times),
        ("write_subject (DICOM + truth)", write_times),
        ("total", totals),
    ):
        print(f"| {name} | {statistics.median(values):.2f} | {min(values):.2f}–{max(values):.2f} |")
    print()
    print(
        f"Files: {sizes['files']} DICOM files of {sizes['dicom_file_kb']:.1f} kB "
        f"({sizes['dicom_mb']:.1f} MB), truth.npz {sizes['truth_npz_mb']:.1f} MB, "
        f"truth.json {sizes['truth_json_kb']:.1f} kB"
    )


if __name__ == "__main__":
    main()
