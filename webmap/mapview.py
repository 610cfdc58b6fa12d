"""Builds the Folium map for a filter: where an incident becomes a marker.

The map is a tree of small Folium elements, each owning its bit of JavaScript (in
``webmap/static/js/map.js``) and its assets, all served by the app from ``/static/vendor/``:

- :class:`OfflineBasemap`: the default base layer, drawn in the browser from the shipped layers
  (:func:`basemap_piece`: boundaries, rivers, lakes, place labels per zoom band);
  :class:`OwnBasemap` the user's PMTiles file instead, when ``WEBMAP_BASEMAP`` names one;
  OpenStreetMap tiles are an optional online base layer (:class:`OnlineNotice` says when they cannot
  load); :class:`NameToggle` switches the base maps' names to Arabic.
- :class:`BoundaryOverlay`: the disputed territories and the Kurdistan Region as overlays.
- :class:`DistrictChoropleth`: districts coloured by incidents or fatalities for the filter.
- :class:`IncidentPoints`: the incidents, fetched by the browser from ``/api/points`` in a compact
  binary encoding (never inlined in the page, never one Python object per incident), drawn on one
  canvas and clustered there per view (an incident known only to a district or governorate as its
  area); :class:`ForcePanel` lists the forces with a tick and the count of the view each.
- :class:`TimeSlider` (playback over the dates) and :class:`Legend` (marker precision, cluster rings).
- :class:`Toolbar`: the map's actions ("Add from report").

:func:`build_map` composes them for a filter's query string; it never reads the database (the
incidents reach the browser through the API), so it is tested without one. :func:`encode_points`
is the compact encoding of the incidents; :func:`layer_geojson` and :func:`district_features` turn
the boundary layers into the GeoJSON the browser draws.
"""

from __future__ import annotations

import csv
import json
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import Element, Figure, MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from jinja2 import Template
from markupsafe import escape

from . import spatial
from .config import SHIPPED_GEODATA
from .forces import FORCES
from .io.tiles import TilesetInfo
from .mapindex import Groups, degrees_of, mercator
from .records import GEO_PRECISION, IRAQ, STORED_STATUSES

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
    "protomaps_leaflet": f"{VENDOR_URL}/protomaps-leaflet/protomaps-leaflet.js",
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
BASEMAP_LEVELS = ("adm0", "adm1", "adm2", "adm3")
# The base map's own shipped files in geodata/ (built by scripts/build_basemap.py).
BASEMAP_FILES = {"places": "basemap_places.csv", "rivers": "rivers.geojson", "lakes": "lakes.geojson"}


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
    """Base layer: the shipped offline base map (:func:`basemap_piece`): the country, lakes, rivers,
    boundary lines and the labels of places and areas, per zoom band from ``/api/basemap/``."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = webmap.basemap({{ this.options|tojson }});
        {% endmacro %}""")

    URL = "/api/basemap/"

    def __init__(self, name: str = "Plain map (offline)", show: bool = True):
        bands = [{"minZoom": b.min_zoom, "maxZoom": b.max_zoom, "tileZoom": b.tile_zoom} for b in BASEMAP_BANDS]
        extent = [[IRAQ.min_lat, IRAQ.min_lon], [IRAQ.max_lat, IRAQ.max_lon]]
        super().__init__(name, overlay=False, show=show, options={"url": self.URL, "bands": bands, "extent": extent})


class OwnBasemap(_ScriptedLayer):
    """Base layer: the user's own PMTiles base map (``WEBMAP_BASEMAP``), tile by tile from
    ``/api/basemap/own/``; vector tiles need protomaps-leaflet, which only this layer loads."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = webmap.ownBasemap({{ this.options|tojson }});
        {% endmacro %}""")

    URL = "/api/basemap/own/{z}/{x}/{y}"

    def __init__(self, info: TilesetInfo, name: str = "Your base map (offline)", show: bool = True):
        options = {
            "url": self.URL,
            "vector": info.vector,
            "minZoom": info.min_zoom,
            "maxZoom": info.max_zoom,
            "bounds": info.bounds,
            "attribution": info.attribution,
        }
        super().__init__(name, overlay=False, show=show, options=options)
        if info.vector:
            self.default_js = [*_Scripted.default_js, *_assets("protomaps_leaflet")]


