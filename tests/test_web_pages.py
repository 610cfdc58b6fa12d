"""The HTML pages (issues 3 and 8): the map page and its filter form, the analyst's incident form,
the vendored static files, escaping of what users typed."""

from __future__ import annotations

import gzip
import re
from html.parser import HTMLParser

import pytest
from helpers import FORM, csrf_token, log_in

from webmap.forces import FORCES
from webmap.io.demo import load_demo
from webmap.records import validate_incident
from webmap.roles import BOOTSTRAP


class Links(HTMLParser):
    """Every src/href of a page."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def urls_of(html: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    return parser.urls


@pytest.fixture
def demo(app, store):
    return load_demo(store, by=BOOTSTRAP, geodata_dir=app.extensions["webmap"]["config"].geodata_dir).inserted


def test_the_map_page_is_a_folium_map_served_offline(client, demo):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'class="folium-map"' in html and "L.map(" in html
    # The forces' panel is drawn in the browser from the map's options: every force, its colour.
    for force in FORCES:
        assert f'"key": "{force.key}"' in html and force.label in html and force.colour in html
    for name in (
        "Plain map (offline)",
        "OpenStreetMap (online)",
        "Disputed territories",
        "Kurdistan Region",
        "Districts: incidents",
    ):
        assert name in html
    urls = urls_of(html)
    assert urls and not [u for u in urls if u.startswith(("http:", "https:", "//"))]
    assert "/static/vendor/leaflet/leaflet.js" in urls
    # The incidents are fetched, never inlined: the page stays small whatever the database holds.
    assert len(html) < 60_000
    assert "Mosul town" not in html


def test_every_asset_the_page_names_is_served(client, demo):
    html = client.get("/").get_data(as_text=True)
    for url in urls_of(html):
        if url.startswith("/static/"):
            response = client.get(url)
            assert response.status_code == 200 and response.data, url


@pytest.mark.parametrize(
    "path, main_script",
    [
        ("/", "/static/js/map.js"),
        ("/extract", "/static/js/extract.js"),
        ("/incidents/new", "/static/js/incident-form.js"),
    ],
)
def test_every_page_loads_dom_js_before_its_own_scripts(client, demo, path, main_script):
    """The page scripts read ``webmap.el`` (static/js/dom.js) as they run, so dom.js must come first, once."""
    log_in(client)
    scripts = [url for url in urls_of(client.get(path).get_data(as_text=True)) if url.startswith("/static/js/")]
    assert main_script in scripts
    assert scripts[0] == "/static/js/dom.js" and scripts.count("/static/js/dom.js") == 1, scripts


def test_static_files_are_gzipped_and_revalidate_with_a_304(client):
    first = client.get("/static/vendor/leaflet/leaflet.js", headers={"Accept-Encoding": "gzip"})
    assert first.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(first.data).startswith(b"/* @preserve")
    again = client.get(
        "/static/vendor/leaflet/leaflet.js", headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304 and again.data == b""


def test_vendored_libraries_ship_with_their_licences(client):
    for path in ("leaflet/LICENSE", "leaflet.markercluster/MIT-LICENCE.txt", "chart.js/LICENSE.md", "README.md"):
        assert client.get(f"/static/vendor/{path}").status_code == 200
    readme = client.get("/static/vendor/README.md").get_data(as_text=True)
    assert "| leaflet | 1.9.4 | BSD-2-Clause |" in readme


def test_the_page_is_gzipped(client, demo):
    response = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert b"folium-map" in gzip.decompress(response.data)


def test_the_filter_reaches_the_data_urls_and_downloads(client, demo):
    html = client.get(
        "/?district=Kirkuk&force=isf&force=islamic_state&from=2016-01-01&window=2016-03-01/2016-03-31"
    ).get_data(as_text=True)
    query = (
        "district=IQG13Q04&amp;force=isf&amp;force=islamic_state&amp;from=2016-01-01&amp;window=2016-03-01%2F2016-03-31"
    )
    assert f'href="/export.geojson?{query}"' in html
    assert f'href="/export.csv?{query}"' in html
    # The map loads the filter's incidents without the ticks and the window, which it applies itself.
    assert '"url": "/api/points?district=IQG13Q04\\u0026from=2016-01-01"' in html
    # The form shows the filter back, and keeps the ticks and the window when applied.
    assert 'name="district" list="wm-districts" value="Kirkuk"' in html and 'value="2016-01-01"' in html
    assert 'name="force" value="isf,islamic_state"' in html
    assert 'name="window" value="2016-03-01/2016-03-31"' in html


def test_an_unknown_filter_is_a_400_page_naming_the_parameter(client, demo):
    response = client.get("/?district=Atlantis")
    assert response.status_code == 400
    assert "district: unknown district" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "query, parameter, kept",
    [
        # A mistyped district from the form: the forces, the dates and the disputed choice survive.
        (
            "governorate=&district=Kirkuk%20cty&force=isf&force=islamic_state&event_type=&from=2016-01-01&to=&disputed=1",
            "district",
            "/?force=isf&amp;force=islamic_state&amp;from=2016-01-01&amp;disputed=1",
        ),
        # A bad date given by its alias is taken out under either name.
        ("since=yesterday-ish&district=Kirkuk", "from", "/?district=Kirkuk"),
        ("force=isf&force=martians", "force", "/"),
        # The view state of the map: a bad disputed value or time window costs only itself.
        ("district=Kirkuk&disputed=maybe", "disputed", "/?district=Kirkuk"),
        ("force=isf&window=2017-02-30/2017-03-31", "window", "/?force=isf"),
        ("force=isf&window=2017-03-31/2017-03-01", "window", "/?force=isf"),
        ("window=2017-03-01&force=isf", "window", "/?force=isf"),
    ],
)
def test_a_bad_filter_value_offers_the_same_map_without_that_parameter(client, demo, query, parameter, kept):
    response = client.get(f"/?{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    retry = re.search(r'<a id="wm-retry" href="([^"]*)">Back to the map without <code>(\w+)</code>', html)
    assert retry, html
    assert retry.group(1) == kept
    assert retry.group(2) == parameter
    assert f"The filter parameter <code>{parameter}</code> was not understood" in html
    assert client.get(retry.group(1).replace("&amp;", "&")).status_code == 200


def test_the_retry_link_escapes_what_was_typed(client, demo):
    html = client.get("/?district=%3Cscript%3Ealert(1)%3C/script%3E&force=%22%3E%3Cimg%3E").get_data(as_text=True)
    assert "<script>alert" not in html and '"><img>' not in html
    assert 'href="/?force=%22%3E%3Cimg%3E"' in html


def test_the_district_search_offers_every_district(client, demo):
    html = client.get("/").get_data(as_text=True)
    options = re.findall(
        r'<option value="([^"]+)">([^<]+)</option>', html.split('id="wm-districts"')[1].split("</datalist>")[0]
    )
    assert ("Kirkuk", "Kirkuk") in options
    # By the name people use, the official COD-AB name beside it.
    assert ("Tuz Khurmatu", "Tooz Khurmato (official), Salah ad Din") in options
    assert len(options) > 100


def test_the_form_refuses_a_bad_record_and_names_the_field(client):
    log_in(client)
    token = csrf_token(client.get("/incidents/new").get_data(as_text=True))
    response = client.post(
        "/incidents/new", data={**FORM, "latitude": "44.392222", "longitude": "35.468056", "csrf_token": token}
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'data-field="latitude"' in html and "swapped" in html
    assert 'value="44.392222"' in html  # what was typed stays in the form


def test_the_forms_refusal_is_shown_at_the_field(client):
    log_in(client)
    token = csrf_token(client.get("/incidents/new").get_data(as_text=True))
    response = client.post("/incidents/new", data={**FORM, "source_url": "javascript:alert(1)", "csrf_token": token})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    field = re.search(
        r'<input id="source_url"[^>]*>\s*<p class="wm-field-error" id="source_url-problem">([^<]+)</p>', html
    )
    assert field, "the problem is not printed under the Source link field"
    assert "http" in field.group(1)
    assert 'aria-invalid="true" aria-describedby="source_url-problem"' in field.group(0)
    assert html.count('aria-invalid="true"') == 1  # only the refused field is marked


def test_what_users_typed_is_escaped_in_the_form(client, store):
    stored = store.add(
        validate_incident(
            {**FORM, "notes": "<script>alert('x')</script> & <b>bold</b>", "location": '"><img src=x onerror=alert(1)>'}
        ),
        by=BOOTSTRAP,
    )
    log_in(client)
    html = client.get(f"/incidents/{stored.id}/edit").get_data(as_text=True)
    assert "<script>alert(" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html


def test_edit_and_delete_from_the_form(client, store):
    stored = store.add(validate_incident(FORM), by=BOOTSTRAP)
    log_in(client)
    page = client.get(f"/incidents/{stored.id}/edit").get_data(as_text=True)
    assert 'value="Kirkuk city"' in page
    saved = client.post(
        f"/incidents/{stored.id}/edit",
        data={**FORM, "fatalities": "3", "reason": "a later report", "csrf_token": csrf_token(page)},
    )
    assert saved.status_code == 302 and saved.headers["Location"] == f"/?ids={stored.id}"
    assert store.get(stored.id).fatalities == 3
    deleted = client.post(
        f"/incidents/{stored.id}/delete", data={"reason": "a duplicate", "csrf_token": csrf_token(page)}
    )
    assert deleted.status_code == 302
    # Soft: kept, restorable, and shown to someone who may see drafts as deleted.
    assert client.get(f"/api/incidents/{stored.id}").get_json()["properties"]["status"] == "deleted"


def test_health(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
