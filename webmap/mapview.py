"""Builds the Folium map for a filter: where an incident becomes a marker.

The map is a tree of small Folium elements, each owning its bit of JavaScript (in
``webmap/static/js/map.js``) and its assets, all served by the app from ``/static/vendor/``:

- :class:`OfflineBasemap`: the default base layer, a light background drawn from the shipped
  boundary layers (Iraq, governorates, districts); OpenStreetMap tiles are an optional base layer.
- :class:`BoundaryOverlay`: the disputed territories and the Kurdistan Region as overlays.
- :class:`DistrictChoropleth`: districts coloured by incidents or fatalities for the filter.
- :class:`IncidentPoints`: the incidents, fetched by the browser from ``/api/points`` in a compact
  binary encoding (never inlined in the page, never one Python object per incident), drawn on one
  canvas and clustered there per view (an incident known only to a district or governorate as its
  area); :class:`ForcePanel` lists the forces with a tick and the count of the view each.
- :class:`TimeSlider` (playback over the dates) and :class:`Legend` (marker precision, cluster rings).

:func:`build_map` composes them for a filter's query string; it never reads the database (the
incidents reach the browser through the API), so it is tested without one. :func:`encode_points`
is the compact encoding of the incidents; :func:`layer_geojson` and :func:`district_features` turn
the boundary layers into the GeoJSON the browser draws.
"""

from __future__ import annotations

import json
import struct
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

import folium
import numpy as np
import shapely
import shapely.geometry
from branca.element import Element, Figure, MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.utilities import JsCode
from jinja2 import Template
from markupsafe import escape

from . import spatial
from .forces import FORCES
from .records import GEO_PRECISION, IRAQ

STATIC_URL = "/static"
VENDOR_URL = f"{STATIC_URL}/vendor"

# Folium/branca asset names -> the app's vendored copy; None: not needed by any map webmap draws
# (Folium's Map asks for jQuery, Bootstrap and Font Awesome only for Icon markers and popups with
# Bootstrap markup, which webmap does not use).
VENDORED: dict[str, str | None] = {
    "leaflet": f"{VENDOR_URL}/leaflet/leaflet.js",
    "leaflet_css": f"{VENDOR_URL}/leaflet/leaflet.css",
    "markerclusterjs": f"{VENDOR_URL}/leaflet.markercluster/leaflet.markercluster.js",
    "markerclustercss": f"{VENDOR_URL}/leaflet.markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": f"{VENDOR_URL}/leaflet.markercluster/MarkerCluster.Default.css",
    "webmap_dom_js": f"{STATIC_URL}/js/dom.js",
    "webmap_map_js": f"{STATIC_URL}/js/map.js",
    "webmap_css": f"{STATIC_URL}/css/webmap.css",
    "jquery": None,
    "bootstrap": None,
    "awesome_markers": None,
    "bootstrap_css": None,
    "glyphicons_css": None,
    "awesome_markers_font_css": None,
    "awesome_markers_css": None,
    "awesome_rotate_css": None,
}

# Display simplification of boundary layers, in degrees (about 300 m): invisible below zoom 12.
SIMPLIFY_DEGREES = 0.003
BOUNDARY_LAYERS = ("adm0", "adm1", "adm2", "disputed", "kri")
BASEMAP_LEVELS = ("adm0", "adm1", "adm2")


def use_vendored_assets(root) -> None:
    """Point every JS/CSS asset of a Folium map (or figure) at the app's ``/static/vendor/`` copy.

    Assets listed as None in :data:`VENDORED` are dropped; an asset with no entry raises
    ``KeyError`` naming it, so a new Folium element can never make the page load from a CDN.
    """
    for element in _walk(root):
        for attr in ("default_js", "default_css"):
            assets = getattr(element, attr, None)
            if not assets:
                continue
            local = []
            for name, _url in assets:
                if name not in VENDORED:
                    raise KeyError(f"Folium asset {name!r} has no vendored copy (scripts/vendor_assets.py)")
                if VENDORED[name]:
                    local.append((name, VENDORED[name]))
            setattr(element, attr, local)


def _assets(*names: str) -> list[tuple[str, str]]:
    """``(name, URL)`` of vendored assets, for an element's ``default_js``/``default_css``."""
    return [(name, url) for name in names if (url := VENDORED[name])]


def _walk(element):
    yield element
    for child in list(getattr(element, "_children", {}).values()):
        yield from _walk(child)


