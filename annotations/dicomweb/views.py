"""DICOMweb views: each parses the request, calls one search, retrieve or store function, and
writes a DICOM JSON or multipart/related response."""

import json
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from pydicom.uid import ExplicitVRLittleEndian
from rest_framework import status
from rest_framework.authentication import (
    BasicAuthentication,
    SessionAuthentication,
    TokenAuthentication,
)
from rest_framework.exceptions import APIException, UnsupportedMediaType
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from pannusmap.errors import UserError

from .. import access
from . import catalogue, negotiation, retrieve, search
from .health import capabilities
from .links import Links
from .multipart import (
    BodyTooLarge,
    MalformedMultipart,
    TooManyParts,
    multipart_response,
    save_parts,
)
from .params import check_uid, parse_frame_numbers
from .query import parse_query
from .store import store_parts, store_response

DICOM_JSON = "application/dicom+json"
FRAME_TYPE = f"application/octet-stream; transfer-syntax={ExplicitVRLittleEndian}"


class DicomWebBasicAuthentication(BasicAuthentication):
    """HTTP Basic against the Django users; first in the list, so anonymous requests get a Basic challenge."""

    www_authenticate_realm = "PannusMap DICOMweb"


class HasRole(BasePermission):
    def has_permission(self, request, view):
        return access.can_view(request.user)


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "upload_too_large"


class DicomWebView(APIView):
    authentication_classes = [DicomWebBasicAuthentication, TokenAuthentication, SessionAuthentication]
    permission_classes = [HasRole]
    renderer_classes = [JSONRenderer]

    def perform_content_negotiation(self, request, force=False):
        # Each view checks Accept against its own media types; errors are always sent as JSON.
        renderer = JSONRenderer()
        return renderer, renderer.media_type

    def accepted(self):
        return negotiation.parse_accept(self.request.META.get("HTTP_ACCEPT", ""))

    def links(self):
        return Links(self.request)

    def search(self, function, default_keys, **uids):
        negotiation.require_json(self.accepted())
        query = parse_query(self.request.query_params)
        records, more = query.page(function(query, self.links(), **uids))
        response = dicom_json([query.select(record, default_keys) for record in records])
        if more:
            response["Warning"] = (f'299 {self.request.get_host()} "There are additional results that '
                                   f'can be requested with offset={query.offset + query.limit}"')
        return response

    def send_instances(self, files, single_part_allowed=False):
        choice = negotiation.choose_dicom(self.accepted())
        parts = retrieve.dicom_parts(files, choice.syntaxes)
        if choice.multipart:
            return multipart_response(parts, "application/dicom")
        if single_part_allowed:
            content_type, chunks = parts[0]
            return StreamingHttpResponse(chunks, content_type=content_type)
        raise negotiation.not_acceptable('multipart/related; type="application/dicom"')

    def send_metadata(self, files):
        negotiation.require_json(self.accepted())
        links = self.links()
        return dicom_json([retrieve.instance_metadata(stored, links) for stored in files])

    def store(self, study_uid=None):
        access.require(access.is_admin(self.request.user))
        boundary = stow_boundary(self.request.META.get("CONTENT_TYPE", ""))
        check_declared_length(self.request.META.get("CONTENT_LENGTH"))
        root = Path(settings.MEDIA_ROOT) / "uploads"
        root.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="stow-", dir=root))
        try:
            parts = receive_parts(self.request, boundary, folder)
            outcomes, _job = store_parts(parts, folder, self.request.user, study_uid)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        status_code, body = store_response(outcomes, self.links())
        return dicom_json(body, status_code)


def dicom_json(data, status_code=200):
    return HttpResponse(json.dumps(data), status=status_code, content_type=DICOM_JSON)


def stow_boundary(content_type):
    """Return the boundary of a multipart/related; type="application/dicom" body, or raise 415/400."""
    body_type = negotiation.parse_media_type(content_type)
    if body_type.media_type != "multipart/related" or body_type.part_type not in (
        "", "application/dicom"
    ):
        raise UnsupportedMediaType(
            content_type or "none",
            detail=_("Content-Type %(type)s is not supported. Send multipart/related; "
                     'type="application/dicom" with one DICOM file per part.')
            % {"type": content_type or _("(none)")},
        )
    boundary = body_type.parameters.get("boundary", "")
    if not boundary:
        raise UserError(_("The Content-Type header has no boundary parameter; add one, for example "
                          "boundary=part-boundary."), code="missing_boundary")
    return boundary


def check_declared_length(content_length):
    if content_length and content_length.isdigit() and int(content_length) > settings.PANNUSMAP_MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(too_large_message())


def too_large_message():
    return _("The request body is over the upload limit of %(limit)s bytes. Split the study into "
             "smaller requests.") % {"limit": settings.PANNUSMAP_MAX_UPLOAD_BYTES}


