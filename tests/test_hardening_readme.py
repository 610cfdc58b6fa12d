"""Every limit on what a request or an input may cost is documented (issue 18, "must be true" 4): the
README's Limits section states each value the code enforces, so neither can change alone."""

from __future__ import annotations

import pytest
from helpers import ROOT

from webmap.extract import MAX_HTML_CHARS, MAX_REPORT_BYTES, MAX_TEXT_CHARS
from webmap.gazetteer.resolve import MAX_CANDIDATES, MAX_CONTEXT_LENGTH, MAX_NAME_LENGTH
from webmap.gazetteer.sources import MAX_IMPORT_BYTES
from webmap.io.geojson import MAX_FEATURE_EVENTS
from webmap.io.json_input import MAX_DEPTH
from webmap.io.readers import FIELD_LIMIT, LINE_LIMIT
from webmap.query import MAX_FILTER_VALUES
from webmap.records import EARLIEST_DATE, FIELD_SPECS, MAX_COUNT
from webmap.web import api, extraction, limits


def limits_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("\n## Limits\n", 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize(
    "what, value",
    [
        ("default body", f"{limits.DEFAULT_BODY_BYTES:,} bytes"),
        ("extraction body", f"`POST /api/extract` {limits.BODY_BYTES['api.extract_report']:,}"),
        ("save body", f"`POST /api/extract/save` {limits.BODY_BYTES['api.save_extracted']:,}"),
        ("JSON depth", f"{MAX_DEPTH} levels"),
        ("filter dates", f"not before {EARLIEST_DATE.isoformat()}"),
        ("filter values", f"{MAX_FILTER_VALUES} different values each"),
        ("API limit", f"`limit` 1..{api.MAX_LIMIT:,}"),
        ("API offset", f"`offset` up to {api.MAX_OFFSET:,}"),
        ("tile zoom", f"zoom `z` 0..{api.MAX_ZOOM}"),
        ("gazetteer name", f"`q` {MAX_NAME_LENGTH} characters"),
        ("gazetteer context", f"`context` {MAX_CONTEXT_LENGTH:,}"),
        ("gazetteer candidates", f"`limit` {MAX_CANDIDATES}"),
        ("counts", f"at most {MAX_COUNT:,}"),
        ("notes", f"`notes` {FIELD_SPECS['notes'].length:,} characters"),
        ("saved drafts", f"{api.MAX_SAVE} incidents"),
        ("report text", f"{MAX_TEXT_CHARS:,} characters of text, {MAX_HTML_CHARS:,} of HTML"),
        ("report file", f"a file of {MAX_REPORT_BYTES:,} bytes"),
        ("extraction time", f"{extraction.SECONDS:g} s each"),
        ("extraction pool", f"{extraction.WORKERS} read at once and {extraction.WAITING} waiting"),
        ("public rate", f"then {extraction.PUBLIC_RATE} per client address"),
        ("import line", f"a line at most {LINE_LIMIT:,} characters"),
        ("import value", f"a CSV value {FIELD_LIMIT:,}"),
        (
            "GeoJSON feature",
            f"a GeoJSON feature {MAX_FEATURE_EVENTS:,} values and its texts {FIELD_LIMIT:,} characters",
        ),
        ("gazetteer file", f"{MAX_IMPORT_BYTES:,} bytes"),
    ],
)
def test_the_readme_states_each_limit(what, value):
    assert value in limits_section(), what
