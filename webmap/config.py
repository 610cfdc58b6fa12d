"""Settings from the environment, in one place.

=====================  ===========================================================  =====================
variable               meaning                                                      default
=====================  ===========================================================  =====================
WEBMAP_DB              SQLAlchemy URL of the incident store                         sqlite at DEFAULT_DB_PATH
WEBMAP_GAZETTEER       path of the gazetteer CSV                                    gazetteer.csv (shipped)
WEBMAP_GEODATA         folder of boundary layers that replace the shipped ones      <data dir>/geodata
WEBMAP_TOKEN           bearer token that allows writes                              unset: writes refused
WEBMAP_PRIVATE         1: reads need the token too                                  0
WEBMAP_SECRET_KEY      Flask secret key (sessions, CSRF)                            random per process
WEBMAP_GEOCODER        ``nominatim``: allow the online geopy fallback               unset: offline only
WEBMAP_PUBLIC_EXTRACT  1: anyone may have a report read (``POST /api/extract``),    0: writers only
                       each address at a limited rate
WEBMAP_MAP_POINTS      a view of more incidents is sent as tiles of clusters        200000
WEBMAP_BEHIND_TLS      1: served through an HTTPS proxy on this machine: the        0
                       session cookie is Secure and the proxy's X-Forwarded-For
                       and X-Forwarded-Proto (one hop) are believed
WEBMAP_BASEMAP         a local PMTiles file drawn as the map's default base layer   unset: the shipped one
=====================  ===========================================================  =====================

The default database lives in ``$XDG_DATA_HOME/webmap/webmap.db`` (``~/.local/share/webmap/webmap.db``).
Where the shipped data (``gazetteer.csv``, ``geodata/``, ``templates/``, ``static/``) are read from is
decided here too, and nowhere else.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path

from .errors import ConfigError, IncompleteInstall
from .records import parse_bool

PACKAGE_DIR = Path(str(resources.files("webmap")))  # installed unzipped, so a real folder
PROJECT_ROOT = PACKAGE_DIR.parent
# A wheel carries gazetteer.csv, geodata/ and templates/ in this folder of the package (hatch_build.py puts
# them there); an editable install has no such folder and reads them from the checkout's top level.
PACKAGED_DATA = PACKAGE_DIR / "_data"
SHIPPED_DATA = PACKAGED_DATA if PACKAGED_DATA.is_dir() else PROJECT_ROOT
SHIPPED_GEODATA = SHIPPED_DATA / "geodata"
SHIPPED_GAZETTEER = SHIPPED_DATA / "gazetteer.csv"
TEMPLATES = SHIPPED_DATA / "templates"
STATIC = PACKAGE_DIR / "static"


def check_installation() -> None:
    """Raise :class:`IncompleteInstall` naming the first shipped data file an installed wheel lacks.

    The wheel's RECORD lists every file it installed; an editable install has none under ``_data``.
    """
    try:
        dist = metadata.distribution("webmap")
    except metadata.PackageNotFoundError:  # run from a checkout on PYTHONPATH, never installed
        return
    if Path(str(dist.locate_file("webmap/config.py"))).resolve() != Path(__file__).resolve():
        return  # the installed metadata describe another copy of webmap than the one running
    prefix = f"webmap/{PACKAGED_DATA.name}/"
    for path in (Path(str(entry.locate())) for entry in dist.files or () if str(entry).startswith(prefix)):
        if not path.is_file():
            raise IncompleteInstall(path)


def data_dir() -> Path:
    """The user's webmap data folder (XDG data home)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "webmap"


DEFAULT_DB_PATH = data_dir() / "webmap.db"


def _flag(env, variable: str) -> bool:
    try:
        return bool(parse_bool(env.get(variable)))
    except ValueError as exc:
        raise ConfigError(variable, f"{exc} (expected 1 or 0)") from None


@dataclass
class Config:
    """Every setting webmap reads; build with :meth:`from_env` or pass values in tests."""

    database_url: str = field(default_factory=lambda: f"sqlite:///{DEFAULT_DB_PATH}")
    gazetteer_path: Path = SHIPPED_GAZETTEER
    geodata_dir: Path = field(default_factory=lambda: data_dir() / "geodata")
    token: str | None = None
    private: bool = False
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32))
    online_geocoder: bool = False
    public_extract: bool = False
    # A map view of more incidents than this comes as tiles of clusters (/api/tiles), not as every
    # point; below it the browser gets every point and filters by tick and window itself.
    map_points_limit: int = 200_000
    behind_tls: bool = False
    basemap_path: Path | None = None

    @classmethod
    def from_env(cls, environ: dict | None = None) -> Config:
        """Read the WEBMAP_* variables (see the module docstring)."""
        env = os.environ if environ is None else environ
        cfg = cls()
        if env.get("WEBMAP_DB"):
            cfg.database_url = env["WEBMAP_DB"]
        if env.get("WEBMAP_GAZETTEER"):
            cfg.gazetteer_path = Path(env["WEBMAP_GAZETTEER"])
        if env.get("WEBMAP_GEODATA"):
            cfg.geodata_dir = Path(env["WEBMAP_GEODATA"])
        cfg.token = env.get("WEBMAP_TOKEN") or None
        cfg.private = _flag(env, "WEBMAP_PRIVATE")
        if env.get("WEBMAP_SECRET_KEY"):
            cfg.secret_key = env["WEBMAP_SECRET_KEY"]
        cfg.online_geocoder = (env.get("WEBMAP_GEOCODER") or "").strip().lower() == "nominatim"
        cfg.public_extract = _flag(env, "WEBMAP_PUBLIC_EXTRACT")
        if limit := env.get("WEBMAP_MAP_POINTS"):
            try:
                cfg.map_points_limit = int(limit)
            except ValueError:
                raise ConfigError("WEBMAP_MAP_POINTS", f"not a whole number: {limit[:40]!r}") from None
        cfg.behind_tls = _flag(env, "WEBMAP_BEHIND_TLS")
        if env.get("WEBMAP_BASEMAP"):
            cfg.basemap_path = Path(env["WEBMAP_BASEMAP"])
        return cfg
