"""The map's data: the index of every incident in memory, and the encoded answers made from it.

Each app owns one :class:`MapData` (``app.extensions["webmap"]["points"]``, see :func:`init_app`
and :func:`get_map_data`). It keeps the :class:`webmap.mapindex.MapIndex` of the store's current
data version (built once per version, one build at a time) and, made from it, the encoded points
(raw and gzipped, :func:`webmap.mapview.encode_points`) of the last few filters, the last map
tiles asked for, and the last answers of the JSON reads behind the page (counts, chart, shading, a
table page): the next visitor of a view, or the first after a restart of the browser, is answered
from memory instead of waiting on the index with the page's other requests.

The map page asks for its filter's points the moment it is requested (:meth:`MapData.prefetch`),
so they are made while the browser is still loading the page; the browser's ``/api/points`` request
then waits for that same computation. The default view (no filter) is never evicted, and a
background thread brings the index up to date (:meth:`webmap.mapindex.MapIndex.refreshed`) and
makes every kept view again when the data version moves: right after
each write request the app answers, and every :data:`WARM_INTERVAL` seconds (for writes by other
processes, such as ``webmap import`` or another server on the same PostGIS). So the first visitor
after a write finds the data ready, and the chart of the default view (:data:`WARMED_READS`, asked
by the warmer as a visitor would) and its tiles at the zooms it opens at (:data:`WARMED_ZOOMS`)
already kept.
"""

from __future__ import annotations

import gzip
import json
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from flask import Flask, Response, current_app, request

from .. import mapview, query
from ..mapindex import MapIndex, mercator
from ..records import STORED_STATUSES
from ..store import IncidentStore
from . import EXTENSION

DRAFT = STORED_STATUSES.index("draft")

DEFAULT_VIEW = query.IncidentFilter()
# Seconds between two looks at the data version when no write came through this app.
WARM_INTERVAL = 2.0
_WRITES = ("POST", "PUT", "PATCH", "DELETE")
# The default view's reads that take longest at a million incidents, and whose address does not
# depend on the visitor's screen (the counts and the table page ask for the map's bounds).
WARMED_READS = ("/api/timeline",)
# The zooms the page opens the default view at, from a phone to a wide screen: the warmer makes
# their tiles over the view's extent (about 0.1 s a zoom at a million incidents), so the first
# visitor after a start or a write is not the one who waits for them. A zoom whose extent spans
# more than WARMED_TILES tiles (a dataset over half the world) is left to the visitors.
WARMED_ZOOMS = range(4, 9)
WARMED_TILES = 128


def _gzipped(raw: bytes) -> tuple[bytes, bytes]:
    # gzip level 1: a fifth of level 6's time for 2 % more bytes (the floats hardly compress further).
    return raw, gzip.compress(raw, compresslevel=1, mtime=0)


