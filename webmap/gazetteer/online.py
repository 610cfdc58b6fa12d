"""The optional online fallback: Nominatim (OpenStreetMap) through geopy.

Used only when offline resolution found nothing and the caller asked for it (``--online``, or
WEBMAP_GEOCODER=nominatim). geopy is imported here, on first use, so no default code path loads it.
Results come back as candidates with ``reason="online"`` and a score of 0.5 at most: an online
answer has not been checked against the gazetteer.
"""

from __future__ import annotations

from ..errors import GazetteerError
from .rank import Candidate

USER_AGENT = "webmap (conflict incident gazetteer)"
TIMEOUT_S = 10


def geocode_online(name: str, limit: int = 10) -> list[Candidate]:
    """Candidates for ``name`` from Nominatim; :class:`GazetteerError` if the service fails."""
    from geopy.exc import GeopyError
    from geopy.geocoders import Nominatim

    geocoder = Nominatim(user_agent=USER_AGENT, timeout=TIMEOUT_S)
    try:
        found = geocoder.geocode(name, exactly_one=False, limit=limit, addressdetails=True) or []
    except GeopyError as exc:
        raise GazetteerError(f"online geocoder (Nominatim) failed: {exc}") from None
    out = []
    for rank, location in enumerate(found):
        address = (location.raw or {}).get("address", {})
        out.append(
            Candidate(
                name=location.address.split(",")[0],
                latitude=location.latitude,
                longitude=location.longitude,
                governorate=address.get("state", ""),
                district=address.get("county", ""),
                feature_code="",
                geonameid=None,
                country_code=address.get("country_code", "").upper(),
                score=round(0.5 / (rank + 1), 3),
                reason="online",
                place_id=f"osm:{location.raw.get('osm_id', '')}",
                matched=name,
            )
        )
    return out