class _Scripted(JSCSSMixin, MacroElement):
    """A Folium element whose script is one call into ``webmap`` (``static/js/map.js``, after ``dom.js``)."""

    default_js = _assets("leaflet", "webmap_dom_js", "webmap_map_js")
    default_css = _assets("leaflet_css", "webmap_css")


class _ScriptedLayer(Layer, _Scripted):
    def __init__(self, name: str, overlay: bool, show: bool, options: dict):
        super().__init__(name=name, overlay=overlay, control=True, show=show)
        self.options = options


class OfflineBasemap(_ScriptedLayer):
    """Base layer: Iraq, its governorates and districts drawn plainly from ``/api/layers/basemap``."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = webmap.basemap({{ this.options|tojson }});
        {% endmacro %}""")

    URL = "/api/layers/basemap"

    def __init__(self, name: str = "Plain map (offline)", show: bool = True):
        super().__init__(name, overlay=False, show=show, options={"url": self.URL})


class BoundaryOverlay(_ScriptedLayer):
    """An overlay of one shipped boundary layer (``disputed``, ``kri``), fetched when ticked, and
    never before the incidents are first drawn."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = webmap.boundary({{ this.options|tojson }});
        {% endmacro %}""")

    def __init__(self, layer: str, name: str, style: dict, show: bool = True):
        super().__init__(
            name, overlay=True, show=show, options={"url": f"/api/layers/{layer}", "style": style, "layer": layer}
        )


class DistrictChoropleth(_ScriptedLayer):
    """Districts shaded by incidents (or fatalities) of the filter, from ``/api/districts``."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = webmap.choropleth({{ this.options|tojson }});
        {% endmacro %}""")

    def __init__(self, query: str, name: str = "Districts: incidents", show: bool = False):
        super().__init__(name, overlay=True, show=show, options={"url": _with_query("/api/districts", query)})


class IncidentPoints(_Scripted):
    """The incidents of the filter, drawn and clustered in the browser on one canvas; add it before
    the :class:`ForceLayer` s."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = webmap.incidents({{ this._parent.get_name() }}, {{ this.options|tojson }});
        {% endmacro %}""")

    def __init__(self, query: str, forces: list[dict], tiled: bool = False):
        super().__init__()
        self._name = "IncidentPoints"
        self.options = {
            "url": _with_query("/api/points", query),
            "tiled": tiled,
            "tileUrl": "/api/tiles/",
            "summaryUrl": "/api/summary",
            "base": query,
            "detailUrl": "/api/incidents/",
            "layerUrl": "/api/layers/",
            "forces": forces,
            "precision": {str(k): v for k, v in GEO_PRECISION.items()},
        }


class ForcePanel(_Scripted):
    """The forces with a tick each and the number of incidents of the view involving them (drives
    :class:`IncidentPoints`; the ticks are the view's ``force`` parameter)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        webmap.forcePanel({{ this._parent.get_name() }}, {{ this.points.get_name() }});
        {% endmacro %}""")

    def __init__(self, points: IncidentPoints):
        super().__init__()
        self._name = "ForcePanel"
        self.points = points


class TimeSlider(_Scripted):
    """A date slider with playback over the filtered incidents (drives :class:`IncidentPoints`)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        webmap.timeSlider({{ this._parent.get_name() }}, {{ this.points.get_name() }});
        {% endmacro %}""")

    def __init__(self, points: IncidentPoints):
        super().__init__()
        self._name = "TimeSlider"
        self.points = points


class Legend(_Scripted):
    """The legend of the markers: precision (filled, hollow, dashed) and cluster rings; the force
    colours are in the layer control."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        webmap.legend({{ this._parent.get_name() }}, {{ this.options|tojson }});
        {% endmacro %}""")

    def __init__(self):
        super().__init__()
        self._name = "Legend"
        self.options = {"precision": {str(k): v for k, v in GEO_PRECISION.items()}}


def _with_query(url: str, query: str) -> str:
    return f"{url}?{query}" if query else url


