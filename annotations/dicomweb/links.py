"""Absolute DICOMweb URLs (RetrieveURL, BulkDataURI) built from the request's host and scheme."""

from django.urls import reverse


class Links:
    def __init__(self, request):
        self.request = request

    def _absolute(self, name, *args):
        return self.request.build_absolute_uri(reverse(name, args=args))

    def study(self, study_uid):
        return self._absolute("dicomweb-study", study_uid)

    def series(self, study_uid, series_uid):
        return self._absolute("dicomweb-series", study_uid, series_uid)

    def instance(self, study_uid, series_uid, sop_uid):
        return self._absolute("dicomweb-instance", study_uid, series_uid, sop_uid)

    def frames(self, study_uid, series_uid, sop_uid, count):
        frame_list = ",".join(str(number) for number in range(1, count + 1))
        return self._absolute("dicomweb-frames", study_uid, series_uid, sop_uid, frame_list)
