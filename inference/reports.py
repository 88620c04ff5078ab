"""Turn a stored cross-validation report into tables for the model page and the train command."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop


def report_tables(report, classes):
    """Return the pooled model table, then the rule-based baseline table, as template rows."""
    tables = []
    if not report:
        return tables
    pooled = report.get("pooled", {})
    if pooled.get("model"):
        tables.append(
            metric_table(_("Model, pooled over the subject-wise test folds"), pooled["model"])
        )
    if pooled.get("model_binary"):
        tables.append(metric_table(_("Model, synovitis versus rest"), pooled["model_binary"]))
    if pooled.get("baseline_binary"):
        tables.append(
            metric_table(
                _("Rule-based baseline (TIC shape type 4), synovitis versus rest"),
                pooled["baseline_binary"],
                note=_(
                    "Same test folds. The rule cannot tell muscle from bone, so it is compared on synovitis only."
                ),
            )
        )
    return tables


SPLIT_METHODS = {
    "leave_one_subject_out": gettext_noop("leave-one-subject-out"),
    "stratified_group_kfold": gettext_noop("k-fold grouped by subject, class proportions kept"),
    "none": gettext_noop("no cross-validation"),
}


def split_description(split):
    """Return the cross-validation split of a report with its method name translated."""
    return {**split, "method": _(SPLIT_METHODS.get(split.get("method"), split.get("method", "")))}


def subject_counts(training_set):
    """Rows (subject, "Muscle: 418, Bone: 300, …") of a training set, with translated labels."""
    if training_set is None:
        return []
    return [
        (
            subject,
            ", ".join(f"{class_display_name(label)}: {count}" for label, count in counts.items()),
        )
        for subject, counts in training_set.counts.get("per_subject", {}).items()
    ]


def fold_rows(report):
    """Return one row per cross-validation fold: test subjects, TIC counts and accuracies (%)."""
    return [
        {
            "fold": fold["fold"],
            "test_subjects": ", ".join(fold.get("test_subjects", [])),
            "n_train": fold.get("n_train"),
            "n_test": fold.get("n_test"),
            "accuracy": pct(fold.get("model", {}).get("accuracy")),
            "baseline_accuracy": pct(fold.get("baseline_binary", {}).get("accuracy")),
        }
        for fold in report.get("folds", [])
    ]


def class_display_name(name):
    """Translate a class name the model report stores ("muscle", …, "rest")."""
    from annotations.reference import LABELS

    display = {label: shown for label, shown, _color, _order in LABELS}
    display["rest"] = gettext_noop("Rest")
    return _(display.get(name, name))


def metric_table(title, block, note=""):
    classes = block.get("classes", [])
    confusion = block.get("confusion_matrix")
    per_class = block.get("per_class", {})
    return {
        "title": title,
        "note": note,
        "classes": [class_display_name(name) for name in classes],
        "confusion": [
            {"name": class_display_name(name), "counts": row}
            for name, row in zip(classes, confusion, strict=False)
        ]
        if confusion
        else None,
        "metrics": [
            {
                "name": class_display_name(name),
                "precision": pct(per_class[name].get("precision")),
                "sensitivity": pct(per_class[name].get("sensitivity")),
                "specificity": pct(per_class[name].get("specificity")),
                "support": per_class[name].get("support"),
            }
            for name in classes
            if name in per_class
        ],
        "accuracy": pct(block.get("accuracy")),
    }


def pct(value):
    return None if value is None else 100.0 * value


def format_report(report, classes):
    """Plain-text version of report_tables for the `train` command."""
    lines = []
    for table in report_tables(report, classes):
        lines.append(table["title"])
        if table["confusion"]:
            width = max(10, *(len(name) + 2 for name in table["classes"]))
            lines.append(" " * width + "".join(name.rjust(width) for name in table["classes"]))
            for row in table["confusion"]:
                lines.append(
                    row["name"].ljust(width) + "".join(str(n).rjust(width) for n in row["counts"])
                )
        lines.append(
            f"{'class':<12}{'precision %':>13}{'sensitivity %':>15}{'specificity %':>15}{'support':>9}"
        )
        for row in table["metrics"]:
            lines.append(
                f"{row['name']:<12}{_fmt(row['precision']):>13}{_fmt(row['sensitivity']):>15}{_fmt(row['specificity']):>15}{row['support'] or 0:>9}"
            )
        if table["accuracy"] is not None:
            lines.append(f"accuracy: {table['accuracy']:.1f} %")
        lines.append("")
    return "\n".join(lines)


def _fmt(value):
    return "—" if value is None else f"{value:.1f}"
