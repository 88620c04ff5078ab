"""DICOMweb (QIDO-RS, WADO-RS, STOW-RS) driven by the dicomweb-client package against a live server."""

import io

import numpy as np
import pydicom
import pytest
import requests
from dicomweb_client import DICOMwebClient
from pydicom.uid import ExplicitVRLittleEndian, RLELossless, generate_uid
from requests.exceptions import HTTPError
from rest_framework.authtoken.models import Token

from annotations.dicomweb.multipart import CHUNK_BYTES, save_parts
from annotations.dicomweb.negotiation import choose_dicom, choose_frames, parse_accept
from annotations.dicomweb.query import match_value
from annotations.imports import import_dicom
from annotations.models import ImportJob, Instance, Series

from .conftest import PASSWORD, SHARED_DATA

PROSTATE = SHARED_DATA / "prostate_dce_siemens"
needs_prostate = pytest.mark.skipif(not PROSTATE.is_dir(), reason=f"real test data missing: {PROSTATE}")
# Smallest phantom the generator allows: 4 phases x 3 slices of 32 x 32 pixels, 12 files.
TINY_GEOMETRY = {"phases": 4, "slices": 3, "rows": 32, "columns": 32}
PHANTOM_FILES = 27 * 6


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # HTTP Basic checks the password on every request, and the default PBKDF2 would dominate the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def dicomweb(live_server):
    """Return a function that makes a DICOMwebClient logged in as a user with HTTP Basic."""
    sessions = []

    def connect(user):
        session = requests.Session()
        session.auth = (user.username, PASSWORD)
        sessions.append(session)
        client = DICOMwebClient(url=live_server.url + "/dicomweb", session=session)
        # Django reads no request body without Content-Length, so uploads must not be chunked.
        client.set_chunk_size(64 * 1024 * 1024)
        return client

    yield connect
    # A kept-alive connection keeps its server thread and database connection open.
    for session in sessions:
        session.close()


def get(live_server, path, user=None, **headers):
    auth = (user.username, PASSWORD) if user else None
    return requests.get(live_server.url + "/dicomweb/" + path, auth=auth, headers=headers, timeout=30)


def uids_of(series):
    return series.study.study_instance_uid, series.source_series_uids[0]


def stored_path(instance, settings):
    return settings.MEDIA_ROOT / instance.storage_path


def write_tiny_subject(tmp_path, seed):
    from inference.phantom import PhantomGeometry
    from inference.phantom_dicom import write_cohort

    (subject,) = write_cohort(tmp_path, 1, seed=seed, geometry=PhantomGeometry(**TINY_GEOMETRY))
    return sorted((subject / "dicom").glob("*.dcm"))


def lone_image(path):
    """Return a copy of a phantom image moved into a series of its own, so it is in no dynamic series."""
    dataset = pydicom.dcmread(path)
    dataset.SeriesInstanceUID = generate_uid()
    dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    return dataset