class MapData:
    """The index of one app's store and what the map asks of it (see the module docstring).

    ``state`` is the app's extension dict, whose ``"store"`` the app opens on its first request;
    the warming thread reads it there and never opens the store itself (so it never races a
    request to create the schema). ``app``: whose :data:`WARMED_READS` the warmer asks for.
    """

    size = 8
    tiles = 512
    # The kept answers: their bytes in all, and the largest kept (a 5,000-row table page is not).
    answer_bytes = 32 << 20
    answer_largest = 1 << 20

    def __init__(self, state: dict, app: Flask | None = None):
        self._state = state
        self._index: MapIndex | None = None
        self._index_lock = threading.Lock()
        self._entries: OrderedDict[query.IncidentFilter, Future] = OrderedDict()
        self._tiles: OrderedDict[tuple, tuple[int, tuple[bytes, bytes]]] = OrderedDict()  # -> (version, body)
        self._answers: OrderedDict[str, tuple[bytes, str]] = OrderedDict()  # ETag -> (body, mimetype)
        self._answers_size = 0
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="webmap-points")
        self._wake = threading.Event()
        self._seen: int | None = None  # the data version the warmer last computed the views for
        # Weak: the warming thread must not keep a dropped app alive.
        self._app: weakref.ref[Flask] | None = weakref.ref(app) if app is not None else None

    # -- the index ----------------------------------------------------------------------------
    def index(self, store: IncidentStore, version: int | None = None) -> MapIndex:
        """The index at ``version`` (default: the store's current one) or newer, built if need be."""
        with self._index_lock:
            wanted = query.data_version(store) if version is None else version
            if self._index is None:
                self._index = MapIndex.build(store)
            elif self._index.version < wanted:
                self._index = self._index.refreshed(store)
            return self._index

    def tiled(self, store: IncidentStore, flt: query.IncidentFilter) -> bool:
        """Whether the view ``flt`` holds more incidents than the map takes whole (the config's
        ``map_points_limit``): then it comes as tiles, and its points are never encoded."""
        return self.index(store).tally(flt)[0] > self._state["config"].map_points_limit

    # -- the points of a view ---------------------------------------------------------------------
    def _compute(self, store: IncidentStore, flt: query.IncidentFilter) -> tuple[int, bytes, bytes]:
        index = self.index(store)
        columns = index.point_columns(index.select(flt))
        areas = mapview.area_column(columns.pop("area"), index.pcode_of, self._state["config"].geodata_dir)
        return (index.version, *_gzipped(mapview.encode_points(columns, areas)))

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
        if found[0] < version:
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
        """Forget every computed view and the index (the benchmark's cold case)."""
        with self._lock:
            self._entries.clear()
            self._tiles.clear()
            self._answers.clear()
            self._answers_size = 0
        with self._index_lock:
            self._index = None

    # -- tiles -------------------------------------------------------------------------------------
    def tile(
        self, store: IncidentStore, flt: query.IncidentFilter, z: int, x: int, y: int, version: int
    ) -> tuple[bytes, bytes]:
        """Map tile ``z``/``x``/``y`` of the view ``flt`` as JSON (raw, gzipped): ``{"clusters": [...],
        "points": {column: [...]}}`` (see :meth:`webmap.mapindex.MapIndex.tile`)."""
        key = (flt, z, x, y)
        with self._lock:
            found = self._tiles.get(key)
            if found is not None and found[0] >= version:
                self._tiles.move_to_end(key)
                return found[1]
        index = self.index(store, version)
        tile = index.tile(flt, z, x, y)
        body: dict = {"clusters": tile.clusters, "points": None}
        if tile.points is not None:
            at = tile.points
            body["points"] = {
                "id": index.id[at].tolist(),
                "lat": [round(v, 5) for v in index.latitude[at].tolist()],
                "lon": [round(v, 5) for v in index.longitude[at].tolist()],
                "day": index.day[at].tolist(),
                # null: the source gives no figure
                "fatalities": [
                    None if unknown else killed
                    for killed, unknown in zip(index.killed[at].tolist(), index.no_figure[at].tolist(), strict=True)
                ],
                "force": index.force[at].tolist(),
                "precision": index.geo_precision[at].tolist(),
                "forces": index.forces[at].tolist(),
                "draft": (index.status[at] == DRAFT).astype(int).tolist(),  # 1: drawn as a draft
            }
        encoded = _gzipped(json.dumps(body, separators=(",", ":")).encode("utf-8"))
        with self._lock:
            self._tiles[key] = (index.version, encoded)
            while len(self._tiles) > self.tiles:
                self._tiles.popitem(last=False)
        return encoded

    def tile_version(self, flt: query.IncidentFilter, z: int, x: int, y: int) -> int | None:
        """The data version of the kept tile ``z``/``x``/``y`` of the view ``flt``, or None."""
        with self._lock:
            found = self._tiles.get((flt, z, x, y))
        return found[0] if found is not None else None

    # -- the JSON reads ------------------------------------------------------------------------------
    def answer(self, etag: str, build: Callable[[], Response]) -> Response:
        """The answer of the read whose validator is ``etag`` (its meaning and the data version, so a
        kept answer is never stale): kept from an earlier request, else ``build()`` now and kept when
        it is a whole 200 of at most :attr:`answer_largest` bytes."""
        with self._lock:
            kept = self._answers.get(etag)
            if kept is not None:
                self._answers.move_to_end(etag)
        if kept is None:
            response = build()
            if response.status_code != 200 or response.is_streamed:
                return response
            kept = (response.get_data(), response.mimetype or "application/json")
            if len(kept[0]) > self.answer_largest:
                return response
            with self._lock:
                if etag not in self._answers:
                    self._answers[etag] = kept
                    self._answers_size += len(kept[0])
                while self._answers_size > self.answer_bytes:
                    self._answers_size -= len(self._answers.popitem(last=False)[1][0])
        return Response(kept[0], mimetype=kept[1])

    # -- warming -----------------------------------------------------------------------------------
    def poke(self) -> None:
        """Have the warming thread look at the data version now."""
        self._wake.set()

    def warm(self) -> None:
        """Rebuild the index and every kept view when the data version moved since the last look.

        A failing store (a database gone) is left to the requests, which report the error themselves.
        """
        store = self._state["store"]
        if store is None:
            return
        try:
            version = query.data_version(store)
            if version != self._seen:
                self.index(store, version)
                for flt in self.filters():
                    if not self.tiled(store, flt):
                        self.start(store, flt, version).result()
                self._warm_tiles(store, version)
                self._warm_reads()
        except Exception:  # noqa: BLE001 - see the docstring
            version = None
        self._seen = version

    def _warm_tiles(self, store: IncidentStore, version: int) -> None:
        if not self.tiled(store, DEFAULT_VIEW):
            return
        groups, selected = self.index(store, version).groups_of(DEFAULT_VIEW)
        extent = groups.bounds(selected)
        if extent is None:
            return
        (south, west), (north, east) = extent
        (x_min, x_max), (y_min, y_max) = mercator([west, east], [north, south])
        for z in WARMED_ZOOMS:
            last = (1 << z) - 1
            columns = range(min(int(x_min * (last + 1)), last), min(int(x_max * (last + 1)), last) + 1)
            rows = range(min(int(y_min * (last + 1)), last), min(int(y_max * (last + 1)), last) + 1)
            if len(columns) * len(rows) > WARMED_TILES:
                return
            for column in columns:
                for row in rows:
                    self.tile(store, DEFAULT_VIEW, z, column, row, version)

    def _warm_reads(self) -> None:
        app = self._app() if self._app is not None else None
        if app is not None:
            client = app.test_client()
            for path in WARMED_READS:
                client.get(path, headers={"Accept-Encoding": "gzip"})

    def start_warming(self) -> None:
        """Start the warming thread; it ends once this object is gone (its app dropped)."""
        thread = threading.Thread(
            target=_keep_warm, args=(weakref.ref(self), self._wake), name="webmap-points-warmer", daemon=True
        )
        thread.start()


def _keep_warm(ref: weakref.ref, wake: threading.Event) -> None:
    # Holds the MapData only while warming, so a dropped app's data can be collected.
    while (data := ref()) is not None:
        data.warm()
        del data
        wake.wait(WARM_INTERVAL)
        wake.clear()


def init_app(app: Flask) -> None:
    """Give ``app`` its :class:`MapData`, warmed in the background and poked after every write."""
    state = app.extensions[EXTENSION]
    state["points"] = map_data = MapData(state, app)
    map_data.start_warming()

    @app.after_request
    def _after_write(response: Response) -> Response:
        if request.method in _WRITES and response.status_code < 400:
            map_data.poke()
        return response


def get_map_data() -> MapData:
    """The running app's :class:`MapData`."""
    return current_app.extensions[EXTENSION]["points"]