def build_map(query: str = "", tiled: bool = False) -> folium.Map:
    """The Folium map of a filtered view: base layers, overlays, the incidents, the forces' panel,
    the time slider and the legend.

    ``query``: the filter's URL query string without its forces and time window (as from
    :meth:`webmap.query.IncidentFilter.to_params` of ``flt.without("forces", "window")``): the map
    loads that filter's incidents and applies the ticks and the window it reads from the page's URL
    itself. The map holds no incident: the browser fetches them, fits the view to them (unless the
    URL names a view) and counts them per force. ``tiled``: the view holds too many incidents to
    send them all; the map asks for the clusters of the tiles on screen (``/api/tiles``) and the
    view's counts (``/api/summary``) instead. Returns a :class:`folium.Map` whose every asset is
    served by the app.
    """
    forces = [{"key": f.key, "label": f.label, "colour": f.colour} for f in FORCES]
    m = folium.Map(
        location=None,
        tiles=None,
        prefer_canvas=True,
        min_zoom=4,
        max_zoom=18,
        zoom_start=7,
        width="100%",
        height="100%",
    )
    m.fit_bounds([[IRAQ.min_lat, IRAQ.min_lon], [IRAQ.max_lat, IRAQ.max_lon]])
    OfflineBasemap().add_to(m)
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap (online)", overlay=False, show=False).add_to(m)
    BoundaryOverlay(
        "disputed",
        "Disputed territories",
        {"color": "#b03a2e", "weight": 2, "dashArray": "6 4", "fillColor": "#b03a2e", "fillOpacity": 0.06},
    ).add_to(m)
    BoundaryOverlay("kri", "Kurdistan Region", {"color": "#8a6d00", "weight": 2, "fill": False}).add_to(m)
    DistrictChoropleth(query).add_to(m)
    points = IncidentPoints(query, forces, tiled)
    points.add_to(m)
    # Start the downloads of what is drawn first while the page is still parsing, not after
    # Leaflet has started; the overlays are fetched once the incidents are drawn.
    for url in ([] if tiled else [points.options["url"]]) + [OfflineBasemap.URL]:
        _figure(m).header.add_child(
            Element(f'<link rel="preload" href="{escape(url)}" as="fetch" crossorigin="anonymous">')
        )
    ForcePanel(points).add_to(m)
    TimeSlider(points).add_to(m)
    Legend().add_to(m)
    # Expanded on a large map; folded to its button where the list would cover the incidents.
    folium.LayerControl(
        collapsed=JsCode(f"webmap.compact({m.get_name()})"),  # type: ignore[arg-type]  # rendered as JS by Folium
        position="topright",
    ).add_to(m)
    use_vendored_assets(m)
    return m


def _figure(m: folium.Map) -> Figure:
    """The Folium map's root figure (with ``header``, ``html`` and ``script``)."""
    root = m.get_root()
    assert isinstance(root, Figure)
    return root


def render_parts(m: folium.Map) -> dict[str, str]:
    """The map's ``header`` (asset links, styles), ``html`` (its ``div``) and ``script``, for a page template."""
    root = _figure(m)
    root.render()
    return {"header": root.header.render(), "html": root.html.render(), "script": root.script.render()}


@lru_cache(maxsize=256)
def map_parts(query: str = "", tiled: bool = False) -> MappingProxyType:
    """:func:`render_parts` of :func:`build_map` for ``query``, rendered once per query string and mode.

    The map holds no data, so a filter's map never changes while the server runs; rendering
    Folium's templates took most of the map page's server time.
    """
    return MappingProxyType(render_parts(build_map(query, tiled)))


# -- boundary layers as GeoJSON for the browser ---------------------------------------------------
@lru_cache(maxsize=32)
def _layer_json(name: str, signature: tuple, geodata_dir: str | None) -> str:
    if name == "basemap":
        return _basemap_json(geodata_dir)
    gdf = spatial.load_layer(name, geodata_dir)
    keep = [c for c in ("pcode", "name", "name_ar", "parent_pcode", "parent_name") if c in gdf.columns]
    out = gdf[keep + [gdf.geometry.name]].copy()
    out["geometry"] = out.geometry.simplify(SIMPLIFY_DEGREES, preserve_topology=True)
    out = out.set_geometry("geometry")
    return out.to_json(drop_id=True, to_wgs84=True)


