/* The analyst's incident form: gazetteer search for the place, sub-event types of the chosen type.
 * Results come from /api/gazetteer (webmap.gazetteer.resolve); their text goes in with textContent.
 */
(function () {
  "use strict";

  var el = window.webmap.el; // from dom.js, loaded before this file

  var search = document.getElementById("wm-place-search");
  var find = document.getElementById("wm-place-find");
  var results = document.getElementById("wm-place-results");

  function choose(place) {
    document.getElementById("location").value = place.name;
    document.getElementById("latitude").value = place.latitude;
    document.getElementById("longitude").value = place.longitude;
    // The gazetteer says how precise its point is: 1 a place, 2 an area or neighbourhood, 3 a district.
    document.getElementById("geo_precision").value = String(place.precision || 1);
    results.textContent = "";
    results.appendChild(el("li", "wm-muted", "Using " + place.name + " (" + Number(place.latitude).toFixed(4) + ", " +
      Number(place.longitude).toFixed(4) + ")"));
  }

  function lookup() {
    var name = search.value.trim();
    results.textContent = "";
    if (!name) return;
    results.appendChild(el("li", "wm-muted", "Searching…"));
    // Places of the governorate chosen, then of the disputed territories, come first.
    var governorate = document.getElementById("wm-place-governorate").value;
    var url = "/api/gazetteer?disputed=1&q=" + encodeURIComponent(name) +
      (governorate ? "&governorate=" + encodeURIComponent(governorate) : "");
    fetch(url, { credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error(body.error || "HTTP " + response.status);
          return body;
        });
      })
      .then(function (body) {
        var places = Array.isArray(body) ? body : body.candidates || body.results || [];
        results.textContent = "";
        if (!places.length) {
          results.appendChild(el("li", "wm-muted", "No place of that name in the gazetteer; type the coordinates."));
          return;
        }
        places.forEach(function (place) {
          var li = el("li"), button = el("button", "wm-link", place.name);
          button.type = "button";
          button.addEventListener("click", function () { choose(place); });
          li.appendChild(button);
          // A foreign place says its country: it is listed only after every Iraqi one.
          var abroad = place.country_code && place.country_code !== "IQ" ? place.country_code : "";
          var where = [place.district, place.governorate, abroad].filter(Boolean).join(", ");
          li.appendChild(el("span", "wm-muted", " " + where + (place.feature_code ? " · " + place.feature_code : "")));
          results.appendChild(li);
        });
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
