"""Vendor the browser libraries the map uses from npm into ``webmap/static/vendor/``.

Usage: ``python scripts/vendor_assets.py`` (needs ``npm`` and the npm registry; run once, commit
the result). Each package is installed at its pinned version into a temporary folder, and only
its distributed files and its licence are copied to ``webmap/static/vendor/<package>/``;
``webmap/static/vendor/README.md`` lists package, version, licence and the SHA-256 of every file.

Folium's own default assets (jQuery, Bootstrap, Font Awesome, Leaflet.awesome-markers) are not
vendored: :mod:`webmap.mapview` builds its maps without them (no Folium ``Icon`` markers, no
Bootstrap widgets), so nothing the app serves asks for them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "webmap" / "static" / "vendor"

# npm package -> (version, files to copy relative to the package folder, why the app needs it).
PACKAGES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "leaflet": (
        "1.9.4",
        (
            "dist/leaflet.js",
            "dist/leaflet.css",
            "dist/images/layers.png",
            "dist/images/layers-2x.png",
            "dist/images/marker-icon.png",
            "dist/images/marker-icon-2x.png",
            "dist/images/marker-shadow.png",
            "LICENSE",
        ),
        "the map itself (Folium's Leaflet)",
    ),
    "leaflet.markercluster": (
        "1.5.3",
        (
            "dist/leaflet.markercluster.js",
            "dist/MarkerCluster.css",
            "dist/MarkerCluster.Default.css",
            "MIT-LICENCE.txt",
        ),
        "Folium's MarkerCluster / FastMarkerCluster (the plain pages in bench/web.py)",
    ),
    "chart.js": ("4.6.1", ("dist/chart.umd.min.js", "LICENSE.md"), "the incidents/fatalities per period chart"),
}


def _licence(package_json: Path) -> str:
    meta = json.loads(package_json.read_text())
    return meta.get("license") or "see LICENSE"


def _install(workdir: Path) -> None:
    (workdir / "package.json").write_text('{"name": "webmap-vendor", "private": true}\n')
    specs = [f"{name}@{version}" for name, (version, _, _) in PACKAGES.items()]
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--no-save", *specs],
        cwd=workdir,
        check=True,
    )


def _installed_version(package_dir: Path) -> str:
    return json.loads((package_dir / "package.json").read_text())["version"]


def vendor(target: Path = VENDOR) -> list[tuple[str, str, str, str, list[tuple[str, str]]]]:
    """Install the pinned packages and copy their files into ``target``; returns what was copied."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="webmap-vendor-") as tmp:
        work = Path(tmp)
        _install(work)
        for name, (version, files, purpose) in PACKAGES.items():
            package_dir = work / "node_modules" / name
            if not package_dir.is_dir():
                # npm nests a dependency's own copy when the pinned version differs.
                nested = list((work / "node_modules").glob(f"*/node_modules/{name}"))
                package_dir = nested[0] if nested else package_dir
            found = _installed_version(package_dir)
            if found != version:
                sys.exit(f"npm installed {name} {found}, expected {version}")
            out = target / name
            if out.exists():
                shutil.rmtree(out)
            copied = []
            for rel in files:
                src = package_dir / rel
                dest = out / (rel[len("dist/") :] if rel.startswith("dist/") else rel)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)
                copied.append((str(dest.relative_to(target)), hashlib.sha256(dest.read_bytes()).hexdigest()))
            rows.append((name, version, _licence(package_dir / "package.json"), purpose, copied))
    _write_readme(target, rows)
    return rows


def _write_readme(target: Path, rows) -> None:
    lines = [
        "# Vendored browser libraries",
        "",
        "Installed from the npm registry at the pinned versions and copied here by",
        "`python scripts/vendor_assets.py`; do not edit by hand. The app serves them at",
        "`/static/vendor/<package>/...`, so the map needs no network.",
        "",
        "| package | version | licence | used for |",
        "|---|---|---|---|",
    ]
    lines += [f"| {name} | {version} | {licence} | {purpose} |" for name, version, licence, purpose, _ in rows]
    lines += ["", "## Files (SHA-256)", ""]
    for _name, _, _, _, copied in rows:
        lines += [f"- `{path}` `{digest}`" for path, digest in copied]
    (target / "README.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    for name, version, licence, _, copied in vendor():
        print(f"{name} {version} ({licence}): {len(copied)} files")