class NameToggle(_Scripted):
    """A tick to draw the base maps' place names in Arabic (``webmap.names``)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        webmap.nameToggle({{ this._parent.get_name() }});
        {% endmacro %}""")

    def __init__(self):
        super().__init__()
        self._name = "NameToggle"


class OnlineNotice(_Scripted):
    """A notice on the map when the online tile layer ``layer`` is chosen and cannot load."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        webmap.onlineNotice({{ this._parent.get_name() }}, {{ this.layer.get_name() }});
        {% endmacro %}""")

    def __init__(self, layer: folium.TileLayer):
        super().__init__()
        self._name = "OnlineNotice"
        self.layer = layer


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


class ControlPanel(_Scripted):
    """The one panel the layer list, the forces, the legend and the districts' shading scale are
    gathered in (added last), open by default only where it leaves 75% of the map clear."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        webmap.controlPanel({{ this._parent.get_name() }});
        {% endmacro %}"""
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "ControlPanel"


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


class Toolbar(_Scripted):
    """The map's own actions: "Add from report", a link to the extraction page for those who may
    write, greyed with the reason for the others (read from the page: the map is the same for all)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        webmap.toolbar({{ this._parent.get_name() }});
        {% endmacro %}""")

    def __init__(self):
        super().__init__()
        self._name = "Toolbar"


def _with_query(url: str, query: str) -> str:
    return f"{url}?{query}" if query else url


