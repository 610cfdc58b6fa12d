"""The ``webmap`` command as a user meets it: help, documented commands, bad settings (issue 3)."""

import re
import subprocess
import sys

import pytest
from helpers import ROOT

from webmap.cli import main

COMMANDS = ("serve", "demo", "import", "export", "geocode", "gazetteer", "geodata", "extract")


def test_help_lists_every_command(runner):
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert re.search(rf"^\s+{name}\s", result.output, re.M), name


def test_every_command_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in main.commands if f"webmap {name}" not in readme]
    assert not missing, f"commands missing from README.md: {missing}"


def export_with_database(url: str, tmp_path):
    """``webmap export`` in a fresh interpreter with WEBMAP_DB set to ``url`` (and nothing else of ours)."""
    return subprocess.run(
        [sys.executable, "-m", "webmap.cli", "export", "--format", "csv", "-o", str(tmp_path / "out.csv")],
        env={"WEBMAP_DB": url, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "url, words",
    [
        ("not a url", "not a database URL"),
        ("sqlite:////proc/webmap-cannot-write/here.db", "cannot create the folder"),
        ("oracle+nosuchdriver://u@h/db", "unsupported database URL"),
        ("sqlite:///", "in-memory SQLite database keeps nothing"),
        ("sqlite:///:memory:", "in-memory SQLite database keeps nothing"),
    ],
)
def test_bad_webmap_db_is_one_clear_line_and_exit_2(url, words, tmp_path):
    result = export_with_database(url, tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith("Error: WEBMAP_DB: ") and words in lines[0]


def test_database_file_that_is_not_a_database_is_one_line(tmp_path):
    not_a_db = tmp_path / "notes.db"
    not_a_db.write_bytes((ROOT / "README.md").read_bytes())
    result = export_with_database(f"sqlite:///{not_a_db}", tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [f"Error: WEBMAP_DB: cannot prepare the database sqlite:///{not_a_db}: file is not a database"]


def test_database_path_that_cannot_be_a_file_names_the_variable(tmp_path):
    (tmp_path / "a-folder.db").mkdir()
    result = export_with_database(f"sqlite:///{tmp_path}/a-folder.db", tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("Error: WEBMAP_DB: cannot open the database") and "Traceback" not in result.stderr
