"""multipart/related bodies (RFC 2387): streamed responses and request bodies spooled to files."""

import uuid
from dataclasses import dataclass
from pathlib import Path

from django.http import StreamingHttpResponse

CHUNK_BYTES = 64 * 1024
MAX_HEADER_BYTES = 16 * 1024


class MalformedMultipart(ValueError):
    """The request body is not a valid multipart/related body."""


class BodyTooLarge(ValueError):
    """The request body is over the configured upload limit."""


class TooManyParts(ValueError):
    """The request body has more parts than the configured limit."""


@dataclass(frozen=True)
class SavedPart:
    """One part of a request body, written to `path`; content_type is "" when the part had none."""

    path: Path
    content_type: str


def multipart_response(parts, part_type):
    """Return a streamed multipart/related response; `parts` yields (content_type, byte chunks)."""
    boundary = uuid.uuid4().hex
    response = StreamingHttpResponse(
        _encode(parts, boundary),
        content_type=f'multipart/related; type="{part_type}"; boundary={boundary}',
    )
    return response


def _encode(parts, boundary):
    for content_type, chunks in parts:
        yield f"--{boundary}\r\nContent-Type: {content_type}\r\n\r\n".encode()
        yield from chunks
        yield b"\r\n"
    yield f"--{boundary}--\r\n".encode()


def file_chunks(path):
    """Yield the bytes of a file in chunks; the file is closed when the response ends or aborts."""
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK_BYTES):
            yield chunk


def save_parts(stream, boundary, folder, max_bytes, max_parts):
    """Write each part of a multipart body from `stream` to its own file in `folder`.

    Reads in chunks, so a body of any size never sits in memory. Returns a list of SavedPart in
    body order. Raises MalformedMultipart, BodyTooLarge (over `max_bytes`) or TooManyParts.
    """
    reader = _BoundedReader(stream, max_bytes)
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    # The first boundary may start the body, without the CRLF that precedes later ones.
    buffer = b"\r\n" + reader.read()
    buffer = _skip_past(buffer, delimiter, reader)
    parts = []
    while True:
        buffer = _fill(buffer, reader, 2)
        if buffer.startswith(b"--"):
            return parts
        if len(parts) >= max_parts:
            raise TooManyParts(f"the body has more than {max_parts} parts")
        headers, buffer = _read_headers(buffer, reader)
        path = Path(folder) / f"part{len(parts):06d}"
        with open(path, "wb") as output:
            buffer = _copy_until(buffer, delimiter, reader, output, len(parts) + 1)
        parts.append(SavedPart(path, headers.get("content-type", "")))


class _BoundedReader:
    def __init__(self, stream, max_bytes):
        self.stream = stream
        self.max_bytes = max_bytes
        self.total = 0

    def read(self):
        chunk = self.stream.read(CHUNK_BYTES)
        self.total += len(chunk)
        if self.total > self.max_bytes:
            raise BodyTooLarge(f"the body is over {self.max_bytes} bytes")
        return chunk


def _fill(buffer, reader, size):
    while len(buffer) < size:
        chunk = reader.read()
        if not chunk:
            raise MalformedMultipart("the body ends before its closing boundary")
        buffer += chunk
    return buffer


def _skip_past(buffer, delimiter, reader):
    while (index := buffer.find(delimiter)) < 0:
        chunk = reader.read()
        if not chunk:
            raise MalformedMultipart("the body has no part with the boundary of its Content-Type")
        buffer = buffer[-len(delimiter):] + chunk
    return buffer[index + len(delimiter):]


def _read_headers(buffer, reader):
    """Parse the rest of the boundary line and the part headers; return (headers, remaining buffer)."""
    while (end := buffer.find(b"\r\n\r\n")) < 0:
        if len(buffer) > MAX_HEADER_BYTES:
            raise MalformedMultipart("a part has headers over 16 KiB")
        chunk = reader.read()
        if not chunk:
            raise MalformedMultipart("the body ends inside the headers of a part")
        buffer += chunk
    # The boundary line ends with optional padding and CRLF, so the first line is not a header.
    lines = buffer[:end].decode("latin-1").split("\r\n")[1:]
    headers = {}
    for line in lines:
        name, _sep, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers, buffer[end + 4:]


def _copy_until(buffer, delimiter, reader, output, number):
    """Copy bytes to `output` up to the next delimiter; return what follows it."""
    keep = len(delimiter) - 1
    while (index := buffer.find(delimiter)) < 0:
        if len(buffer) > keep:
            output.write(buffer[:-keep])
            buffer = buffer[-keep:]
        chunk = reader.read()
        if not chunk:
            raise MalformedMultipart(f"the body ends inside part {number}, before a boundary")
        buffer += chunk
    output.write(buffer[:index])
    return buffer[index + len(delimiter):]