def build_map(query: str = "", tiled: bool = False, own_basemap: TilesetInfo | None = None) -> folium.Map:
    """The Folium map of a filtered view: base layers, overlays, the incidents, the forces' panel,
    the time slider and the legend.

    ``query``: the filter's URL query string without its forces and time window (as from
    :meth:`webmap.query.IncidentFilter.to_params` of ``flt.without("forces", "window")``): the map
    loads that filter's incidents and applies the ticks and the window it reads from the page's URL
    itself. The map holds no incident: the browser fetches them, fits the view to them (unless the
    URL names a view) and counts them per force. ``tiled``: the view holds too many incidents to
    send them all; the map asks for the clusters of the tiles on screen (``/api/tiles``) and the
    view's counts (``/api/summary``) instead. ``own_basemap``: the user's PMTiles base map
    (``WEBMAP_BASEMAP``), then the default base layer. Returns a :class:`folium.Map` whose every asset is
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
    # Not animated: on a phone's map the zoom from Folium's opening zoom 1 is short enough to animate,
    # and Leaflet ignores any other view asked for meanwhile (a shared link's, the incidents').
    iraq = folium.FitBounds([[IRAQ.min_lat, IRAQ.min_lon], [IRAQ.max_lat, IRAQ.max_lon]])
    iraq.options["animate"] = False
    iraq.add_to(m)
    if own_basemap is not None:
        OwnBasemap(own_basemap).add_to(m)
    OfflineBasemap(show=own_basemap is None).add_to(m)
    online = folium.TileLayer("OpenStreetMap", name="OpenStreetMap (online)", overlay=False, show=False)
    online.add_to(m)
    OnlineNotice(online).add_to(m)
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
    for url in ([] if tiled else [points.options["url"]]) + ([] if own_basemap else [f"{OfflineBasemap.URL}0"]):
        _figure(m).header.add_child(
            Element(f'<link rel="preload" href="{escape(url)}" as="fetch" crossorigin="anonymous">')
        )
    ForcePanel(points).add_to(m)
    TimeSlider(points).add_to(m)
    Legend().add_to(m)
    Toolbar().add_to(m)
    NameToggle().add_to(m)
    # Expanded inside the one panel of layers and legends, which folds as a whole.
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    ControlPanel().add_to(m)
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
def map_parts(query: str = "", tiled: bool = False, own_basemap: TilesetInfo | None = None) -> MappingProxyType:
    """:func:`render_parts` of :func:`build_map`, rendered once per query string, mode and base map.

    The map holds no data, so a filter's map never changes while the server runs; rendering
    Folium's templates took most of the map page's server time.
    """
    return MappingProxyType(render_parts(build_map(query, tiled, own_basemap)))


# -- boundary layers as GeoJSON for the browser ---------------------------------------------------
@lru_cache(maxsize=32)
def _layer_json(name: str, signature: tuple, geodata_dir: str | None) -> str:
    gdf = spatial.load_layer(name, geodata_dir)
    keep = [c for c in ("pcode", "name", "name_ar", "parent_pcode", "parent_name") if c in gdf.columns]
    out = gdf[keep + [gdf.geometry.name]].copy()
    if "pcode" in keep and "name" in keep:
        out.insert(
            2, "display_name", [spatial.display_name(p, n) for p, n in zip(out["pcode"], out["name"], strict=True)]
        )
    out["geometry"] = out.geometry.simplify(SIMPLIFY_DEGREES, preserve_topology=True)
    out = out.set_geometry("geometry")
    return out.to_json(drop_id=True, to_wgs84=True)


def layer_geojson(name: str, geodata_dir: Path | str | None = None) -> str:
    """One boundary layer (``adm0``, ``adm1``, ``adm2``, ``disputed``, ``kri``) as GeoJSON text.

    Geometries are simplified for display (:data:`SIMPLIFY_DEGREES`); properties keep P-codes and
    names, and an admin level's areas add ``display_name`` (:func:`webmap.spatial.display_name`).
    ``geodata_dir``: the user's replacement layers (see :func:`webmap.spatial.layer_path`). Unknown
    names raise ``KeyError``.
    """
    if name not in BOUNDARY_LAYERS:
        raise KeyError(name)
    return _layer_json(name, layer_signature(name, geodata_dir), str(geodata_dir) if geodata_dir else None)


def layer_signature(name: str, geodata_dir: Path | str | None = None) -> tuple:
    """:func:`webmap.spatial.layer_signature` of layer ``name``, as a tuple of one; ``basemap``
    stands for the boundary levels the offline base map draws. Cache validators derive from it."""
    levels = BASEMAP_LEVELS if name == "basemap" else (name,)
    return tuple(spatial.layer_signature(level, geodata_dir) for level in levels)


# -- the offline base map: simplified layers per zoom band, the detailed bands cut into tiles -------
@dataclass(frozen=True)
class BasemapBand:
    """The offline base map between two zooms: its lines simplified by ``simplify`` degrees (0: as
    shipped), served whole (``tile_zoom`` None) or in the Web Mercator tiles of ``tile_zoom``."""

    min_zoom: int
    max_zoom: int
    tile_zoom: int | None
    simplify: float
    lines: tuple[str, ...]


# A band's tolerance is about a pixel at its highest zoom; the bands past the country's view are
# tiled so that a view of a province or a town loads tens of kilobytes, not the whole country.
BASEMAP_BANDS = (
    BasemapBand(0, 7, None, 0.004, ("country", "adm2", "adm1", "rivers")),
    BasemapBand(8, 9, 7, 0.0015, ("country", "adm3", "adm2", "adm1", "rivers")),
    BasemapBand(10, 11, 8, 0.0004, ("country", "adm3", "adm2", "adm1", "rivers")),
    BasemapBand(12, 18, 9, 0.0, ("country", "adm3", "adm2", "adm1", "rivers")),
)
# Label kinds in the order labels are placed when they collide, each with the zooms it is shown at.
# Places (geodata/basemap_places.csv) have the kinds of scripts/build_basemap.py; areas are named
# from the boundary layers (governorate, district, sub-district).
LABEL_KINDS = {
    "city": (6, 18),
    "governorate": (5, 8),
    "seat": (8, 18),
    "district": (9, 10),
    "town": (10, 18),
    "landmark": (10, 18),
    "village": (11, 18),
    "subdistrict": (11, 12),
    "locality": (13, 18),
    "ruin": (13, 18),
}
AREA_LABELS = {"adm1": "governorate", "adm2": "district", "adm3": "subdistrict"}
_KIND_RANK = 1_000_000  # a label's rank: its kind's position times this, plus its order within the kind
COORDINATE_DECIMALS = 5
# Tiles are cut this share of a tile wider on each side, so fills and lines of neighbours overlap.
TILE_OVERLAP = 0.01


@lru_cache(maxsize=4)
def _basemap_sources(signature: tuple, geodata_dir: str | None) -> dict:
    """The base map's geometries at full detail (Shapely) and its labels, for the boundary layers of ``signature``."""
    layers = {level: spatial.load_layer(level, geodata_dir) for level in BASEMAP_LEVELS}
    land = shapely.union_all(layers["adm0"].geometry.values)
    sources = {
        "land": land,
        "lakes": shapely.union_all(_shipped_layer("lakes").geometry.values),
        "country": shapely.boundary(land),
        "rivers": shapely.union_all(_shipped_layer("rivers").geometry.values),
    }
    for level in AREA_LABELS:
        sources[level] = shapely.line_merge(shapely.union_all(shapely.boundary(layers[level].geometry.values)))
    labels = []
    for level, kind in AREA_LABELS.items():
        layer = layers[level]
        points = shapely.point_on_surface(layer.geometry.values)
        order = np.argsort(-shapely.area(layer.geometry.values), kind="stable")  # the larger area first
        for within, i in enumerate(order):
            # Governorates and districts by the names people use (webmap.spatial.display_name).
            name = spatial.display_name(str(layer["pcode"].iat[i]), str(layer["name"].iat[i]))
            labels.append(_label(points[i].x, points[i].y, name, layer["name_ar"].iat[i], kind, within))
    for row in _shipped_places():
        labels.append(
            _label(
                float(row["longitude"]),
                float(row["latitude"]),
                row["name"],
                row["name_ar"],
                row["kind"],
                int(row["priority"]),
            )
        )
    labels.sort(key=lambda label: label[-1])
    sources["labels"] = labels
    return sources


