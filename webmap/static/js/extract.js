/* The extraction page: a report in, proposed incidents on a small map and in an editable table, the
 * kept ones saved as reviewed (as drafts by those who may not review). Drafts come from POST
 * /api/extract (webmap.extract); saving posts the edited records to POST /api/extract/save, which
 * checks each one like the incident form does.
 * Every string from the report or the server goes into the page with textContent, never as HTML.
 * The analyst's work (report, date, source, the proposed drafts and every correction) is kept in this
 * tab's sessionStorage as it changes and put back when the page opens, so logging in to save (which
 * leaves the page) or a reload loses nothing; a successful save forgets it.
 */
(function () {
  "use strict";

  var options = JSON.parse(document.getElementById("wm-extract-options").textContent);
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var form = document.getElementById("wm-extract-form");
  var status = document.getElementById("wm-extract-status");
  var review = document.getElementById("wm-review");
  var tbody = document.querySelector("#wm-drafts tbody");
  var leftOut = document.getElementById("wm-left-out");
  var saveButton = document.getElementById("wm-save");
  var saveStatus = document.getElementById("wm-save-status");
  var map = null, markerLayer = null, rows = [], proposed = null;
  var STATE_KEY = "webmap.extract";

  var el = window.webmap.el; // from dom.js, loaded before this file

  function field(tag, name, value, attrs) {
    var node = el(tag);
    node.name = name;
    node.setAttribute("aria-label", name.replace("_", " "));
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (value !== undefined && value !== null) node.value = String(value);
    return node;
  }

  function choice(name, pairs, value) {
    var node = field("select", name);
    pairs.forEach(function (pair) {
      var option = el("option", null, pair[1]);
      option.value = pair[0];
      if (pair[2]) option.dataset.type = pair[2];
      node.appendChild(option);
    });
    node.value = value === null || value === undefined ? "" : String(value);
    return node;
  }

  function postJSON(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return { error: "HTTP " + response.status }; })
        .then(function (data) {
          if (!response.ok) { var err = new Error(data.error || "HTTP " + response.status); err.data = data; throw err; }
          return data;
        });
    });
  }

  function ensureMap() {
    if (map) return;
    map = L.map("wm-extract-map", { zoomSnap: 0.5 }).setView([35.4, 44.2], 7);
    markerLayer = L.layerGroup().addTo(map);
    fetch(options.layer_url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (geojson) {
        if (geojson) L.geoJSON(geojson, { style: { color: "#777", weight: 1, fill: false }, interactive: false }).addTo(map);
      });
  }

  var forcePairs = [["", "—"]].concat(options.forces.map(function (key, i) { return [key, options.force_labels[i]]; }));
  var typePairs = Object.keys(options.event_types).map(function (t) { return [t, t]; });
  var subPairs = [["", "—"]];
  Object.keys(options.event_types).forEach(function (t) {
    options.event_types[t].forEach(function (s) { subPairs.push([s, s, t]); });
  });
  function pairsOf(mapping) { return Object.keys(mapping).map(function (k) { return [k, mapping[k]]; }); }

  function setPoint(row, lat, lon) {
    row.fields.latitude.value = Number(lat).toFixed(5);
    row.fields.longitude.value = Number(lon).toFixed(5);
    row.marker.setLatLng([lat, lon]);
    persist();
  }

  function onlySubTypesOf(row) {
    var type = row.fields.event_type.value, sub = row.fields.sub_event_type;
    Array.prototype.forEach.call(sub.options, function (option) {
      option.hidden = !!option.dataset.type && option.dataset.type !== type;
    });
    var chosen = sub.selectedOptions[0];
    if (chosen && chosen.dataset.type && chosen.dataset.type !== type) sub.value = "";
  }

  function buildRow(draft, n) {
    var row = { draft: draft, fields: {}, tr: el("tr"), evidence: el("tr", "wm-evidence") };
    var f = row.fields;
    var keep = field("input", "keep", null, { type: "checkbox" });
    keep.checked = true;
    keep.addEventListener("change", function () {
      row.tr.classList.toggle("wm-dropped", !keep.checked);
      row.evidence.classList.toggle("wm-dropped", !keep.checked);
    });
    row.keep = keep;
    f.event_date = field("input", "event_date", draft.event_date, { type: "date", required: "" });
    f.time_precision = choice("time_precision", pairsOf(options.time_precision), draft.time_precision);
    f.event_type = choice("event_type", typePairs, draft.event_type);
    f.sub_event_type = choice("sub_event_type", subPairs, draft.sub_event_type);
    f.actor1 = field("input", "actor1", draft.actor1, { placeholder: "actor 1" });
    f.force1 = choice("force1", forcePairs, draft.force1);
    f.actor2 = field("input", "actor2", draft.actor2, { placeholder: "actor 2" });
    f.force2 = choice("force2", forcePairs, draft.force2);
    f.location = field("input", "location", draft.location);
    f.geo_precision = choice("geo_precision", pairsOf(options.geo_precision), draft.geo_precision);
    f.latitude = field("input", "latitude", draft.latitude, { inputmode: "decimal", "class": "wm-coord" });
    f.longitude = field("input", "longitude", draft.longitude, { inputmode: "decimal", "class": "wm-coord" });
    f.fatalities = field("input", "fatalities", draft.fatalities, { type: "number", min: "0" });
    f.injured = field("input", "injured", draft.injured, { type: "number", min: "0" });
    f.notes = field("textarea", "notes", draft.notes, { rows: "2", cols: "80" });
    f.event_type.addEventListener("change", function () { onlySubTypesOf(row); });
    onlySubTypesOf(row);

    function cell() {
      var td = el("td"), box = el("div", "wm-stack");
      Array.prototype.slice.call(arguments).forEach(function (node) { box.appendChild(node); });
      td.appendChild(box);
      row.tr.appendChild(td);
    }
    cell(keep);
    cell(el("strong", null, n));
    cell(f.event_date, f.time_precision);
    cell(f.event_type, f.sub_event_type);
    cell(f.actor1, f.force1, f.actor2, f.force2);
    var alternatives = (draft.alternatives || []).filter(function (a) {
      return a.name !== draft.location || a.latitude !== draft.latitude;
    });
    var placeParts = [f.location];
    if (alternatives.length) {
      var other = choice("other_place", [["", "other places named “" + draft.place_words + "”…"]].concat(
        alternatives.map(function (a, i) {
          return [String(i), a.name + " · " + [a.district, a.governorate].filter(Boolean).join(", ") + " · " + a.feature_code];
        })), "");
      other.addEventListener("change", function () {
        var a = alternatives[Number(other.value)];
        if (!a) return;
        f.location.value = a.name;
        f.geo_precision.value = /^ADM[1-3]/.test(a.feature_code) ? "3" : "1";
        setPoint(row, a.latitude, a.longitude);
      });
      placeParts.push(other);
    }
    placeParts.push(f.geo_precision, el("small", "wm-muted", "report: “" + draft.place_words + "”"));
    cell.apply(null, placeParts);
    cell(f.latitude, f.longitude);
    cell(f.fatalities);
    cell(f.injured);

    var td = el("td");
    td.colSpan = 9;
    (draft.evidence || []).forEach(function (e) { td.appendChild(el("blockquote", null, e.text)); });
    if (draft.vague && draft.vague.length) td.appendChild(el("p", "wm-muted", "Not counted (no number): " + draft.vague.join("; ")));
    var label = el("label", null, "Notes ");
    label.appendChild(f.notes);
    td.appendChild(label);
    row.evidence.appendChild(td);

    // Leaflet puts a string tooltip in as HTML: the place name (a gazetteer row, untrusted) goes in as text.
    // A pin numbered like its row of the table, labelled with its place all the time.
    var pin = L.divIcon({ className: "wm-draft-pin", html: "", iconSize: [24, 24], iconAnchor: [12, 12] });
    row.marker = L.marker([draft.latitude, draft.longitude], { draggable: true, icon: pin, title: "#" + n + " " + draft.location })
      .bindTooltip(row.label = el("span", null, "#" + n + " " + draft.location),
        { permanent: true, direction: "right", offset: [12, 0], className: "wm-draft-label" })
      .addTo(markerLayer);
    row.marker.getElement().textContent = String(n);
    f.location.addEventListener("change", function () { row.label.textContent = "#" + n + " " + f.location.value; });
    row.marker.on("dragend", function () {
      var p = row.marker.getLatLng();
      setPoint(row, p.lat, p.lng);
    });
    [f.latitude, f.longitude].forEach(function (input) {
      input.addEventListener("change", function () {
        var lat = parseFloat(f.latitude.value), lon = parseFloat(f.longitude.value);
        if (isFinite(lat) && isFinite(lon)) row.marker.setLatLng([lat, lon]);
      });
    });
    tbody.appendChild(row.tr);
    tbody.appendChild(row.evidence);
    return row;
  }

  function render(result) {
    proposed = result;
    review.hidden = false;
    ensureMap();
    markerLayer.clearLayers();
    tbody.textContent = "";
    leftOut.textContent = "";
    saveStatus.textContent = "";
    rows = result.drafts.map(function (draft, i) { return buildRow(draft, i + 1); });
    (result.left_out || []).forEach(function (e) {
      leftOut.appendChild(el("li", null, "Left out, no place named: " + e.text));
    });
    map.invalidateSize();
    if (rows.length) {
      map.fitBounds(L.latLngBounds(rows.map(function (r) { return r.marker.getLatLng(); })).pad(0.4), { maxZoom: 10 });
    }
    if (saveButton) saveButton.hidden = !rows.length;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = document.getElementById("wm-propose");
    button.disabled = true;
    status.textContent = "Reading the report…";
    postJSON(options.extract_url, {
      text: form.elements.text.value, date: form.elements.date.value, source: form.elements.source.value
    }).then(function (result) {
      var n = result.drafts.length;
      status.textContent = n ? n + " incident" + (n === 1 ? "" : "s") + " proposed." :
        "No incident found: no attack or clash with a place the gazetteer knows.";
      render(result);
      persist();
    }).catch(function (err) {
      status.textContent = "";
      status.appendChild(el("span", "wm-error", err.message));
    }).then(function () { button.disabled = false; });
  });

  function persist() {
    var state = {
      text: form.elements.text.value, date: form.elements.date.value, source: form.elements.source.value,
      result: proposed,
      rows: rows.map(function (r) {
        var values = {};
        Object.keys(r.fields).forEach(function (name) { values[name] = r.fields[name].value; });
        return { keep: r.keep.checked, values: values };
      })
    };
    try {
      sessionStorage.setItem(STATE_KEY, JSON.stringify(state));
    } catch (err) {
      // Storage off or full: the page still works, but the analyst must know a login would lose the work.
      if (!document.getElementById("wm-not-kept")) {
        var warning = el("p", "wm-error", "This browser does not keep your work across a login or reload (" +
          err.name + "): save before leaving the page.");
        warning.id = "wm-not-kept";
        form.appendChild(warning);
      }
    }
  }

  function forget() {
    try { sessionStorage.removeItem(STATE_KEY); } catch { /* nothing was kept */ }
  }

  function restore() {
    var state = null;
    try { state = JSON.parse(sessionStorage.getItem(STATE_KEY)); } catch { forget(); }
    if (!state) return;
    form.elements.text.value = state.text || "";
    if (state.date) form.elements.date.value = state.date;
    form.elements.source.value = state.source || "";
    if (!state.result) return;
    render(state.result);
    (state.rows || []).forEach(function (kept, i) {
      var row = rows[i];
      if (!row) return;
      Object.keys(kept.values).forEach(function (name) {
        if (row.fields[name]) row.fields[name].value = kept.values[name];
      });
      row.keep.checked = kept.keep;
      // The fields' own handlers grey a dropped row, narrow the sub-event types and move the marker.
      [row.keep, row.fields.event_type, row.fields.latitude].forEach(function (node) {
        node.dispatchEvent(new Event("change"));
      });
    });
    persist();
    var n = rows.length;
    status.textContent = "Your report and corrections are back: " + n + " incident" + (n === 1 ? "" : "s") +
      " proposed.";
  }

  form.addEventListener("input", persist);
  tbody.addEventListener("input", persist);
  tbody.addEventListener("change", persist);

  function record(row) {
    var f = row.fields, out = {};
    Object.keys(f).forEach(function (name) { out[name] = f[name].value === "" ? null : f[name].value; });
    ["source", "source_id", "source_url"].forEach(function (name) { out[name] = row.draft[name]; });
    if (form.elements.source.value.trim()) out.source = form.elements.source.value.trim();
    out.status = options.save_as; // "draft" for those who may not review (an analyst)
    return out;
  }

  if (saveButton) saveButton.addEventListener("click", function () {
    var kept = rows.filter(function (r) { return r.keep.checked; });
    rows.forEach(function (r) {
      Object.keys(r.fields).forEach(function (k) { r.fields[k].classList.remove("wm-bad"); });
    });
    saveStatus.textContent = "";
    if (!kept.length) { saveStatus.textContent = "Nothing kept to save."; return; }
    saveButton.disabled = true;
    postJSON(options.save_url, { incidents: kept.map(record) }).then(function (result) {
      saveStatus.textContent = "Saved as " + (options.save_as === "draft" ? "drafts" : "reviewed") + ": " + result.inserted + " new, " + result.updated + " updated, " +
        result.unchanged + " already stored. ";
      forget();
      var link = el("a", null, "See them on the map");
      link.href = result.map_url; // the map of the saved incidents alone, fitted to them
      saveStatus.appendChild(link);
    }).catch(function (err) {
      saveStatus.appendChild(el("span", "wm-error", err.message));
      var match = /^row (\d+)/.exec(err.message || "");
      var bad = match && kept[Number(match[1]) - 1];
      var name = err.data && err.data.field;
      if (bad && name && bad.fields[name]) { bad.fields[name].classList.add("wm-bad"); bad.fields[name].focus(); }
    }).then(function () { saveButton.disabled = false; });
  });

  restore();
})();
