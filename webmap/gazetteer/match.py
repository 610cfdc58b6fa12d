"""How a name meets gazetteer records: the matching tiers, and the areas a record or a context names.

:func:`match_name` runs the tiers and stops at the first that finds anything: (1) the folded,
article-stripped name and, without its descriptor ("town", "district", "Qada ..."), the same
(exact and alias hits, and names whose own descriptor was stripped); (2) the transliteration
skeleton (``normalised``); (3) rapidfuzz over the name keys above :data:`~.load.FUZZY_THRESHOLD`
(``fuzzy``). A filter keeps only some records at every tier (:func:`named_area` asks for areas).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .keys import name_key, skeleton, split_descriptor
from .load import ALIAS, Gazetteer, Place
from .rank import QUALITY, Hit, hits_from_lookup

NORMALISED_QUALITY = 0.8
# A skeleton hit must still share this much of its spelling with the query (rapidfuzz ratio):
# "Huwayjah" / "hawija" is 71, "Telafar" / "tall afar" 75, while short skeletons collide with
# unrelated names ("Wadi al-Shay" and the Japanese "Date" share no letters worth the name).
SKELETON_MIN_RATIO = 65
FUZZY_QUALITY = 0.75  # times rapidfuzz ratio / 100
# What a descriptor asks for when it names an area: reports call sub-districts districts too.
AREA_KINDS = {"ADM1": ("ADM1",), "ADM2": ("ADM2", "ADM3"), "ADM3": ("ADM3",)}
_PCODE = re.compile(r"^IQG\d\d(?:Q\d\d(?:N\d\d)?)?$", re.IGNORECASE)


def match_name(
    gazetteer: Gazetteer,
    key: str,
    keep: Callable[[Place], bool] | None = None,
    *,
    loose: bool = True,
    fuzzy: bool = True,
) -> tuple[list[Hit], str | None]:
    """Hits of the folded key ``key`` (see the module docstring) and the kind its descriptor asks for.

    ``keep``: a test of the place each hit names; hits it refuses are dropped at every tier.
    ``loose=False``: the first tier only (exact and alias names); ``fuzzy=False``: no fuzzy tier.
    """
    core, kind = split_descriptor(key)

    def kept(hits: list[Hit]) -> list[Hit]:
        return hits if keep is None else [h for h in hits if keep(gazetteer.place(h.row))]

    hits = kept(hits_from_lookup(gazetteer.lookup(key), key))
    if core != key:
        hits += kept(hits_from_lookup(gazetteer.lookup(core), core))
    skel = skeleton(core) if not hits and loose else ""
    if skel:
        from rapidfuzz import fuzz

        for matched in gazetteer.lookup_skeleton(skel):
            if fuzz.ratio(core, matched) >= SKELETON_MIN_RATIO:
                hits += kept(
                    [Hit(row, NORMALISED_QUALITY, "normalised", matched) for row, _ in gazetteer.lookup(matched)]
                )
    if not hits and loose and fuzzy:
        for matched, ratio in gazetteer.fuzzy_keys(core):
            hits += kept(
                [Hit(row, FUZZY_QUALITY * ratio / 100, "fuzzy", matched) for row, _ in gazetteer.lookup(matched)]
            )
    return hits, kind


def named_area(
    gazetteer: Gazetteer,
    text: str | None,
    levels: tuple[str, ...],
    inside: Place | None = None,
    *,
    exact: bool = False,
) -> Place | None:
    """The governorate, district or sub-district (feature codes ``levels``) that ``text`` names: a
    COD-AB P-code or a name in any spelling the gazetteer knows ("Sala al-Din", "Qaḑā’ al Mawşil",
    "Haweeja"). Among several, the one inside ``inside`` (a governorate), then the best matched,
    then the first level of ``levels``. An area outside ``inside`` must match by an exact or alias
    name (a district stated with the wrong governorate: reports give the disputed districts to
    either), and so must any area when ``exact`` is set. None when no area of those levels has the name.
    """
    text = (text or "").strip()
    if not text:
        return None
    key = ("area", text, levels, inside.own_pcode if inside is not None else "", exact)
    return gazetteer.remember(key, lambda: _named_area(gazetteer, text, levels, inside, exact))


def _named_area(gazetteer: Gazetteer, text: str, levels: tuple[str, ...], inside: Place | None, exact: bool):
    if _PCODE.match(text):
        area = gazetteer.area(text.upper())
        return area if area is not None and area.feature_code in levels else None
    key = name_key(text)
    if not key:
        return None
    hits, _ = match_name(gazetteer, key, keep=lambda place: place.feature_code in levels)
    found = []
    for hit in hits:
        place = gazetteer.place(hit.row)
        within = inside is None or place.lies_in(inside.own_pcode)
        if hit.quality >= QUALITY[ALIAS] or (within and not exact):
            found.append((not within, -hit.quality, levels.index(place.feature_code), place.place_id, place))
    return min(found)[-1] if found else None