def _basemap_json(geodata_dir: str | None) -> str:
    # Few features draw fast: the country as one polygon, each admin level's boundaries as one
    # set of lines (an edge shared by two districts once), and governorate names as points.
    adm0 = spatial.load_layer("adm0", geodata_dir)
    adm1 = spatial.load_layer("adm1", geodata_dir)
    adm2 = spatial.load_layer("adm2", geodata_dir)
    country = shapely.union_all(adm0.geometry.values).simplify(SIMPLIFY_DEGREES, preserve_topology=True)
    features = [{"type": "Feature", "properties": {"level": "adm0"}, "geometry": shapely.geometry.mapping(country)}]
    for level, layer in (("adm2", adm2), ("adm1", adm1)):
        lines = shapely.line_merge(shapely.union_all(shapely.boundary(layer.geometry.values))).simplify(
            SIMPLIFY_DEGREES
        )
        features.append(
            {"type": "Feature", "properties": {"level": level}, "geometry": shapely.geometry.mapping(lines)}
        )
    for name, point in zip(adm1["name"], shapely.point_on_surface(adm1.geometry.values), strict=False):
        features.append(
            {
                "type": "Feature",
                "properties": {"level": "label", "name": name},
                "geometry": {"type": "Point", "coordinates": [round(point.x, 5), round(point.y, 5)]},
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":"))


def layer_geojson(name: str, geodata_dir: Path | str | None = None) -> str:
    """One boundary layer (``adm0``, ``adm1``, ``adm2``, ``disputed``, ``kri``), or ``basemap``, as GeoJSON text.

    Geometries are simplified for display (:data:`SIMPLIFY_DEGREES`); properties keep P-codes and
    names. ``basemap`` is one FeatureCollection of the country polygon (``level`` adm0), the
    governorate and district boundaries as lines (adm1, adm2) and the governorates' names as
    points (``level`` label, ``name``). ``geodata_dir``: the user's replacement layers (see
    :func:`webmap.spatial.layer_path`). Unknown names raise ``KeyError``.
    """
    if name != "basemap" and name not in BOUNDARY_LAYERS:
        raise KeyError(name)
    return _layer_json(name, layer_signature(name, geodata_dir), str(geodata_dir) if geodata_dir else None)


def layer_signature(name: str, geodata_dir: Path | str | None = None) -> tuple:
    """:func:`webmap.spatial.layer_signature` of layer ``name``; ``basemap`` stands for its three
    levels. Cache validators of the layer endpoints derive from it.
    """
    levels = BASEMAP_LEVELS if name == "basemap" else (name,)
    return tuple(spatial.layer_signature(level, geodata_dir) for level in levels)


def district_features(counts: dict[str, dict], geodata_dir: Path | str | None = None) -> dict:
    """The district polygons (simplified) as a FeatureCollection, each with ``incidents`` and
    ``fatalities`` from ``counts`` (P-code -> counts, as from :meth:`webmap.mapindex.MapIndex.per_district`)."""
    collection = json.loads(layer_geojson("adm2", geodata_dir))
    for feature in collection["features"]:
        found = counts.get(feature["properties"].get("pcode"), {})
        feature["properties"]["incidents"] = found.get("incidents", 0)
        feature["properties"]["fatalities"] = found.get("fatalities", 0)
    return collection


# -- the compact encoding of the incident points (decoded by decodePoints in static/js/map.js) -----
POINTS_MAGIC = b"WMP2"
POINTS_MEDIA_TYPE = "application/vnd.webmap.points"


@lru_cache(maxsize=8)
def _areas_of_level(level: str, signature: tuple, geodata_dir: str | None) -> dict[str, dict]:
    layer = spatial.load_layer(level, geodata_dir)
    points = shapely.point_on_surface(layer.geometry.values)
    out = {}
    for pcode, name, point, (west, south, east, north) in zip(
        layer["pcode"], layer["name"], points, layer.geometry.bounds.to_numpy(), strict=True
    ):
        out[pcode] = {
            "pcode": pcode,
            "level": level,
            "name": name,
            "point": [round(point.y, 5), round(point.x, 5)],
            "bounds": [[round(south, 5), round(west, 5)], [round(north, 5), round(east, 5)]],
        }
    return out


def area_table(pcodes: list[str], geodata_dir: Path | str | None = None) -> list[dict | None]:
    """What the map draws an area as, for each P-code (a governorate or a district; None for a P-code
    the current layers lack, stored before they were replaced and not re-joined since): ``pcode``,
    ``level`` (``adm1``/``adm2``), ``name``, ``point`` ([lat, lon] inside it, where its symbol goes)
    and ``bounds`` ([[south, west], [north, east]])."""
    folder = str(geodata_dir) if geodata_dir else None
    known: dict[str, dict] = {}
    for level in ("adm1", "adm2"):
        known.update(_areas_of_level(level, spatial.layer_signature(level, geodata_dir), folder))
    return [known.get(pcode) for pcode in pcodes]


