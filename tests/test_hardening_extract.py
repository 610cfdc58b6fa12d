"""``POST /api/extract`` cannot stall the server (issue 18, found item 3 and "must be true" 4): only users
who may write (or, with ``WEBMAP_PUBLIC_EXTRACT=1``, anyone at a limited rate per address), reports
read off the request threads in a small pool, each with a time limit, and long reports read in
seconds instead of failing on a field the caller never sent.

Reports are built from a real NRT report (``helpers.NRT_REPORT``).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from helpers import AUTH, NRT_REPORT, log_in

from webmap.extract import extract
from webmap.web.extraction import PUBLIC_RATE, Extractions

ARTICLE = NRT_REPORT
DATE = "2020-08-25"
# The report's first sentence (after its dateline), repeated: every copy joins one incident (the case
# that took 26 s of CPU and then failed on "notes: longer than 20000 characters").
SENTENCE = ARTICLE.split("\n\n", 1)[0].split(" — ", 1)[1] + " "


def repeated(chars: int) -> str:
    return (SENTENCE * (chars // len(SENTENCE) + 1))[:chars]


def test_anonymous_extraction_is_refused(client):
    response = client.post("/api/extract", json={"text": ARTICLE, "date": DATE})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_token_or_a_login_with_its_csrf_header_may_extract(client):
    assert client.post("/api/extract", json={"text": ARTICLE, "date": DATE}, headers=AUTH).status_code == 200
    log_in(client)
    page = client.get("/extract").get_data(as_text=True)
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    response = client.post("/api/extract", json={"text": ARTICLE, "date": DATE}, headers={"X-CSRFToken": token})
    assert response.status_code == 200 and len(response.get_json()["drafts"]) == 2
    without = client.post("/api/extract", json={"text": ARTICLE, "date": DATE})
    assert without.status_code == 400 and without.get_json()["parameter"] == "csrf_token"


def test_the_page_asks_an_anonymous_visitor_to_log_in_before_proposing(client, app):
    page = client.get("/extract").get_data(as_text=True)
    assert 'id="wm-propose" disabled' in page and "Log in to read a report" in page
    app.extensions["webmap"]["config"].public_extract = True
    page = client.get("/extract").get_data(as_text=True)
    assert 'id="wm-propose" disabled' not in page and "Log in to save" in page


def test_public_extraction_is_rate_limited_per_address(app, client):
    app.extensions["webmap"]["config"].public_extract = True
    allowed = int(PUBLIC_RATE.split("/")[0])
    body = {"text": SENTENCE, "date": DATE}
    for _ in range(allowed):
        assert client.post("/api/extract", json=body).status_code == 200
    response = client.post("/api/extract", json=body)
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    assert f"at most {PUBLIC_RATE} without a login" in response.get_json()["error"]
    other = client.post("/api/extract", json=body, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200  # another address has its own allowance
    assert client.post("/api/extract", json=body, headers=AUTH).status_code == 200  # a writer is not limited


@pytest.mark.parametrize("chars", [60_000, 199_000])
def test_a_long_report_is_read_not_refused_for_its_notes(client, chars):
    response = client.post("/api/extract", json={"text": repeated(chars), "date": DATE}, headers=AUTH)
    assert response.status_code == 200, response.get_json()
    (draft,) = response.get_json()["drafts"]
    assert len(draft["notes"]) <= 20_000 and draft["notes"].endswith("…")
    assert len(draft["evidence"]) > 100  # the evidence stays whole


def test_a_report_over_the_time_limit_is_a_400_naming_text(app, client):
    app.extensions["webmap"]["extractions"] = Extractions(seconds=0.2)
    response = client.post("/api/extract", json={"text": repeated(199_000), "date": DATE}, headers=AUTH)
    assert response.status_code == 400 and response.get_json()["field"] == "text"
    assert "took more than 0.2 s, the limit" in response.get_json()["error"]


def test_the_time_limit_is_the_extractions_own():
    with pytest.raises(Exception, match="text: reading it took more than 0.01 s"):
        extract(repeated(60_000), DATE, time_limit=0.01)


def post(url: str, body: dict, headers=AUTH) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={**headers, "Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


def test_a_full_pool_answers_503_at_once_and_reads_go_on(app, server):
    app.extensions["webmap"]["extractions"] = Extractions(workers=1, waiting=1)
    urllib.request.urlopen(f"{server}/api/incidents?limit=1", timeout=60).read()  # the store opened, the index built
    start = threading.Barrier(4)
    results: list[tuple[int, dict, dict]] = []
    answered: list[float] = []

    def ask():
        start.wait()
        results.append(post(f"{server}/api/extract", {"text": repeated(199_000), "date": DATE}))
        answered.append(time.monotonic())

    askers = [threading.Thread(target=ask) for _ in range(4)]
    for asker in askers:
        asker.start()
    time.sleep(0.5)
    # While reports are read, the map's data are answered: the request threads are free.
    with urllib.request.urlopen(f"{server}/api/incidents?limit=1", timeout=60) as response:
        assert response.status == 200
    read_at = time.monotonic()
    for asker in askers:
        asker.join()
    assert read_at < sorted(answered)[-2]  # before the reports were read (the two 503s come at once)
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200, 200, 503, 503], [(s, b.get("error")) for s, _, b in results]
    busy = [(headers, body) for status, headers, body in results if status == 503]
    for headers, body in busy:
        assert int(headers["Retry-After"]) > 0 and "other reports are being read" in body["error"]
