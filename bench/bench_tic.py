"""Benchmark the TIC engine on a full-size series: 27 phases x 20 slices x 256 x 256, int16.

Each step runs in a fresh subprocess that builds the volume and times the step over several
runs (median, min, max). Peak memory is reported twice: tracemalloc's peak of the allocations
made by one call (numpy reports its buffers to tracemalloc), and the process's ru_maxrss.
The floor is the fastest of three ways to read the volume once from memory; "× floor"
divides each step's median wall time by it.

The volume is phantom subject PH001 (seed 2022) when inference.phantom is importable,
otherwise a synthetic volume of the same size. Run from the repository root:

    .venv/bin/python bench/bench_tic.py --runs 7
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, statistics, sys, time, tracemalloc
import numpy as np
sys.path.insert(0, sys.argv[1])
step, runs = sys.argv[2], int(sys.argv[3])

def build_volume():
    try:
        from inference.phantom import generate_subject
    except ImportError:
        generate_subject = None
    if generate_subject is not None:
        subject = generate_subject("PH001", 2022)
        return subject.volume.astype(np.int16), subject.phase_times_s, "phantom PH001"
    rng = np.random.default_rng(0)
    times = np.arange(27) * 15.0
    onset = np.clip(times - 30.0, 0, None)[:, None, None, None]
    s0 = rng.uniform(10, 800, (20, 256, 256))
    rate = rng.uniform(0.005, 0.1, (20, 256, 256))
    curve = s0 * (1 + 1.5 * (1 - np.exp(-rate * onset)) * np.exp(-0.002 * onset))
    volume = curve + rng.normal(0, 15, curve.shape)
    return np.clip(volume, 0, 32767).astype(np.int16), times, "synthetic"

volume, times, source = build_volume()

from inference.arterial import arterial_mask
from inference.motion import correct_motion
from inference.shapes import analyse_tics, shape_types
from inference.tic import quantitative_maps

buffer = np.empty_like(volume)
steps = {
    "read: sum": lambda: volume.sum(dtype=np.int64),
    "read: max": lambda: volume.max(),
    "read: copy": lambda: np.copyto(buffer, volume),
    "shape types": lambda: shape_types(volume, times),
    "all maps": lambda: quantitative_maps(volume, times),
    "shape types + all maps": lambda: analyse_tics(volume, times),
    "arterial mask": lambda: arterial_mask(volume, times),
    "motion correction": lambda: correct_motion(volume, baseline_phases=2),
}
function = steps[step]
if step != "read: copy":
    del buffer

function()  # warm-up: imports, page faults of the first allocation
durations, cpu = [], []
for _ in range(runs):
    start, start_cpu = time.perf_counter(), time.process_time()
    function()
    durations.append(time.perf_counter() - start)
    cpu.append(time.process_time() - start_cpu)

tracemalloc.start()
function()
_, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
print(json.dumps({
    "source": source,
    "shape": list(volume.shape),
    "dtype": str(volume.dtype),
    "volume_bytes": volume.nbytes,
    "median_s": statistics.median(durations),
    "min_s": min(durations),
    "max_s": max(durations),
    "cpu_median_s": statistics.median(cpu),
    "traced_peak_bytes": peak,
    "maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
}))
"""

STEPS = (
    "read: sum",
    "read: max",
    "read: copy",
    "shape types",
    "all maps",
    "shape types + all maps",
    "arterial mask",
    "motion correction",
)
SLOW_STEPS = {"motion correction": 3}


def measure(step: str, runs: int) -> dict:
    command = [sys.executable, "-c", CHILD, str(REPOSITORY), step, str(runs)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per step (at least 5)")
    args = parser.parse_args()
    runs = max(5, args.runs)

    results = {}
    for step in STEPS:
        results[step] = measure(step, min(runs, SLOW_STEPS.get(step, runs)))
        print(f"{step}: median {results[step]['median_s']:.4f} s", file=sys.stderr)

    floor = min(results[step]["median_s"] for step in STEPS if step.startswith("read"))
    first = next(iter(results.values()))
    volume_mb = first["volume_bytes"] / 1e6
    print(f"Volume: {first['source']}, {first['shape']} {first['dtype']} ({volume_mb:.1f} MB)")
    print(f"Machine: {os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()}")
    print(f"Load average before the run: {os.getloadavg()[0]:.1f}")
    print()
    print(
        "| step | median s | min–max s | CPU median s | × floor | "
        "traced peak MB (× volume) | max RSS MB |"
    )
    print("|---|---|---|---|---|---|---|")
    for step, result in results.items():
        traced = result["traced_peak_bytes"] / 1e6
        print(
            f"| {step} | {result['median_s']:.4f} | {result['min_s']:.4f}–{result['max_s']:.4f} "
            f"| {result['cpu_median_s']:.4f} | {result['median_s'] / floor:.1f} "
            f"| {traced:.0f} ({traced / volume_mb:.2f}) | {result['maxrss_bytes'] / 1e6:.0f} |"
        )


if __name__ == "__main__":
    main()
