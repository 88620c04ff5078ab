"""Per-joint review: reviewers grade a finished prediction; the summary counts the grades."""

import pytest

from annotations import demo
from inference.models import Grade, JobStatus, ModelVersion, Prediction

from .conftest import make_user


@pytest.fixture
def finished_prediction(phantom_series, phantom_cohort):
    demo.create_accounts()
    demo.add_phantom_joints(phantom_series, demo.series_for_subject(phantom_cohort / "PH001")[1])
    model_version = ModelVersion.objects.create(
        name="test",
        architecture="tic_cnn1d",
        status=JobStatus.DONE,
        classes=["muscle", "bone", "synovitis"],
    )
    return Prediction.objects.create(
        series=phantom_series, model_version=model_version, status=JobStatus.DONE
    )


def grade_form(prediction, verdicts):
    joints = list(prediction.series.joints.order_by("pk"))
    form = {}
    for joint, verdict in zip(joints, verdicts, strict=False):
        form[f"verdict_{joint.pk}"] = verdict
        form[f"comment_{joint.pk}"] = f"{joint.name} looked {verdict}"
    return form


def test_reviewer_grades_every_joint(client, reviewer, finished_prediction):
    client.force_login(reviewer)
    verdicts = ["good"] * 4 + ["fair"] * 2 + ["fail"]
    response = client.post(
        f"/series/{finished_prediction.series_id}/review/",
        grade_form(finished_prediction, verdicts),
    )
    assert response.status_code == 302
    stored = sorted(Grade.objects.filter(reviewer=reviewer).values_list("verdict", flat=True))
    assert stored == sorted(verdicts)


def test_summary_counts_grades(client, reviewer, finished_prediction):
    client.force_login(reviewer)
    client.post(
        f"/series/{finished_prediction.series_id}/review/",
        grade_form(finished_prediction, ["good"] * 4 + ["fair"] * 2 + ["fail"]),
    )
    page = client.get("/review/").content.decode()
    assert 'id="count-good">4<' in page
    assert 'id="count-fair">2<' in page
    assert 'id="count-fail">1<' in page


def test_regrading_replaces_grade(client, reviewer, finished_prediction):
    client.force_login(reviewer)
    url = f"/series/{finished_prediction.series_id}/review/"
    client.post(url, grade_form(finished_prediction, ["good"]))
    client.post(url, grade_form(finished_prediction, ["fail"]))
    assert list(Grade.objects.values_list("verdict", flat=True)) == ["fail"]


def test_invalid_verdict_saves_nothing(client, reviewer, finished_prediction):
    client.force_login(reviewer)
    form = grade_form(finished_prediction, ["good", "excellent"])
    response = client.post(f"/series/{finished_prediction.series_id}/review/", form)
    assert response.status_code == 200
    assert "excellent" in response.content.decode()
    assert Grade.objects.count() == 0


def test_reviewers_do_not_see_each_other(client, reviewer, finished_prediction):
    other = make_user("rui", "reviewer")
    client.force_login(other)
    client.post(
        f"/series/{finished_prediction.series_id}/review/",
        grade_form(finished_prediction, ["fail"]),
    )
    client.force_login(reviewer)
    page = client.get(f"/series/{finished_prediction.series_id}/review/").content.decode()
    assert "fail looked" not in page
    assert "checked" not in page


def test_annotator_cannot_review(client, annotator_a, finished_prediction):
    client.force_login(annotator_a)
    response = client.get(f"/series/{finished_prediction.series_id}/review/")
    assert response.status_code == 403


def test_review_page_without_prediction(client, reviewer, phantom_series):
    client.force_login(reviewer)
    response = client.get(f"/series/{phantom_series.pk}/review/")
    assert response.status_code == 200
    assert "no finished prediction" in response.content.decode()


def test_empty_submit_saves_nothing(client, reviewer, finished_prediction):
    client.force_login(reviewer)
    response = client.post(f"/series/{finished_prediction.series_id}/review/", {})
    assert response.status_code == 200
    assert "nothing was saved" in response.content.decode()
    assert Grade.objects.count() == 0


def test_summary_hides_other_reviewers(client, reviewer, finished_prediction):
    other = make_user("rui", "reviewer")
    client.force_login(other)
    client.post(
        f"/series/{finished_prediction.series_id}/review/",
        grade_form(finished_prediction, ["fail"]),
    )
    client.force_login(reviewer)
    page = client.get("/review/").content.decode()
    assert 'id="count-fail">0<' in page
    assert "rui" not in page


def test_admin_summary_names_reviewers(client, reviewer, admin_user, finished_prediction):
    client.force_login(reviewer)
    client.post(
        f"/series/{finished_prediction.series_id}/review/",
        grade_form(finished_prediction, ["fair"]),
    )
    client.force_login(admin_user)
    page = client.get("/review/").content.decode()
    assert "fair (rika)" in page
