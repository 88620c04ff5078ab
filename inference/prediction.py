"""Pixel-wise prediction of tissue classes over a dynamic series volume."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext

import numpy as np
import torch
from skimage.filters import threshold_otsu
from torch import nn

from inference.features import FeatureSpec, apply_normaliser, tic_features

logger = logging.getLogger(__name__)

SYNOVITIS = "synovitis"

# Forward passes run on sub-batches of this many TICs. Each activation of the 1-D CNN is then
# about 14 MB, which stays in the heap under the malloc thresholds of configure_malloc.
MODEL_BATCH = 4096

# mallopt parameter numbers from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_malloc_configured = False


def predict_volume(
    model: nn.Module,
    metadata: dict,
    volume: np.ndarray,
    times_s: np.ndarray,
    mask: np.ndarray | None = None,
    chunk: int = 65536,
    progress: Callable[[str, float], None] | None = None,
    *,
    bf16: bool = False,
    threads: int | None = None,
    model_batch: int = MODEL_BATCH,
) -> tuple[np.ndarray, np.ndarray]:
    """Classify the TIC of every voxel inside ``mask``.

    volume: (P, S, R, C) signal in modality units; times_s: (P,) seconds.
    mask: (S, R, C) bool of voxels to classify; None uses ``body_mask(volume)``. Voxels whose
        TIC contains NaN or infinity are not classified either.
    chunk: voxels whose features are computed at once; model_batch: TICs per forward pass.
    bf16: run the network under bfloat16 autocast. It is faster on CPUs with bf16
        instructions, and labels can differ for voxels near a decision boundary.
    threads: torch CPU threads; None uses every core this process may run on.
    Returns (labels uint8 (S, R, C) with 0 = not classified and k = metadata["classes"][k - 1],
    synovitis probability float32 (S, R, C)). The probability is 0 where no voxel was
    classified, and everywhere when the model has no synovitis class.
    """
    spec = FeatureSpec.from_dict(metadata["feature_spec"])
    classes = list(metadata["classes"])
    volume = np.asarray(volume)
    if volume.ndim != 4:
        raise ValueError(f"The volume must be 4-D (P, S, R, C); got shape {volume.shape}.")
    spatial = volume.shape[1:]
    mask = body_mask(volume, spec.baseline_phases) if mask is None else np.asarray(mask, dtype=bool)
    if mask.shape != spatial:
        raise ValueError(f"The mask has shape {mask.shape} but the volume's voxels are {spatial}.")

    configure_malloc()
    labels = np.zeros(mask.size, dtype=np.uint8)
    probability = np.zeros(mask.size, dtype=np.float32)
    voxels = np.flatnonzero(mask.ravel())
    signal = volume.reshape(volume.shape[0], -1)
    synovitis = classes.index(SYNOVITIS) if SYNOVITIS in classes else None
    started = time.perf_counter()

    with torch_threads(threads):
        for start in range(0, len(voxels), chunk):
            selected = voxels[start : start + chunk]
            features = tic_features(signal[:, selected].T, times_s, spec)
            finite = np.isfinite(features).all(axis=1)
            if not finite.all():
                selected, features = selected[finite], features[finite]
            inputs = apply_normaliser(features, metadata["normaliser"], spec)
            probabilities = predict_proba(model, inputs, batch_size=model_batch, bf16=bf16)
            labels[selected] = probabilities.argmax(axis=1) + 1
            if synovitis is not None:
                probability[selected] = probabilities[:, synovitis]
            if progress:
                done = min(start + chunk, len(voxels))
                # The count includes voxels skipped for non-finite signal.
                progress(f"classified {done} of {len(voxels)} voxels", done / max(len(voxels), 1))

    logger.info("Classified %d voxels in %.1f s", len(voxels), time.perf_counter() - started)
    return labels.reshape(spatial), probability.reshape(spatial)


def predict_proba(
    model: nn.Module, inputs: np.ndarray, batch_size: int = MODEL_BATCH, bf16: bool = False
) -> np.ndarray:
    """Return class probabilities float32 (N, K) for standardised float32 (N, F) inputs."""
    model.eval()
    tensor = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext()
    parts = []
    with torch.inference_mode(), autocast:
        for batch in tensor.split(batch_size):
            parts.append(torch.softmax(model(batch).float(), dim=1).numpy())
    if not parts:
        return np.zeros((0, _output_size(model)), dtype=np.float32)
    return np.concatenate(parts)


def body_mask(
    volume: np.ndarray, baseline_phases: int = 2, threshold: float | None = None
) -> np.ndarray:
    """Return bool (S, R, C): voxels whose pre-contrast signal S0 lies above the background.

    S0 is the mean of the first ``baseline_phases`` phases of the (P, S, R, C) volume.
    threshold: S0 limit in modality units. None estimates it from the data. Otsu's method
    splits log(1 + S0) into a background and a tissue class. On the log scale air, which
    contains only Rician noise, lies far from all tissue. Otsu on S0 itself would split fat
    and marrow from muscle instead. The threshold is the lower of two limits:
    - halfway between the class medians on the log scale;
    - 4 times the background median. The background is Rayleigh noise with median 1.18 sigma,
      so this is about 4.7 sigma, which a mean of 2 or more baseline noise samples almost
      never exceeds. It keeps tissue with a low S0 (joint fluid) when fat makes the tissue
      median high.
    Tissue that is dark before contrast (cortical bone, tendon) falls below the threshold,
    which is acceptable for synovitis maps.
    NOTE: this assumes air fills a sizeable part of the field of view; pass ``threshold`` for
    a volume that is almost all tissue.
    """
    s0 = np.asarray(volume[:baseline_phases], dtype=np.float32).mean(axis=0)
    if threshold is None:
        threshold = _background_threshold(s0)
    return s0 > threshold


def _background_threshold(s0: np.ndarray) -> float:
    log_s0 = np.log1p(np.maximum(s0, 0.0))
    if np.ptp(log_s0) == 0:
        return float("inf")
    split = threshold_otsu(log_s0)
    background = np.median(log_s0[log_s0 <= split])
    tissue = np.median(log_s0[log_s0 > split])
    midpoint = np.expm1((background + tissue) / 2.0)
    return float(min(midpoint, _NOISE_MEDIAN_FACTOR * np.expm1(background)))


# Threshold on S0 as a multiple of the background median (see body_mask).
_NOISE_MEDIAN_FACTOR = 4.0


def configure_malloc(mmap_threshold: int = 64 << 20, trim_threshold: int = 256 << 20) -> bool:
    """Make glibc keep freed buffers of up to mmap_threshold bytes in the process heap.

    By default glibc serves large allocations with mmap and unmaps them on free, so each
    forward pass page-faults its activations back in. In bench/bench_learning.py on a 2-core
    machine, glibc's defaults cost 0.4 to 2.9 million minor page faults per prediction of a
    27 x 20 x 256 x 256 volume. Whole-volume prediction with the 1-D CNN then took 13.9 s
    instead of 10.4 s. With these settings up to trim_threshold bytes of free heap stay
    mapped. The setting is process-wide, and the first successful call fixes it.
    predict_volume and train_and_evaluate call this function. Starting the process with
    GLIBC_TUNABLES=glibc.malloc.mmap_threshold=67108864:glibc.malloc.trim_threshold=268435456
    has the same effect. Returns False when the C library is not glibc (nothing is changed).
    """
    global _malloc_configured
    if _malloc_configured:
        return True
    library = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(library).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    applied = bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(
        mallopt(_M_TRIM_THRESHOLD, trim_threshold)
    )
    _malloc_configured = applied
    return applied


def usable_cores() -> int:
    """Return the number of CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not available on macOS
        return os.cpu_count() or 1


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Set torch's CPU thread count (None: every usable core) and restore it afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads or usable_cores())
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _output_size(model: nn.Module) -> int:
    linear_layers = [module for module in model.modules() if isinstance(module, nn.Linear)]
    return linear_layers[-1].out_features if linear_layers else 0
