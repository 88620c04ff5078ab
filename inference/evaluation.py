"""Classification tables and overlap measures, as JSON-safe dicts.

A metric that is undefined on the data (for example the sensitivity of a class with no true
pixels in a fold) is None rather than 0, so it is not mistaken for a measured value.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support


def classification_table(truth: np.ndarray, predicted: np.ndarray, classes: list[str]) -> dict:
    """Build the confusion matrix and per-class metrics for integer labels.

    truth, predicted: (N,) class indices into ``classes``.
    Returns {"classes", "confusion_matrix" (rows = truth, columns = predicted, in class order),
    "n", "accuracy", "per_class": {name: {"precision", "sensitivity", "specificity", "f1",
    "support"}}, "macro": mean of each metric over the classes where it is defined}.
    """
    labels = np.arange(len(classes))
    matrix = confusion_matrix(truth, predicted, labels=labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=np.nan
    )
    specificity = specificity_per_class(matrix)

    per_class = {}
    for index, name in enumerate(classes):
        per_class[name] = {
            "precision": _optional_float(precision[index]),
            "sensitivity": _optional_float(recall[index]),
            "specificity": _optional_float(specificity[index]),
            "f1": _optional_float(f1[index]),
            "support": int(support[index]),
        }
    total = int(matrix.sum())
    return {
        "classes": list(classes),
        "confusion_matrix": matrix.astype(int).tolist(),
        "n": total,
        "accuracy": _optional_float(np.trace(matrix) / total if total else np.nan),
        "per_class": per_class,
        "macro": _macro_means(per_class),
    }


def binary_table(truth_positive: np.ndarray, predicted_positive: np.ndarray, positive: str) -> dict:
    """Build a one-vs-rest table: class ``positive`` against everything else.

    truth_positive, predicted_positive: (N,) bool. The table's classes are ["rest", positive].
    """
    table = classification_table(
        np.asarray(truth_positive, dtype=int),
        np.asarray(predicted_positive, dtype=int),
        ["rest", positive],
    )
    table["positive"] = positive
    return table


def specificity_per_class(matrix: np.ndarray) -> np.ndarray:
    """Return TN / (TN + FP) per class of a (K, K) confusion matrix; NaN when TN + FP is 0."""
    matrix = np.asarray(matrix, dtype=np.float64)
    false_positive = matrix.sum(axis=0) - np.diag(matrix)
    true_negative = matrix.sum() - matrix.sum(axis=0) - matrix.sum(axis=1) + np.diag(matrix)
    negatives = true_negative + false_positive
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(negatives > 0, true_negative / negatives, np.nan)


def dice(first: np.ndarray, second: np.ndarray) -> float:
    """Return the Dice coefficient 2|A∩B| / (|A| + |B|) of two boolean masks of one shape.

    Two empty masks agree perfectly, so the result is 1.0.
    """
    a = np.asarray(first, dtype=bool)
    b = np.asarray(second, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"Dice needs masks of one shape; got {a.shape} and {b.shape}.")
    total = int(a.sum()) + int(b.sum())
    if total == 0:
        return 1.0
    return 2.0 * int(np.logical_and(a, b).sum()) / total


def _macro_means(per_class: dict) -> dict:
    means = {}
    for metric in ("precision", "sensitivity", "specificity", "f1"):
        values = [row[metric] for row in per_class.values() if row[metric] is not None]
        means[metric] = float(np.mean(values)) if values else None
    return means


def _optional_float(value) -> float | None:
    value = float(value)
    return None if np.isnan(value) else value