def _label(lon: float, lat: float, name, name_ar, kind: str, within: int) -> list:
    """A label as the browser draws it (see :func:`basemap_piece`); ``within``: its order in its kind."""
    low, high = LABEL_KINDS[kind]
    rank = list(LABEL_KINDS).index(kind) * _KIND_RANK + within
    return [
        round(lon, COORDINATE_DECIMALS),
        round(lat, COORDINATE_DECIMALS),
        str(name),
        str(name_ar or ""),
        kind,
        low,
        high,
        rank,
    ]


@lru_cache(maxsize=2)
def _shipped_layer(key: str) -> gpd.GeoDataFrame:
    return gpd.read_file(SHIPPED_GEODATA / BASEMAP_FILES[key])


@lru_cache(maxsize=1)
def _shipped_places() -> tuple[dict, ...]:
    with (SHIPPED_GEODATA / BASEMAP_FILES["places"]).open(encoding="utf-8", newline="") as f:
        return tuple(csv.DictReader(f))


@lru_cache(maxsize=len(BASEMAP_BANDS) * 2)
def _band_sources(band: int, signature: tuple, geodata_dir: str | None) -> dict:
    """The sources simplified for ``band``, and its labels (those shown at one of its zooms)."""
    spec = BASEMAP_BANDS[band]
    full = _basemap_sources(signature, geodata_dir)
    out = {}
    for key in ("land", "lakes", *spec.lines):
        geometry = full[key]
        out[key] = shapely.simplify(geometry, spec.simplify, preserve_topology=True) if spec.simplify else geometry
    shown = [i for i, label in enumerate(full["labels"]) if label[5] <= spec.max_zoom and label[6] >= spec.min_zoom]
    out["labels"] = [full["labels"][i] for i in shown]
    if spec.tile_zoom is not None:
        lonlat = np.array([label[:2] for label in out["labels"]], dtype=float).reshape(-1, 2)
        out["label_tiles"] = _tile_of(spec.tile_zoom, lonlat[:, 0], lonlat[:, 1])
    return out


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """``(west, south, east, north)`` in degrees of the Web Mercator tile ``z/x/y``."""
    n = 2**z
    (west, east), (south, north) = degrees_of([x / n, (x + 1) / n], [(y + 1) / n, y / n])
    return float(west), float(south), float(east), float(north)


