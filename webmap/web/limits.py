"""What one request may send: the largest body of each endpoint, checked before a byte of it is read.

A body larger than its endpoint's limit is refused with 413 naming the limit: from its
``Content-Length`` before the view runs, and (a chunked body without one) as it is read, by Flask's
``max_content_length`` for forms and by :func:`read_body` for JSON. JSON bodies are then parsed with
the limits of :mod:`webmap.io.json_input`; form posts have Flask's own caps on fields and parts.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

from ..extract import MAX_HTML_CHARS

# One incident as JSON, or a form: its longest texts (notes: 20,000 characters) take a tenth of this.
DEFAULT_BODY_BYTES = 1_000_000
BODY_BYTES = {
    # A saved web page of MAX_HTML_CHARS characters, quoted as JSON, with the date and source.
    "api.extract_report": MAX_HTML_CHARS + 65_536,
    # api.MAX_SAVE reviewed incidents with their evidence.
    "api.save_extracted": 2_000_000,
}
# What the server takes at all (``webmap serve`` gives it to waitress, which otherwise spools up to 1 GB to disk).
LARGEST_BODY_BYTES = max(DEFAULT_BODY_BYTES, *BODY_BYTES.values())


def init_app(app: Flask) -> None:
    """Limit the bodies of ``app``'s requests (see the module docstring); ``app.config["WEBMAP_LARGEST_BODY"]``
    is the largest any endpoint takes, for the WSGI server."""
    app.config["MAX_CONTENT_LENGTH"] = DEFAULT_BODY_BYTES
    app.config["WEBMAP_LARGEST_BODY"] = LARGEST_BODY_BYTES
    app.before_request(_limit_body)


def _limit() -> int:
    return BODY_BYTES.get(request.endpoint or "", DEFAULT_BODY_BYTES)


def _too_large(size: str) -> RequestEntityTooLarge:
    return RequestEntityTooLarge(f"body: {size} bytes; {request.method} {request.path} takes at most {_limit():,}")


def _limit_body() -> None:
    request.max_content_length = _limit()
    if request.content_length is not None and request.content_length > _limit():
        raise _too_large(f"{request.content_length:,}")


def read_body() -> bytes:
    """The request's body; 413 when it passes its endpoint's limit. (Werkzeug hands a chunked body
    without ``Content-Length`` over cut at the limit, without a word: the rest is looked for here.)"""
    body = request.get_data(cache=False)
    if request.content_length is None and len(body) >= _limit() and request.environ["wsgi.input"].read(1):
        raise _too_large(f"more than {_limit():,}")
    return body
