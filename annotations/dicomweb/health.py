"""The capability report of GET /dicomweb/health: which transfer syntaxes can be decoded."""

from django.db.models import Count
from pydicom.pixels import get_decoder
from pydicom.uid import UID, AllTransferSyntaxes, ExplicitVRLittleEndian

from .catalogue import dicom_instances


def transfer_syntax_report(uid):
    """Return whether pydicom can decode the pixel data of a transfer syntax, and with which plugins."""
    try:
        decoder = get_decoder(uid)
    except NotImplementedError:
        return {"uid": str(uid), "name": uid.name, "decodable": False, "plugins": []}
    return {"uid": str(uid), "name": uid.name, "decodable": decoder.is_available,
            "plugins": sorted(decoder.available_plugins)}


def capabilities():
    syntaxes = [transfer_syntax_report(uid) for uid in AllTransferSyntaxes]
    decodable = {entry["uid"] for entry in syntaxes if entry["decodable"]}
    stored = (dicom_instances().values("transfer_syntax_uid")
              .annotate(instances=Count("sop_instance_uid", distinct=True)).order_by("transfer_syntax_uid"))
    return {
        "status": "ok",
        "decodable_transfer_syntaxes": sorted(decodable),
        "transfer_syntaxes": syntaxes,
        "stored_transfer_syntaxes": [
            {"uid": row["transfer_syntax_uid"], "name": UID(row["transfer_syntax_uid"]).name,
             "instances": row["instances"], "decodable": row["transfer_syntax_uid"] in decodable}
            for row in stored
        ],
        "frames_media_type": f"application/octet-stream; transfer-syntax={ExplicitVRLittleEndian}",
        "instance_media_type": "application/dicom (as stored, or transcoded to Explicit VR Little Endian)",
    }
