"""A base map the user brings: a local PMTiles archive (``WEBMAP_BASEMAP``), read with ``pmtiles``.

An organisation downloads an extract once (for example ``pmtiles extract`` of a Protomaps or
OpenStreetMap build, cut to Iraq) and points ``WEBMAP_BASEMAP`` at the file; the app then serves
its tiles at ``/api/basemap/own/<z>/<x>/<y>`` (:func:`open_archive`, :meth:`TileArchive.tile`), so the
browser never asks another host. Vector tiles (MVT) are drawn by protomaps-leaflet, raster tiles
(PNG, JPEG, WebP, AVIF) by Leaflet. An MBTiles file is converted once with ``pmtiles convert``.

A file that is missing, unreadable, not a version 3 PMTiles archive, empty or of an unknown tile
type is refused with a :class:`~webmap.errors.ConfigError` naming the setting and the problem.
"""

from __future__ import annotations

import functools
import mmap
from dataclasses import dataclass
from pathlib import Path

from pmtiles.reader import Reader
from pmtiles.tile import (
    Compression,
    HeaderDict,
    TileType,
    deserialize_directory,
    deserialize_header,
    find_tile,
    zxy_to_tileid,
)

from ..errors import ConfigError

SETTING = "WEBMAP_BASEMAP"
MAGIC = b"PMTiles"
SQLITE_MAGIC = b"SQLite format 3\x00"
MEDIA_TYPES = {
    TileType.MVT: "application/vnd.mapbox-vector-tile",
    TileType.PNG: "image/png",
    TileType.JPEG: "image/jpeg",
    TileType.WEBP: "image/webp",
    TileType.AVIF: "image/avif",
}
# How a tile's own compression reaches the browser: as the response's Content-Encoding.
CONTENT_ENCODINGS = {Compression.NONE: None, Compression.GZIP: "gzip", Compression.BROTLI: "br"}


@dataclass(frozen=True)
class TilesetInfo:
    """What the map needs to know of an archive: ``vector`` (MVT) or raster tiles, the zooms it
    holds, its bounds ``[[south, west], [north, east]]`` and its attribution (plain text)."""

    vector: bool
    min_zoom: int
    max_zoom: int
    bounds: tuple[tuple[float, float], tuple[float, float]]
    attribution: str


class TileArchive:
    """An open PMTiles archive (memory-mapped, read-only; safe to read from several threads)."""

    def __init__(self, path: Path, mapping: mmap.mmap, header: HeaderDict, metadata: dict):
        self.path = path
        self._mapping = mapping
        # pmtiles' Reader.get decodes the root (and leaf) directory again for every tile; a served
        # map asks for dozens of tiles a view, so each directory is decoded once and kept.
        self._directory = functools.lru_cache(maxsize=256)(
            lambda offset, length: deserialize_directory(self._bytes(offset, length))
        )
        self.header = header
        self.media_type = MEDIA_TYPES[header["tile_type"]]
        self.content_encoding = CONTENT_ENCODINGS[header["tile_compression"]]
        attribution = metadata.get("attribution") if isinstance(metadata, dict) else None
        self.info = TilesetInfo(
            vector=header["tile_type"] == TileType.MVT,
            min_zoom=header["min_zoom"],
            max_zoom=header["max_zoom"],
            bounds=(
                (header["min_lat_e7"] / 1e7, header["min_lon_e7"] / 1e7),
                (header["max_lat_e7"] / 1e7, header["max_lon_e7"] / 1e7),
            ),
            attribution=str(attribution or ""),
        )

    def _bytes(self, offset: int, length: int) -> bytes:
        return self._mapping[offset : offset + length]

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The stored bytes of tile ``z/x/y`` (compressed as :attr:`content_encoding` says), or
        None when the archive has no such tile."""
        if not (self.info.min_zoom <= z <= self.info.max_zoom and 0 <= x < 2**z and 0 <= y < 2**z):
            return None
        tile_id, header = zxy_to_tileid(z, x, y), self.header
        offset, length = header["root_offset"], header["root_length"]
        for _depth in range(4):  # the format's deepest directory tree
            entry = find_tile(self._directory(offset, length), tile_id)
            if entry is None:
                return None
            if entry.run_length:
                return self._bytes(header["tile_data_offset"] + entry.offset, entry.length)
            offset, length = header["leaf_directory_offset"] + entry.offset, entry.length
        return None


def open_archive(path: Path | str, setting: str = SETTING) -> TileArchive:
    """Open and check the PMTiles archive at ``path``; :class:`ConfigError` naming ``setting`` and
    the problem when it cannot serve as a base map."""
    path = Path(path).expanduser()

    def refuse(problem: str) -> ConfigError:
        return ConfigError(setting, f"{path}: {problem}")

    if not path.exists():
        raise refuse("no such file")
    if not path.is_file():
        raise refuse("not a file (a PMTiles archive is one file)")
    try:
        with path.open("rb") as f:
            start = f.read(127)
            if start.startswith(SQLITE_MAGIC):
                raise refuse(
                    "an MBTiles (SQLite) file, not PMTiles: convert it with `pmtiles convert FILE.mbtiles FILE.pmtiles`"
                )
            if not start.startswith(MAGIC) or len(start) < 127:
                raise refuse("not a PMTiles file (it does not start with a PMTiles header)")
            if start[7] != 3:
                raise refuse(f"PMTiles version {start[7]}, not 3: convert it with `pmtiles convert`")
            mapping = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise refuse(f"cannot be read: {exc.strerror or exc}") from None
    try:
        header = deserialize_header(mapping[:127])
    except ValueError as exc:
        raise refuse(f"its header cannot be read ({exc})") from None
    if header["internal_compression"] != Compression.GZIP:
        raise refuse(
            f"directories compressed with {header['internal_compression'].name}: rewrite it with `pmtiles convert`"
        )
    if header["tile_type"] not in MEDIA_TYPES:
        raise refuse("unknown tile type (expected vector tiles or PNG, JPEG, WebP, AVIF images)")
    if header["tile_compression"] not in CONTENT_ENCODINGS:
        raise refuse(f"tiles compressed with {header['tile_compression'].name}, which browsers cannot read")
    if header["root_offset"] + header["root_length"] > len(mapping) or not header["addressed_tiles_count"]:
        raise refuse("holds no tiles (truncated or empty)")
    try:
        deserialize_directory(mapping[header["root_offset"] : header["root_offset"] + header["root_length"]])
        metadata = Reader(lambda offset, length: mapping[offset : offset + length]).metadata()
    except Exception as exc:  # noqa: BLE001  (any decoding error of a damaged file)
        raise refuse(f"its directory or metadata cannot be read ({type(exc).__name__}): the file is damaged") from None
    return TileArchive(path, mapping, header, metadata)
