/* webmap's map in the browser: the Leaflet side of webmap/mapview.py.
 *
 * Each Folium element of mapview.py renders one call into `webmap` (basemap, boundary,
 * choropleth, incidents, forcePanel, timeSlider, legend). The incidents arrive once per filter
 * from /api/points as a compact binary buffer (webmap.mapview.encode_points: about 6 bytes an
 * incident after gzip) and are drawn on one canvas, grouped per view into clusters by a screen
 * grid, so 100,000 incidents cost one download and a zoom, pan, force toggle or time step one pass
 * over typed arrays.
 *
 * One view state (webmap.view): the filter of the page, the forces ticked and the time window, all
 * in the URL's query string (the map's position in its fragment). The map applies the ticks and the
 * window itself; the table, the chart, the district shading, the counts and the downloads ask the
 * server with the same query string, so every part shows the same incidents.
 *
 * Every string that comes from the database is put into the page with textContent, never as HTML.
 */
(function () {
  "use strict";

  var webmap = (window.webmap = window.webmap || {});
  var DAY_MS = 86400000;
  var MAGIC = 0x33504d57; // "WMP3", little-endian
  var DRAFT_RING = "#222";

  // ---------------------------------------------------------------- small helpers
  var el = webmap.el; // from dom.js, loaded before this file

  webmap.isoDay = function (day) {
    return new Date(day * DAY_MS).toISOString().slice(0, 10);
  };

  // A JSON answer; a refusal throws the server's own message (which names the parameter), or the status.
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (response) {
      if (response.ok) return response.json();
      return response.json().catch(function () { return {}; }).then(function (body) {
        throw new Error(body.error || url + ": HTTP " + response.status);
      });
    });
  }
  webmap.getJSON = getJSON;

  // A count with thousands separators ("12,345"). Not Intl.NumberFormat: building one loads the
  // locale data, about 15 ms of the main thread before the first picture.
  webmap.formatNumber = function (n) {
    return String(Math.round(n)).replace(/\B(?=(\d{3})+$)/g, ",");
  };

  // The fatalities of an incident whose source gives no figure, as /api/points packs them: never added up.
  var NO_FIGURE = 0xffffffff;

  /* "1,204 killed (3 incidents without a figure)": the known figures of a group added up, and how
   * many of its incidents had none (those are not counted as 0). */
  webmap.killedText = function (killed, noFigure) {
    var text = webmap.formatNumber(killed) + " killed";
    if (noFigure) text += " (" + webmap.formatNumber(noFigure) + (noFigure === 1 ? " incident" : " incidents") + " without a figure)";
    return text;
  };

  // ---------------------------------------------------------------- the view state
  /* The state every part of the page follows, in the URL's query string: the page's filter (the
   * server's, `base`: changing it loads the page anew) plus the forces ticked (`force`) and the
   * time window (`window=FIRST/LAST`), which the page applies without reloading. */
  function View(base, forceKeys) {
    this.base = base; // the filter's query string without force and window, as the server wrote it
    this.forceKeys = forceKeys;
    this._listeners = [];
    this._read();
  }
  View.prototype._read = function () {
    var params = new URLSearchParams(window.location.search);
    var forces = [];
    params.getAll("force").forEach(function (v) { forces = forces.concat(v.split(",")); });
    this.forces = forces.filter(Boolean).length ? forces.filter(Boolean) : null; // null: every force
    var w = /^(\d{4}-\d{2}-\d{2})\/(\d{4}-\d{2}-\d{2})$/.exec(params.get("window") || "");
    this.window = w ? [dayOf(w[1]), dayOf(w[2])] : null;
  };
  // The query string of the whole state (filter, ticks, window), for the API and the downloads.
  View.prototype.query = function () {
    var params = new URLSearchParams(this.base);
    if (this.forces) params.set("force", this.forces.join(","));
    if (this.window) params.set("window", webmap.isoDay(this.window[0]) + "/" + webmap.isoDay(this.window[1]));
    return params.toString();
  };
  View.prototype.url = function (path, extra) {
    var params = new URLSearchParams(this.query());
    Object.keys(extra || {}).forEach(function (k) {
      if (extra[k] === null || extra[k] === undefined) params.delete(k);
      else params.set(k, extra[k]);
    });
    var qs = params.toString();
    return qs ? path + "?" + qs : path;
  };
  View.prototype.shows = function (key) {
    return !this.forces || this.forces.indexOf(key) >= 0;
  };
  /* Change the ticks and/or the window: the URL follows (a new history entry, or with `replace` the
   * current one, for a slider being dragged or played), then every listener. */
  View.prototype.set = function (change, replace) {
    if ("forces" in change) {
      var on = change.forces;
      this.forces = on && on.length < this.forceKeys.length ? this.forceKeys.filter(function (k) { return on.indexOf(k) >= 0; }) : null;
    }
    if ("window" in change) this.window = change.window;
    var url = window.location.pathname + (this.query() ? "?" + this.query() : "") + window.location.hash;
    if (url !== window.location.pathname + window.location.search + window.location.hash) {
      history[replace ? "replaceState" : "pushState"](history.state, "", url);
    }
    this._fire();
  };
  View.prototype.onChange = function (listener) { this._listeners.push(listener); };
  View.prototype._fire = function () {
    var self = this;
    this._listeners.forEach(function (listener) { listener(self); });
  };
  // Back, forward or an edited address: the filter changed means a new page; else apply the state.
  View.prototype.followHistory = function () {
    var self = this;
    window.addEventListener("popstate", function () {
      var params = new URLSearchParams(window.location.search);
      params.delete("force");
      params.delete("window");
      if (params.toString() !== new URLSearchParams(self.base).toString()) { window.location.reload(); return; }
      self._read();
      self._fire();
    });
  };

  function dayOf(iso) {
    return Math.round(Date.parse(iso + "T00:00:00Z") / DAY_MS);
  }
  webmap.dayOf = dayOf;

  // "2019-09-12" as its precision says it: the day, "week of 2019-09-09" (its Monday), "September 2019".
  var MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December"];
  webmap.dateText = function (iso, timePrecision) {
    if (timePrecision === 2) {
      var day = dayOf(iso), weekday = (new Date(day * DAY_MS).getUTCDay() + 6) % 7;
      return "week of " + webmap.isoDay(day - weekday);
    }
    if (timePrecision === 3) return MONTHS[+iso.slice(5, 7) - 1] + " " + iso.slice(0, 4);
    return iso;
  };

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }
  webmap.debounce = debounce;

  // The map's extent as the API's bbox parameter (west,south,east,north, 5 decimals, clamped to the world).
  webmap.extentParam = function (map) {
    var b = map.getBounds();
    function clamp(v, lo, hi) { return Math.min(hi, Math.max(lo, v)); }
    return [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -90, 90), clamp(b.getEast(), -180, 180),
            clamp(b.getNorth(), -90, 90)].map(function (v) { return v.toFixed(5); }).join(",");
  };

  function formatCount(n) {
    if (n >= 10000) return Math.round(n / 1000) + "k";
    if (n >= 1000) return (n / 1000).toFixed(1) + "k";
    return String(n);
  }

  function ensurePane(map, name, zIndex) {
    if (!map.getPane(name)) {
      var pane = map.createPane(name);
      pane.style.zIndex = String(zIndex);
    }
    return name;
  }

  // Settled once the incidents and the base map are first on screen (or the incidents failed):
  // the overlays wait for it, so they never delay the first picture.
  var releaseOverlays;
  var overlaysMayLoad = new Promise(function (resolve) { releaseOverlays = resolve; });

  /* A layer whose GeoJSON is fetched the first time it is shown (so unticked overlays cost nothing);
   * with `afterFirstDraw`, not before the incidents are drawn. */
  var LazyGeoJSON = L.LayerGroup.extend({
    initialize: function (url, makeLayer, afterFirstDraw) {
      L.LayerGroup.prototype.initialize.call(this, []);
      this._url = url;
      this._makeLayer = makeLayer;
      this._loading = null;
      this.afterFirstDraw = !!afterFirstDraw;
    },
    onAdd: function (map) {
      L.LayerGroup.prototype.onAdd.call(this, map);
      var self = this;
      if (!this._loading) {
        var start = this.afterFirstDraw ? overlaysMayLoad : Promise.resolve();
        this._loading = start.then(function () { return getJSON(self.url()); }).then(function (data) {
          self.addLayer(self._makeLayer(data, map));
          self.fire("load");
          return self;
        });
      }
    },
    whenLoaded: function () {
      return this._loading || Promise.resolve(this);
    },
    url: function () {
      return typeof this._url === "function" ? this._url() : this._url;
    },
  });

  // ---------------------------------------------------------------- base maps
  /* Which names the base maps draw: "en" (the gazetteer's name) or "ar" (its Arabic name where it
   * has one), chosen with webmap.nameToggle and kept in the browser. */
  var NAMES_KEY = "webmap-names";
  webmap.names = {
    lang: (function () {
      try { return window.localStorage.getItem(NAMES_KEY) === "ar" ? "ar" : "en"; } catch { return "en"; }
    })(),
    _listeners: [],
    set: function (lang) {
      this.lang = lang === "ar" ? "ar" : "en";
      try { window.localStorage.setItem(NAMES_KEY, this.lang); } catch { /* private mode: this page only */ }
      this._listeners.forEach(function (listener) { listener(); });
    },
    onChange: function (listener) { this._listeners.push(listener); },
  };

  webmap.nameToggle = function (map) {
    var Toggle = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        var box = el("label", "wm-panel wm-names");
        var input = el("input");
        input.type = "checkbox";
        input.checked = webmap.names.lang === "ar";
        input.addEventListener("change", function () { webmap.names.set(input.checked ? "ar" : "en"); });
        L.DomEvent.disableClickPropagation(box);
        box.appendChild(input);
        box.appendChild(el("span", null, " Arabic names"));
        box.title = "Place names on the base map in Arabic (where the gazetteer has them)";
        return box;
      },
    });
    return new Toggle().addTo(map);
  };

  /* The offline base map (webmap.mapview.basemap_piece): per zoom band, the country and its lakes
   * (fills), rivers and the boundaries of the country, governorates, districts and sub-districts
   * (lines), and labels of places and areas. Band 0 comes with the page; a band is fetched when the
   * map first reaches its zooms, a tiled band tile by tile for the view. Everything is drawn on one
   * canvas under the overlays and the incidents (a Leaflet canvas renderer: it keeps the padding
   * and the zoom animation), redrawn once per move: between moves the browser only shifts it. Labels
   * are placed in rank order and one that would overlap a placed label is left out. Names come from a
   * crowd-edited gazetteer: they are drawn with fillText, as text, never parsed as markup. */
  var LAND = "#f7f4ec", WATER = "#b9d3e8", RIVER = "#8db4d6";
  // Drawn in this order, each with its colour, width (px) and dash per zoom.
  var LINE_STYLES = [
    ["rivers", function (z) { return { color: RIVER, width: z < 8 ? 0.8 : z < 11 ? 1.2 : 1.8 }; }],
    ["adm3", function (z) { return { color: "#d8d1c4", width: z < 11 ? 0.5 : 0.8, dash: [4, 3] }; }],
    ["adm2", function (z) { return { color: z < 8 ? "#d6d0c4" : "#bdb5a6", width: z < 8 ? 0.6 : 1 }; }],
    ["adm1", function (z) { return { color: "#9b9488", width: z < 8 ? 1 : 1.6 }; }],
    ["country", function () { return { color: "#6f6f6f", width: 1.4 }; }],
  ];
  // Per label kind: font, colour, a dot at the place (places) or the name centred on the area (areas).
  var LABEL_STYLES = {
    city: { font: "bold 13px system-ui, sans-serif", size: 13, color: "#222", dot: 3 },
    seat: { font: "600 12px system-ui, sans-serif", size: 12, color: "#2b2b2b", dot: 2.5 },
    town: { font: "12px system-ui, sans-serif", size: 12, color: "#333", dot: 2 },
    village: { font: "11px system-ui, sans-serif", size: 11, color: "#444", dot: 1.5 },
    locality: { font: "10px system-ui, sans-serif", size: 10, color: "#555", dot: 1.5 },
    ruin: { font: "italic 10px system-ui, sans-serif", size: 10, color: "#7a7a7a", dot: 1.5 },
    landmark: { font: "italic 11px system-ui, sans-serif", size: 11, color: "#5d5444", dot: 1.5 },
    governorate: { font: "600 12px system-ui, sans-serif", size: 12, color: "#7d7466", upper: true },
    district: { font: "600 11px system-ui, sans-serif", size: 11, color: "#8c8375", upper: true },
    subdistrict: { font: "italic 11px system-ui, sans-serif", size: 11, color: "#8c8375" },
  };
  // No glyph of these fonts is narrower than this many ems: a name's box from its length alone lies
  // inside its real box, so a name that collides even so is skipped unmeasured (measuring text is
  // what costs the most when a view with thousands of village names is first drawn).
  var NARROWEST_EM = 0.25;
  var LABEL_GAP = 3; // px kept free around every label
  // The canvas reaches this share of the view beyond each edge, so a drag shows a drawn map.
  var PADDING = 0.3;
  var LABEL_MARGIN = 0.1; // names are placed this share of the view beyond its edges (the rest of the margin has none)
  var GRID_PX = 64; // cell size of the collision index

  // A line or ring as served (whole 1e-5 degrees: the first point, then differences), in Web Mercator.
  function preparePath(deltas) {
    var xy = new Float64Array(deltas.length), x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    var lon = 0, lat = 0;
    for (var i = 0; i < deltas.length; i += 2) {
      lon += deltas[i];
      lat += deltas[i + 1];
      var x = (xy[i] = mercatorX(lon / 1e5)), y = (xy[i + 1] = mercatorY(lat / 1e5));
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
    return { xy: xy, box: [x0, y0, x1, y1] };
  }

  // A piece as served, its coordinates projected to Web Mercator (0..1) once.
  function preparePiece(raw) {
    var piece = { band: raw.band, fills: {}, lines: {}, labels: [] };
    Object.keys(raw.fills).forEach(function (k) { piece.fills[k] = raw.fills[k].map(preparePath); });
    Object.keys(raw.lines).forEach(function (k) { piece.lines[k] = raw.lines[k].map(preparePath); });
    piece.labels = raw.labels.map(function (l) {
      var zooms = raw.kinds[l[4]];
      return { x: mercatorX(l[0]), y: mercatorY(l[1]), name: l[2], nameAr: l[3], kind: l[4], min: zooms[0], max: zooms[1],
               rank: l[5] };
    });
    return piece;
  }

  // Placed label boxes, bucketed by screen cell, to find an overlap without comparing with every label.
  function Collisions() { this.cells = {}; }
  Collisions.prototype._each = function (box, fn) {
    for (var gx = Math.floor(box[0] / GRID_PX); gx <= Math.floor(box[2] / GRID_PX); gx++) {
      for (var gy = Math.floor(box[1] / GRID_PX); gy <= Math.floor(box[3] / GRID_PX); gy++) {
        if (fn(gx + ":" + gy)) return true;
      }
    }
    return false;
  };
  Collisions.prototype.hits = function (box) {
    var cells = this.cells;
    return this._each(box, function (key) {
      return (cells[key] || []).some(function (o) { return box[0] < o[2] && o[0] < box[2] && box[1] < o[3] && o[1] < box[3]; });
    });
  };
  Collisions.prototype.add = function (box) {
    var cells = this.cells;
    this._each(box, function (key) { (cells[key] = cells[key] || []).push(box); });
  };

  var BasemapCanvas = L.Canvas.extend({
    initialize: function (options, first) {
      L.Canvas.prototype.initialize.call(this, { pane: options.pane, padding: PADDING });
      this._spec = options;
      this._pieces = {};
      this._loading = {};
      this._widths = {};
      this.drawnLabels = [];
      this._pieces[this._key(0, null)] = preparePiece(first);
      var self = this;
      webmap.names.onChange(function () { self._repaint(); });
    },

    _initContainer: function () {
      L.Canvas.prototype._initContainer.call(this);
      this._container.style.pointerEvents = "none"; // the map and the incidents take every click
      this._container.className = "wm-basemap";
    },

    // Leaflet sized and placed the canvas for the view (it clears it): fetch what the view lacks, draw.
    _update: function () {
      if (this._map._animatingZoom && this._bounds) return;
      L.Canvas.prototype._update.call(this);
      this._fetchMissing();
      this._paint();
    },

    _repaint: function () {
      if (!this._map || !this._bounds || this._map._animatingZoom) return;
      var b = this._bounds;
      this._ctx.clearRect(b.min.x, b.min.y, b.max.x - b.min.x, b.max.y - b.min.y);
      this._paint();
    },

    _key: function (band, tile) { return tile ? band + "/" + tile[0] + "/" + tile[1] : String(band); },

    _bandAt: function (zoom) {
      var bands = this._spec.bands;
      for (var i = 0; i < bands.length; i++) if (zoom >= bands[i].minZoom && zoom <= bands[i].maxZoom) return i;
      return zoom < bands[0].minZoom ? 0 : bands.length - 1;
    },

    // The piece keys (and URLs) band `band` needs for the view: its one piece, or its tiles that
    // meet both the view and the extent the base map covers.
    _needed: function (band) {
      var spec = this._spec.bands[band];
      if (spec.tileZoom === null) return [{ key: this._key(band, null), url: this._spec.url + band }];
      var map = this._map, view = map.getBounds(), extent = L.latLngBounds(this._spec.extent);
      if (!view.intersects(extent)) return [];
      var n = Math.pow(2, spec.tileZoom);
      var west = Math.max(view.getWest(), extent.getWest()), east = Math.min(view.getEast(), extent.getEast());
      var north = Math.min(view.getNorth(), extent.getNorth()), south = Math.max(view.getSouth(), extent.getSouth());
      var x0 = Math.floor(mercatorX(west) * n), x1 = Math.floor(mercatorX(east) * n);
      var y0 = Math.floor(mercatorY(north) * n), y1 = Math.floor(mercatorY(south) * n), out = [];
      for (var x = Math.max(0, x0); x <= Math.min(n - 1, x1); x++) {
        for (var y = Math.max(0, y0); y <= Math.min(n - 1, y1); y++) {
          out.push({ key: this._key(band, [x, y]), url: this._spec.url + band + "/" + x + "/" + y });
        }
      }
      return out;
    },

    _fetchMissing: function () {
      var self = this, band = this._bandAt(this._map.getZoom());
      this._needed(band).forEach(function (need) {
        if (self._pieces[need.key] || self._loading[need.key]) return;
        self._loading[need.key] = getJSON(need.url).then(function (raw) {
          self._pieces[need.key] = preparePiece(raw);
          delete self._loading[need.key];
          if (self._map && self._bandAt(self._map.getZoom()) === band) self._repaint();
          self.fire("piece", { key: need.key });
        }, function () {
          delete self._loading[need.key]; // asked again at the next move
        });
      });
    },

    // The pieces to draw: those of the view's band once all have arrived, else of the closest
    // coarser band that has them all (band 0 always has).
    _drawable: function () {
      for (var band = this._bandAt(this._map.getZoom()); band >= 0; band--) {
        var self = this, needed = this._needed(band);
        if (needed.every(function (need) { return self._pieces[need.key]; })) {
          return needed.map(function (need) { return self._pieces[need.key]; });
        }
      }
      return [];
    },

    _paint: function () {
      var map = this._map, ctx = this._ctx, b = this._bounds, zoom = map.getZoom();
      var scale = 256 * Math.pow(2, zoom), origin = map.getPixelOrigin();
      var ox = origin.x, oy = origin.y;
      // The canvas in Web Mercator units, to skip what lies off it.
      var view = [(b.min.x + ox) / scale, (b.min.y + oy) / scale, (b.max.x + ox) / scale, (b.max.y + oy) / scale];
      var pieces = this._drawable();
      function paths(list, close) {
        ctx.beginPath();
        for (var i = 0; i < list.length; i++) {
          var p = list[i], box = p.box, xy = p.xy;
          if (box[2] < view[0] || box[0] > view[2] || box[3] < view[1] || box[1] > view[3]) continue;
          ctx.moveTo(xy[0] * scale - ox, xy[1] * scale - oy);
          for (var k = 2; k < xy.length; k += 2) ctx.lineTo(xy[k] * scale - ox, xy[k + 1] * scale - oy);
          if (close) ctx.closePath();
        }
      }
      [["land", LAND], ["lakes", WATER]].forEach(function (fill) {
        ctx.fillStyle = fill[1];
        pieces.forEach(function (piece) {
          if (!piece.fills[fill[0]]) return;
          paths(piece.fills[fill[0]], true);
          ctx.fill("evenodd");
        });
      });
      ctx.lineJoin = "round";
      ctx.lineCap = "round";
      LINE_STYLES.forEach(function (line) {
        var style = line[1](zoom);
        ctx.strokeStyle = style.color;
        ctx.lineWidth = style.width;
        ctx.setLineDash(style.dash || []);
        pieces.forEach(function (piece) {
          if (!piece.lines[line[0]]) return;
          paths(piece.lines[line[0]], false);
          ctx.stroke();
        });
      });
      ctx.setLineDash([]);
      // Names only a little beyond the view's edges: a drag shows the lines at once, the names at its end.
      var seen = map.getPixelBounds(), mx = (seen.max.x - seen.min.x) * LABEL_MARGIN, my = (seen.max.y - seen.min.y) * LABEL_MARGIN;
      var named = [(seen.min.x - mx) / scale, (seen.min.y - my) / scale, (seen.max.x + mx) / scale, (seen.max.y + my) / scale];
      this._paintLabels(pieces, zoom, scale, ox, oy, named);
    },

    // A name's width in its font, measured once (on a canvas of its own: no font switch on the map's).
    _width: function (font, text) {
      var key = font + "\n" + text;
      if (!(key in this._widths)) {
        var measure = this._measure || (this._measure = document.createElement("canvas").getContext("2d"));
        if (measure.font !== font) measure.font = font;
        this._widths[key] = measure.measureText(text).width;
      }
      return this._widths[key];
    },

    // The box a name of `width` px keeps free at (tx, y) aligned `align`, its dot at x included.
    _labelBox: function (tx, y, align, width, half, x, dot) {
      var left = align === "left" ? tx : align === "right" ? tx - width : tx - width / 2;
      var box = [left - LABEL_GAP, y - half - LABEL_GAP, left + width + LABEL_GAP, y + half + LABEL_GAP];
      if (dot) box = [Math.min(box[0], x - dot - 1), box[1], Math.max(box[2], x + dot + 1), box[3]];
      return box;
    },

    _paintLabels: function (pieces, zoom, scale, ox, oy, view) {
      var ctx = this._ctx, map = this._map, arabic = webmap.names.lang === "ar", candidates = [];
      pieces.forEach(function (piece) {
        piece.labels.forEach(function (l) {
          if (l.min <= zoom && zoom <= l.max && l.x >= view[0] && l.x <= view[2] && l.y >= view[1] && l.y <= view[3]) candidates.push(l);
        });
      });
      candidates.sort(function (a, c) { return a.rank - c.rank; });
      var placed = new Collisions(), drawn = [], topLeft = map.containerPointToLayerPoint([0, 0]), font = null;
      ctx.textBaseline = "middle";
      ctx.lineJoin = "round";
      ctx.strokeStyle = "rgba(255, 255, 255, 0.9)";
      ctx.lineWidth = 3;
      for (var i = 0; i < candidates.length; i++) {
        var l = candidates[i], style = LABEL_STYLES[l.kind] || LABEL_STYLES.village;
        var text = arabic && l.nameAr ? l.nameAr : l.name;
        if (style.upper && !(arabic && l.nameAr)) text = text.toUpperCase();
        var x = l.x * scale - ox, y = l.y * scale - oy, half = 7, dot = style.dot || 0;
        // A place's name right of its dot, else left of it; an area's name centred on it.
        var spots = dot ? [[x + dot + 3, "left"], [x - dot - 3, "right"]] : [[x, "center"]];
        var narrowest = text.length * style.size * NARROWEST_EM, width = null;
        for (var s = 0; s < spots.length; s++) {
          var tx = spots[s][0], align = spots[s][1];
          if (placed.hits(this._labelBox(tx, y, align, narrowest, half, x, dot))) continue;
          if (width === null) width = this._width(style.font, text);
          var box = this._labelBox(tx, y, align, width, half, x, dot);
          if (placed.hits(box)) continue;
          placed.add(box);
          if (style.font !== font) ctx.font = font = style.font;
          ctx.textAlign = align;
          ctx.strokeText(text, tx, y);
          ctx.fillStyle = style.color;
          ctx.fillText(text, tx, y);
          if (dot) {
            ctx.beginPath();
            ctx.arc(x, y, dot, 0, 2 * Math.PI);
            ctx.fill();
          }
          var left = box[0] + LABEL_GAP;
          drawn.push({ text: text, kind: l.kind, x: x - topLeft.x, y: y - topLeft.y,
                       box: [left - topLeft.x, y - half - topLeft.y, left + width - topLeft.x, y + half - topLeft.y] });
          break;
        }
      }
      // What was drawn, in the map container's pixels: for the tests and anyone checking the map.
      this.drawnLabels = drawn;
      this.fire("painted", { labels: drawn.length });
    },
  });

  webmap.basemap = function (options) {
    // Band 0 is fetched like any base layer (so the first picture waits for it); the canvas then
    // fetches the other bands itself.
    return new LazyGeoJSON(options.url + "0", function (first, map) {
      var pane = ensurePane(map, "wm-basemap", 150);
      var canvas = new BasemapCanvas({ pane: pane, url: options.url, bands: options.bands, extent: options.extent }, first);
      webmap.offlineBasemap = canvas;
      return canvas;
    });
  };

  /* The user's own base map (WEBMAP_BASEMAP, a PMTiles file the app serves tile by tile from
   * options.url): vector tiles drawn by protomaps-leaflet in its "light" style, with its names in
   * the language of webmap.names; raster tiles as a plain tile layer. The attribution comes from
   * the file: it is shown as text. */
  webmap.ownBasemap = function (options) {
    var attribution = el("span", null, options.attribution || "").outerHTML;
    var bounds = options.bounds ? L.latLngBounds(options.bounds) : undefined;
    if (!options.vector) {
      return L.tileLayer(options.url, { minNativeZoom: options.minZoom, maxNativeZoom: options.maxZoom, maxZoom: 18,
                                        bounds: bounds, attribution: attribution });
    }
    var group = L.layerGroup(), inner = null;
    function draw() {
      if (inner) group.removeLayer(inner);
      inner = window.protomapsL.leafletLayer({ url: options.url, flavor: "light", lang: webmap.names.lang,
                                               maxDataZoom: options.maxZoom, bounds: bounds, attribution: attribution });
      group.addLayer(inner);
    }
    draw();
    webmap.names.onChange(draw);
    webmap.ownBasemapLayer = group;
    return group;
  };

  /* A notice on the map while the online OpenStreetMap layer is chosen and its tiles do not load
   * (no internet): the offline base layers still work. */
  webmap.onlineNotice = function (map, layer) {
    var notice = null, loaded = 0;
    var Notice = L.Control.extend({
      options: { position: "bottomleft" },
      onAdd: function () {
        var box = el("div", "wm-panel wm-online-notice");
        box.setAttribute("role", "alert");
        box.appendChild(el("strong", null, "OpenStreetMap cannot be loaded. "));
        box.appendChild(el("span", null, "Its tiles come from the internet, which this computer cannot reach now. " +
                                         "Choose an offline base map in the layer list."));
        return box;
      },
    });
    function show() { if (!notice && !loaded && map.hasLayer(layer)) notice = new Notice().addTo(map); }
    function hide() { if (notice) notice.remove(); notice = null; }
    layer.on("tileerror", show);
    layer.on("tileload", function () { loaded++; hide(); });
    layer.on("remove", function () { loaded = 0; hide(); });
    return layer;
  };

  // ---------------------------------------------------------------- overlays
  webmap.boundary = function (options) {
    return new LazyGeoJSON(options.url, function (data, map) {
      var pane = ensurePane(map, "wm-overlays", 420);
      return L.geoJSON(data, {
        pane: pane,
        renderer: L.svg({ pane: pane }),
        style: function () {
          return options.style;
        },
        onEachFeature: function (feature, layer) {
          var name = feature.properties.display_name || feature.properties.name;
          if (name) layer.bindTooltip(el("span", null, name), { sticky: true });
        },
      });
    }, true);
  };

  var CHORO_COLOURS = ["#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"];

  function breaks(values) {
    var sorted = values.filter(function (v) { return v > 0; }).sort(function (a, b) { return a - b; });
    if (!sorted.length) return [1];
    var out = [];
    for (var q = 1; q < CHORO_COLOURS.length; q++) {
      var v = sorted[Math.min(sorted.length - 1, Math.floor((q / CHORO_COLOURS.length) * sorted.length))];
      if (!out.length || v > out[out.length - 1]) out.push(v);
    }
    return out;
  }

  webmap.choropleth = function (options) {
    var state = { metric: "incidents", geo: null, legend: null, request: 0 };
    // The districts follow the view (its ticks and window too), once the page's view is known.
    function url() { return webmap.view ? webmap.view.url("/api/districts") : options.url; }
    var layer = new LazyGeoJSON(url, function (data, map) {
      var pane = ensurePane(map, "wm-choropleth", 410);
      state.geo = L.geoJSON(data, {
        pane: pane,
        renderer: L.svg({ pane: pane }),
        onEachFeature: function (feature, lyr) {
          lyr.bindTooltip(function () {
            var p = feature.properties, box = el("div");
            box.appendChild(el("strong", null, p.display_name || p.name || p.pcode));
            box.appendChild(el("div", null, webmap.formatNumber(p.incidents) + " incidents, " + webmap.killedText(p.fatalities, p.no_figure)));
            return box;
          }, { sticky: true });
        },
      });
      restyle();
      return state.geo;
    }, true);
    function restyle() {
      if (!state.geo) return;
      var values = [];
      state.geo.eachLayer(function (l) { values.push(l.feature.properties[state.metric]); });
      var cuts = breaks(values);
      state.geo.setStyle(function (feature) {
        var v = feature.properties[state.metric], k = 0;
        while (k < cuts.length && v >= cuts[k]) k++;
        return { color: "#7a5c3e", weight: 0.6, fillColor: v > 0 ? CHORO_COLOURS[Math.min(k, CHORO_COLOURS.length - 1)] : "#ffffff",
                 fillOpacity: v > 0 ? 0.7 : 0.15 };
      });
      if (state.legend) state.legend.update(cuts);
    }
    var ChoroLegend = L.Control.extend({
      options: { position: "bottomright" },
      onAdd: function () {
        var box = el("div", "wm-panel wm-choro-legend");
        var select = el("select");
        select.setAttribute("aria-label", "Colour districts by");
        ["incidents", "fatalities"].forEach(function (m) {
          var o = el("option", null, "Districts by " + m);
          o.value = m;
          select.appendChild(o);
        });
        select.addEventListener("change", function () { state.metric = select.value; restyle(); });
        L.DomEvent.disableClickPropagation(box);
        box.appendChild(select);
        this._scale = el("div", "wm-scale");
        box.appendChild(this._scale);
        return box;
      },
      update: function (cuts) {
        this._scale.textContent = "";
        var lower = [1].concat(cuts);
        for (var i = 0; i < lower.length && i < CHORO_COLOURS.length; i++) {
          var row = el("div");
          var sw = el("span", "wm-swatch");
          sw.style.background = CHORO_COLOURS[Math.min(i, CHORO_COLOURS.length - 1)];
          row.appendChild(sw);
          row.appendChild(document.createTextNode(i + 1 < lower.length ? lower[i] + "–" + (lower[i + 1] - 1) : "≥ " + lower[i]));
          this._scale.appendChild(row);
        }
      },
    });
    layer.on("add", function () {
      state.legend = webmap.intoPanel(layer._map, new ChoroLegend().addTo(layer._map));
      layer.whenLoaded().then(restyle);
    });
    // Counts of the new view, on the same polygons.
    function refresh() {
      if (!state.geo || !layer._map) return;
      var ticket = ++state.request;
      getJSON(url()).then(function (data) {
        if (ticket !== state.request) return;
        var byPcode = {};
        data.features.forEach(function (f) { byPcode[f.properties.pcode] = f.properties; });
        state.geo.eachLayer(function (l) {
          var fresh = byPcode[l.feature.properties.pcode];
          if (fresh) { l.feature.properties.incidents = fresh.incidents; l.feature.properties.fatalities = fresh.fatalities; }
        });
        restyle();
        layer.fire("refreshed");
      });
    }
    overlaysMayLoad.then(function () { if (webmap.view) webmap.view.onChange(debounce(refresh, 250)); });
    layer.on("remove", function () {
      if (state.legend) state.legend.remove();
      state.legend = null;
    });
    return layer;
  };

  // ---------------------------------------------------------------- the incidents
  /* Decode /api/points (webmap.mapview.encode_points): "WMP3", uint32 n, then columns of n values:
   * uint32 id deltas, float32 lon, float32 lat, int32 day (days since 1970-01-01), uint32
   * fatalities (NO_FIGURE: the source gives none), uint8 force (index into options.forces of the initiating side's force), uint8
   * geo_precision, uint16 forces (bit i: it involves options.forces[i]), uint16 area (0: drawn at its
   * point; k: known only to the area areas[k - 1]), uint8 draft (1: a draft); then uint32 length and
   * the areas as JSON. Adds
   * x, y: Web Mercator position in 0..1 of the world; and, from the same pass, bounds ([[south,
   * west], [north, east]] or null), firstDay, lastDay. */
  function decodePoints(buffer) {
    var head = new DataView(buffer, 0, 8);
    if (head.getUint32(0, true) !== MAGIC) throw new Error("/api/points: not a webmap points buffer");
    var n = head.getUint32(4, true), offset = 8;
    function take(Type) {
      var column = new Type(buffer, offset, n);
      offset += n * Type.BYTES_PER_ELEMENT;
      return column;
    }
    var d = { n: n, id: take(Uint32Array), lon: take(Float32Array), lat: take(Float32Array), day: take(Int32Array),
              fatalities: take(Uint32Array), force: take(Uint8Array), precision: take(Uint8Array),
              forces: take(Uint16Array), area: take(Uint16Array), draft: take(Uint8Array),
              x: new Float64Array(n), y: new Float64Array(n) };
    var length = new DataView(buffer, offset, 4).getUint32(0, true);
    d.areas = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, offset + 4, length)));
    var id = d.id, lon = d.lon, lat = d.lat, day = d.day, xs = d.x, ys = d.y;
    var south = 90, west = 180, north = -90, east = -180, first = Infinity, last = -Infinity;
    for (var i = 0; i < n; i++) {
      if (i) id[i] += id[i - 1];
      var la = lat[i], lo = lon[i], t = day[i];
      xs[i] = mercatorX(lo);
      ys[i] = mercatorY(la);
      if (la < south) south = la;
      if (la > north) north = la;
      if (lo < west) west = lo;
      if (lo > east) east = lo;
      if (t < first) first = t;
      if (t > last) last = t;
    }
    d.areas.forEach(function (area) { area.x = mercatorX(area.point[1]); area.y = mercatorY(area.point[0]); });
    d.bounds = n ? [[south, west], [north, east]] : null;
    d.firstDay = n ? first : null;
    d.lastDay = n ? last : null;
    return d;
  }
  webmap.decodePoints = decodePoints;

  var RAD = Math.PI / 180, MERCATOR_Y = 1 / (4 * Math.PI);
  function mercatorX(lon) { return (lon + 180) / 360; }
  function mercatorY(lat) {
    var s = Math.sin((lat > 85.05 ? 85.05 : lat < -85.05 ? -85.05 : lat) * RAD);
    return 0.5 - Math.log((1 + s) / (1 - s)) * MERCATOR_Y;
  }

  var CELL_PX = 64; // cluster cell size on screen
  var CLOSE_CELL_PX = 6; // from POINTS_ZOOM on, only points drawn on top of each other are grouped
  var POINTS_ZOOM = 16;
  // The least zoom the map opens at on the incidents (a phone's screen would fit them at zoom 5).
  var OPENING_ZOOM = 6;
  var PAD = 0.3; // the canvas reaches this share of the view beyond each edge, so a drag shows points
  var LIST_PAGE = 50; // incidents a place's list shows at a time

  // The forces' labels of a forces bit mask, in the forces' order.
  function forceLabels(forces, mask) {
    var out = [];
    for (var f = 0; f < forces.length; f++) if (mask & (1 << f)) out.push(forces[f].label);
    return out;
  }

  /* The incidents on one canvas, grouped per view into clusters by a screen grid: one pass over
   * typed arrays per zoom, pan, force toggle or time step (about 10 ms for 100,000 incidents), so
   * nothing is indexed up front and nothing is one DOM element or one Leaflet object per incident.
   * An incident known only to a district or governorate is never a point: it counts in its area's
   * symbol, and hovering or opening that symbol outlines the area. */
  var IncidentLayer = L.Layer.extend({
    initialize: function (options, view) {
      this.options = options;
      this.view = view;
      this.forces = options.forces;
      this.forceIndex = {};
      for (var i = 0; i < this.forces.length; i++) this.forceIndex[this.forces[i].key] = i;
      this.data = null;
      this.items = [];
      this.selectedTotal = 0;
      this.inExtent = 0;
      this.pending = 0; // requests for the view's counts not answered yet (tiled views ask the server)
      this.forceCounts = new Array(this.forces.length).fill(0);
      this._applyView();
      this._scheduled = false;
      this._renders = 0;
      this._outline = null;
    },

    // The ticks and the window of the view, as a bit mask and a day range.
    _applyView: function () {
      var mask = 0, view = this.view;
      for (var i = 0; i < this.forces.length; i++) if (view.shows(this.forces[i].key)) mask |= 1 << i;
      this.mask = mask;
      this.window = view.window;
    },

    onAdd: function (map) {
      this._map = map;
      var pane = map.getPane(ensurePane(map, "wm-points", 450));
      this._canvas = L.DomUtil.create("canvas", "wm-points leaflet-zoom-hide", pane);
      this._ctx = this._canvas.getContext("2d");
      map.on("moveend resize", this.render, this);
      map.on("click", this._onClick, this);
      map.on("mousemove", this._onHover, this);
      L.DomEvent.on(map.getContainer(), "mouseleave", this._onLeave, this);
      if (!this._loading) this._loading = this._load();
    },

    onRemove: function (map) {
      map.off("moveend resize", this.render, this);
      map.off("click", this._onClick, this);
      map.off("mousemove", this._onHover, this);
      L.DomEvent.off(map.getContainer(), "mouseleave", this._onLeave, this);
      L.DomUtil.remove(this._canvas);
    },

    _load: function () {
      var self = this;
      return fetch(this.options.url, { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) return response.json().then(function (body) { throw new Error(body.error || response.status); });
          return response.arrayBuffer();
        })
        .then(function (buffer) {
          self.data = decodePoints(buffer);
          self._countForces();
          var before = self._renders;
          self.fire("load", { data: self.data });
          if (self._renders === before) self.render(); // unless a load handler moved the map already
        })
        .catch(function (err) {
          self.fire("error", { error: err });
        });
    },

    // The view's ticks or window changed: count and draw again.
    viewChanged: function () {
      var windowBefore = this.window;
      this._applyView();
      if (!this.data) return;
      if (String(windowBefore) !== String(this.window)) this._countForces();
      this.scheduleRender();
    },

    /* Per force, the incidents of the window that involve it, ticked or not (the force panel's
     * counts: what ticking it would show). */
    _countForces: function () {
      var d = this.data, w = this.window, forces = d.forces, day = d.day, nf = this.forces.length;
      var counts = new Array(nf).fill(0);
      for (var i = 0; i < d.n; i++) {
        if (w && (day[i] < w[0] || day[i] > w[1])) continue;
        var m = forces[i];
        for (var f = 0; m && f < nf; f++, m >>= 1) if (m & 1) counts[f]++;
      }
      this.forceCounts = counts;
      this.fire("counted", { counts: counts });
    },

    // The bounds of all loaded incidents, or null when there are none.
    dataBounds: function () {
      return this.data && this.data.bounds ? L.latLngBounds(this.data.bounds) : null;
    },

    scheduleRender: function () {
      if (this._scheduled) return;
      this._scheduled = true;
      var self = this;
      Promise.resolve().then(function () {
        self._scheduled = false;
        self.render();
      });
    },

    _passes: function (i) {
      var d = this.data, w = this.window;
      return (d.forces[i] & this.mask) !== 0 && !(w && (d.day[i] < w[0] || d.day[i] > w[1]));
    },

    /* Group the incidents that pass the ticks and the time window and lie on the canvas into screen
     * cells, and those known only to an area into that area's symbol; count those whose point lies
     * in the map's extent. */
    _group: function (zoom, left, top, width, height, extent) {
      var d = this.data, scale = 256 * Math.pow(2, zoom), cellPx = zoom >= POINTS_ZOOM ? CLOSE_CELL_PX : CELL_PX;
      var x0 = left / scale, x1 = (left + width) / scale, y0 = top / scale, y1 = (top + height) / scale;
      var perCell = scale / cellPx, list = [], selected = 0, inExtent = 0;
      // The cells of the canvas as one typed array (cell -> its index in list, plus one): no hashing per incident.
      var gx0 = Math.floor(x0 * perCell), gy0 = Math.floor(y0 * perCell);
      var rows = Math.floor(y1 * perCell) - gy0 + 1, grid = new Int32Array((Math.floor(x1 * perCell) - gx0 + 1) * rows);
      var mask = this.mask, w = this.window, forces = d.forces, force = d.force, day = d.day, xs = d.x, ys = d.y;
      var area = d.area, areas = [], nf = this.forces.length;
      var ex0 = extent[0], ex1 = extent[1], ey0 = extent[2], ey1 = extent[3];
      for (var i = 0; i < d.n; i++) {
        if (!(forces[i] & mask)) continue;
        if (w && (day[i] < w[0] || day[i] > w[1])) continue;
        selected++;
        var x = xs[i], y = ys[i];
        if (x >= ex0 && x <= ex1 && y >= ey0 && y <= ey1) inExtent++;
        var a = area[i];
        if (a) {
          var group = areas[a] || (areas[a] = { area: a, count: 0, fatalities: 0, noFigure: 0, first: i, byForce: new Uint32Array(nf) });
          group.count++;
          if (d.fatalities[i] === NO_FIGURE) group.noFigure++; else group.fatalities += d.fatalities[i];
          group.byForce[force[i]]++;
          continue;
        }
        if (x < x0 || x > x1 || y < y0 || y > y1) continue;
        var gx = Math.floor(x * perCell), gy = Math.floor(y * perCell);
        var slot = (gx - gx0) * rows + (gy - gy0), at = grid[slot], cell = at ? list[at - 1] : undefined;
        if (cell === undefined) {
          cell = { key: gx * 67108864 + gy, count: 0, sx: 0, sy: 0, fatalities: 0, noFigure: 0, first: i, byForce: new Uint32Array(nf),
                   minX: x, maxX: x, minY: y, maxY: y };
          list.push(cell);
          grid[slot] = list.length;
        }
        cell.count++;
        cell.sx += x;
        cell.sy += y;
        if (d.fatalities[i] === NO_FIGURE) cell.noFigure++; else cell.fatalities += d.fatalities[i];
        cell.byForce[force[i]]++;
        if (x < cell.minX) cell.minX = x; else if (x > cell.maxX) cell.maxX = x;
        if (y < cell.minY) cell.minY = y; else if (y > cell.maxY) cell.maxY = y;
      }
      this._mergeNeighbours(list, scale, cellPx);
      return { cells: list.filter(function (c) { return c.count > 0; }), areas: areas.filter(Boolean), selected: selected,
               inExtent: inExtent, scale: scale };
    },

    // Cells cut a group of incidents at a cell border; join clusters whose centres are too close.
    // Each cell is compared with those in the 3x3 buckets (a reach wide) around it, not with every
    // other cell: thousands of a tiled view's points cost milliseconds, not a dropped frame.
    _mergeNeighbours: function (list, scale, cellPx) {
      list.sort(function (a, b) { return b.count - a.count; });
      var reach = (cellPx * 0.75) / scale, buckets = new Map();
      function bucketOf(cell) {
        return Math.floor(cell.sx / cell.count / reach) * 67108864 + Math.floor(cell.sy / cell.count / reach);
      }
      for (var i = 0; i < list.length; i++) {
        var key = bucketOf(list[i]), bucket = buckets.get(key);
        list[i].rank = i;
        if (bucket) bucket.push(list[i]); else buckets.set(key, [list[i]]);
      }
      for (var a = 0; a < list.length; a++) {
        var A = list[a];
        if (!A.count) continue;
        var home = bucketOf(A), near = [];
        for (var dx = -1; dx <= 1; dx++) {
          for (var dy = -1; dy <= 1; dy++) {
            var found = buckets.get(home + dx * 67108864 + dy);
            if (found) near.push.apply(near, found);
          }
        }
        near.sort(function (p, q) { return p.rank - q.rank; }); // the biggest first, as before
        for (var b = 0; b < near.length; b++) {
          var B = near[b];
          if (B.rank <= a || !B.count) continue;
          if (Math.abs(A.sx / A.count - B.sx / B.count) > reach || Math.abs(A.sy / A.count - B.sy / B.count) > reach) continue;
          A.count += B.count; A.sx += B.sx; A.sy += B.sy; A.fatalities += B.fatalities; A.noFigure += B.noFigure;
          for (var k = 0; k < A.byForce.length; k++) A.byForce[k] += B.byForce[k];
          A.minX = Math.min(A.minX, B.minX); A.maxX = Math.max(A.maxX, B.maxX);
          A.minY = Math.min(A.minY, B.minY); A.maxY = Math.max(A.maxY, B.maxY);
          A.keys = (A.keys || [A.key]).concat(B.keys || [B.key]);
          B.count = 0;
        }
      }
    },

    render: function () {
      if (!this._map || !this.data) return;
      this._renders++;
      var frame = this._frame(), grouped = this._collect(frame), items = [];
      var ctx = this._ctx, scale = frame.scale, origin = frame.origin;
      // Singles first, clusters on top, the areas' symbols above all (they stand for whole areas).
      grouped.cells.sort(function (a, c) { return (a.count > 1) - (c.count > 1) || a.count - c.count; });
      for (var c = 0; c < grouped.cells.length; c++) {
        var cell = grouped.cells[c];
        if (cell.count === 1) {
          var one = this._single(cell), px = one.x * scale - origin.x, py = one.y * scale - origin.y;
          items.push({ x: px, y: py, r: this._drawPoint(ctx, one.force, one.precision, px, py, one.draft), single: one, cell: cell });
        } else {
          var cx = (cell.sx / cell.count) * scale - origin.x, cy = (cell.sy / cell.count) * scale - origin.y;
          items.push({ x: cx, y: cy, r: this._drawCluster(ctx, cell, cx, cy), cell: cell });
        }
      }
      for (var a = 0; a < grouped.areas.length; a++) {
        var group = grouped.areas[a], area = group.area;
        var ax = area.x * scale - origin.x, ay = area.y * scale - origin.y;
        items.push({ x: ax, y: ay, r: this._drawArea(ctx, group, ax, ay), group: group, area: area });
      }
      this.items = items;
      this._origin = origin;
      this._pad = frame.pad;
      this._drawnAt = frame;
      this.selectedTotal = grouped.selected;
      this.inExtent = grouped.inExtent;
      this.fire("drawn", { selected: grouped.selected, inExtent: grouped.inExtent });
    },

    /* The canvas, placed and cleared for the map's view: its world pixel origin, scale (pixels per
     * world), the padding beyond the map's edges and the map's extent in Mercator units. */
    _frame: function () {
      var map = this._map, size = map.getSize(), padX = Math.round(size.x * PAD), padY = Math.round(size.y * PAD);
      var width = size.x + 2 * padX, height = size.y + 2 * padY, ratio = window.devicePixelRatio || 1;
      var topLeft = map.containerPointToLayerPoint([-padX, -padY]);
      var origin = map.getPixelOrigin().add(topLeft); // world pixel of the canvas's top-left corner
      var canvas = this._canvas, ctx = this._ctx;
      L.DomUtil.setPosition(canvas, topLeft);
      if (canvas.width !== width * ratio || canvas.height !== height * ratio) {
        canvas.width = width * ratio;
        canvas.height = height * ratio;
        canvas.style.width = width + "px";
        canvas.style.height = height + "px";
      }
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.clearRect(0, 0, width, height);
      // The extent exactly as the API's bbox gives it, so the map counts what the table lists.
      var zoom = map.getZoom(), b = webmap.extentParam(map).split(",").map(Number);
      return { zoom: zoom, scale: 256 * Math.pow(2, zoom), origin: origin, width: width, height: height,
               pad: L.point(padX, padY), extent: [mercatorX(b[0]), mercatorX(b[2]), mercatorY(b[3]), mercatorY(b[1])] };
    },

    // The clusters, single incidents and areas to draw for a frame, and the view's counts.
    _collect: function (frame) {
      var grouped = this._group(frame.zoom, frame.origin.x, frame.origin.y, frame.width, frame.height, frame.extent);
      var areas = this.data.areas;
      grouped.areas.forEach(function (group) { group.index = group.area; group.area = areas[group.area - 1]; });
      return grouped;
    },

    // A one-incident cell as the drawing and the popups need it.
    _single: function (cell) {
      var d = this.data, i = cell.first;
      return { id: d.id[i], x: d.x[i], y: d.y[i], lat: d.lat[i], lon: d.lon[i], force: d.force[i], precision: d.precision[i],
               draft: d.draft[i] === 1 };
    },

    _drawPoint: function (ctx, force, precision, x, y, draft) {
      var colour = this.forces[force].colour;
      var r = precision === 2 ? 6.5 : 5.5;
      if (draft) {
        // A draft (shown only to those who may see drafts): a dark dotted ring around it, whatever its place.
        ctx.beginPath();
        ctx.arc(x, y, r + 3, 0, 2 * Math.PI);
        ctx.lineWidth = 2;
        ctx.strokeStyle = DRAFT_RING;
        ctx.setLineDash([2, 2]);
        ctx.stroke();
        ctx.setLineDash([]);
      }
      ctx.beginPath();
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      if (precision === 1) {
        ctx.fillStyle = colour;
        ctx.fill();
        ctx.lineWidth = 1;
        ctx.strokeStyle = "rgba(255,255,255,0.9)";
        ctx.stroke();
      } else {
        // Near a place, or in no area at all: hollow, so it does not look exact.
        ctx.fillStyle = "rgba(255,255,255,0.55)";
        ctx.fill();
        ctx.lineWidth = 2;
        ctx.strokeStyle = colour;
        ctx.setLineDash(precision === 3 ? [3, 3] : []);
        ctx.stroke();
        ctx.setLineDash([]);
      }
      return draft ? r + 4 : r;
    },

    _drawCluster: function (ctx, cell, x, y) {
      var r = cell.count < 10 ? 13 : cell.count < 100 ? 16 : cell.count < 1000 ? 20 : cell.count < 10000 ? 24 : 28;
      var start = -Math.PI / 2;
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.arc(x, y, r + 1, 0, 2 * Math.PI);
      ctx.fillStyle = "rgba(255,255,255,0.95)";
      ctx.fill();
      // A ring of each initiating force's share, the count in the middle.
      for (var f = 0; f < this.forces.length; f++) {
        var n = cell.byForce[f];
        if (!n) continue;
        var end = start + (n / cell.count) * 2 * Math.PI;
        ctx.beginPath();
        ctx.moveTo(x, y);
        ctx.arc(x, y, r, start, end);
        ctx.closePath();
        ctx.fillStyle = this.forces[f].colour;
        ctx.fill();
        start = end;
      }
      ctx.beginPath();
      ctx.arc(x, y, r * 0.66, 0, 2 * Math.PI);
      ctx.fillStyle = "#ffffff";
      ctx.fill();
      ctx.fillStyle = "#222222";
      ctx.font = "bold 11px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText(formatCount(cell.count), x, y + 0.5);
      return r;
    },

    // An area's symbol: a dashed, hollow square with the count: not a pin, not a solid cluster.
    _drawArea: function (ctx, group, x, y) {
      var text = formatCount(group.count);
      ctx.font = "bold 11px system-ui, sans-serif";
      var half = Math.max(11, ctx.measureText(text).width / 2 + 6);
      ctx.beginPath();
      ctx.rect(x - half, y - 10, 2 * half, 20);
      ctx.fillStyle = "rgba(255,255,255,0.8)";
      ctx.fill();
      ctx.lineWidth = 2;
      ctx.setLineDash([4, 3]);
      ctx.strokeStyle = "#5b4a3a";
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = "#3b2f25";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText(text, x, y + 0.5);
      return half;
    },

    // The drawn item (point, cluster or area) under a container point, or null.
    itemAt: function (containerPoint) {
      if (!this._pad) return null;
      var x = containerPoint.x + this._pad.x, y = containerPoint.y + this._pad.y;
      for (var k = this.items.length - 1; k >= 0; k--) {
        var it = this.items[k], dx = it.x - x, dy = it.y - y;
        if (it.area ? Math.abs(dx) <= it.r && Math.abs(dy) <= 11 : dx * dx + dy * dy <= (it.r + 2) * (it.r + 2)) return it;
      }
      return null;
    },

    // Once a frame: the pointer's item, if any, gets a hand cursor; an area's symbol outlines its area.
    _onHover: function (e) {
      var self = this;
      this._pointer = e.containerPoint;
      if (this._hoverPending) return;
      this._hoverPending = true;
      requestAnimationFrame(function () {
        self._hoverPending = false;
        var item = self._pointer ? self.itemAt(self._pointer) : null;
        L.DomUtil[item ? "addClass" : "removeClass"](self._map.getContainer(), "wm-over-item");
        if (!self._pinnedOutline) self.outlineArea(item && item.area ? item.area : null);
      });
    },

    _onLeave: function () {
      this._pointer = null;
      if (!this._pinnedOutline) this.outlineArea(null);
    },

    /* Outline an area (an entry of data.areas) on the map, or none (null). The polygons are fetched
     * once per level, the first time one is outlined. */
    outlineArea: function (area) {
      var self = this, map = this._map, key = area ? area.pcode : null;
      if (this._outlined === key) return Promise.resolve();
      this._outlined = key;
      if (this._outline) { map.removeLayer(this._outline); this._outline = null; }
      if (!area) return Promise.resolve();
      this._polygons = this._polygons || {};
      var level = area.level;
      this._polygons[level] = this._polygons[level] || getJSON(this.options.layerUrl + level);
      return this._polygons[level].then(function (collection) {
        if (self._outlined !== key) return;
        var feature = collection.features.filter(function (f) { return f.properties.pcode === key; })[0];
        if (!feature) return;
        var pane = ensurePane(map, "wm-outline", 430);
        self._outline = L.geoJSON(feature, {
          pane: pane, interactive: false, renderer: L.svg({ pane: pane }),
          style: { className: "wm-area-outline", color: "#5b4a3a", weight: 2.5, dashArray: "6 4", fillColor: "#5b4a3a",
                   fillOpacity: 0.12 },
        }).addTo(map);
      });
    },

    _onClick: function (e) {
      var item = this.itemAt(e.containerPoint);
      if (!item) return;
      if (item.area) {
        this._listArea(item.group, item.area);
        return;
      }
      if (item.single) {
        this.openIncident(item.single.id, L.latLng(item.single.lat, item.single.lon));
        return;
      }
      var cell = item.cell, map = this._map, scale = 256 * Math.pow(2, map.getZoom());
      var spread = Math.max(cell.maxX - cell.minX, cell.maxY - cell.minY) * scale;
      if (spread > 4 && map.getZoom() < map.getMaxZoom()) {
        var world = 256 * Math.pow(2, map.getZoom());
        var sw = map.unproject([cell.minX * world, cell.maxY * world], map.getZoom());
        var ne = map.unproject([cell.maxX * world, cell.minY * world], map.getZoom());
        map.fitBounds(L.latLngBounds(sw, ne), { padding: [40, 40], maxZoom: map.getZoom() + 4 });
        return;
      }
      this._listCell(cell, map.unproject([(cell.sx / cell.count) * scale, (cell.sy / cell.count) * scale], map.getZoom()));
    },

    // The list of the incidents of a cluster that does not split (one place).
    _listCell: function (cell, latlng) {
      var d = this.data;
      this._listMembers(function (i) {
        return !d.area[i] && d.x[i] >= cell.minX && d.x[i] <= cell.maxX && d.y[i] >= cell.minY && d.y[i] <= cell.maxY;
      }, cell, latlng, null);
    },

    // The list of the incidents known only to an area.
    _listArea: function (group, area) {
      var d = this.data;
      this._listMembers(function (i) { return d.area[i] === group.index; }, group, L.latLng(area.point[0], area.point[1]), area);
    },

    /* The incidents of one place (a cluster that does not split) or one area, from the loaded
     * points: the page of a list (see _showList), newest first. */
    _listMembers: function (belongs, group, latlng, area) {
      var d = this.data, self = this, members = [];
      for (var i = 0; i < d.n; i++) if (this._passes(i) && belongs(i)) members.push(i);
      members.sort(function (a, b) { return d.day[b] - d.day[a] || d.id[b] - d.id[a]; });
      this._showList(group, latlng, area, function (offset, limit) {
        return Promise.resolve({ total: members.length, rows: members.slice(offset, offset + limit).map(function (i) {
          return { id: d.id[i], date: webmap.isoDay(d.day[i]), forces: forceLabels(self.forces, d.forces[i]),
                   fatalities: d.fatalities[i] === NO_FIGURE ? null : d.fatalities[i] };
        }) });
      });
    },

    /* A list to pick an incident from, LIST_PAGE at a time ("Show 50 more"): ``pageOf(offset, limit)``
     * gives a promise of {total, rows: [{id, date, forces: [labels], fatalities}]}. */
    _showList: function (group, latlng, area, pageOf) {
      var self = this, box = el("div", "wm-popup wm-leaves");
      if (area) box.appendChild(el("div", "wm-muted", "Known only to " + (area.level === "adm1" ? "the governorate" : "the district") + ":"));
      box.appendChild(el("strong", null, (area ? area.name + ": " : "") + webmap.formatNumber(group.count) + " incidents here, " +
                                         webmap.killedText(group.fatalities, group.noFigure)));
      var list = el("ul"), more = el("button", "wm-link wm-more"), shown = 0, popup = null;
      more.type = "button";
      more.hidden = true;
      function page() {
        more.disabled = true;
        pageOf(shown, LIST_PAGE).then(function (found) {
          found.rows.forEach(function (row) {
            var li = el("li");
            var killed = row.fatalities === null ? " · killed not reported" : row.fatalities ? " · " + webmap.formatNumber(row.fatalities) + " killed" : "";
            var button = el("button", "wm-link", row.date + " · " + row.forces.join(" · ") + killed);
            button.type = "button";
            button.addEventListener("click", function () { self.openIncident(row.id, latlng, area); });
            li.appendChild(button);
            list.appendChild(li);
          });
          shown += found.rows.length;
          more.disabled = false;
          more.textContent = "Show " + Math.min(LIST_PAGE, found.total - shown) + " more (" +
            webmap.formatNumber(shown) + " of " + webmap.formatNumber(found.total) + " shown)";
          more.hidden = shown >= found.total;
          // Laid out again at its new height, and panned clear of the controls again.
          if (popup && popup.isOpen()) popup.update();
        });
      }
      more.addEventListener("click", page);
      box.appendChild(list);
      box.appendChild(more);
      popup = this._openPopup(L.popup({ maxWidth: 380, className: "wm-list-popup" }).setLatLng(latlng).setContent(box), area);
      page();
    },

    // Open a popup clear of the map's controls; an area's stays outlined while it is open.
    _openPopup: function (popup, area) {
      var self = this;
      webmap.clearOfControls(this._map, popup);
      popup.openOn(this._map);
      if (area) {
        this._pinnedOutline = area;
        this.outlineArea(area);
        popup.once("remove", function () {
          if (self._pinnedOutline === area) { self._pinnedOutline = null; self.outlineArea(null); }
        });
      }
      return popup;
    },

    // Show incident `id` in a popup at `latlng` (an area's point for an incident known only to it).
    openIncident: function (id, latlng, area) {
      var popup = L.popup({ maxWidth: 380, minWidth: 260 }).setLatLng(latlng).setContent(el("div", "wm-popup", "Loading…"));
      this._openPopup(popup, area);
      var self = this;
      getJSON(this.options.detailUrl + id)
        .then(function (feature) { popup.setContent(incidentCard(feature, self)); })
        .catch(function (err) { popup.setContent(el("div", "wm-popup wm-error", String(err.message || err))); });
      return popup;
    },

    // The area an incident known only to a district or governorate is drawn as (by its P-codes), or null.
    areaOf: function (properties) {
      if (!this.data || properties.geo_precision !== 3) return null;
      var pcode = properties.admin2_pcode || properties.admin1_pcode;
      return this.data.areas.filter(function (a) { return a.pcode === pcode; })[0] || null;
    },

    /* Show an incident (the table's row click): a place is centred and zoomed to; an incident known
     * only to an area fits the map to the area, outlined, never zoomed in on a point it does not have. */
    showIncident: function (feature) {
      var map = this._map, p = feature.properties, area = this.areaOf(p);
      if (area) {
        map.fitBounds(L.latLngBounds(area.bounds), { padding: [20, 20], animate: false });
        return this.openIncident(feature.id, L.latLng(area.point[0], area.point[1]), area);
      }
      var latlng = L.latLng(feature.geometry.coordinates[1], feature.geometry.coordinates[0]);
      map.setView(latlng, Math.max(map.getZoom(), p.geo_precision === 1 ? POINTS_ZOOM : 11), { animate: false });
      return this.openIncident(feature.id, latlng);
    },
  });

  /* The incidents of a view too large to send whole: the clusters (or, where few, the points) of
   * the map tiles on screen, grouped by the server (/api/tiles), and the view's counts, date range
   * and areas (/api/summary), asked again as the map moves or the view changes. Drawn and picked
   * as IncidentLayer's; lists of a place's incidents come from /api/incidents. */
  var TiledIncidentLayer = IncidentLayer.extend({
    onAdd: function (map) {
      this._tiles = {};
      this._summaries = 0;
      this._moved = debounce(L.bind(this._summarise, this), 150);
      IncidentLayer.prototype.onAdd.call(this, map);
      map.on("moveend", this._moved, this);
    },

    onRemove: function (map) {
      map.off("moveend", this._moved, this);
      IncidentLayer.prototype.onRemove.call(this, map);
    },

    _load: function () {
      var self = this;
      return this._summarise().then(function () {
        var before = self._renders;
        self.fire("load", { data: self.data });
        if (self._renders === before) self.render();
      }).catch(function (err) {
        self.fire("error", { error: err });
      });
    },

    // The view's counts (in all, in the map's extent, per force), bounds, date range and areas.
    _summarise: function () {
      var self = this, ticket = ++this._summaries;
      this.pending++;
      return getJSON(this.view.url(this.options.summaryUrl, { bbox: webmap.extentParam(this._map) })).finally(function () {
        self.pending--;
      }).then(function (s) {
        if (ticket !== self._summaries) return;
        s.areas.forEach(function (a) { a.x = mercatorX(a.point[1]); a.y = mercatorY(a.point[0]); });
        self.data = { n: s.total, bounds: s.bounds, areas: s.areas, firstDay: s.first ? dayOf(s.first) : null,
                      lastDay: s.last ? dayOf(s.last) : null };
        self.selectedTotal = s.total;
        self.inExtent = s.in_extent;
        self.forceCounts = self.forces.map(function (f) { return s.forces[f.key] || 0; });
        self.fire("counted", { counts: self.forceCounts });
        self.scheduleRender();
      });
    },

    viewChanged: function () {
      this._applyView();
      this._tiles = {}; // another view: other tiles
      if (this.data) this._summarise();
      this.scheduleRender();
    },

    // A tile's clusters and points once loaded (null until then; asked for the first time here).
    // The requests go out after the frame is drawn, and the tiles that come back are drawn together,
    // once per animation frame, not once each.
    _tile: function (z, x, y) {
      var key = z + "/" + x + "/" + y, tiles = this._tiles, self = this;
      if (!(key in tiles)) {
        tiles[key] = null;
        setTimeout(function () {
          getJSON(self.view.url(self.options.tileUrl + key)).then(function (tile) {
            tiles[key] = tile; // into the tiles of the view it was asked for, even if that view is gone
            if (tiles === self._tiles) self._renderNextFrame();
          });
        }, 0);
      }
      return tiles[key];
    },

    _renderNextFrame: function () {
      if (this._frameAsked) return;
      this._frameAsked = true;
      var self = this;
      requestAnimationFrame(function () {
        self._frameAsked = false;
        self.render();
      });
    },

    _collect: function (frame) {
      var z = frame.zoom, last = (1 << z) - 1, cells = [];
      var x0 = Math.max(0, Math.floor(frame.origin.x / 256)), x1 = Math.min(last, Math.floor((frame.origin.x + frame.width) / 256));
      var y0 = Math.max(0, Math.floor(frame.origin.y / 256)), y1 = Math.min(last, Math.floor((frame.origin.y + frame.height) / 256));
      // A tile beyond the view's points holds nothing of it, and is not asked for: on the opening
      // view of a large dataset, three tiles in four. (A hair of slack: a point on a tile's edge.)
      var b = this.data.bounds, n = last + 1;
      if (!b) x1 = x0 - 1;
      else {
        x0 = Math.max(x0, Math.floor(mercatorX(b[0][1]) * n - 1e-9));
        x1 = Math.min(x1, Math.floor(mercatorX(b[1][1]) * n + 1e-9));
        y0 = Math.max(y0, Math.floor(mercatorY(b[1][0]) * n - 1e-9));
        y1 = Math.min(y1, Math.floor(mercatorY(b[0][0]) * n + 1e-9));
      }
      for (var tx = x0; tx <= x1; tx++) {
        for (var ty = y0; ty <= y1; ty++) {
          var tile = this._tile(z, tx, ty);
          if (tile) this._cellsOf(tile, cells);
        }
      }
      this._mergeNeighbours(cells, frame.scale, z >= POINTS_ZOOM ? CLOSE_CELL_PX : CELL_PX);
      var areas = this.data.areas.map(function (a) {
        return { area: a, count: a.count, fatalities: a.fatalities, noFigure: a.no_figure, byForce: a.forces };
      });
      return { cells: cells.filter(function (c) { return c.count > 0; }), areas: areas, selected: this.selectedTotal,
               inExtent: this.inExtent };
    },

    // A tile's clusters and points as the cells IncidentLayer draws.
    _cellsOf: function (tile, cells) {
      tile.clusters.forEach(function (c) {
        var x = mercatorX(c.lon), y = mercatorY(c.lat);
        cells.push({ count: c.count, sx: x * c.count, sy: y * c.count, fatalities: c.fatalities, noFigure: c.no_figure, byForce: c.forces,
                     minX: mercatorX(c.bounds[0][1]), maxX: mercatorX(c.bounds[1][1]), minY: mercatorY(c.bounds[1][0]),
                     maxY: mercatorY(c.bounds[0][0]) });
      });
      var p = tile.points, nf = this.forces.length;
      for (var j = 0; p && j < p.id.length; j++) {
        var x = mercatorX(p.lon[j]), y = mercatorY(p.lat[j]), byForce = new Uint32Array(nf);
        byForce[p.force[j]] = 1;
        var known = p.fatalities[j] !== null;
        cells.push({ count: 1, sx: x, sy: y, fatalities: known ? p.fatalities[j] : 0, noFigure: known ? 0 : 1, byForce: byForce,
                     minX: x, maxX: x, minY: y, maxY: y,
                     point: { id: p.id[j], x: x, y: y, lat: p.lat[j], lon: p.lon[j], force: p.force[j], precision: p.precision[j],
                              draft: p.draft[j] === 1 } });
      }
    },

    _single: function (cell) {
      return cell.point;
    },

    // A page of the view's incidents from the API, as _showList lists them.
    _pageFromApi: function (extra) {
      var self = this;
      return function (offset, limit) {
        var params = Object.assign({ limit: limit, offset: offset, sort: "-event_date" }, extra);
        return getJSON(self.view.url("/api/incidents", params)).then(function (found) {
          return { total: found.total, rows: found.features.map(function (f) {
            var p = f.properties;
            return { id: f.id, date: p.event_date, fatalities: p.fatalities,
                     forces: (p.forces || []).map(function (k) { return forceLabel(self, k); }) };
          }) };
        });
      };
    },

    // A place's incidents: those at their point within a pixel of the cluster's members.
    _listCell: function (cell, latlng) {
      var map = this._map, world = 256 * Math.pow(2, map.getZoom()), self = this;
      var sw = map.unproject([cell.minX * world - 1, cell.maxY * world + 1], map.getZoom());
      var ne = map.unproject([cell.maxX * world + 1, cell.minY * world - 1], map.getZoom());
      var extra = { bbox: [sw.lng, sw.lat, ne.lng, ne.lat].map(function (v) { return v.toFixed(6); }).join(","), precision: "1,2" };
      getJSON(this.view.url(this.options.summaryUrl, extra)).then(function (found) {
        var group = { count: found.in_extent, fatalities: found.killed_in_extent, noFigure: found.no_figure_in_extent };
        self._showList(group, latlng, null, self._pageFromApi(extra));
      });
    },

    _listArea: function (group, area) {
      this._showList(group, L.latLng(area.point[0], area.point[1]), area, this._pageFromApi({ area: area.pcode }));
    },
  });

  function forceLabel(engine, key) {
    var i = engine.forceIndex[key];
    return i === undefined ? key : engine.forces[i].label;
  }
  webmap.forceLabel = forceLabel;

  var DISPUTED_TEXT = {
    inside: "yes",
    partly: "partly: the area it is known to straddles the line",
    outside: "no",
  };

  function incidentCard(feature, engine) {
    var p = feature.properties, box = el("div", "wm-popup wm-incident");
    var title = el("div", "wm-popup-title");
    title.appendChild(el("strong", null, webmap.dateText(p.event_date, p.time_precision)));
    if (p.time_precision > 1) title.appendChild(el("span", "wm-muted", p.time_precision === 2 ? " (the day is not known)" : " (only the month is known)"));
    if (p.status === "draft") title.appendChild(el("span", "wm-badge", "draft"));
    box.appendChild(title);
    box.appendChild(el("div", "wm-type", [p.event_type, p.sub_event_type].filter(Boolean).join(" — ")));
    var dl = el("dl");
    function row(label, value) {
      if (value === null || value === undefined || value === "") return;
      dl.appendChild(el("dt", null, label));
      var dd = el("dd");
      if (value instanceof Node) dd.appendChild(value); else dd.textContent = String(value);
      dl.appendChild(dd);
    }
    function side(name, force, associated) {
      if (!name && !force && !associated) return null;
      return (name || "—") + (force ? " [" + forceLabel(engine, force) + "]" : "") + (associated ? "; with " + associated : "");
    }
    row("Actor 1 (initiator)", side(p.actor1, p.force1, p.assoc_actor_1));
    row("Actor 2", side(p.actor2, p.force2, p.assoc_actor_2));
    row("Forces involved", (p.forces || []).map(function (k) { return forceLabel(engine, k); }).join(" · "));
    // The district and governorate by the names people use; the official COD-AB names and P-codes beside.
    row("Place", [p.location, p.admin3, p.admin2_display || p.admin2, p.admin1_display || p.admin1].filter(Boolean).join(", "));
    row("Official areas (COD-AB)", [[p.admin2, p.admin2_pcode], [p.admin1, p.admin1_pcode]]
      .filter(function (a) { return a[0]; }).map(function (a) { return a[0] + " " + a[1]; }).join(", "));
    row("Precision", engine.options.precision[String(p.geo_precision)]);
    row("Disputed territory", DISPUTED_TEXT[p.disputed]);
    // No figure in the source is "not reported", never 0.
    row("Killed", p.fatalities === null || p.fatalities === undefined ? "not reported" : webmap.formatNumber(p.fatalities));
    row("Injured", p.injured === null || p.injured === undefined ? "not reported" : webmap.formatNumber(p.injured));
    row("Notes", p.notes);
    if (p.source_url && /^https?:\/\//i.test(p.source_url)) {
      var a = el("a", null, p.source || p.source_url);
      a.href = p.source_url;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      row("Source", a);
    } else {
      row("Source", p.source);
    }
    box.appendChild(dl);
    var foot = el("div", "wm-popup-foot");
    foot.appendChild(el("span", "wm-muted", "#" + feature.id));
    if (document.body.dataset.canEdit === "1") {
      var edit = el("a", null, "Edit");
      edit.href = "/incidents/" + encodeURIComponent(feature.id) + "/edit";
      foot.appendChild(edit);
    }
    box.appendChild(foot);
    return box;
  }
  webmap.incidentCard = incidentCard;

  // The view (zoom/lat/lon) lives in the URL's fragment, so a shared link opens the same view; an
  // edited fragment moves the map.
  var HASH = /^#(\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)$/;
  function followViewInHash(map) {
    function move() {
      var m = HASH.exec(window.location.hash);
      if (m) map.setView([+m[2], +m[3]], +m[1], { animate: false });
      return !!m;
    }
    var found = move();
    // Once the map rests: history.replaceState costs a dozen milliseconds in Chromium, a frame's worth.
    map.on("moveend", debounce(function () {
      var c = map.getCenter();
      var hash = "#" + map.getZoom() + "/" + c.lat.toFixed(4) + "/" + c.lng.toFixed(4);
      if (hash !== window.location.hash) {
        history.replaceState(history.state, "", window.location.pathname + window.location.search + hash);
      }
    }, 100));
    window.addEventListener("hashchange", move);
    return found;
  }

  /* The map of chosen incidents (the "ids" filter: those just saved from a report or the form) rings
   * each one, so they stand out from the clusters around them; the engine fits the map to them (its
   * data are they). One incident alone is shown with its popup open once the map is drawn. */
  function ringChosen(map, view, engine) {
    var ids = new URLSearchParams(view.base).get("ids");
    if (!ids) return;
    // Drawn as SVG above the incidents' canvas (the map prefers canvas), each ring an element of its own.
    var pane = ensurePane(map, "wm-chosen", 460), renderer = L.svg({ pane: pane }), rings = L.layerGroup().addTo(map);
    getJSON(view.url("/api/incidents", { limit: ids.split(",").length })).then(function (found) {
      found.features.forEach(function (f) {
        var c = f.geometry.coordinates;
        L.circleMarker([c[1], c[0]], { radius: 16, color: "#e8590c", weight: 3, fill: false, interactive: false,
          className: "wm-chosen-ring", renderer: renderer, pane: pane }).addTo(rings);
      });
      if (found.features.length === 1) webmap.ready.then(function () { engine.showIncident(found.features[0]); });
    });
  }

  webmap.incidents = function (map, options) {
    var view = (webmap.view = new View(options.base, options.forces.map(function (f) { return f.key; })));
    view.followHistory();
    var engine = options.tiled ? new TiledIncidentLayer(options, view) : new IncidentLayer(options, view);
    view.onChange(function () { engine.viewChanged(); });
    var sharedView = followViewInHash(map);
    engine.addTo(map);
    webmap.current = { map: map, engine: engine, view: view };
    var status = document.getElementById("wm-status");
    ringChosen(map, view, engine);
    // Without a view in the URL, open on the incidents themselves.
    engine.on("load", function () {
      if (sharedView) return;
      var bounds = engine.dataBounds();
      var fits = bounds && map.getBounds().contains(bounds) && map.getBoundsZoom(bounds, false, L.point(40, 40)) <= map.getZoom();
      if (bounds && !fits) map.fitBounds(bounds, { maxZoom: 12, padding: [20, 20], animate: false });
      // A phone fits Iraq at zoom 5, where the areas' counts and names crowd: closer, on the incidents' middle.
      if (map.getZoom() < OPENING_ZOOM) map.setView(middleOf(engine.data) || map.getCenter(), OPENING_ZOOM, { animate: false });
    });
    // The median place of the loaded incidents known to a place (null for the tiled map's, or none).
    function middleOf(d) {
      if (!d || !d.x) return null;
      var xs = [], ys = [];
      for (var i = 0; i < d.n; i++) if (!d.area[i]) { xs.push(d.x[i]); ys.push(d.y[i]); }
      if (!xs.length) return null;
      var median = function (values) { return Float64Array.from(values).sort()[values.length >> 1]; }, world = 256;
      return map.unproject([median(xs) * world, median(ys) * world], 0);
    }
    engine.on("drawn", function (e) {
      document.querySelectorAll(".wm-view-total").forEach(function (total) { total.textContent = webmap.formatNumber(e.selected); });
      if (status) status.textContent = webmap.formatNumber(e.inExtent) + " of the " + webmap.formatNumber(e.selected) +
        " incidents of this view lie in the map's extent";
    });
    engine.on("error", function (e) {
      if (status) status.textContent = "Could not load the incidents: " + (e.error.message || e.error);
      releaseOverlays();
    });
    // Drawn = the incidents and the base map are on screen (the benchmark waits for this mark);
    // the overlays follow.
    var basemapReady = new Promise(function (resolve) {
      var pending = 0;
      map.eachLayer(function (layer) {
        if (layer instanceof LazyGeoJSON && !layer.afterFirstDraw) { pending++; layer.whenLoaded().then(done, done); }
      });
      function done() { if (--pending === 0) resolve(); }
      if (!pending) resolve();
    });
    var firstDraw = new Promise(function (resolve) { engine.once("drawn", resolve); });
    webmap.ready = Promise.all([basemapReady, firstDraw]).then(function () {
      return new Promise(function (resolve) {
        requestAnimationFrame(function () {
          performance.mark("webmap-drawn");
          document.body.dataset.mapReady = "1";
          releaseOverlays();
          resolve(engine);
        });
      });
    });
    return engine;
  };

  // ---------------------------------------------------------------- the forces
  /* The forces, each with a tick and the number of incidents of the view (and window) that involve
   * it, most first; the forces with none in this view are listed apart. Unticking a force hides the
   * incidents whose forces are all unticked. The colours are the initiating sides'. */
  webmap.forcePanel = function (map, engine) {
    var view = engine.view;
    var Panel = L.Control.extend({
      options: { position: "topright" },
      onAdd: function () {
        var box = el("details", "wm-panel wm-forces");
        box.open = true;
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        var summary = el("summary", null, "Forces");
        box.appendChild(summary);
        box.appendChild(el("div", "wm-muted wm-forces-note", "An incident counts under every force it involves; its colour is the initiating side's."));
        this._list = el("div", "wm-forces-list");
        this._none = el("div", "wm-forces-none");
        box.appendChild(this._list);
        box.appendChild(this._none);
        var all = el("button", "wm-link", "Show all forces");
        all.type = "button";
        all.addEventListener("click", function () { view.set({ forces: null }); });
        box.appendChild(all);
        this._all = all;
        var self = this;
        engine.on("counted", function () { self.update(); });
        view.onChange(function () { self.update(); });
        this.update();
        return box;
      },
      update: function () {
        var counts = engine.forceCounts, forces = engine.forces, ticked = forces.filter(function (f) { return view.shows(f.key); });
        var order = forces.map(function (f, i) { return i; }).sort(function (a, b) { return counts[b] - counts[a] || a - b; });
        this._list.textContent = "";
        this._none.textContent = "";
        var noneLabel = null;
        var self = this;
        order.forEach(function (i) {
          var f = forces[i], n = counts[i], row = el("label", "wm-force-row" + (n ? "" : " wm-empty"));
          row.dataset.force = f.key;
          var box = el("input");
          box.type = "checkbox";
          box.checked = view.shows(f.key);
          // At least one force stays ticked: "Only" switches to another one.
          box.disabled = box.checked && ticked.length === 1;
          box.addEventListener("change", function () {
            var on = forces.filter(function (g) { return g.key === f.key ? box.checked : view.shows(g.key); }).map(function (g) { return g.key; });
            view.set({ forces: on });
          });
          var swatch = el("span", "wm-swatch");
          swatch.style.background = f.colour;
          row.appendChild(box);
          row.appendChild(swatch);
          row.appendChild(el("span", "wm-force", f.label));
          row.appendChild(el("span", "wm-count", n ? "(" + webmap.formatNumber(n) + ")" : ""));
          if (n) {
            var only = el("button", "wm-link wm-only", "only");
            only.type = "button";
            only.title = "Show only " + f.label;
            only.addEventListener("click", function (e) { e.preventDefault(); view.set({ forces: [f.key] }); });
            row.appendChild(only);
            self._list.appendChild(row);
          } else {
            if (!noneLabel) noneLabel = self._none.appendChild(el("div", "wm-muted", "None in this view:"));
            self._none.appendChild(row);
          }
        });
        this._all.hidden = !view.forces;
      },
    });
    return new Panel().addTo(map);
  };

  // ---------------------------------------------------------------- time slider and playback
  var WINDOWS = [["all", "All dates", 0], ["7", "1 week", 7], ["30", "30 days", 30], ["91", "3 months", 91], ["365", "1 year", 365]];

  webmap.timeSlider = function (map, engine) {
    var view = engine.view;
    var Slider = L.Control.extend({
      options: { position: "bottomleft" },
      onAdd: function () {
        var box = el("div", "wm-panel wm-time");
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        var select = el("select");
        select.setAttribute("aria-label", "Time window");
        WINDOWS.forEach(function (w) {
          var o = el("option", null, w[1]);
          o.value = w[0];
          select.appendChild(o);
        });
        var play = el("button", "wm-play", "▶");
        play.type = "button";
        play.title = "Play the window through the dates";
        var range = el("input");
        range.type = "range";
        range.setAttribute("aria-label", "Last day of the time window");
        range.disabled = true;
        var label = el("span", "wm-time-label", "all dates");
        box.appendChild(select);
        box.appendChild(play);
        box.appendChild(range);
        box.appendChild(label);

        var first = 0, last = 0, timer = null;
        function length() { return +select.value || 0; }
        // The window's length in the select: a preset, or the length the URL gave.
        function choose(len) {
          var value = String(len || "all");
          if (!Array.prototype.some.call(select.options, function (o) { return o.value === value; })) {
            var o = el("option", null, len + " days");
            o.value = value;
            select.appendChild(o);
          }
          select.value = value;
        }
        function show() {
          var w = view.window;
          range.disabled = !w;
          if (!w) {
            label.textContent = engine.data && engine.data.n ? webmap.isoDay(first) + " – " + webmap.isoDay(last) : "no incidents";
            return;
          }
          choose(w[1] - w[0] + 1);
          range.value = String(w[1]);
          label.textContent = webmap.isoDay(w[0]) + " – " + webmap.isoDay(w[1]);
        }
        function apply(replace) {
          var len = length();
          view.set({ window: len ? [+range.value - len + 1, +range.value] : null }, replace);
        }
        function stop() {
          if (timer) clearInterval(timer);
          timer = null;
          play.textContent = "▶";
        }
        select.addEventListener("change", function () { stop(); apply(false); });
        range.addEventListener("input", function () { stop(); apply(true); });
        range.addEventListener("change", function () { apply(false); });
        play.addEventListener("click", function () {
          if (timer) { stop(); return; }
          if (!length()) choose(30);
          var len = length();
          if (+range.value >= last) range.value = String(first + len - 1);
          play.textContent = "❚❚";
          apply(false);
          timer = setInterval(function () {
            var next = +range.value + len;
            if (next > last + len - 1) { stop(); return; }
            range.value = String(Math.min(next, last));
            apply(true);
          }, 800);
        });
        view.onChange(show);
        engine.on("load", function (e) {
          var d = e.data;
          if (!d.n) { label.textContent = "no incidents"; return; }
          first = d.firstDay;
          last = d.lastDay;
          range.min = String(first);
          range.max = String(last);
          range.step = "1";
          range.value = String(view.window ? view.window[1] : last);
          show();
        });
        return box;
      },
    });
    return new Slider().addTo(map);
  };

  // ---------------------------------------------------------------- toolbar
  /* The map's actions: "Add from report" links to the extraction page for those who may write; the
   * others see it greyed with why (the page's body says who may: data-can-edit, data-write-refusal). */
  webmap.toolbar = function (map) {
    var Toolbar = L.Control.extend({
      options: { position: "topleft" },
      onAdd: function () {
        var box = el("div", "leaflet-bar wm-panel wm-toolbar"), page = document.body.dataset, item;
        if (page.canEdit === "1") {
          item = el("a", "wm-add-report", "Add from report");
          item.href = page.extractUrl;
          item.title = "Paste a news report: webmap proposes its incidents for you to check and save";
        } else {
          item = el("span", "wm-add-report wm-disabled", "Add from report");
          item.setAttribute("role", "link");
          item.setAttribute("aria-disabled", "true");
          item.title = page.writeRefusal;
          item.appendChild(el("small", "wm-why", page.writeRefusal));
        }
        box.appendChild(item);
        L.DomEvent.disableClickPropagation(box);
        return box;
      },
    });
    return new Toolbar().addTo(map);
  };

  // ---------------------------------------------------------------- legend
  webmap.legend = function (map, options) {
    var Legend = L.Control.extend({
      options: { position: "topright" },
      onAdd: function () {
        var box = el("details", "wm-panel wm-legend");
        box.open = true;
        L.DomEvent.disableClickPropagation(box);
        box.appendChild(el("summary", null, "Where an incident is known"));
        [["1", "wm-dot"], ["2", "wm-dot wm-hollow"]].forEach(function (p) {
          var row = el("div");
          row.appendChild(el("span", p[1]));
          row.appendChild(document.createTextNode(" " + options.precision[p[0]]));
          box.appendChild(row);
        });
        var area = el("div");
        area.appendChild(el("span", "wm-area-key", "3"));
        area.appendChild(document.createTextNode(" " + options.precision["3"] + ": counted in the area, outlined on hover"));
        box.appendChild(area);
        var ring = el("div");
        ring.appendChild(el("span", "wm-ring-key"));
        ring.appendChild(document.createTextNode(" cluster: count, ring = share of each initiating force"));
        box.appendChild(ring);
        box.appendChild(el("div", "wm-muted", "Colour: the initiating side's force (actor 1, as in ACLED)."));
        return box;
      },
    });
    return webmap.intoPanel(map, new Legend().addTo(map));
  };

  // ---------------------------------------------------------------- one panel for layers and legends
  /* The layer list, the forces, the legend and the districts' shading scale in one panel at the top
   * right, folded to its title unless, open, it leaves at least 75% of the map clear. Its height
   * stops short of the map's, so nothing sits under it. */
  var CLEAR_SHARE = 0.75;

  webmap.controlPanel = function (map) {
    var Panel = L.Control.extend({
      options: { position: "topright" },
      onAdd: function () {
        var box = el("details", "wm-panel wm-controls");
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        box.appendChild(el("summary", null, "Layers and legend"));
        this.body = box.appendChild(el("div", "wm-controls-body"));
        return box;
      },
    });
    var panel = new Panel().addTo(map);
    var box = panel.getContainer();
    function fit() { panel.body.style.maxHeight = Math.max(120, map.getSize().y - 70) + "px"; }
    fit();
    map.on("resize", fit);
    // The layer list first, then what reads the incidents drawn.
    [".leaflet-control-layers", ".wm-forces", ".wm-legend", ".wm-choro-legend"].forEach(function (selector) {
      var control = map.getContainer().querySelector(".leaflet-control-container " + selector);
      if (control) panel.body.appendChild(control);
    });
    map._wmPanel = panel;
    /* Opened by default from what it covers, again once the incidents (and the forces' counts) are in
     * and when the map changes size, until the user opens or folds it (a click on its title; the
     * toggle event would also report the panel's own changes). */
    var touched = false;
    box.querySelector("summary").addEventListener("click", function () { touched = true; });
    function decide() {
      if (touched) return;
      box.open = true;
      var size = map.getSize(), r = box.getBoundingClientRect();
      box.open = r.width * r.height <= (1 - CLEAR_SHARE) * size.x * size.y;
      box.dataset.decided = "1";
    }
    decide();
    map.on("resize", decide);
    if (webmap.ready) webmap.ready.then(function () { setTimeout(decide, 0); });
    return panel;
  };

  // A control moved into the map's panel (once there is one); returns the control.
  webmap.intoPanel = function (map, control) {
    if (map._wmPanel) map._wmPanel.body.appendChild(control.getContainer());
    return control;
  };

  /* Set a popup's auto-pan padding so it opens clear of every control on the map: each control
   * pushes the edge whose push loses the least of the map (a tall panel at the right pushes the
   * right edge, the time bar along the bottom the bottom one; on a phone's tall map, the controls
   * at the top push the top edge rather than narrow the map to less than a popup's width). */
  webmap.clearOfControls = function (map, popup) {
    // 8 px from every edge, as from every control
    var frame = map.getContainer().getBoundingClientRect(), pad = { left: 8, top: 8, right: 8, bottom: 8 };
    map.getContainer().querySelectorAll(".leaflet-control-container .leaflet-control").forEach(function (control) {
      // The panel counts as one (a folded panel's parts keep sizes of their own)
      if (control.closest(".wm-controls-body")) return;
      var r = control.getBoundingClientRect();
      if (!r.width || !r.height) return;
      var room = { left: r.right - frame.left, top: r.bottom - frame.top, right: frame.right - r.left, bottom: frame.bottom - r.top };
      var lost = function (edge) { return room[edge] * (edge === "left" || edge === "right" ? frame.height : frame.width); };
      var nearest = Object.keys(room).sort(function (a, b) { return lost(a) - lost(b); })[0];
      pad[nearest] = Math.max(pad[nearest], room[nearest] + 8);
    });
    popup.options.autoPanPaddingTopLeft = L.point(pad.left, pad.top);
    popup.options.autoPanPaddingBottomRight = L.point(pad.right, pad.bottom);
    popup.options.maxHeight = Math.max(150, frame.height - pad.top - pad.bottom - 40);
    // Narrower on a phone: the content's width, plus the popup's margins, within the clear width.
    popup.options.maxWidth = Math.max(150, Math.min(popup.options.maxWidth, frame.width - pad.left - pad.right - 50));
    popup.options.minWidth = Math.min(popup.options.minWidth, popup.options.maxWidth);
    return popup;
  };
})();
