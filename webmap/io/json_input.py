"""JSON from outside (GeoJSON files, request bodies), parsed with limits on what one document may cost.

Every JSON webmap reads from a user goes through :func:`events` (ijson's parser, numbers as
``int``/``float``) and :func:`limited`, which refuses, as the stream passes:

- nesting deeper than :data:`MAX_DEPTH` arrays and objects (no incident, Feature or request
  needs more than five; a 200 KB file nesting 100,000 arrays would otherwise build a structure of
  gigabytes, and Python's own parser gives up near 1,000 with a ``RecursionError``);
- a string longer than ``max_chars`` (when given).

ijson itself refuses what is not JSON, including ``NaN`` and ``Infinity`` (RFC 8259 has no such
numbers; Python's ``json`` would read them and a ``NaN`` count would pass as blank) and
integers beyond 64 bits. :func:`parse_body` is the parser of request bodies.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

import ijson

from ..errors import InvalidRecord

MAX_DEPTH = 20
BUFFER_BYTES = 4_096
_OPEN = frozenset({"start_map", "start_array"})
_CLOSE = frozenset({"end_map", "end_array"})

Event = tuple[str, str, Any]


class TooComplex(ValueError):
    """A JSON document passes a limit of :func:`limited`; ``prefix`` is ijson's path of the place."""

    def __init__(self, prefix: str, problem: str):
        super().__init__(problem)
        self.prefix = prefix
        self.problem = problem


def events(source: bytes | BinaryIO) -> Iterator[Event]:
    """ijson's ``(prefix, event, value)`` stream of ``source``, numbers as ``int``/``float``, read in
    pieces of :data:`BUFFER_BYTES`.

    ijson's default, ``Decimal`` numbers, crashes its C backend on integers of more than 4,300 digits.
    And it parses a whole piece before it yields an event, building the path of every level: the
    time grows with the square of the nesting within one piece (64 KB of ``[`` took 10 s), so the
    pieces are small (reading is as fast: 20 MB of GeoJSON in 0.4 s either way).
    """
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    return ijson.parse(stream, use_float=True, buf_size=BUFFER_BYTES)


def limited(stream: Iterable[Event], *, max_chars: int | None = None) -> Iterator[Event]:
    """``stream`` as it is, raising :class:`TooComplex` at the first nesting deeper than
    :data:`MAX_DEPTH` or string longer than ``max_chars``."""
    depth = 0
    for prefix, event, value in stream:
        if event in _OPEN:
            depth += 1
            if depth > MAX_DEPTH:
                raise TooComplex(prefix, f"nested deeper than {MAX_DEPTH} levels of arrays and objects")
        elif event in _CLOSE:
            depth -= 1
        elif max_chars is not None and event == "string" and len(value) > max_chars:
            raise TooComplex(prefix, f"a text longer than {max_chars:,} characters")
        yield prefix, event, value


def reason(exc: Exception) -> str:
    """The first line of a JSON parser's error (yajl adds lines drawing an arrow at the spot)."""
    return (str(exc).strip().splitlines() or ["unreadable"])[0][:120]


def parse_body(body: bytes) -> Any:
    """The JSON document of a request body; :class:`InvalidRecord` naming the member of the top-level
    object where it is not JSON or passes a limit (``body`` when there is none)."""
    member = "body"

    def watched(stream: Iterable[Event]) -> Iterator[Event]:
        nonlocal member
        for prefix, event, value in stream:
            if event == "map_key" and not prefix:
                member = value
            yield prefix, event, value

    try:
        return next(ijson.items(limited(watched(events(body))), ""))
    except TooComplex as exc:
        raise InvalidRecord(member, exc.problem) from None
    except ijson.JSONError as exc:
        hint = "; NaN and Infinity are not JSON numbers" if b"NaN" in body or b"Infinity" in body else ""
        raise InvalidRecord(member, f"not valid JSON ({reason(exc)}{hint})") from None
