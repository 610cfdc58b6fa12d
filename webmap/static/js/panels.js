/* The panels around the map: the filter form, the chart, the table of incidents in the map's
 * extent, the count and the downloads of this view.
 *
 * They follow the page's one view state (webmap.view, set by map.js: the filter, the forces ticked
 * and the time window, kept in the URL) and ask the server with its query string, so they show
 * the same incidents as the map. Text from the database goes in with textContent only.
 */
(function () {
  "use strict";

  var webmap = window.webmap;
  var el = webmap.el;
  var view = webmap.view;
  if (!view) return; // no map on this page

  // ---------------------------------------------------------------- filter form: a clean URL
  var form = document.getElementById("wm-filter");
  if (form) {
    form.addEventListener("submit", function () {
      // The forces ticked and the time window stay; empty fields are left out of the URL.
      var params = new URLSearchParams(view.query());
      document.getElementById("f-force").value = params.get("force") || "";
      document.getElementById("f-window").value = params.get("window") || "";
      Array.prototype.forEach.call(form.elements, function (field) {
        if (field.name && !field.value) field.disabled = true;
      });
      var hash = window.location.hash;
      if (hash) form.action = form.getAttribute("action").split("#")[0];
    });
  }

  /* On a phone the form is a sheet over the map, opened by the "Filters" button above the map and
   * closed by its Close button, Escape or a tap on the map around it (the CSS shows it so only
   * while the body says wm-sheet-open). */
  var opener = document.getElementById("wm-filters-open"), backdrop = document.querySelector(".wm-backdrop");
  if (form && opener) {
    var setSheet = function (open) {
      document.body.classList.toggle("wm-sheet-open", open);
      opener.setAttribute("aria-expanded", String(open));
      if (backdrop) backdrop.hidden = !open;
      if (open) form.querySelector("select, input:not([type=hidden])").focus();
      else if (document.activeElement && form.contains(document.activeElement)) opener.focus();
    };
    opener.addEventListener("click", function () { setSheet(true); });
    form.querySelector(".wm-sheet-close").addEventListener("click", function () { setSheet(false); });
    if (backdrop) backdrop.addEventListener("click", function () { setSheet(false); });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && document.body.classList.contains("wm-sheet-open")) setSheet(false);
    });
  }

  // ---------------------------------------------------------------- downloads: exactly this view
  function updateLinks() {
    [["wm-download-geojson", "/export.geojson"], ["wm-download-csv", "/export.csv"], ["wm-api-link", "/api/incidents"]]
      .forEach(function (link) {
        var a = document.getElementById(link[0]);
        if (a) a.href = view.url(link[1]);
      });
  }
  updateLinks();
  view.onChange(updateLinks);

  // ---------------------------------------------------------------- chart
  /* The window as a shaded band over the periods it covers (a Chart.js plugin on both charts). */
  var windowBand = {
    id: "wmWindow",
    beforeDatasetsDraw: function (chart, args, options) {
      var w = options.window, labels = chart.data.labels;
      if (!w || !labels.length) return;
      var first = 0, last = labels.length - 1;
      while (first < labels.length - 1 && labels[first + 1] <= w[0]) first++;
      while (last > 0 && labels[last] > w[1]) last--;
      if (last < first) return;
      var x = chart.scales.x, area = chart.chartArea, step = labels.length > 1 ? x.getPixelForValue(1) - x.getPixelForValue(0) : area.width;
      var left = Math.max(area.left, x.getPixelForValue(first) - step / 2), right = Math.min(area.right, x.getPixelForValue(last) + step / 2);
      var ctx = chart.ctx;
      ctx.save();
      ctx.fillStyle = "rgba(31, 95, 191, 0.13)";
      ctx.fillRect(left, area.top, right - left, area.bottom - area.top);
      ctx.restore();
    },
  };

  function drawChart(data) {
    var period = document.getElementById("wm-period");
    if (period) period.textContent = data.period;
    if (!window.Chart) return;
    var shown = data.forces.filter(function (f) { return view.shows(f.key); });
    [["wm-chart-incidents", "incidents", "Incidents"], ["wm-chart-fatalities", "fatalities", "Fatalities"]].forEach(function (spec) {
      var canvas = document.getElementById(spec[0]);
      if (!canvas) return;
      var existing = window.Chart.getChart(canvas);
      if (existing) existing.destroy();
      var datasets = shown.map(function (f) {
        return { label: f.label, data: f[spec[1]], borderColor: f.colour, backgroundColor: f.colour, borderWidth: 1.5,
                 pointRadius: 0, tension: 0.2 };
      });
      if (data.total) {
        datasets.unshift({ label: "All incidents of the view (each once)", data: data.total[spec[1]], borderColor: "#9a9a9a",
                           backgroundColor: "rgba(154,154,154,0.25)", fill: true, borderWidth: 1, pointRadius: 0, tension: 0.2 });
      }
      new window.Chart(canvas, {
        type: "line",
        data: { labels: data.periods, datasets: datasets },
        plugins: [windowBand],
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          plugins: {
            wmWindow: { window: data.window },
            title: { display: true, text: spec[2] + " per " + data.period + " (starting)" },
            legend: { display: spec[1] === "incidents", position: "bottom", labels: { boxWidth: 12 } },
            tooltip: { mode: "index", intersect: false },
          },
          scales: {
            x: { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 12 } },
            y: { beginAtZero: true, ticks: { precision: 0 } },
          },
        },
      });
    });
    document.getElementById("wm-chart-incidents").dataset.window = data.window ? data.window.join("/") : "";
  }

  // The chart and the table wait for the map: the incidents on the map come first.
  var mapReady = webmap.ready || Promise.resolve();

  // Chart.js (200 kB) is fetched only once the map is drawn: the chart is below the map.
  var chartScript = document.currentScript && document.currentScript.dataset.chartJs;
  // Fetched once: a second copy of Chart.js would start an empty registry, losing the chart drawn
  // by the first (a view changed while Chart.js loads asked for it again).
  var chartJsLoading = null;
  function loadChartJs() {
    if (window.Chart || !chartScript) return Promise.resolve();
    if (!chartJsLoading) {
      chartJsLoading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = chartScript;
        script.onload = resolve;
        script.onerror = function () { reject(new Error("cannot load " + chartScript)); };
        document.head.appendChild(script);
      });
    }
    return chartJsLoading;
  }

  var chartRequest = 0;
  function loadChart() {
    var ticket = ++chartRequest;
    return Promise.all([webmap.getJSON(view.url("/api/timeline")), loadChartJs()]).then(function (results) {
      if (ticket === chartRequest) drawChart(results[0]);
    });
  }
  if (document.getElementById("wm-chart-incidents")) {
    // Listening before the first chart is in: a view changed while Chart.js loads is drawn too.
    mapReady.then(function () {
      view.onChange(webmap.debounce(loadChart, 300));
      return loadChart();
    }).catch(function (err) {
      document.getElementById("wm-chart-title").after(el("p", "wm-error", "Could not load the chart: " + err.message));
    });
  }

  // ---------------------------------------------------------------- table of incidents in the map's extent
  var table = document.getElementById("wm-table");
  if (!table || !webmap.current) return;
  var map = webmap.current.map, engine = webmap.current.engine;
  var tbody = table.querySelector("tbody");
  var headings = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) { return th.textContent.trim(); });
  var pageLabel = document.getElementById("wm-page");
  var prev = document.getElementById("wm-prev"), next = document.getElementById("wm-next");
  var PAGE = 25;
  var state = { sort: "-event_date", offset: 0, total: 0, request: 0, pinned: null, pinning: false };

  // Every force the incident involves, the initiating side's first.
  function forceNames(p) {
    return (p.forces || []).map(function (key) { return webmap.forceLabel(engine, key); }).join(" · ");
  }

  function load() {
    var ticket = ++state.request, asked = view.query();
    webmap.getJSON(view.url("/api/incidents", { bbox: webmap.extentParam(map), limit: PAGE, offset: state.offset, sort: state.sort }))
      .then(function (data) {
        if (ticket !== state.request) return; // a newer view was asked for meanwhile
        state.total = data.total;
        tbody.textContent = "";
        tbody.dataset.sort = state.sort; // which order the rows are in, once they are in
        data.features.forEach(function (f) {
          var p = f.properties, tr = el("tr");
          tr.tabIndex = 0;
          tr.dataset.id = f.id;
          [webmap.dateText(p.event_date, p.time_precision), p.location || "", p.admin2_display || p.admin1_display || "", forceNames(p),
           p.sub_event_type || p.event_type, p.fatalities === null ? "" : webmap.formatNumber(p.fatalities)]
            .forEach(function (v, k) {
              var td = tr.appendChild(el("td", k === 5 ? "wm-num" : null, v));
              td.dataset.label = headings[k]; // a phone's card names its fields
            });
          if (p.fatalities === null) {
            // No figure in the source: an empty cell that says so, never a 0.
            var unknown = tr.lastChild;
            unknown.title = "not reported";
            unknown.appendChild(el("span", "wm-muted", "–"));
          }
          if (p.geo_precision > 1) tr.title = "approximate place: " + engine.options.precision[String(p.geo_precision)];
          function show() {
            // The rows stay while the picked incident's popup is open, so the next row is one click
            // away; closing it brings back the incidents of the view the map has moved to.
            state.pinned = null;
            state.pinning = true;
            var popup = engine.showIncident(f);
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
        pageLabel.textContent = data.total ? (state.offset + 1) + "–" + last + " of " + webmap.formatNumber(data.total) : "none in the map's extent";
        pageLabel.dataset.total = String(data.total);
        pageLabel.dataset.view = asked; // the view the rows are of
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
