/* webmap's map in the browser: the Leaflet side of webmap/mapview.py.
 *
 * Each Folium element of mapview.py renders one call into `webmap` (basemap, boundary,
 * choropleth, incidents, forceLayer, timeSlider, legend). The incidents arrive once per filter
 * from /api/points as a compact binary buffer (webmap.mapview.encode_points: about 6 bytes an
 * incident after gzip) and are drawn on one canvas, grouped per view into clusters by a screen
 * grid, so 100,000 incidents cost one download and a zoom, pan, force toggle or time step one pass
 * over typed arrays.
 *
 * Every string that comes from the database is put into the page with textContent, never as HTML.
 */
(function () {
  "use strict";

  var webmap = (window.webmap = window.webmap || {});
  var DAY_MS = 86400000;
  var MAGIC = 0x31504d57; // "WMP1", little-endian

  // ---------------------------------------------------------------- small helpers
  var el = webmap.el; // from dom.js, loaded before this file

  webmap.isoDay = function (day) {
    return new Date(day * DAY_MS).toISOString().slice(0, 10);
  };

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) throw new Error(url + ": HTTP " + response.status);
      return response.json();
    });
  }
  webmap.getJSON = getJSON;

  // A count with thousands separators ("12,345"). Not Intl.NumberFormat: building one loads the
  // locale data, about 15 ms of the main thread before the first picture.
  webmap.formatNumber = function (n) {
    return String(Math.round(n)).replace(/\B(?=(\d{3})+$)/g, ",");
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
        this._loading = start.then(function () { return getJSON(self._url); }).then(function (data) {
          self.addLayer(self._makeLayer(data, map));
          self.fire("load");
          return self;
        });
      }
    },
    whenLoaded: function () {
      return this._loading || Promise.resolve(this);
    },
  });

  // ---------------------------------------------------------------- base map and overlays
  var BASEMAP_STYLE = {
    adm0: { color: "#6f6f6f", weight: 1.4, fillColor: "#f7f4ec", fillOpacity: 1 },
    adm1: { color: "#9b9b9b", weight: 1 },
    adm2: { color: "#cfcac0", weight: 0.6 },
  };

  webmap.basemap = function (options) {
    return new LazyGeoJSON(options.url, function (data, map) {
      var pane = ensurePane(map, "wm-basemap", 150);
      // The country first, then district lines, then governorate lines and names on top.
      var order = { adm0: 0, adm2: 1, adm1: 2, label: 3 };
      data.features.sort(function (a, b) { return order[a.properties.level] - order[b.properties.level]; });
      return L.geoJSON(data, {
        pane: pane,
        renderer: L.canvas({ pane: pane }),
        interactive: false,
        style: function (feature) {
          return BASEMAP_STYLE[feature.properties.level];
        },
        pointToLayer: function (feature, latlng) {
          // A fixed-size icon, not a tooltip: placing it needs no layout measurement.
          return L.marker(latlng, {
            pane: pane, interactive: false, keyboard: false,
            icon: L.divIcon({ className: "wm-label", html: el("span", null, feature.properties.name),
                              iconSize: [160, 14], iconAnchor: [80, 7] }),
          });
        },
      });
    });
  };

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
          if (feature.properties.name) layer.bindTooltip(el("span", null, feature.properties.name), { sticky: true });
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
    var state = { metric: "incidents", geo: null, legend: null };
    var layer = new LazyGeoJSON(options.url, function (data, map) {
      var pane = ensurePane(map, "wm-choropleth", 410);
      state.geo = L.geoJSON(data, {
        pane: pane,
        renderer: L.svg({ pane: pane }),
        onEachFeature: function (feature, lyr) {
          lyr.bindTooltip(function () {
            var p = feature.properties, box = el("div");
            box.appendChild(el("strong", null, p.name || p.pcode));
            box.appendChild(el("div", null, p.incidents + " incidents, " + p.fatalities + " fatalities"));
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
      state.legend = new ChoroLegend().addTo(layer._map);
      layer.whenLoaded().then(restyle);
    });
    layer.on("remove", function () {
      if (state.legend) state.legend.remove();
      state.legend = null;
    });
    return layer;
  };

  // ---------------------------------------------------------------- the incidents
  /* Decode /api/points: "WMP1", uint32 n, then columns of n values: uint32 id deltas, float32 lon,
   * float32 lat, int32 day (days since 1970-01-01), uint32 fatalities, uint8 force index (into
   * options.forces), uint8 geo_precision. Adds x, y: Web Mercator position in 0..1 of the world;
   * and, from the same pass, bounds ([[south, west], [north, east]] or null), forceCounts (per
   * force index, for `forceCount` forces) and firstDay, lastDay. */
  function decodePoints(buffer, forceCount) {
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
              x: new Float64Array(n), y: new Float64Array(n), forceCounts: new Uint32Array(forceCount) };
    var id = d.id, lon = d.lon, lat = d.lat, day = d.day, force = d.force, xs = d.x, ys = d.y, counts = d.forceCounts;
    var south = 90, west = 180, north = -90, east = -180, first = Infinity, last = -Infinity;
    var RAD = Math.PI / 180, Y = 1 / (4 * Math.PI);
    for (var i = 0; i < n; i++) {
      if (i) id[i] += id[i - 1];
      var la = lat[i], lo = lon[i], t = day[i];
      var s = Math.sin((la > 85.05 ? 85.05 : la < -85.05 ? -85.05 : la) * RAD);
      xs[i] = (lo + 180) / 360;
      ys[i] = 0.5 - Math.log((1 + s) / (1 - s)) * Y;
      if (la < south) south = la;
      if (la > north) north = la;
      if (lo < west) west = lo;
      if (lo > east) east = lo;
      if (t < first) first = t;
      if (t > last) last = t;
      counts[force[i]]++;
    }
    d.bounds = n ? [[south, west], [north, east]] : null;
    d.firstDay = n ? first : null;
    d.lastDay = n ? last : null;
    return d;
  }
  webmap.decodePoints = decodePoints;

  var CELL_PX = 64; // cluster cell size on screen
  var CLOSE_CELL_PX = 6; // from POINTS_ZOOM on, only points drawn on top of each other are grouped
  var POINTS_ZOOM = 16;
  var PAD = 0.3; // the canvas reaches this share of the view beyond each edge, so a drag shows points

  /* The incidents on one canvas, grouped per view into clusters by a screen grid: one pass over
   * typed arrays per zoom, pan, force toggle or time step (about 10 ms for 100,000 incidents), so
   * nothing is indexed up front and nothing is one DOM element or one Leaflet object per incident. */
  var IncidentLayer = L.Layer.extend({
    initialize: function (options) {
      this.options = options;
      this.forces = options.forces;
      this.forceIndex = {};
      for (var i = 0; i < this.forces.length; i++) this.forceIndex[this.forces[i].key] = i;
      this.active = new Uint8Array(this.forces.length);
      this.window = null;
      this.data = null;
      this.items = [];
      this.drawn = {};
      this.drawnTotal = 0;
      this.selectedTotal = 0;
      this._scheduled = false;
      this._renders = 0;
    },

    onAdd: function (map) {
      this._map = map;
      var pane = map.getPane(ensurePane(map, "wm-points", 450));
      this._canvas = L.DomUtil.create("canvas", "wm-points leaflet-zoom-hide", pane);
      this._ctx = this._canvas.getContext("2d");
      map.on("moveend resize", this.render, this);
      map.on("click", this._onClick, this);
      map.on("mousemove", this._onHover, this);
      if (!this._loading) this._loading = this._load();
    },

    onRemove: function (map) {
      map.off("moveend resize", this.render, this);
      map.off("click", this._onClick, this);
      map.off("mousemove", this._onHover, this);
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
          self.data = decodePoints(buffer, self.forces.length);
          var before = self._renders;
          self.fire("load", { data: self.data });
          if (self._renders === before) self.render(); // unless a load handler moved the map already
        })
        .catch(function (err) {
          self.fire("error", { error: err });
        });
    },

    // Counts per force index of all loaded incidents (for the layer control's labels).
    countsByForce: function () {
      return this.data ? Array.from(this.data.forceCounts) : new Array(this.forces.length).fill(0);
    },

    // The bounds of all loaded incidents, or null when there are none.
    dataBounds: function () {
      return this.data && this.data.bounds ? L.latLngBounds(this.data.bounds) : null;
    },

    setForce: function (key, on) {
      this.active[this.forceIndex[key]] = on ? 1 : 0;
      this.scheduleRender();
    },

    // [firstDay, lastDay] (days since 1970-01-01) or null for every date.
    setWindow: function (window) {
      this.window = window;
      this.scheduleRender();
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
      return this.active[d.force[i]] && !(w && (d.day[i] < w[0] || d.day[i] > w[1]));
    },

    /* Group the incidents that pass the toggles and the time window and lie on the canvas into
     * screen cells; returns the cells (clusters, or single incidents) and the selection's size. */
    _group: function (zoom, left, top, width, height) {
      var d = this.data, scale = 256 * Math.pow(2, zoom), cellPx = zoom >= POINTS_ZOOM ? CLOSE_CELL_PX : CELL_PX;
      var x0 = left / scale, x1 = (left + width) / scale, y0 = top / scale, y1 = (top + height) / scale;
      var perCell = scale / cellPx, list = [], selected = 0;
      // The cells of the canvas as one typed array (cell -> its index in list, plus one): no hashing per incident.
      var gx0 = Math.floor(x0 * perCell), gy0 = Math.floor(y0 * perCell);
      var rows = Math.floor(y1 * perCell) - gy0 + 1, grid = new Int32Array((Math.floor(x1 * perCell) - gx0 + 1) * rows);
      var active = this.active, w = this.window, force = d.force, day = d.day, xs = d.x, ys = d.y;
      var nf = this.forces.length;
      for (var i = 0; i < d.n; i++) {
        if (!active[force[i]]) continue;
        if (w && (day[i] < w[0] || day[i] > w[1])) continue;
        selected++;
        var x = xs[i], y = ys[i];
        if (x < x0 || x > x1 || y < y0 || y > y1) continue;
        var gx = Math.floor(x * perCell), gy = Math.floor(y * perCell);
        var slot = (gx - gx0) * rows + (gy - gy0), at = grid[slot], cell = at ? list[at - 1] : undefined;
        if (cell === undefined) {
          cell = { key: gx * 67108864 + gy, count: 0, sx: 0, sy: 0, fatalities: 0, first: i, byForce: new Uint32Array(nf),
                   minX: x, maxX: x, minY: y, maxY: y };
          list.push(cell);
          grid[slot] = list.length;
        }
        cell.count++;
        cell.sx += x;
        cell.sy += y;
        cell.fatalities += d.fatalities[i];
        cell.byForce[force[i]]++;
        if (x < cell.minX) cell.minX = x; else if (x > cell.maxX) cell.maxX = x;
        if (y < cell.minY) cell.minY = y; else if (y > cell.maxY) cell.maxY = y;
      }
      this._mergeNeighbours(list, scale, cellPx);
      return { cells: list.filter(function (c) { return c.count > 0; }), selected: selected, scale: scale };
    },

    // Cells cut a group of incidents at a cell border; join clusters whose centres are too close.
    _mergeNeighbours: function (list, scale, cellPx) {
      list.sort(function (a, b) { return b.count - a.count; });
      var reach = (cellPx * 0.75) / scale;
      for (var a = 0; a < list.length; a++) {
        var A = list[a];
        if (!A.count) continue;
        for (var b = a + 1; b < list.length; b++) {
          var B = list[b];
          if (!B.count) continue;
          if (Math.abs(A.sx / A.count - B.sx / B.count) > reach || Math.abs(A.sy / A.count - B.sy / B.count) > reach) continue;
          A.count += B.count; A.sx += B.sx; A.sy += B.sy; A.fatalities += B.fatalities;
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

      var zoom = map.getZoom(), grouped = this._group(zoom, origin.x, origin.y, width, height);
      var items = [], drawn = {}, total = 0, d = this.data, scale = grouped.scale;
      for (var k = 0; k < this.forces.length; k++) drawn[this.forces[k].key] = 0;
      // Singles first, clusters on top.
      grouped.cells.sort(function (a, b) { return (a.count > 1) - (b.count > 1) || a.count - b.count; });
      for (var c = 0; c < grouped.cells.length; c++) {
        var cell = grouped.cells[c];
        total += cell.count;
        for (var f = 0; f < this.forces.length; f++) drawn[this.forces[f].key] += cell.byForce[f];
        if (cell.count === 1) {
          var i = cell.first, px = d.x[i] * scale - origin.x, py = d.y[i] * scale - origin.y;
          items.push({ x: px, y: py, r: this._drawPoint(ctx, i, px, py), index: i, cell: cell });
        } else {
          var cx = (cell.sx / cell.count) * scale - origin.x, cy = (cell.sy / cell.count) * scale - origin.y;
          items.push({ x: cx, y: cy, r: this._drawCluster(ctx, cell, cx, cy), cell: cell });
        }
      }
      this.items = items;
      this._origin = origin;
      this._pad = L.point(padX, padY);
      this.drawn = drawn;
      this.drawnTotal = total;
      this.selectedTotal = grouped.selected;
      this.fire("drawn", { total: total, selected: grouped.selected });
    },

    _drawPoint: function (ctx, i, x, y) {
      var colour = this.forces[this.data.force[i]].colour, precision = this.data.precision[i];
      var r = precision === 3 ? 8 : precision === 2 ? 6.5 : 5.5;
      ctx.beginPath();
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      if (precision === 1) {
        ctx.fillStyle = colour;
        ctx.fill();
        ctx.lineWidth = 1;
        ctx.strokeStyle = "rgba(255,255,255,0.9)";
        ctx.setLineDash([]);
        ctx.stroke();
      } else {
        // Approximate places are hollow (dashed when only the district is known): they do not look exact.
        ctx.fillStyle = "rgba(255,255,255,0.55)";
        ctx.fill();
        ctx.lineWidth = 2;
        ctx.strokeStyle = colour;
        ctx.setLineDash(precision === 3 ? [3, 3] : []);
        ctx.stroke();
        ctx.setLineDash([]);
      }
      return r;
    },

    _drawCluster: function (ctx, cell, x, y) {
      var r = cell.count < 10 ? 13 : cell.count < 100 ? 16 : cell.count < 1000 ? 20 : cell.count < 10000 ? 24 : 28;
      var start = -Math.PI / 2;
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.arc(x, y, r + 1, 0, 2 * Math.PI);
      ctx.fillStyle = "rgba(255,255,255,0.95)";
      ctx.fill();
      // A ring of each force's share, the count in the middle.
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

    // The drawn item (point or cluster) under a container point, or null.
    itemAt: function (containerPoint) {
      if (!this._pad) return null;
      var x = containerPoint.x + this._pad.x, y = containerPoint.y + this._pad.y;
      for (var k = this.items.length - 1; k >= 0; k--) {
        var it = this.items[k], dx = it.x - x, dy = it.y - y;
        if (dx * dx + dy * dy <= (it.r + 2) * (it.r + 2)) return it;
      }
      return null;
    },

    _onHover: function (e) {
      var self = this;
      if (this._hoverPending) return;
      this._hoverPending = true;
      requestAnimationFrame(function () {
        self._hoverPending = false;
        L.DomUtil[self.itemAt(e.containerPoint) ? "addClass" : "removeClass"](self._map.getContainer(), "wm-over-item");
      });
    },

    _onClick: function (e) {
      var item = this.itemAt(e.containerPoint);
      if (!item) return;
      var d = this.data;
      if (item.index !== undefined) {
        this.openIncident(d.id[item.index], L.latLng(d.lat[item.index], d.lon[item.index]));
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
      this._listMembers(cell, map.unproject([(cell.sx / cell.count) * scale, (cell.sy / cell.count) * scale], map.getZoom()));
    },

    // The incidents of a cluster that does not split (one place): a list to pick from.
    _listMembers: function (cell, latlng) {
      var d = this.data, self = this, members = [];
      for (var i = 0; i < d.n && members.length < 50; i++) {
        if (this._passes(i) && d.x[i] >= cell.minX && d.x[i] <= cell.maxX && d.y[i] >= cell.minY && d.y[i] <= cell.maxY) members.push(i);
      }
      var box = el("div", "wm-popup wm-leaves"), list = el("ul");
      box.appendChild(el("strong", null, cell.count + " incidents here, " + cell.fatalities + " killed"));
      members.forEach(function (i) {
        var li = el("li"), button = el("button", "wm-link",
          webmap.isoDay(d.day[i]) + " · " + self.forces[d.force[i]].label + (d.fatalities[i] ? " · " + d.fatalities[i] + " killed" : ""));
        button.type = "button";
        button.addEventListener("click", function () { self.openIncident(d.id[i], latlng); });
        li.appendChild(button);
        list.appendChild(li);
      });
      box.appendChild(list);
      if (cell.count > members.length) box.appendChild(el("div", "wm-muted", "… the first " + members.length + " shown"));
      L.popup({ maxWidth: 360 }).setLatLng(latlng).setContent(box).openOn(this._map);
    },

    // Show incident `id` in a popup at `latlng`, fetching its details.
    openIncident: function (id, latlng) {
      var popup = L.popup({ maxWidth: 380, minWidth: 260 }).setLatLng(latlng).setContent(el("div", "wm-popup", "Loading…")).openOn(this._map);
      var self = this;
      getJSON(this.options.detailUrl + id)
        .then(function (feature) { popup.setContent(incidentCard(feature, self)); })
        .catch(function (err) { popup.setContent(el("div", "wm-popup wm-error", String(err.message || err))); });
      return popup;
    },

    // Centre the map on an incident and open its popup (the table's row click).
    showIncident: function (id, lat, lon) {
      var latlng = L.latLng(lat, lon), map = this._map;
      map.setView(latlng, Math.max(map.getZoom(), POINTS_ZOOM), { animate: false });
      return this.openIncident(id, latlng);
    },
  });

  function forceLabel(engine, key) {
    var i = engine.forceIndex[key];
    return i === undefined ? key : engine.forces[i].label;
  }

  function incidentCard(feature, engine) {
    var p = feature.properties, box = el("div", "wm-popup wm-incident");
    var title = el("div", "wm-popup-title");
    title.appendChild(el("strong", null, p.event_date));
    if (p.time_precision > 1) title.appendChild(el("span", "wm-muted", p.time_precision === 2 ? " (that week)" : " (that month)"));
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
    function actor(name, force) {
      if (!name && !force) return null;
      return (name || "—") + (force ? " [" + forceLabel(engine, force) + "]" : "");
    }
    row("Actor 1", actor(p.actor1, p.force1));
    row("Actor 2", actor(p.actor2, p.force2));
    row("Place", [p.location, p.admin3, p.admin2, p.admin1].filter(Boolean).join(", "));
    row("Precision", engine.options.precision[String(p.geo_precision)]);
    row("Disputed territory", p.disputed === true ? "yes" : p.disputed === false ? "no" : null);
    row("Fatalities", p.fatalities);
    row("Injured", p.injured);
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

  // The view (zoom/lat/lon) lives in the URL's fragment, so a shared link opens the same view.
  function followViewInHash(map) {
    var m = /^#(\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)\/(-?\d+(?:\.\d+)?)$/.exec(window.location.hash);
    if (m) map.setView([+m[2], +m[3]], +m[1], { animate: false });
    map.on("moveend", function () {
      var c = map.getCenter();
      var hash = "#" + map.getZoom() + "/" + c.lat.toFixed(4) + "/" + c.lng.toFixed(4);
      history.replaceState(history.state, "", window.location.pathname + window.location.search + hash);
    });
    return !!m;
  }

  webmap.incidents = function (map, options) {
    var engine = new IncidentLayer(options);
    var sharedView = followViewInHash(map);
    engine.addTo(map);
    webmap.current = { map: map, engine: engine };
    var status = document.getElementById("wm-status");
    engine.on("load", function (e) {
      // Without a view in the URL, open on the incidents themselves.
      var bounds = engine.dataBounds();
      var fits = bounds && map.getBounds().contains(bounds) && map.getBoundsZoom(bounds, false, L.point(40, 40)) <= map.getZoom();
      if (!sharedView && bounds && !fits) map.fitBounds(bounds, { maxZoom: 12, padding: [20, 20], animate: false });
      var counts = engine.countsByForce();
      document.querySelectorAll(".leaflet-control-layers .wm-count[data-force]").forEach(function (span) {
        var n = counts[engine.forceIndex[span.dataset.force]] || 0;
        span.textContent = "(" + webmap.formatNumber(n) + ")";
        span.closest("label").classList.toggle("wm-empty", n === 0);
      });
      var total = document.getElementById("wm-total");
      if (total) total.textContent = webmap.formatNumber(e.data.n);
    });
    engine.on("drawn", function (e) {
      if (status) status.textContent = webmap.formatNumber(e.total) + " of " + webmap.formatNumber(e.selected) +
        " shown incidents in view; " + webmap.formatNumber(engine.data.n) + " match the filter";
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

  // One force in the layer control: ticking it shows that force's incidents.
  var ForceToggle = L.Layer.extend({
    initialize: function (engine, key) {
      this._engine = engine;
      this.force = key;
    },
    onAdd: function () {
      this._engine.setForce(this.force, true);
      return this;
    },
    onRemove: function () {
      this._engine.setForce(this.force, false);
      return this;
    },
  });

  webmap.forceLayer = function (engine, options) {
    return new ForceToggle(engine, options.force);
  };

  // ---------------------------------------------------------------- time slider and playback
  var WINDOWS = [["all", "All dates", 0], ["7", "1 week", 7], ["30", "30 days", 30], ["91", "3 months", 91], ["365", "1 year", 365]];

  webmap.timeSlider = function (map, engine) {
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
        function length() { return +(WINDOWS[select.selectedIndex][2]); }
        function apply() {
          var len = length();
          range.disabled = !len;
          if (!len) {
            engine.setWindow(null);
            label.textContent = engine.data && engine.data.n ? webmap.isoDay(first) + " – " + webmap.isoDay(last) : "no incidents";
            return;
          }
          var end = +range.value;
          engine.setWindow([end - len + 1, end]);
          label.textContent = webmap.isoDay(end - len + 1) + " – " + webmap.isoDay(end);
        }
        function stop() {
          if (timer) clearInterval(timer);
          timer = null;
          play.textContent = "▶";
        }
        select.addEventListener("change", function () { stop(); apply(); });
        range.addEventListener("input", function () { stop(); apply(); });
        play.addEventListener("click", function () {
          if (timer) { stop(); return; }
          if (!length()) { select.value = "30"; }
          var len = length();
          if (+range.value >= last) range.value = String(first + len - 1);
          play.textContent = "❚❚";
          apply();
          timer = setInterval(function () {
            var next = +range.value + len;
            if (next > last + len - 1) { stop(); return; }
            range.value = String(Math.min(next, last));
            apply();
          }, 800);
        });
        engine.on("load", function (e) {
          var d = e.data;
          if (!d.n) { label.textContent = "no incidents"; return; }
          first = d.firstDay;
          last = d.lastDay;
          range.min = String(first);
          range.max = String(last);
          range.step = "1";
          range.value = String(last);
          label.textContent = webmap.isoDay(first) + " – " + webmap.isoDay(last);
        });
        return box;
      },
    });
    return new Slider().addTo(map);
  };

  // ---------------------------------------------------------------- legend
  /* True for a map too small (a laptop's, a phone's) to keep the layer list and the legend open
   * without covering the incidents: they start folded there. */
  webmap.compact = function (map) {
    var size = map.getSize();
    return size.x < 900 || size.y < 600;
  };

  webmap.legend = function (map, options) {
    var Legend = L.Control.extend({
      onAdd: function () {
        var box = el("details", "wm-panel wm-legend");
        box.open = !webmap.compact(map);
        L.DomEvent.disableClickPropagation(box);
        box.appendChild(el("summary", null, "Where an incident is known"));
        [["1", "wm-dot"], ["2", "wm-dot wm-hollow"], ["3", "wm-dot wm-hollow wm-dashed"]].forEach(function (p) {
          var row = el("div");
          row.appendChild(el("span", p[1]));
          row.appendChild(document.createTextNode(" " + options.precision[p[0]]));
          box.appendChild(row);
        });
        var ring = el("div");
        ring.appendChild(el("span", "wm-ring-key"));
        ring.appendChild(document.createTextNode(" cluster: count, ring = share of each force"));
        box.appendChild(ring);
        return box;
      },
    });
    // On a small map, under the layer button: the time control needs the bottom edge.
    return new Legend({ position: webmap.compact(map) ? "topright" : "bottomright" }).addTo(map);
  };
})();