def _tile_of(z: int, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The column and row of the Web Mercator tiles of zoom ``z`` holding each point (one tile each)."""
    n = 2**z
    x, y = mercator(lon, lat)
    return np.clip(np.floor(x * n), 0, n - 1).astype(int), np.clip(np.floor(y * n), 0, n - 1).astype(int)


def _flat(geometry) -> list[list[int]]:
    """Each line of a (multi)line, or each ring of a (multi)polygon, as whole 1e-5 degrees: the
    first point's ``lon, lat``, then each point's difference from the one before (a third of the
    bytes of plain coordinates, and quicker for the browser to read)."""
    parts = shapely.get_parts(geometry)
    if len(parts) and shapely.get_type_id(parts[0]) == 3:  # polygons: their rings
        parts = shapely.get_rings(parts)
    coords, index = shapely.get_coordinates(parts, return_index=True)
    coords = np.round(coords * 10**COORDINATE_DECIMALS).astype(np.int64)
    cuts = np.flatnonzero(np.diff(index)) + 1
    return [np.diff(piece, axis=0, prepend=0).ravel().tolist() for piece in np.split(coords, cuts) if len(piece) > 1]


@lru_cache(maxsize=512)
def _basemap_piece(band: int, tile: tuple[int, int] | None, signature: tuple, geodata_dir: str | None) -> str:
    spec = BASEMAP_BANDS[band]
    sources = _band_sources(band, signature, geodata_dir)
    labels = sources["labels"]
    clip = None
    if tile is not None:
        assert spec.tile_zoom is not None
        west, south, east, north = tile_bounds(spec.tile_zoom, *tile)
        tx, ty = sources["label_tiles"]
        labels = [label for label, keep in zip(labels, (tx == tile[0]) & (ty == tile[1]), strict=True) if keep]
        pad_x, pad_y = (east - west) * TILE_OVERLAP, (north - south) * TILE_OVERLAP
        clip = (west - pad_x, south - pad_y, east + pad_x, north + pad_y)
    piece: dict = {
        "band": band,
        "tile": list(tile) if tile else None,
        "fills": {},
        "lines": {},
        "kinds": LABEL_KINDS,
        "labels": [[*label[:5], label[7]] for label in labels],
    }
    for key in ("land", "lakes", *spec.lines):
        geometry = sources[key] if clip is None else shapely.clip_by_rect(sources[key], *clip)
        (piece["fills"] if key in ("land", "lakes") else piece["lines"])[key] = _flat(geometry)
    return json.dumps(piece, ensure_ascii=False, separators=(",", ":"))


def check_basemap_piece(band: int, tile: tuple[int, int] | None) -> None:
    """``KeyError`` saying why, for a band that does not exist, a tile of an untiled band, no tile of
    a tiled one, or a tile outside the world."""
    if not 0 <= band < len(BASEMAP_BANDS):
        raise KeyError(f"no base map band {band} (0..{len(BASEMAP_BANDS) - 1})")
    tile_zoom = BASEMAP_BANDS[band].tile_zoom
    if tile_zoom is None and tile is not None:
        raise KeyError(f"base map band {band} is one piece, not tiles")
    if tile_zoom is not None and tile is None:
        raise KeyError(f"base map band {band} is cut into tiles of zoom {tile_zoom}")
    if tile is not None and tile_zoom is not None and not all(0 <= v < 2**tile_zoom for v in tile):
        raise KeyError(f"no tile {tile[0]}/{tile[1]} at zoom {tile_zoom}")


def basemap_piece(band: int, tile: tuple[int, int] | None = None, geodata_dir: Path | str | None = None) -> str:
    """One piece of the offline base map as JSON text: all of ``band`` (an index of
    :data:`BASEMAP_BANDS` whose ``tile_zoom`` is None) or its tile ``(x, y)``.

    ``{"band", "tile", "fills": {"land", "lakes"}, "lines": {"country", "adm1", ...}, "kinds",
    "labels"}``: fills as rings and lines as whole 1e-5 degrees, the first point then differences
    (:func:`_flat`); labels as ``[lon, lat, name, Arabic name or "", kind, rank]`` (degrees, 5
    decimals) in rank order, each in the one tile its point lies in; ``kinds`` gives each kind's
    zooms (:data:`LABEL_KINDS`). ``KeyError`` as :func:`check_basemap_piece` says.
    """
    check_basemap_piece(band, tile)
    folder = str(geodata_dir) if geodata_dir else None
    return _basemap_piece(band, tuple(tile) if tile else None, layer_signature("basemap", geodata_dir), folder)


def district_features(counts: dict[str, dict], geodata_dir: Path | str | None = None) -> dict:
    """The district polygons (simplified, with their :func:`layer_geojson` properties) as a
    FeatureCollection, each with ``incidents``, ``fatalities`` (the known figures) and ``no_figure``
    (incidents without one) from ``counts`` (P-code -> counts, as from
    :meth:`webmap.mapindex.MapIndex.per_district`)."""
    collection = json.loads(layer_geojson("adm2", geodata_dir))
    for feature in collection["features"]:
        found = counts.get(feature["properties"].get("pcode"), {})
        for name in ("incidents", "fatalities", "no_figure"):
            feature["properties"][name] = found.get(name, 0)
    return collection


# -- the compact encoding of the incident points (decoded by decodePoints in static/js/map.js) -----
POINTS_MAGIC = b"WMP3"
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
            "name": spatial.display_name(pcode, name),
            "point": [round(point.y, 5), round(point.x, 5)],
            "bounds": [[round(south, 5), round(west, 5)], [round(north, 5), round(east, 5)]],
        }
    return out


def area_table(pcodes: list[str], geodata_dir: Path | str | None = None) -> list[dict | None]:
    """What the map draws an area as, for each P-code (a governorate or a district; None for a P-code
    the current layers lack, stored before they were replaced and not re-joined since): ``pcode``,
    ``level`` (``adm1``/``adm2``), ``name`` (the one people use), ``point`` ([lat, lon] inside it,
    where its symbol goes) and ``bounds`` ([[south, west], [north, east]])."""
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


def area_groups(
    groups: Groups, selected: np.ndarray, pcode_of: dict[int, str], geodata_dir: Path | str | None = None
) -> list[dict]:
    """The areas the selected incidents known only to a district or governorate are drawn as, each
    with what :func:`area_table` says of it and ``count``, ``fatalities`` (the known figures),
    ``no_figure`` (incidents without one) and ``forces`` (the count per initiating force, in
    FORCE_KEYS order) of its incidents. ``groups``: a :class:`webmap.mapindex.Groups` and
    ``selected`` its selection of the view (as from :meth:`webmap.mapindex.MapIndex.groups_of`);
    ``pcode_of`` translates its admin numbers."""
    codes = groups.area_codes()[selected]
    drawn = codes != 0
    codes = codes[drawn]
    present = np.unique(codes)
    if not len(present):
        return []
    at = np.searchsorted(present, codes)

    def added(values: np.ndarray) -> np.ndarray:
        return np.bincount(at, weights=values[selected][drawn], minlength=len(present)).astype(np.int64)

    counts, killed, unknown = added(groups.count), added(groups.killed), added(groups.no_figure)
    forces = np.bincount(
        at * len(FORCES) + groups.force[selected][drawn],
        weights=groups.count[selected][drawn],
        minlength=len(present) * len(FORCES),
    )
    forces = forces.astype(np.int64).reshape(len(present), len(FORCES))
    drawn_areas = []
    for k, area in enumerate(area_table([pcode_of[int(c)] for c in present], geodata_dir)):
        if area is not None:
            drawn_areas.append(
                {
                    **area,
                    "count": int(counts[k]),
                    "fatalities": int(killed[k]),
                    "no_figure": int(unknown[k]),
                    "forces": forces[k].tolist(),
                }
            )
    return drawn_areas


def encode_points(columns: dict[str, np.ndarray], areas: tuple[np.ndarray, list[dict]] | None = None) -> bytes:
    """The map's points as one little-endian binary buffer, 27 bytes an incident before gzip.

    ``columns`` as from :meth:`webmap.mapindex.MapIndex.point_columns` (ids ascending); ``areas`` as from
    :func:`area_column` (None: every incident drawn at its point). Layout: ``WMP3``, uint32 n, then
    n values of each column: uint32 id deltas (so gzip shrinks them to almost nothing), float32
    longitude, float32 latitude (degrees WGS 84, about 1 m resolution), int32 day (days since
    1970-01-01), uint32 fatalities (0xFFFFFFFF: the source gives no figure), uint8 force (index
    into :data:`webmap.forces.FORCE_KEYS` of the initiating side's force), uint8 geo_precision,
    uint16 forces (bit mask of every force involved), uint16 area, uint8 draft (1: a draft, drawn
    apart; from ``columns["status"]``, the index into :data:`webmap.records.STORED_STATUSES`, when
    given); then uint32 length and the area table as UTF-8 JSON.
    """
    ids = np.asarray(columns["id"], dtype=np.int64)
    deltas = np.diff(ids, prepend=0)
    if len(ids) and deltas.min() < 0:
        raise ValueError("encode_points needs ids in ascending order")
    area, table = areas if areas is not None else (np.zeros(len(ids), dtype="<u2"), [])
    status = columns.get("status")
    draft = np.zeros(len(ids), dtype=bool) if status is None else np.asarray(status) == STORED_STATUSES.index("draft")
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
            draft.astype(np.uint8).tobytes(),
            struct.pack("<I", len(table_json)),
            table_json,
        )
    )
