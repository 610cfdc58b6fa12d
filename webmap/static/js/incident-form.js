/* The analyst's incident form: the place found in the gazetteer or set on a map, sub-event types of
 * the chosen type.
 *
 * The map is drawn with map.js's offline base map (loaded before this file). The search asks /api/gazetteer (webmap.gazetteer.geocode) and shows its candidates as a numbered
 * list and as markers numbered alike. Picking one, clicking the map or dragging the point sets the
 * latitude and longitude boxes; typing in them moves the point. Each time, /api/placement says what
 * the incident would be stored with (district, sub-district, disputed status: webmap.spatial's one
 * placement rule). A point placed by hand never keeps the precision a gazetteer pick set: the analyst
 * chooses it. Every string from the server goes in with textContent.
 */
(function () {
  "use strict";

  var el = window.webmap.el; // from dom.js, loaded before this file

  var search = document.getElementById("wm-place-search");
  var find = document.getElementById("wm-place-find");
  var results = document.getElementById("wm-place-results");
  var latitude = document.getElementById("latitude");
  var longitude = document.getElementById("longitude");
  var precision = document.getElementById("geo_precision");
  var locationInput = document.getElementById("location");
  var placementBox = document.getElementById("wm-placement");
  var mapBox = document.getElementById("wm-form-map");

  var getJSON = window.webmap.getJSON; // from map.js, loaded before this file

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  // ---------------------------------------------------------------- the map
  var map = L.map(mapBox, { zoomSnap: 0.5 }).setView([35.4, 44.2], 7);
  var candidateLayer = L.layerGroup().addTo(map);
  var point = null;
  window.webmap.formMap = { map: map, point: function () { return point; } };

  // The map page's offline base map (places, rivers, roads and lines by zoom: webmap.basemap of map.js),
  // under the disputed territories, shaded, and the district lines, named on hover: where the point falls.
  window.webmap.basemap(JSON.parse(mapBox.dataset.basemap)).addTo(map);
  getJSON(mapBox.dataset.disputedUrl).then(function (geojson) {
    L.geoJSON(geojson, { style: { stroke: false, fillColor: "#e8590c", fillOpacity: 0.08 }, interactive: false }).addTo(map);
  });
  getJSON(mapBox.dataset.layerUrl).then(function (geojson) {
    L.geoJSON(geojson, {
      style: { color: "#666", weight: 1, fill: true, fillOpacity: 0 },
      onEachFeature: function (feature, layer) {
        // Leaflet puts a string tooltip in as HTML: the name goes in as an element's text.
        // A click on a district bubbles up to the map, which places the point there.
        layer.bindTooltip(el("span", null, feature.properties.display_name || feature.properties.name), { sticky: true });
      },
    }).addTo(map);
  });

  function pin(className) {
    return L.divIcon({ className: className, html: "", iconSize: [24, 24], iconAnchor: [12, 12] });
  }

  function setMarkerText(marker, text) {
    var node = marker.getElement();
    if (node) node.textContent = text;
  }

  // The point of the incident: one marker, dragged or moved by a click, by a pick or by the boxes.
  function movePoint(latlng) {
    if (!point) {
      point = L.marker(latlng, { draggable: true, icon: pin("wm-point-pin"), title: "The incident's point (drag to move)",
                                 zIndexOffset: 1000 }).addTo(map);
      // While dragged, the boxes follow, and the areas whenever the drag pauses for 150 ms.
      var follow = debounce(showPlacement, 150);
      point.on("drag", function () {
        writeBoxes(point.getLatLng());
        follow();
      });
      point.on("dragend", function () { placeByHand(point.getLatLng()); });
    } else {
      point.setLatLng(latlng);
    }
    if (!map.getBounds().contains(latlng)) map.panTo(latlng, { animate: false });
  }

  function writeBoxes(latlng) {
    latitude.value = latlng.lat.toFixed(5);
    longitude.value = latlng.lng.toFixed(5);
  }

  // Whether the precision shown came with a gazetteer pick (then a point moved by hand drops it).
  var precisionFromPlace = false;

  function askPrecision() {
    if (!precisionFromPlace) return;
    precision.value = "";
    precisionFromPlace = false;
  }

  function placeByHand(latlng) {
    results.textContent = ""; // no longer the place picked, if one was
    movePoint(latlng);
    writeBoxes(latlng);
    askPrecision();
    showPlacement();
  }

  map.on("click", function (e) { placeByHand(e.latlng); });

  // The boxes as a point, or null while they hold no pair of numbers.
  function typedPoint() {
    var lat = parseFloat(latitude.value), lon = parseFloat(longitude.value);
    if (!isFinite(lat) || !isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) return null;
    return L.latLng(lat, lon);
  }

  function followBoxes() {
    var latlng = typedPoint();
    if (latlng) movePoint(latlng);
    askPrecision();
    showPlacement();
  }
  // One wait for both boxes: typing the latitude and then the longitude places the point once.
  var followBoxesSoon = debounce(followBoxes, 300);
  latitude.addEventListener("input", followBoxesSoon);
  longitude.addEventListener("input", followBoxesSoon);
  precision.addEventListener("change", function () {
    precisionFromPlace = false;
    showPlacement();
  });
  locationInput.addEventListener("change", showPlacement);

  // ---------------------------------------------------------------- what the point is stored with
  var asked = 0;

  function areaText(area) {
    if (!area) return "not known at this precision";
    return area.display_name + (area.name !== area.display_name ? " (" + area.name + ")" : "");
  }

  var DISPUTED = { inside: "inside", partly: "partly inside", outside: "outside" };

  function line(label, id, text) {
    var row = el("p", "wm-placement-line");
    row.appendChild(el("span", "wm-muted", label + ": "));
    var value = el("strong", null, text);
    value.id = id;
    row.appendChild(value);
    return row;
  }

  function showPlacement() {
    var ticket = ++asked;
    if (!latitude.value.trim() && !longitude.value.trim()) return;
    var params = new URLSearchParams({ latitude: latitude.value.trim(), longitude: longitude.value.trim() });
    if (precision.value) params.set("geo_precision", precision.value);
    if (locationInput.value.trim()) params.set("location", locationInput.value.trim());
    getJSON(mapBox.dataset.placementUrl + "?" + params.toString())
      .then(function (found) {
        if (ticket !== asked) return; // a later point was asked for meanwhile
        placementBox.textContent = "";
        placementBox.dataset.district = found.district ? found.district.pcode : "";
        placementBox.appendChild(line("Governorate", "wm-placement-governorate", areaText(found.governorate)));
        placementBox.appendChild(line("District", "wm-placement-district", areaText(found.district)));
        placementBox.appendChild(line("Sub-district", "wm-placement-sub-district", areaText(found.sub_district)));
        placementBox.appendChild(line("Disputed territories", "wm-placement-disputed",
          found.disputed ? DISPUTED[found.disputed] : "not known"));
        if (!precision.value) {
          placementBox.appendChild(el("p", "wm-muted", "As for a named place (precision 1) until you choose the precision."));
        }
      })
      .catch(function (err) {
        if (ticket !== asked) return;
        placementBox.textContent = "";
        placementBox.dataset.district = "";
        placementBox.appendChild(el("p", "wm-error", "This point cannot be placed: " + err.message));
      });
  }

  // ---------------------------------------------------------------- the gazetteer search
  function choose(place) {
    var latlng = L.latLng(place.latitude, place.longitude);
    locationInput.value = place.name;
    writeBoxes(latlng);
    // The gazetteer says how precise its point is: 1 a place, 2 an area or neighbourhood, 3 a district.
    precision.value = String(place.precision || 1);
    precisionFromPlace = true;
    candidateLayer.clearLayers();
    movePoint(latlng);
    map.setView(latlng, Math.max(map.getZoom(), 11), { animate: false });
    results.textContent = "";
    results.appendChild(el("li", "wm-muted", "Using " + place.name + " (" + latlng.lat.toFixed(4) + ", " +
      latlng.lng.toFixed(4) + ")"));
    showPlacement();
  }

  function whereText(place) {
    // A foreign place says its country: it is listed only after every Iraqi one.
    var abroad = place.country_code && place.country_code !== "IQ" ? place.country_code : "";
    return [place.district, place.governorate, abroad].filter(Boolean).join(", ");
  }

  function showCandidates(places) {
    candidateLayer.clearLayers();
    var iraqi = [];
    places.forEach(function (place, i) {
      var n = String(i + 1), where = whereText(place);
      var li = el("li", "wm-candidate"), button = el("button", "wm-link", place.name);
      li.appendChild(el("span", "wm-candidate-number", n));
      button.type = "button";
      button.addEventListener("click", function () { choose(place); });
      li.appendChild(button);
      li.appendChild(el("span", "wm-muted", " " + where + (place.feature_code ? " · " + place.feature_code : "")));
      results.appendChild(li);

      var label = el("span", null);
      label.appendChild(el("strong", null, n + " " + place.name));
      label.appendChild(el("span", null, " " + where));
      var marker = L.marker([place.latitude, place.longitude], { icon: pin("wm-candidate-pin"), title: n + " " + place.name + ", " + where })
        // Labels alternate sides: two candidates close together (a town and its district) stay readable.
        .bindTooltip(label, { permanent: true, direction: i % 2 ? "left" : "right", offset: [i % 2 ? -12 : 12, 0],
                              className: "wm-candidate-label" })
        .on("click", function () { choose(place); })
        .addTo(candidateLayer);
      setMarkerText(marker, n);
      if (place.country_code === "IQ" || !place.country_code) iraqi.push(marker.getLatLng());
    });
    var shown = iraqi.length ? iraqi : candidateLayer.getLayers().map(function (m) { return m.getLatLng(); });
    if (shown.length) map.fitBounds(L.latLngBounds(shown).pad(0.3), { maxZoom: 11, animate: false });
  }

  function lookup() {
    var name = search.value.trim();
    results.textContent = "";
    candidateLayer.clearLayers();
    if (!name) return;
    results.appendChild(el("li", "wm-muted", "Searching…"));
    // Places of the governorate chosen, then of the disputed territories, come first.
    var params = new URLSearchParams({ disputed: "1", q: name });
    var governorate = document.getElementById("wm-place-governorate").value;
    if (governorate) params.set("governorate", governorate);
    getJSON(mapBox.dataset.gazetteerUrl + "?" + params.toString())
      .then(function (body) {
        results.textContent = "";
        if (!body.candidates.length) {
          results.appendChild(el("li", "wm-muted", "No place of that name in the gazetteer: click the map or type the coordinates."));
          return;
        }
        showCandidates(body.candidates);
      })
      .catch(function (err) {
        results.textContent = "";
        results.appendChild(el("li", "wm-error", "Search failed: " + err.message));
      });
  }

  if (find) find.addEventListener("click", lookup);
  if (search) search.addEventListener("keydown", function (e) {
    if (e.key === "Enter") { e.preventDefault(); lookup(); }
  });

  // An incident being edited (or a form sent back) shows its point and what it is stored with.
  var opened = typedPoint();
  if (opened) {
    movePoint(opened);
    map.setView(opened, 11, { animate: false });
    showPlacement();
  }

  // ---------------------------------------------------------------- the rest of the form
  // Offer only the sub-event types of the chosen event type.
  var type = document.getElementById("event_type"), sub = document.getElementById("sub_event_type");
  function filterSubTypes() {
    Array.prototype.forEach.call(sub.querySelectorAll("optgroup"), function (group) {
      var match = group.label === type.value;
      group.hidden = !match;
      group.disabled = !match;
    });
    var chosen = sub.selectedOptions[0];
    if (chosen && chosen.dataset.type && chosen.dataset.type !== type.value) sub.value = "";
  }
  if (type && sub) {
    type.addEventListener("change", filterSubTypes);
    filterSubTypes();
  }

  // Deleting asks first (here, not in an inline handler: the page's CSP runs no inline script).
  Array.prototype.forEach.call(document.querySelectorAll("form[data-confirm]"), function (form) {
    form.addEventListener("submit", function (e) {
      if (!window.confirm(form.dataset.confirm)) e.preventDefault();
    });
  });

  // Put the cursor on the field the server refused.
  var error = document.getElementById("wm-form-error");
  if (error && document.getElementById(error.dataset.field)) document.getElementById(error.dataset.field).focus();
})();
