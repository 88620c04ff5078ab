"""TIC analysis through the API and a real worker: parameters, stored layers, joint summaries."""

import numpy as np
import pytest

from inference.analysis import request_analysis
from inference.models import JobStatus, TicAnalysis

from .conftest import client_for, import_subject, run_worker_until_idle


@pytest.fixture
def analysed(transactional_db, reference_data, phantom_cohort, annotator_a, worker_env):
    from annotations import demo

    demo.create_accounts()
    series = import_subject(phantom_cohort / "PH001")
    demo.prepare_demo_series(phantom_cohort, seed=1)
    run_worker_until_idle(worker_env)
    return series


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_import_queues_default_analysis(analysed):
    analysis = TicAnalysis.objects.get(series=analysed)
    assert analysis.status == JobStatus.DONE, analysis.error
    # The phantom's bolus is injected at 30 s (start of phase 3) and reaches the hand within
    # one 15 s phase interval.
    assert 30.0 <= analysis.results["arrival_time_s"] <= 45.0
    assert analysis.results["baseline_phases"] == analysis.results["arrival_phase"]
    assert analysis.parameters["shape"]["plateau_band"] == 0.10


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_layers_match_series_geometry(analysed, annotator_a):
    client = client_for(annotator_a)
    analysis = client.get(f"/api/series/{analysed.pk}/analyses/").json()[0]
    response = client.get(f"/api/analyses/{analysis['id']}/layers/me/2/")
    assert response.status_code == 200
    assert response["X-Unit"] == "%"
    assert len(response.content) == analysed.rows * analysed.columns * 4
    types = client.get(f"/api/analyses/{analysis['id']}/layers/shape_types/2/")
    assert len(types.content) == analysed.rows * analysed.columns
    assert set(np.frombuffer(types.content, dtype=np.uint8)) <= set(range(6))


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_joint_summaries_cover_every_joint(analysed):
    analysis = TicAnalysis.objects.get(series=analysed)
    names = sorted(summary["name"] for summary in analysis.results["joints"])
    assert names == sorted(["DRUJ", "RC", "IC-CMC", "MCP2", "MCP3", "MCP4", "MCP5"])
    assert all(summary["region_volume_mm3"] > 0 for summary in analysis.results["joints"])


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_new_parameters_make_new_analysis(analysed, annotator_a, worker_env):
    client = client_for(annotator_a)
    same = client.post(f"/api/series/{analysed.pk}/analyses/", {"parameters": {}}, format="json")
    changed = client.post(
        f"/api/series/{analysed.pk}/analyses/",
        {"parameters": {"shape": {"plateau_band": 0.2}}},
        format="json",
    )
    assert same.status_code == 200
    assert changed.status_code == 202
    run_worker_until_idle(worker_env)
    assert TicAnalysis.objects.get(pk=changed.json()["id"]).status == JobStatus.DONE
    assert TicAnalysis.objects.filter(series=analysed).count() == 2


@pytest.mark.django_db
def test_invalid_parameter_is_400(phantom_series, annotator_a):
    response = client_for(annotator_a).post(
        f"/api/series/{phantom_series.pk}/analyses/",
        {"parameters": {"shape": {"plateau_band_pct": 5}}},
        format="json",
    )
    assert response.status_code == 400
    assert "plateau_band_pct" in response.json()["detail"]


@pytest.mark.django_db
def test_baseline_beyond_series_is_400(phantom_series, annotator_a):
    response = client_for(annotator_a).post(
        f"/api/series/{phantom_series.pk}/analyses/",
        {"parameters": {"baseline_phases": 99}},
        format="json",
    )
    assert response.status_code == 400
    assert "99" in response.json()["detail"]


@pytest.mark.django_db
def test_unfinished_layer_is_404(phantom_series, annotator_a):
    analysis = request_analysis(phantom_series)
    response = client_for(annotator_a).get(f"/api/analyses/{analysis.pk}/layers/me/0/")
    assert response.status_code == 404


@pytest.mark.django_db
def test_unknown_layer_is_404(phantom_series, annotator_a):
    analysis = request_analysis(phantom_series)
    response = client_for(annotator_a).get(f"/api/analyses/{analysis.pk}/layers/ktrans/0/")
    assert response.status_code == 404
    assert "shape_types" in response.json()["detail"]


@pytest.mark.django_db
def test_joint_curve_reports_volume(phantom_series, annotator_a):
    from annotations.joints import create_joint

    joint = create_joint(phantom_series, annotator_a, "MCP2", "R", 1, 2, [10, 20, 19, 29])
    body = client_for(annotator_a).get(f"/api/joints/{joint.pk}/curve/").json()
    row_spacing, column_spacing = phantom_series.pixel_spacing_mm
    assert body["voxel_count"] == 2 * 10 * 10
    assert body["volume_mm3"] == pytest.approx(
        200 * row_spacing * column_spacing * phantom_series.slice_spacing_mm
    )
    assert len(body["mean"]) == phantom_series.phases


@pytest.mark.django_db
def test_whole_numbers_hash_like_floats(phantom_series):
    first = request_analysis(phantom_series, {"shape": {"early_window_s": 90}})
    second = request_analysis(phantom_series, {"shape": {"early_window_s": 90.0}})
    assert first.pk == second.pk


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"shape": {"fast_fraction": 7}}, "shape.fast_fraction = 7"),
        ({"shape": {"plateau_band": -0.05}}, "shape.plateau_band"),
        ({"baseline_phases": 0}, "at least 1"),
        ({"shape": {"plateau_band": "x"}}, "must be a number"),
        ({"shape": {"late_phases": 1.5}}, "whole number"),
        ({"maps": {"iauc_window_s": 0}}, "greater than 0"),
        ({"maps": {"ser_early_s": 300, "ser_late_s": 60}}, "later than"),
        ({"arterial": {"threshold_method": "guess"}}, "guess"),
        ({"motion_correction": "yes"}, "true or false"),
        ({"shape": []}, "JSON object"),
    ],
)
def test_out_of_range_parameter_is_400(phantom_series, annotator_a, parameters, message):
    response = client_for(annotator_a).post(
        f"/api/series/{phantom_series.pk}/analyses/", {"parameters": parameters}, format="json"
    )
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not TicAnalysis.objects.filter(
        series=phantom_series, parameters__shape__fast_fraction=7
    ).exists()
