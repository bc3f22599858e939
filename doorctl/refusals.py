"""Answers the web server sends before the app runs (a request too slow, too large,
too many connections, an upload refused from its headers): whole HTTP responses that
close the connection, written straight to the socket. They never name the software.
"""

from __future__ import annotations

import json


def _answer(status: str, text: str, *extra: str) -> bytes:
    """A complete plain-text answer that closes the connection."""
    body = text.encode()
    head = [f"HTTP/1.1 {status}", "Connection: close", "Content-Type: text/plain; charset=utf-8"]
    head += [f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _json_answer(status: str, error: str, *extra: str) -> bytes:
    """A complete JSON answer ({"error", "fields"}) that closes the connection."""
    body = json.dumps({"error": error, "fields": {}}).encode()
    head = [f"HTTP/1.1 {status}", "Connection: close", "Content-Type: application/json"]
    head += [f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


ANSWERS = {
    400: _answer("400 Bad Request", "Bad request."),
    408: _answer("408 Request Timeout", "The request took too long to arrive."),
    413: _answer("413 Content Too Large", "The request body is too large."),
    431: _answer("431 Request Header Fields Too Large", "The request headers are too large."),
    503: _answer(
        "503 Service Unavailable", "Too many connections from your address.", "Retry-After: 10"
    ),
}
SPOOL_ANSWERS = {
    411: _json_answer(
        "411 Length Required", "Send the file with a Content-Length header (not chunked)."
    ),
    503: _json_answer(
        "503 Service Unavailable",
        "Another upload is under way. Try again when it has finished.",
        "Retry-After: 30",
    ),
    507: _json_answer(
        "507 Insufficient Storage",
        "Not enough free space on the device for this file. Free some space and try again.",
    ),
}
