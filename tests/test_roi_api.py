"""ROI REST API: create, read, update, delete, validation, permissions and optimistic locking."""

import base64

import numpy as np
import pytest
from matplotlib.path import Path as PolygonPath

from annotations.models import ROI, ROIRevision

from .conftest import client_for

SQUARE = [[10.0, 10.0], [20.0, 10.0], [20.0, 20.0], [10.0, 20.0]]


def create(client, series, polygon=SQUARE, label="synovitis", slice_index=2):
    return client.post(
        f"/api/series/{series.pk}/rois/",
        {"slice_index": slice_index, "label": label, "polygon": polygon},
        format="json",
    )


@pytest.fixture
def roi_of_a(client_a, phantom_series):
    response = create(client_a, phantom_series)
    assert response.status_code == 201, response.json()
    return response.json()


def test_create_stores_polygon_and_author(roi_of_a, annotator_a):
    roi = ROI.objects.get(pk=roi_of_a["id"])
    assert roi.author == annotator_a
    assert roi.label.name == "synovitis"
    assert roi.polygon == SQUARE
    assert roi.version == 1


def test_create_stores_patient_coordinates(roi_of_a, phantom_series):
    roi = ROI.objects.get(pk=roi_of_a["id"])
    origin = np.array(phantom_series.image_positions_patient[2])
    iop = np.array(phantom_series.image_orientation_patient)
    row_spacing, column_spacing = phantom_series.pixel_spacing_mm
    expected = origin + 10 * column_spacing * iop[:3] + 10 * row_spacing * iop[3:]
    assert np.allclose(roi.polygon_mm[0], expected, atol=1e-3)


def test_create_returns_etag(client_a, phantom_series):
    response = create(client_a, phantom_series)
    assert response["ETag"] == '"1"'


def test_list_shows_everyones_rois(roi_of_a, client_b, phantom_series):
    response = client_b.get(f"/api/series/{phantom_series.pk}/rois/")
    assert response.status_code == 200
    assert [r["id"] for r in response.json()] == [roi_of_a["id"]]
    assert response.json()[0]["editable"] is False


def test_list_filters_own_rois(roi_of_a, client_b, phantom_series):
    response = client_b.get(f"/api/series/{phantom_series.pk}/rois/?author=me")
    assert response.json() == []


@pytest.mark.parametrize(
    ("polygon", "reason"),
    [
        ([[1, 1], [2, 2]], "at least 3"),
        ([[1, 1], [2, 2], [3, 3]], "no area"),
        ([[1, 1], [5, 1], ["a", 5]], "finite numbers"),
        ([[1, 1], [500, 1], [5, 5]], "outside"),
        ("not a list", "at least 3"),
        ([[10.1, 10.1], [10.9, 10.1], [10.9, 11.9], [10.1, 11.9]], "no pixel centre"),
    ],
)
def test_create_rejects_bad_polygon(client_a, phantom_series, polygon, reason):
    response = create(client_a, phantom_series, polygon=polygon)
    assert response.status_code == 400
    assert reason in response.json()["polygon"][0]


def test_create_rejects_nan_coordinates(client_a, phantom_series):
    body = '{"slice_index": 1, "label": "muscle", "polygon": [[1, 1], [5, 1], [NaN, 5]]}'
    response = client_a.post(
        f"/api/series/{phantom_series.pk}/rois/", body, content_type="application/json"
    )
    assert response.status_code == 400


def test_create_rejects_unknown_label(client_a, phantom_series):
    response = create(client_a, phantom_series, label="tumour")
    assert response.status_code == 400
    assert "tumour" in response.json()["label"][0]
    assert "synovitis" in response.json()["label"][0]


def test_create_rejects_slice_outside(client_a, phantom_series):
    response = create(client_a, phantom_series, slice_index=phantom_series.slices)
    assert response.status_code == 400
    assert "slice_index" in response.json()