def area_column(
    codes: np.ndarray, pcode_of: dict[int, str], geodata_dir: Path | str | None = None
) -> tuple[np.ndarray, list[dict]]:
    """Which area each incident is drawn as, for :func:`encode_points`.

    ``codes``: per incident, the admin number of the district or governorate it is known to (0: it
    is drawn at its point), as from :meth:`webmap.mapindex.MapIndex.point_columns`; ``pcode_of``:
    admin number -> P-code. Returns a uint16 column (0: at its point; k: the area ``table[k - 1]``)
    and the table (see :func:`area_table`).
    """
    present = [int(c) for c in np.unique(codes) if c]
    areas = area_table([pcode_of[c] for c in present], geodata_dir)
    position = np.zeros(max(present, default=0) + 1, dtype="<u2")
    table: list[dict] = []
    for code, area in zip(present, areas, strict=True):
        if area is not None:
            table.append(area)
            position[code] = len(table)
    return position[codes], table


def area_groups(index, selected: np.ndarray, geodata_dir: Path | str | None = None) -> list[dict]:
    """The areas the selected incidents known only to a district or governorate are drawn as, each
    with what :func:`area_table` says of it and ``count``, ``fatalities`` and ``forces`` (the count
    per initiating force, in FORCE_KEYS order) of its incidents. ``index``: a
    :class:`webmap.mapindex.MapIndex`; ``selected`` its selection of the view."""
    codes = index.area_codes()[selected]
    drawn = codes != 0
    codes = codes[drawn]
    present = np.unique(codes)
    if not len(present):
        return []
    at = np.searchsorted(present, codes)
    counts = np.bincount(at, minlength=len(present))
    killed = np.bincount(at, weights=index.fatalities[selected][drawn].astype(np.int64), minlength=len(present))
    forces = np.bincount(at * len(FORCES) + index.force[selected][drawn], minlength=len(present) * len(FORCES)).reshape(
        len(present), len(FORCES)
    )
    groups = []
    for k, area in enumerate(area_table([index.pcode_of[int(c)] for c in present], geodata_dir)):
        if area is not None:
            groups.append({**area, "count": int(counts[k]), "fatalities": int(killed[k]), "forces": forces[k].tolist()})
    return groups


def encode_points(columns: dict[str, np.ndarray], areas: tuple[np.ndarray, list[dict]] | None = None) -> bytes:
    """The map's points as one little-endian binary buffer, 26 bytes an incident before gzip.

    ``columns`` as from :meth:`webmap.mapindex.MapIndex.point_columns` (ids ascending); ``areas`` as from
    :func:`area_column` (None: every incident drawn at its point). Layout: ``WMP2``, uint32 n, then
    n values of each column: uint32 id deltas (so gzip shrinks them to almost nothing), float32
    longitude, float32 latitude (degrees WGS 84, about 1 m resolution), int32 day (days since
    1970-01-01), uint32 fatalities, uint8 force (index into :data:`webmap.forces.FORCE_KEYS` of the
    initiating side's force), uint8 geo_precision, uint16 forces (bit mask of every force
    involved), uint16 area; then uint32 length and the area table as UTF-8 JSON.
    """
    ids = np.asarray(columns["id"], dtype=np.int64)
    deltas = np.diff(ids, prepend=0)
    if len(ids) and deltas.min() < 0:
        raise ValueError("encode_points needs ids in ascending order")
    area, table = areas if areas is not None else (np.zeros(len(ids), dtype="<u2"), [])
    table_json = json.dumps(table, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return b"".join(
        (
            POINTS_MAGIC,
            struct.pack("<I", len(ids)),
            deltas.astype("<u4").tobytes(),
            np.asarray(columns["longitude"], dtype="<f4").tobytes(),
            np.asarray(columns["latitude"], dtype="<f4").tobytes(),
            np.asarray(columns["day"], dtype="<i4").tobytes(),
            np.asarray(columns["fatalities"], dtype="<u4").tobytes(),
            np.asarray(columns["force"], dtype=np.uint8).tobytes(),
            np.asarray(columns["geo_precision"], dtype=np.uint8).tobytes(),
            np.asarray(columns["forces"], dtype="<u2").tobytes(),
            np.asarray(area, dtype="<u2").tobytes(),
            struct.pack("<I", len(table_json)),
            table_json,
        )
    )
