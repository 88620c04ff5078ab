"""Exceptions that stop a whole import."""


class ImportRejected(Exception):
    """The upload as a whole is rejected before any file is read or written.

    Raised for unsafe ZIP entries (path traversal, absolute paths, symbolic links) and for
    uploads over the entry-count or uncompressed-size limits.
    """


class MissingDecoderError(ImportRejected):
    """Images of a dynamic series use a transfer syntax that no installed decoder can read.

    `counts` maps each transfer syntax UID to the number of files that need it.
    """

    def __init__(self, counts: dict[str, int], names: dict[str, str]):
        self.counts = dict(counts)
        parts = [
            f"{count} file(s) use transfer syntax {uid} ({names.get(uid, 'unknown')})"
            for uid, count in sorted(counts.items())
        ]
        super().__init__(
            "No pixel decoder is installed for: " + "; ".join(parts)
            + ". Install the pylibjpeg decoders (pylibjpeg-libjpeg, pylibjpeg-openjpeg, "
            "pylibjpeg-rle) or convert the files to an uncompressed transfer syntax."
        )