def receive_parts(request, boundary, folder):
    """Spool the body's parts to `folder`; return the list of SavedPart."""
    meta = request.META
    stream = request._request
    if not meta.get("CONTENT_LENGTH") and meta.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        # Django reads no body without Content-Length. WSGI servers that decode chunked bodies
        # (gunicorn) pass them in wsgi.input; Django's development server does not.
        stream = meta["wsgi.input"]
    try:
        parts = save_parts(stream, boundary, folder, settings.PANNUSMAP_MAX_UPLOAD_BYTES,
                           settings.DATA_UPLOAD_MAX_NUMBER_FILES)
    except MalformedMultipart as error:
        raise UserError(_("The request body is not a valid multipart/related body: %(error)s. Send "
                          "it with a Content-Length header where the server does not decode chunked "
                          "bodies.") % {"error": error}, code="invalid_multipart") from error
    except BodyTooLarge as error:
        raise PayloadTooLarge(too_large_message()) from error
    except TooManyParts as error:
        raise PayloadTooLarge(_("The request has more than %(count)s parts. Split the study into "
                                "smaller requests.") % {"count": settings.DATA_UPLOAD_MAX_NUMBER_FILES}) from error
    if not parts:
        raise UserError(_("The request body has no parts; send one DICOM file per part."), code="no_parts")
    return parts


class StudiesView(DicomWebView):
    def get(self, request):
        return self.search(search.search_studies, search.defaults("study", study_in_path=False))

    def post(self, request):
        return self.store()


class StudyView(DicomWebView):
    def get(self, request, study):
        check_uid(study, "StudyInstanceUID")
        return self.send_instances(catalogue.study_files(catalogue.get_study(study)))

    def post(self, request, study):
        return self.store(check_uid(study, "StudyInstanceUID"))


class StudyMetadataView(DicomWebView):
    def get(self, request, study):
        check_uid(study, "StudyInstanceUID")
        return self.send_metadata(catalogue.study_files(catalogue.get_study(study)))


class StudySeriesView(DicomWebView):
    def get(self, request, study):
        check_uid(study, "StudyInstanceUID")
        return self.search(search.search_series, search.defaults("series", study_in_path=True), study_uid=study)


class StudyInstancesView(DicomWebView):
    def get(self, request, study):
        check_uid(study, "StudyInstanceUID")
        default_keys = search.defaults("instance", study_in_path=True)
        return self.search(search.search_instances, default_keys, study_uid=study)


class SeriesView(DicomWebView):
    def get(self, request, study, series):
        check_series_uids(study, series)
        return self.send_instances(catalogue.get_series_files(study, series))


class SeriesMetadataView(DicomWebView):
    def get(self, request, study, series):
        check_series_uids(study, series)
        return self.send_metadata(catalogue.get_series_files(study, series))


class SeriesInstancesView(DicomWebView):
    def get(self, request, study, series):
        check_series_uids(study, series)
        default_keys = search.defaults("instance", study_in_path=True, series_in_path=True)
        return self.search(search.search_instances, default_keys, study_uid=study, series_uid=series)


class InstanceView(DicomWebView):
    def get(self, request, study, series, instance):
        check_instance_uids(study, series, instance)
        stored = catalogue.get_instance_file(study, series, instance)
        return self.send_instances([stored], single_part_allowed=True)


class InstanceMetadataView(DicomWebView):
    def get(self, request, study, series, instance):
        check_instance_uids(study, series, instance)
        return self.send_metadata([catalogue.get_instance_file(study, series, instance)])


class FramesView(DicomWebView):
    def get(self, request, study, series, instance, frames):
        check_instance_uids(study, series, instance)
        numbers = parse_frame_numbers(frames)
        multipart = negotiation.choose_frames(self.accepted())
        data = retrieve.frame_bytes(catalogue.get_instance_file(study, series, instance), numbers)
        if multipart:
            return multipart_response([(FRAME_TYPE, [frame]) for frame in data], "application/octet-stream")
        if len(data) == 1:
            return HttpResponse(data[0], content_type=FRAME_TYPE)
        raise negotiation.not_acceptable('multipart/related; type="application/octet-stream"')


class AllSeriesView(DicomWebView):
    def get(self, request):
        return self.search(search.search_series, search.defaults("series", study_in_path=False))


class AllInstancesView(DicomWebView):
    def get(self, request):
        return self.search(search.search_instances, search.defaults("instance", study_in_path=False))


class HealthView(DicomWebView):
    def get(self, request):
        return Response(capabilities())


def check_series_uids(study, series):
    check_uid(study, "StudyInstanceUID")
    check_uid(series, "SeriesInstanceUID")


def check_instance_uids(study, series, instance):
    check_series_uids(study, series)
    check_uid(instance, "SOPInstanceUID")
