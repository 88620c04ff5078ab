"""Per-joint good/fair/fail grades of a prediction by reviewers."""

from collections import Counter

from django.db import transaction
from django.utils.translation import gettext as _

from .models import Grade


def grades_for_review(series, prediction, reviewer):
    """Rows of (joint, this reviewer's grade or None, summary); other reviewers' grades stay hidden."""
    own = {g.joint_id: g for g in Grade.objects.filter(prediction=prediction, reviewer=reviewer)}
    summaries = {s["joint_id"]: s for s in prediction.joint_summaries}
    return [
        {"joint": joint, "grade": own.get(joint.pk), "summary": summaries.get(joint.pk)}
        for joint in series.joints.all()
    ]


@transaction.atomic
def save_grades(prediction, reviewer, form):
    """Store the verdicts sent as `verdict_<joint id>` and `comment_<joint id>`.

    Returns (number of grades saved, error messages); nothing is saved when there is an error.
    """
    errors = []
    saved = 0
    valid = {choice for choice, _label in Grade.Verdict.choices}
    for joint in prediction.series.joints.all():
        verdict = form.get(f"verdict_{joint.pk}", "")
        comment = form.get(f"comment_{joint.pk}", "").strip()
        if not verdict:
            continue
        if verdict not in valid:
            errors.append(
                _("Grade %(value)r for %(joint)s is not one of good, fair, fail.")
                % {"value": verdict, "joint": joint}
            )
            continue
        Grade.objects.update_or_create(
            prediction=prediction,
            joint=joint,
            reviewer=reviewer,
            defaults={"verdict": verdict, "comment": comment[:2000]},
        )
        saved += 1
    if errors:
        transaction.set_rollback(True)
        return 0, errors
    return saved, errors


def grade_counts(queryset=None):
    queryset = Grade.objects.all() if queryset is None else queryset
    counts = Counter(queryset.values_list("verdict", flat=True))
    return {choice: counts.get(choice, 0) for choice, _label in Grade.Verdict.choices}