def test_create_rejects_malformed_json(client_a, phantom_series):
    response = client_a.post(
        f"/api/series/{phantom_series.pk}/rois/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400


def test_reviewer_cannot_create(reviewer, phantom_series):
    response = create(client_for(reviewer), phantom_series)
    assert response.status_code == 403


def test_outsider_cannot_read(outsider, phantom_series):
    response = client_for(outsider).get(f"/api/series/{phantom_series.pk}/rois/")
    assert response.status_code == 403


def test_anonymous_cannot_read(phantom_series):
    from rest_framework.test import APIClient

    response = APIClient().get(f"/api/series/{phantom_series.pk}/rois/")
    assert response.status_code == 403


def test_unknown_series_is_404(client_a, db):
    response = client_a.get("/api/series/999999/rois/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_author_updates_label(client_a, roi_of_a):
    response = client_a.patch(
        f"/api/rois/{roi_of_a['id']}/", {"label": "muscle"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 200
    assert response.json()["label"] == "muscle"
    assert response["ETag"] == '"2"'


def test_other_annotator_cannot_update(client_b, roi_of_a):
    response = client_b.patch(
        f"/api/rois/{roi_of_a['id']}/", {"label": "muscle"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 403
    assert "anna" in response.json()["detail"]
    assert ROI.objects.get(pk=roi_of_a["id"]).label.name == "synovitis"


def test_other_annotator_cannot_delete(client_b, roi_of_a):
    response = client_b.delete(f"/api/rois/{roi_of_a['id']}/", HTTP_IF_MATCH='"1"')
    assert response.status_code == 403
    assert not ROI.objects.get(pk=roi_of_a["id"]).is_deleted


def test_update_without_if_match_is_428(client_a, roi_of_a):
    response = client_a.patch(f"/api/rois/{roi_of_a['id']}/", {"label": "muscle"}, format="json")
    assert response.status_code == 428
    assert response.json()["code"] == "if_match_required"


def test_stale_update_is_412(client_a, roi_of_a):
    first = client_a.patch(
        f"/api/rois/{roi_of_a['id']}/",
        {"polygon": [[30, 30], [40, 30], [40, 40]]},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    stale = client_a.patch(
        f"/api/rois/{roi_of_a['id']}/", {"label": "bone"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert first.status_code == 200
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    assert stale["ETag"] == '"2"'
    roi = ROI.objects.get(pk=roi_of_a["id"])
    assert roi.polygon == [[30.0, 30.0], [40.0, 30.0], [40.0, 40.0]]
    assert roi.label.name == "synovitis"


def test_update_rejects_bad_polygon(client_a, roi_of_a):
    response = client_a.patch(
        f"/api/rois/{roi_of_a['id']}/", {"polygon": [[0, 0]]}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 400
    assert ROI.objects.get(pk=roi_of_a["id"]).version == 1


def test_delete_is_soft_and_recorded(client_a, roi_of_a, phantom_series):
    response = client_a.delete(f"/api/rois/{roi_of_a['id']}/", HTTP_IF_MATCH='"1"')
    assert response.status_code == 204
    assert client_a.get(f"/api/series/{phantom_series.pk}/rois/").json() == []
    assert ROI.objects.get(pk=roi_of_a["id"]).is_deleted
    assert list(
        ROIRevision.objects.filter(roi_id=roi_of_a["id"]).values_list("version", flat=True)
    ) == [1, 2]


def test_deleted_roi_is_404(client_a, roi_of_a):
    client_a.delete(f"/api/rois/{roi_of_a['id']}/", HTTP_IF_MATCH='"1"')
    response = client_a.get(f"/api/rois/{roi_of_a['id']}/")
    assert response.status_code == 404


def test_tic_matches_independent_rasterisation(client_a, roi_of_a, phantom_series):
    response = client_a.get(f"/api/rois/{roi_of_a['id']}/tic/")
    assert response.status_code == 200
    body = response.json()
    rows, columns = np.mgrid[0 : phantom_series.rows, 0 : phantom_series.columns]
    centres = np.column_stack([columns.ravel(), rows.ravel()])
    inside = PolygonPath(SQUARE).contains_points(centres, radius=1e-9).reshape(rows.shape)
    inside |= PolygonPath(SQUARE[::-1]).contains_points(centres, radius=1e-9).reshape(rows.shape)
    volume = phantom_series.load_volume()
    expected = volume[:, 2][:, inside].mean(axis=1)
    assert body["pixel_count"] == int(inside.sum())
    assert np.allclose(body["mean"], expected, rtol=1e-6)
    row_spacing, column_spacing = phantom_series.pixel_spacing_mm
    assert body["area_mm2"] == pytest.approx(inside.sum() * row_spacing * column_spacing)
    assert body["times_s"] == phantom_series.phase_times_s


def test_frame_served_as_octet_stream(client_a, phantom_series):
    response = client_a.get(
        f"/api/series/{phantom_series.pk}/frames/3/1/", HTTP_ACCEPT="application/octet-stream"
    )
    assert response.status_code == 200
    frame = np.frombuffer(response.content, dtype="<f4").reshape(
        phantom_series.rows, phantom_series.columns
    )
    assert np.array_equal(frame, phantom_series.load_volume()[3, 1])


def test_frame_outside_series_is_400(client_a, phantom_series):
    response = client_a.get(
        f"/api/series/{phantom_series.pk}/frames/{phantom_series.phases}/0/",
        HTTP_ACCEPT="application/octet-stream",
    )
    assert response.status_code == 400
    assert "phase" in response.json()


def test_basic_auth_reaches_api(annotator_a, phantom_series):
    from rest_framework.test import APIClient

    client = APIClient()
    token = base64.b64encode(b"anna:correct-horse-battery-staple").decode()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {token}")
    response = client.get(f"/api/series/{phantom_series.pk}/")
    assert response.status_code == 200


def test_forbidden_page_explains_roles(client, annotator_a):
    client.force_login(annotator_a)
    response = client.get("/import/")
    assert response.status_code == 403
    assert "does not have the role" in response.content.decode()


def test_schema_documents_roi_body(client_a):
    response = client_a.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert "ROIWrite" in schema["components"]["schemas"]
    assert not any(path.startswith("/dicomweb/") for path in schema["paths"])


def test_if_match_star_updates_current(client_a, roi_of_a):
    response = client_a.patch(
        f"/api/rois/{roi_of_a['id']}/", {"label": "bone"}, format="json", HTTP_IF_MATCH="*"
    )
    assert response.status_code == 200
    assert response.json()["version"] == 2
