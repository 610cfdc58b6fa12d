"""The map's points, encoded once per filter and data version, and kept fresh after writes.

Each app owns one :class:`MapPoints` (``app.extensions["webmap"]["points"]``, see
:func:`init_app` and :func:`get_map_points`): the encoded points (raw and gzipped,
:func:`webmap.mapview.encode_points`) of the last few filters, each computed once per
:func:`webmap.query.data_version`.

The map page asks for its filter's points the moment it is requested (:meth:`MapPoints.prefetch`),
so the query runs while the browser is still loading the page; the browser's ``/api/points``
request then waits for that same computation. The default view (no filter) is never evicted, and
a background thread recomputes every kept view when the data version moves: right after each write
request the app answers, and every :data:`WARM_INTERVAL` seconds (for writes by other processes,
such as ``webmap import``). So the first visitor after a write finds the points ready.
"""

from __future__ import annotations

import gzip
import threading
import weakref
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor

from flask import Flask, Response, current_app, request

from .. import mapview, query
from ..store import IncidentStore
from . import EXTENSION

DEFAULT_VIEW = query.IncidentFilter()
# Seconds between two looks at the data version when no write came through this app.
WARM_INTERVAL = 2.0
_WRITES = ("POST", "PUT", "PATCH", "DELETE")


class MapPoints:
    """The encoded points of the last :attr:`size` filtered views of one app, plus its default view.

    ``state`` is the app's extension dict, whose ``"store"`` the app opens on its first request;
    the warming thread reads it there and never opens the store itself (so it never races a
    request to create the schema).
    """

    size = 8

    def __init__(self, state: dict):
        self._state = state
        self._entries: OrderedDict[query.IncidentFilter, Future] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="webmap-points")
        self._wake = threading.Event()
        self._seen: int | None = None  # the data version the warmer last computed the views for

    @staticmethod
    def _compute(store: IncidentStore, flt: query.IncidentFilter) -> tuple[int, bytes, bytes]:
        version = query.data_version(store)
        raw = mapview.encode_points(query.point_columns(store, flt))
        # gzip level 1: a fifth of level 6's time for 2 % more bytes (the floats hardly compress further).
        return version, raw, gzip.compress(raw, compresslevel=1, mtime=0)

    def start(self, store: IncidentStore, flt: query.IncidentFilter, version: int | None = None) -> Future:
        """The computation for ``flt``: the one running, or the one done (at ``version`` when given),
        else a new one started now."""
        with self._lock:
            found = self._entries.get(flt)
            if found is not None and (
                not found.done() or (found.exception() is None and version in (None, found.result()[0]))
            ):
                self._entries.move_to_end(flt)
                return found
            future = self._pool.submit(self._compute, store, flt)
            self._entries[flt] = future
            # The oldest filtered views go; the default view stays.
            filtered = [k for k in self._entries if k != DEFAULT_VIEW]
            for old in filtered[: max(0, len(filtered) - self.size)]:
                del self._entries[old]
            return future

    def prefetch(self, store: IncidentStore, flt: query.IncidentFilter) -> None:
        """Start encoding the points of ``flt`` at the current data version (returns at once)."""
        self.start(store, flt, query.data_version(store))

    def get(self, store: IncidentStore, flt: query.IncidentFilter, version: int) -> tuple[bytes, bytes]:
        """The encoded points (raw, gzipped) of ``flt`` at data ``version`` (or newer, when a write
        came meanwhile)."""
        found = self.start(store, flt).result()
        if found[0] != version:
            found = self.start(store, flt, version).result()
        return found[1], found[2]

    def ready_version(self, flt: query.IncidentFilter) -> int | None:
        """The data version whose points of ``flt`` are computed and kept, or None."""
        with self._lock:
            found = self._entries.get(flt)
        return found.result()[0] if found is not None and found.done() and found.exception() is None else None

    def filters(self) -> list[query.IncidentFilter]:
        """The filters whose points are kept, the default view first."""
        with self._lock:
            kept = [flt for flt in self._entries if flt != DEFAULT_VIEW]
        return [DEFAULT_VIEW, *kept]

    def clear(self) -> None:
        """Forget every entry (the benchmark's cold case)."""
        with self._lock:
            self._entries.clear()

    def poke(self) -> None:
        """Have the warming thread look at the data version now."""
        self._wake.set()

    def warm(self) -> None:
        """Recompute every kept view when the data version moved since the last look.

        A failing store (a database gone) is left to the requests, which report the error themselves.
        """
        store = self._state["store"]
        if store is None:
            return
        try:
            version = query.data_version(store)
            if version != self._seen:
                for flt in self.filters():
                    self.start(store, flt, version).result()
        except Exception:  # noqa: BLE001 - see the docstring
            version = None
        self._seen = version

    def start_warming(self) -> None:
        """Start the warming thread; it ends once this object is gone (its app dropped)."""
        thread = threading.Thread(
            target=_keep_warm, args=(weakref.ref(self), self._wake), name="webmap-points-warmer", daemon=True
        )
        thread.start()


def _keep_warm(ref: weakref.ref, wake: threading.Event) -> None:
    # Holds the MapPoints only while warming, so a dropped app's points can be collected.
    while (points := ref()) is not None:
        points.warm()
        del points
        wake.wait(WARM_INTERVAL)
        wake.clear()


def init_app(app: Flask) -> None:
    """Give ``app`` its :class:`MapPoints`, warmed in the background and poked after every write."""
    state = app.extensions[EXTENSION]
    state["points"] = map_points = MapPoints(state)
    map_points.start_warming()

    @app.after_request
    def _after_write(response: Response) -> Response:
        if request.method in _WRITES and response.status_code < 400:
            map_points.poke()
        return response


def get_map_points() -> MapPoints:
    """The running app's :class:`MapPoints`."""
    return current_app.extensions[EXTENSION]["points"]