def post_parts(live_server, user, datasets):
    """Send the datasets in one STOW-RS request built here (one part each) and return the response."""
    boundary = "test-boundary-7f3a"
    body = io.BytesIO()
    for dataset in datasets:
        encoded = io.BytesIO()
        dataset.save_as(encoded, enforce_file_format=True)
        body.write(f"\r\n--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode())
        body.write(encoded.getvalue())
    body.write(f"\r\n--{boundary}--\r\n".encode())
    content_type = f'multipart/related; type="application/dicom"; boundary={boundary}'
    return requests.post(live_server.url + "/dicomweb/studies", data=body.getvalue(), timeout=60,
                         auth=(user.username, PASSWORD), headers={"Content-Type": content_type})


def test_studies_found_by_patient_id(dicomweb, phantom_series, reviewer):
    client = dicomweb(reviewer)
    studies = client.search_for_studies(search_filters={"PatientID": "PH001"})
    assert len(studies) == 1
    assert studies[0]["0020000D"]["Value"] == [phantom_series.study.study_instance_uid]
    assert studies[0]["00201208"]["Value"] == [PHANTOM_FILES]


def test_other_patient_id_finds_nothing(dicomweb, phantom_series, reviewer):
    client = dicomweb(reviewer)
    assert client.search_for_studies(search_filters={"PatientID": "PH999"}) == []


def test_patient_name_ignores_case(dicomweb, phantom_series, reviewer):
    client = dicomweb(reviewer)
    assert len(client.search_for_studies(search_filters={"PatientName": "phantom^ph00?"})) == 1
    assert len(client.search_for_studies(search_filters={"PatientName": "Other*"})) == 0


def test_study_date_range_matches(dicomweb, phantom_series, reviewer, settings):
    client = dicomweb(reviewer)
    first = phantom_series.instances.first()
    date = pydicom.dcmread(stored_path(first, settings), stop_before_pixels=True).StudyDate
    assert len(client.search_for_studies(search_filters={"StudyDate": f"{date}-{date}"})) == 1
    assert len(client.search_for_studies(search_filters={"StudyDate": f"-{int(date) - 1}"})) == 0
    assert len(client.search_for_studies(search_filters={"StudyDate": date})) == 1


def test_series_count_matches_files(dicomweb, phantom_series, reviewer):
    client = dicomweb(reviewer)
    study_uid, series_uid = uids_of(phantom_series)
    series = client.search_for_series(study_uid)
    assert [item["0020000E"]["Value"] for item in series] == [[series_uid]]
    assert series[0]["00201209"]["Value"] == [PHANTOM_FILES]


def test_instance_search_lists_every_file(dicomweb, phantom_series, reviewer):
    client = dicomweb(reviewer)
    instances = client.search_for_instances(*uids_of(phantom_series))
    assert len(instances) == PHANTOM_FILES
    expected = set(phantom_series.instances.values_list("sop_instance_uid", flat=True))
    assert {item["00080018"]["Value"][0] for item in instances} == expected


def test_instance_search_pages(live_server, phantom_series, reviewer):
    study_uid, series_uid = uids_of(phantom_series)
    path = f"studies/{study_uid}/series/{series_uid}/instances?limit=10&offset=155"
    response = get(live_server, path, reviewer)
    assert response.status_code == 200
    assert len(response.json()) == PHANTOM_FILES - 155
    assert "Warning" not in response.headers
    first_page = get(live_server, path.replace("offset=155", "offset=0"), reviewer)
    assert len(first_page.json()) == 10
    assert first_page.headers["Warning"].startswith("299 ")


def test_includefield_all_adds_attributes(dicomweb, phantom_series, reviewer):
    client = dicomweb(reviewer)
    study_uid, series_uid = uids_of(phantom_series)
    plain = client.search_for_instances(study_uid, series_uid, limit=1)[0]
    full = client.search_for_instances(study_uid, series_uid, limit=1, fields=["all"])[0]
    assert "00180080" not in plain  # RepetitionTime
    assert "00180080" in full


def test_top_level_series_by_modality(dicomweb, phantom_series, reviewer):
    client = dicomweb(reviewer)
    assert len(client.search_for_series(search_filters={"Modality": "MR"})) == 1
    assert client.search_for_series(search_filters={"Modality": "CT"}) == []


def test_series_metadata_matches_files(dicomweb, phantom_series, reviewer):
    client = dicomweb(reviewer)
    metadata = client.retrieve_series_metadata(*uids_of(phantom_series))
    assert len(metadata) == PHANTOM_FILES
    assert {item["00280010"]["Value"][0] for item in metadata} == {96}
    assert {item["00280011"]["Value"][0] for item in metadata} == {96}
    assert sorted(item["00200013"]["Value"][0] for item in metadata) == list(range(1, PHANTOM_FILES + 1))


def test_metadata_points_to_frames(dicomweb, phantom_series, reviewer):
    client = dicomweb(reviewer)
    study_uid, series_uid = uids_of(phantom_series)
    item = client.retrieve_series_metadata(study_uid, series_uid)[0]
    sop_uid = item["00080018"]["Value"][0]
    expected = f"/dicomweb/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}/frames/1"
    assert item["7FE00010"]["BulkDataURI"].endswith(expected)


def test_instance_pixels_equal_stored(dicomweb, phantom_series, reviewer, settings):
    client = dicomweb(reviewer)
    instance = phantom_series.instances.get(phase_index=12, slice_index=3)
    dataset = client.retrieve_instance(*uids_of(phantom_series), instance.sop_instance_uid)
    stored = pydicom.dcmread(stored_path(instance, settings))
    assert dataset.SOPInstanceUID == instance.sop_instance_uid
    assert np.array_equal(dataset.pixel_array, stored.pixel_array)


def test_frame_bytes_equal_written(dicomweb, phantom_series, reviewer, phantom_cohort, settings):
    client = dicomweb(reviewer)
    instance = phantom_series.instances.get(phase_index=20, slice_index=2)
    number = pydicom.dcmread(stored_path(instance, settings), stop_before_pixels=True).InstanceNumber
    phase, slice_index = divmod(number - 1, 6)
    truth = np.load(phantom_cohort / "PH001" / "truth.npz")["volume"][phase, slice_index]
    (frame,) = client.retrieve_instance_frames(*uids_of(phantom_series), instance.sop_instance_uid, [1])
    assert frame == truth.astype("<u2").tobytes()


def test_missing_frame_is_404(live_server, phantom_series, reviewer):
    study_uid, series_uid = uids_of(phantom_series)
    sop_uid = phantom_series.instances.first().sop_instance_uid
    response = get(live_server, f"studies/{study_uid}/series/{series_uid}/instances/{sop_uid}/frames/2", reviewer)
    assert response.status_code == 404


def test_study_retrieve_sends_all(dicomweb, phantom_series, reviewer):
    client = dicomweb(reviewer)
    study_uid, _series_uid = uids_of(phantom_series)
    datasets = client.retrieve_study(study_uid, media_types=(("application/dicom", "*"),))
    assert len(datasets) == PHANTOM_FILES


def test_compressed_accept_is_406(live_server, phantom_series, reviewer):
    study_uid, series_uid = uids_of(phantom_series)
    sop_uid = phantom_series.instances.first().sop_instance_uid
    path = f"studies/{study_uid}/series/{series_uid}/instances/{sop_uid}/frames/1"
    response = get(live_server, path, reviewer, Accept='multipart/related; type="image/jpeg"')
    assert response.status_code == 406
    assert response.json()["code"] == "not_acceptable"


def test_anonymous_is_401(live_server, phantom_series):
    response = get(live_server, "studies")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_user_without_role_is_403(live_server, phantom_series, outsider):
    assert get(live_server, "studies", outsider).status_code == 403


def test_token_authentication_works(live_server, phantom_series, annotator_a):
    token = Token.objects.create(user=annotator_a)
    response = requests.get(live_server.url + "/dicomweb/studies", timeout=30,
                            headers={"Authorization": f"Token {token.key}"})
    assert response.status_code == 200
    assert len(response.json()) == 1


def test_unknown_study_is_404(dicomweb, live_server, phantom_series, reviewer):
    response = get(live_server, "studies/1.2.3.4/series", reviewer)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    client = dicomweb(reviewer)
    with pytest.raises(HTTPError) as raised:
        client.retrieve_series_metadata("1.2.3.4", "1.2.3.5")
    assert raised.value.response.status_code == 404


def test_invalid_uid_is_400(live_server, phantom_series, reviewer):
    response = get(live_server, "studies/1.2.abc/series", reviewer)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_uid"


def test_unknown_query_key_is_400(live_server, phantom_series, reviewer):
    response = get(live_server, "studies?NoSuchKeyword=1", reviewer)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_query"


def test_store_creates_series(dicomweb, reference_data, admin_user, tmp_path):
    files = write_tiny_subject(tmp_path, seed=31)
    client = dicomweb(admin_user)
    response = client.store_instances([pydicom.dcmread(path) for path in files])
    assert len(response.ReferencedSOPSequence) == len(files)
    assert "FailedSOPSequence" not in response
    series = Series.objects.get()
    assert series.shape == (4, 3, 32, 32)
    assert Instance.objects.count() == len(files)
    assert ImportJob.objects.get().status == ImportJob.Status.DONE


def test_stored_series_can_be_searched(dicomweb, reference_data, admin_user, tmp_path):
    files = write_tiny_subject(tmp_path, seed=32)
    client = dicomweb(admin_user)
    response = client.store_instances([pydicom.dcmread(path) for path in files])
    study_uid = pydicom.dcmread(files[0]).StudyInstanceUID
    assert response.RetrieveURL.endswith(f"/dicomweb/studies/{study_uid}")
    assert len(client.search_for_instances(study_uid)) == len(files)


def test_annotator_cannot_store(dicomweb, reference_data, annotator_a, tmp_path):
    files = write_tiny_subject(tmp_path, seed=33)
    client = dicomweb(annotator_a)
    with pytest.raises(HTTPError) as raised:
        client.store_instances([pydicom.dcmread(files[0])])
    assert raised.value.response.status_code == 403
    assert Series.objects.count() == 0


def test_lone_image_fails_with_202(live_server, reference_data, admin_user, tmp_path):
    files = write_tiny_subject(tmp_path, seed=34)
    lone = lone_image(files[0])
    response = post_parts(live_server, admin_user, [*map(pydicom.dcmread, files), lone])
    assert response.status_code == 202
    failed = response.json()["00081198"]["Value"]
    assert [item["00081155"]["Value"] for item in failed] == [[lone.SOPInstanceUID]]
    assert failed[0]["00081197"]["Value"] == [0x0110]
    assert len(response.json()["00081199"]["Value"]) == len(files)


def test_only_lone_image_is_409(live_server, reference_data, admin_user, tmp_path):
    lone = lone_image(write_tiny_subject(tmp_path, seed=35)[0])
    response = post_parts(live_server, admin_user, [lone])
    assert response.status_code == 409
    assert "dynamic" in response.json()["00081198"]["Value"][0]["00000902"]["Value"][0]
    assert Series.objects.count() == 0


def test_store_into_other_study_fails(dicomweb, reference_data, admin_user, tmp_path):
    files = write_tiny_subject(tmp_path, seed=36)
    client = dicomweb(admin_user)
    with pytest.raises(HTTPError) as raised:
        client.store_instances([pydicom.dcmread(path) for path in files], study_instance_uid="1.2.3.4")
    assert raised.value.response.status_code == 409


def test_store_without_multipart_is_415(live_server, reference_data, admin_user, tmp_path):
    path = write_tiny_subject(tmp_path, seed=37)[0]
    response = requests.post(live_server.url + "/dicomweb/studies", data=path.read_bytes(), timeout=60,
                             auth=(admin_user.username, PASSWORD), headers={"Content-Type": "application/dicom"})
    assert response.status_code == 415


def test_rle_frames_are_decoded(dicomweb, reference_data, reviewer, tmp_path):
    files = write_tiny_subject(tmp_path / "phantom", seed=38)
    folder = tmp_path / "rle"
    folder.mkdir()
    for path in files:
        dataset = pydicom.dcmread(path)
        dataset.compress(RLELossless, generate_instance_uid=False)
        dataset.save_as(folder / path.name, enforce_file_format=True)
    _result, outcomes = import_dicom([folder])
    series = Series.objects.get(pk=outcomes[0]["id"])
    instance = series.instances.first()
    assert instance.transfer_syntax_uid == RLELossless
    originals = [pydicom.dcmread(path) for path in files]
    original = {dataset.SOPInstanceUID: dataset.PixelData for dataset in originals}
    client = dicomweb(reviewer)
    (frame,) = client.retrieve_instance_frames(*uids_of(series), instance.sop_instance_uid, [1])
    assert frame == original[instance.sop_instance_uid]


def test_health_lists_decoders(live_server, phantom_series, reviewer):
    response = get(live_server, "health", reviewer)
    assert response.status_code == 200
    report = response.json()
    assert RLELossless in report["decodable_transfer_syntaxes"]
    assert "1.2.840.10008.1.2.4.100" not in report["decodable_transfer_syntaxes"]  # MPEG2 video
    assert report["stored_transfer_syntaxes"] == [
        {"uid": ExplicitVRLittleEndian, "name": "Explicit VR Little Endian",
         "instances": PHANTOM_FILES, "decodable": True},
    ]


def test_health_needs_login(live_server, reference_data):
    assert get(live_server, "health").status_code == 401


@needs_prostate
def test_prostate_phases_are_series(dicomweb, reference_data, reviewer):
    import_dicom([PROSTATE])
    client = dicomweb(reviewer)
    series = client.search_for_series()
    assert len(series) == 40
    assert {item["00201209"]["Value"][0] for item in series} == {4}
    assert len({item["0020000E"]["Value"][0] for item in series}) == 40
    study_uid, series_uid = series[5]["0020000D"]["Value"][0], series[5]["0020000E"]["Value"][0]
    metadata = client.retrieve_series_metadata(study_uid, series_uid)
    assert [item["0020000E"]["Value"][0] for item in metadata] == [series_uid] * 4


@needs_prostate
def test_prostate_transcodes_implicit(dicomweb, reference_data, reviewer, settings):
    (outcome,) = import_dicom([PROSTATE])[1]
    instance = Series.objects.get(pk=outcome["id"]).instances.first()
    stored = pydicom.dcmread(stored_path(instance, settings))
    client = dicomweb(reviewer)
    dataset = client.retrieve_instance(
        stored.StudyInstanceUID, stored.SeriesInstanceUID, stored.SOPInstanceUID,
        media_types=(("application/dicom", ExplicitVRLittleEndian),),
    )
    assert stored.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2"
    assert dataset.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert np.array_equal(dataset.pixel_array, stored.pixel_array)


def test_parts_split_across_chunks(tmp_path):
    boundary = "b0undary"
    head = f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
    # The first part ends 3 bytes before the end of the first read, so its delimiter straddles
    # two reads; it also ends with the start of a delimiter that is not one.
    first = b"a" * (CHUNK_BYTES - len(head) - 6) + b"\r\n-"
    second = bytes(range(256)) * 300
    body = (head + first
            + f"\r\n--{boundary}\r\n\r\n".encode() + second + f"\r\n--{boundary}--\r\n".encode())
    parts = save_parts(io.BytesIO(body), boundary, tmp_path, max_bytes=len(body), max_parts=10)
    assert [part.path.read_bytes() for part in parts] == [first, second]
    assert [part.content_type for part in parts] == ["application/dicom", ""]


def test_accept_headers_of_viewers():
    ohif_frames = "multipart/related; type=application/octet-stream; transfer-syntax=*"
    assert choose_frames(parse_accept(ohif_frames)) is True
    assert choose_frames(parse_accept("application/octet-stream")) is False
    dicom = choose_dicom(parse_accept('multipart/related; type="application/dicom"; transfer-syntax=*'))
    assert dicom.syntaxes == ("*",)
    assert choose_dicom(parse_accept("")).multipart is True


@pytest.mark.parametrize(("value", "vr", "pattern", "expected"), [
    ("Smith^John", "PN", "SMITH*", True),
    ("Smith^John", "LO", "SMITH*", False),
    ("abc", "LO", "a?c", True),
    ("abc", "LO", "*x*", False),
    ("a" * 64, "LO", "*a" * 20 + "b", False),
    ("110636.1075", "TM", "1100-1106", True),
    ("110736", "TM", "1100-1106", False),
    ("20130816", "DA", "-20130815", False),
    ("20130816", "DA", "20130816-", True),
    ("1.2.3", "UI", "1.2.4,1.2.3", True),
    ("1.2.3", "UI", "1.2.4\\1.2.5", False),
    (5.0, "DS", "5", True),
])
def test_match_value_cases(value, vr, pattern, expected):
    assert match_value(value, vr, pattern) is expected


@pytest.mark.parametrize("value", ["2024-01-01..x", "2024", "20240101-2024", "-"])
def test_invalid_study_date_is_400(live_server, phantom_series, reviewer, value):
    response = get(live_server, f"studies?StudyDate={value}", reviewer)
    assert response.status_code == 400
    assert "YYYYMMDD" in response.json()["detail"]


def test_public_url_prefixes_links(live_server, phantom_series, reviewer, settings):
    settings.PANNUSMAP_PUBLIC_URL = "http://pacs.example.test:8443/"
    study_uid, series_uid = uids_of(phantom_series)
    metadata = get(live_server, f"studies/{study_uid}/series/{series_uid}/metadata", reviewer).json()
    bulk = metadata[0]["7FE00010"]["BulkDataURI"]
    assert bulk.startswith("http://pacs.example.test:8443/dicomweb/studies/")
