"""Several ``webmap serve`` processes on one database, as behind a load balancer (README, "Deployment").

The data version in the database is the only state the processes share: a write through one is
seen through the other at its next request, and both answer a view with the same body and the same
ETag. Runs on SQLite and, with WEBMAP_TEST_POSTGRES, on PostgreSQL + PostGIS, where several hosts
would share the database.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from contextlib import ExitStack

import pytest
from helpers import FORM, get, webmap_running

from webmap.io.demo import load_demo
from webmap.roles import BOOTSTRAP

TOKEN = "two-servers-token"
SEEN_WITHIN = 2.0  # seconds: the bound for a write to show through another server


def send(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        text = response.read()
        return response.status, json.loads(text) if text else {}


def summary(server: str) -> dict:
    return json.loads(get(f"{server}/api/summary")[2])


def first_time(condition, limit: float) -> float | None:
    """Seconds until ``condition()`` holds, polling; None if it did not within ``limit``."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if condition():
            return time.monotonic() - start
        time.sleep(0.05)
    return None


@pytest.fixture
def servers(database_url, store, tmp_path):
    """Two server processes on the demo incidents in one database; their base URLs."""
    assert load_demo(store, by=BOOTSTRAP, geodata_dir=tmp_path / "geodata").inserted == 1783
    env = {
        **os.environ,
        "WEBMAP_DB": database_url,
        "WEBMAP_GEODATA": str(tmp_path / "geodata"),
        "WEBMAP_TOKEN": TOKEN,
        "WEBMAP_SECRET_KEY": "one key for every server",
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
    }
    with ExitStack() as running:
        serve = ("serve", "--threads", "4")
        yield [running.enter_context(webmap_running(*serve, env=env, timeout=120)).url for _ in range(2)]


def test_two_servers_answer_every_view_alike(servers):
    one, other = servers
    for path in (
        "/api/summary",
        "/api/summary?force=peshmerga",
        "/api/timeline?period=month",
        "/api/districts",
        "/api/tiles/7/79/50",
        "/api/incidents?limit=5&sort=-fatalities",
    ):
        status_a, headers_a, body_a = get(one + path)
        status_b, headers_b, body_b = get(other + path)
        assert status_a == status_b == 200, path
        assert body_a == body_b, path
        assert headers_a["ETag"] == headers_b["ETag"], path  # a cache in front may serve either's copy


def test_a_write_through_one_server_is_seen_through_the_other_within_two_seconds(servers):
    one, other = servers
    before = summary(other)["total"]
    etag = get(f"{other}/api/tiles/7/79/50")[1]["ETag"]
    status, created = send("POST", f"{one}/api/incidents", FORM)
    assert status == 201
    new_id = created["id"]

    seen = first_time(lambda: summary(other)["total"] == before + 1, SEEN_WITHIN)
    assert seen is not None, "the other server did not show the new incident within 2 s"
    assert get(f"{other}/api/tiles/7/79/50")[1]["ETag"] != etag  # its tiles changed too
    _, _, body = get(f"{other}/api/incidents/{new_id}")
    assert json.loads(body)["properties"]["location"] == FORM["location"]

    status, _ = send("DELETE", f"{other}/api/incidents/{new_id}?reason=a%20test")
    assert status == 204
    gone = first_time(lambda: summary(one)["total"] == before, SEEN_WITHIN)
    assert gone is not None, "the first server still showed the deleted incident after 2 s"
