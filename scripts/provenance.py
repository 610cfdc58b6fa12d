"""Rewrite one build script's section of geodata/PROVENANCE.md, leaving the other sections alone.

Each build script owns the text between ``<!-- NAME: begin -->`` and ``<!-- NAME: end -->``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

TITLE = "# Provenance of the shipped data\n"


def markers(script: str) -> tuple[str, str]:
    """The begin and end markers of ``script``'s section."""
    return f"<!-- {script}: begin -->", f"<!-- {script}: end -->"


def sha256(path: Path) -> str:
    """Hex sha256 of the file at ``path``."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_section(path: Path, script: str, section: str) -> None:
    """Put ``section`` (which starts and ends with ``script``'s markers) into the file at ``path``.

    The section replaces the old one of the same script, or is appended the first time.
    """
    begin, end = markers(script)
    text = path.read_text(encoding="utf-8") if path.exists() else TITLE
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")
