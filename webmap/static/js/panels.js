/* The panels around the map: the filter form, the chart and the table of incidents in view.
 *
 * They follow the page's filter (the query string the server put in #wm-table's data-query) and
 * the map (webmap.current, set by map.js). Text from the database goes in with textContent only.
 */
(function () {
  "use strict";

  var webmap = window.webmap;
  var el = webmap.el;
  var table = document.getElementById("wm-table");
  var baseQuery = table ? table.dataset.query : "";

  function withQuery(path, extra) {
    var params = new URLSearchParams(baseQuery);
    Object.keys(extra || {}).forEach(function (k) {
      if (extra[k] === null || extra[k] === undefined) params.delete(k);
      else params.set(k, extra[k]);
    });
    var qs = params.toString();
    return qs ? path + "?" + qs : path;
  }

  // ---------------------------------------------------------------- filter form: a clean URL
  var form = document.getElementById("wm-filter");
  if (form) {
    form.addEventListener("submit", function () {
      // Leave empty fields out, so the shared URL holds only what narrows the view.
      Array.prototype.forEach.call(form.elements, function (field) {
        if (field.name && !field.value) field.disabled = true;
      });
      var hash = window.location.hash;
      if (hash) form.action = form.getAttribute("action").split("#")[0];
    });
  }

  // ---------------------------------------------------------------- chart
  function drawChart(data) {
    var period = document.getElementById("wm-period");
    if (period) period.textContent = data.period;
    if (!window.Chart) return;
    [["wm-chart-incidents", "incidents", "Incidents"], ["wm-chart-fatalities", "fatalities", "Fatalities"]].forEach(function (spec) {
      var canvas = document.getElementById(spec[0]);
      if (!canvas) return;
      var existing = window.Chart.getChart(canvas);
      if (existing) existing.destroy();
      new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: data.periods,
          datasets: data.forces.map(function (f) {
            return { label: f.label, data: f[spec[1]], backgroundColor: f.colour, borderWidth: 0 };
          }),
        },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          plugins: {
            title: { display: true, text: spec[2] + " per " + data.period + " (starting)" },
            legend: { display: spec[1] === "incidents", position: "bottom", labels: { boxWidth: 12 } },
            tooltip: { mode: "index", intersect: false },
          },
          scales: {
            x: { stacked: true, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 12 } },
            y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
          },
        },
      });
    });
  }

  // The chart and the table wait for the map: the incidents on the map come first.
  var mapReady = webmap.ready || Promise.resolve();

  // Chart.js (200 kB) is fetched only once the map is drawn: the chart is below the map.
  var chartScript = document.currentScript && document.currentScript.dataset.chartJs;
  function loadChartJs() {
    if (window.Chart || !chartScript) return Promise.resolve();
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = chartScript;
      script.onload = resolve;
      script.onerror = function () { reject(new Error("cannot load " + chartScript)); };
      document.head.appendChild(script);
    });
  }

  if (document.getElementById("wm-chart-incidents")) {
    mapReady.then(function () {
      return Promise.all([webmap.getJSON(withQuery("/api/timeline")), loadChartJs()]);
    }).then(function (results) { drawChart(results[0]); }).catch(function (err) {
      document.getElementById("wm-chart-title").after(el("p", "wm-error", "Could not load the chart: " + err.message));
    });
  }

  // ---------------------------------------------------------------- table of incidents in view
  if (!table || !webmap.current) return;
  var map = webmap.current.map, engine = webmap.current.engine;
  var tbody = table.querySelector("tbody");
  var pageLabel = document.getElementById("wm-page");
  var prev = document.getElementById("wm-prev"), next = document.getElementById("wm-next");
  var PAGE = 25;
  var state = { sort: "-event_date", offset: 0, total: 0, request: 0, pinned: null, pinning: false };

  function bboxParam() {
    var b = map.getBounds();
    function clamp(v, lo, hi) { return Math.min(hi, Math.max(lo, v)); }
    return [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -90, 90), clamp(b.getEast(), -180, 180),
            clamp(b.getNorth(), -90, 90)].map(function (v) { return v.toFixed(5); }).join(",");
  }

  function forcesParam() {
    // The forces unticked in the layer control leave the table too (either actor of the rest).
    var on = engine.forces.filter(function (f, i) { return engine.active[i]; }).map(function (f) { return f.key; });
    var offered = document.querySelectorAll(".leaflet-control-layers .wm-force").length;
    return on.length && on.length < offered ? on.join(",") : null;
  }

  function windowParams() {
    var w = engine.window, params = {};
    if (!w) return params;
    var from = webmap.isoDay(w[0]), to = webmap.isoDay(w[1]);
    var base = new URLSearchParams(baseQuery);
    if (!base.get("from") || base.get("from") < from) params.from = from;
    if (!base.get("to") || base.get("to") > to) params.to = to;
    return params;
  }

  function forceNames(p) {
    return [p.force1, p.force2].filter(Boolean).map(function (key) {
      var i = engine.forceIndex[key];
      return i === undefined ? key : engine.forces[i].label;
    }).join(" / ");
  }

  function load() {
    var extra = Object.assign({ bbox: bboxParam(), limit: PAGE, offset: state.offset, sort: state.sort }, windowParams());
    var forces = forcesParam();
    if (forces) extra.force = forces;
    var ticket = ++state.request;
    webmap.getJSON(withQuery("/api/incidents", extra)).then(function (data) {
      if (ticket !== state.request) return; // a newer view was asked for meanwhile
      state.total = data.total;
      tbody.textContent = "";
      tbody.dataset.sort = state.sort; // which order the rows are in, once they are in
      data.features.forEach(function (f) {
        var p = f.properties, tr = el("tr");
        tr.tabIndex = 0;
        tr.dataset.id = f.id;
        [p.event_date, p.location || "", p.admin2 || "", forceNames(p), p.sub_event_type || p.event_type,
         p.fatalities].forEach(function (v, k) {
          tr.appendChild(el("td", k === 5 ? "wm-num" : null, v));
        });
        if (p.geo_precision > 1) tr.title = "approximate place: " + engine.options.precision[String(p.geo_precision)];
        function show() {
          // The rows stay while the picked incident's popup is open, so the next row is one click
          // away; closing it brings back the incidents of the view the map has moved to.
          state.pinned = null;
          state.pinning = true;
          var popup = engine.showIncident(f.id, f.geometry.coordinates[1], f.geometry.coordinates[0]);
          state.pinning = false;
          state.pinned = popup;
          tbody.querySelectorAll("tr[aria-selected]").forEach(function (r) { r.removeAttribute("aria-selected"); });
          tr.setAttribute("aria-selected", "true");
          popup.once("remove", function () {
            if (state.pinned !== popup) return; // another row's popup replaced it
            state.pinned = null;
            reload(true);
          });
          document.querySelector(".wm-mapbox").scrollIntoView({ block: "nearest" });
        }
        tr.addEventListener("click", show);
        tr.addEventListener("keydown", function (e) { if (e.key === "Enter") show(); });
        tbody.appendChild(tr);
      });
      var last = Math.min(state.offset + PAGE, data.total);
      pageLabel.textContent = data.total ? (state.offset + 1) + "–" + last + " of " + webmap.formatNumber(data.total) : "none in view";
      prev.disabled = state.offset === 0;
      next.disabled = last >= data.total;
    }).catch(function (err) {
      tbody.textContent = "";
      var tr = el("tr"), td = el("td", "wm-error", "Could not load the table: " + err.message);
      td.colSpan = 6;
      tr.appendChild(td);
      tbody.appendChild(tr);
    });
  }

  var timer = null;
  function reload(resetPage) {
    if (resetPage) state.offset = 0;
    clearTimeout(timer);
    timer = setTimeout(load, 200);
  }

  table.querySelectorAll("button[data-sort]").forEach(function (button) {
    button.addEventListener("click", function () {
      var key = button.dataset.sort;
      state.sort = state.sort === "-" + key ? key : "-" + key;
      table.querySelectorAll("th").forEach(function (th) { th.removeAttribute("aria-sort"); });
      button.parentNode.setAttribute("aria-sort", state.sort.charAt(0) === "-" ? "descending" : "ascending");
      reload(true);
    });
  });
  prev.addEventListener("click", function () { state.offset = Math.max(0, state.offset - PAGE); load(); });
  next.addEventListener("click", function () { state.offset += PAGE; load(); });
  mapReady.then(function () {
    engine.on("drawn", function () { if (!state.pinning && !state.pinned) reload(true); });
    load();
  });
})();
