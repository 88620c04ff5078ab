"""Absolute DICOMweb URLs (RetrieveURL, BulkDataURI) built from the request's host and scheme.

Some clients send a Host header without the port (dicomweb-client 0.61 does), so a site can set
PANNUSMAP_PUBLIC_URL (e.g. http://127.0.0.1:8000) and the links start with it instead.
"""

from django.conf import settings
from django.urls import reverse


class Links:
    def __init__(self, request):
        self.request = request

    def _absolute(self, name, *args):
        path = reverse(name, args=args)
        if settings.PANNUSMAP_PUBLIC_URL:
            return settings.PANNUSMAP_PUBLIC_URL.rstrip("/") + path
        return self.request.build_absolute_uri(path)

    def study(self, study_uid):
        return self._absolute("dicomweb-study", study_uid)

    def series(self, study_uid, series_uid):
        return self._absolute("dicomweb-series", study_uid, series_uid)

    def instance(self, study_uid, series_uid, sop_uid):
        return self._absolute("dicomweb-instance", study_uid, series_uid, sop_uid)

    def frames(self, study_uid, series_uid, sop_uid, count):
        frame_list = ",".join(str(number) for number in range(1, count + 1))
        return self._absolute("dicomweb-frames", study_uid, series_uid, sop_uid, frame_list)
