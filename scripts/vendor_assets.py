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
    "protomaps-leaflet": (
        "5.1.0",
        ("dist/protomaps-leaflet.js", "LICENSE"),
        "the user's own PMTiles base map (WEBMAP_BASEMAP), loaded only then",
    ),
}
# Packages compiled into another's distributed file: their licences go beside it, in licences/.
# protomaps-leaflet.js carries its own copy of pmtiles (which reads PMTiles archives; the app serves
# the archive's tiles itself, so no separate pmtiles.js is loaded), of @protomaps/basemaps (the
# "light" style) and of the libraries below; pmtiles and @protomaps/basemaps ship no licence file:
# both are BSD-3-Clause by Protomaps LLC, like protomaps-leaflet's LICENSE.
BUNDLED: dict[str, tuple[str, ...]] = {
    "protomaps-leaflet": (
        "pmtiles",
        "@protomaps/basemaps",
        "pbf",
        "@mapbox/vector-tile",
        "@mapbox/point-geometry",
        "rbush",
        "quickselect",
        "potpack",
        "color2k",
        "fflate",
    ),
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


def _package_dir(work: Path, name: str, inside: str | None = None) -> Path:
    """Where npm put ``name``: inside ``inside``'s own node_modules when it nested a copy there, else at the top."""
    nested = work / "node_modules" / inside / "node_modules" / name if inside else None
    if nested is not None and nested.is_dir():
        return nested
    package_dir = work / "node_modules" / name
    if not package_dir.is_dir():
        # npm nests a dependency's own copy when the pinned version differs.
        found = list((work / "node_modules").glob(f"*/node_modules/{name}"))
        package_dir = found[0] if found else package_dir
    return package_dir


def _bundled_licences(work: Path, name: str, out: Path) -> list[tuple[str, str, str, Path | None]]:
    """Copy the licence files of the packages compiled into ``name``'s file to ``out``/licences/;
    returns ``(package, version, licence, copied file or None)`` for each."""
    rows = []
    for bundled in BUNDLED.get(name, ()):
        package_dir = _package_dir(work, bundled, inside=name)
        files = sorted(p for p in package_dir.iterdir() if p.name.upper().startswith(("LICENSE", "LICENCE")))
        dest = None
        if files:
            dest = out / "licences" / f"{bundled.replace('/', '-').lstrip('@')}-{files[0].name}"
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(files[0], dest)
        rows.append((bundled, _installed_version(package_dir), _licence(package_dir / "package.json"), dest))
    return rows


def vendor(target: Path = VENDOR) -> list[tuple]:
    """Install the pinned packages and copy their files into ``target``; returns what was copied."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="webmap-vendor-") as tmp:
        work = Path(tmp)
        _install(work)
        for name, (version, files, purpose) in PACKAGES.items():
            package_dir = _package_dir(work, name)
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
            bundled = _bundled_licences(work, name, out)
            for _, _, _, dest in bundled:
                if dest is not None:
                    copied.append((str(dest.relative_to(target)), hashlib.sha256(dest.read_bytes()).hexdigest()))
            rows.append((name, version, _licence(package_dir / "package.json"), purpose, copied, bundled))
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
    lines += [f"| {name} | {version} | {licence} | {purpose} |" for name, version, licence, purpose, _, _ in rows]
    for name, _, _, _, _, bundled in rows:
        if not bundled:
            continue
        lines += ["", f"`{name}`'s file has these packages compiled in (as npm installs them with it):", ""]
        lines += ["| package | version | licence | licence file |", "|---|---|---|---|"]
        lines += [
            f"| {package} | {version} | {licence} | "
            f"{f'`{dest.relative_to(target)}`' if dest else f'none in the package (see `{name}/LICENSE`)'} |"
            for package, version, licence, dest in bundled
        ]
    lines += ["", "## Files (SHA-256)", ""]
    for _name, _, _, _, copied, _ in rows:
        lines += [f"- `{path}` `{digest}`" for path, digest in copied]
    (target / "README.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    for name, version, licence, _, copied, _ in vendor():
        print(f"{name} {version} ({licence}): {len(copied)} files")
