"""Lookup keys of place names: the folded key, the descriptor split and the transliteration skeleton.

Every key starts from :func:`webmap.names.fold` and :func:`webmap.names.strip_article`, so a
name and a query meet on the same key however they were spelled (case, diacritics, Arabic letter
variants, the article). Two further keys catch what folding cannot:

* :func:`split_descriptor` takes a generic word off a name ("Tall 'Afar town", "Hawija district",
  "Qada al Hamdaniya", "محافظة كركوك") and says what kind of place the word asked for.
* :func:`skeleton` is a coarse transliteration key: vowels collapse to one class, Arabic-to-Latin
  digraph variants merge (kh/x/h: Turkish and Kurdish reports write خ as h and x, q/k, g/j, ou/u,
  doubled letters), inner articles and spaces go.
  "Huwayjah" and "Hawija", "Tuz Khormato" and "Tuz Khurmatu", "Telafar" and "Tall Afar", "Halidiya"
  and "Khalidiyah" meet here;
  a hit on this key is reported as ``normalised``, below exact and alias hits.
"""

from __future__ import annotations

import re

from ..names import ARTICLES, fold, strip_article

# Generic words that say what kind of place a name is, mapped to the kind they ask for:
# "P" a populated place, "ADM1" a governorate, "ADM2" a district, "ADM3" a sub-district, or the
# GeoNames feature code of a landmark ("MT" mountains and ranges, "VAL" valleys, "OILF" oil fields,
# "GASF" gas fields, "OILR" refineries, "DAM", "LK" lakes, "CMP" camps, "AIRB"/"AIRP" air bases and
# airports, "PSTB" border crossings, "BDG" bridges, "SQR" squares), in English, Arabic and Kurdish.
_SUFFIXES = {
    "town": "P",
    "city": "P",
    "village": "P",
    "villages": "P",
    "town centre": "P",
    "city centre": "P",
    "district": "ADM2",
    "qada": "ADM2",
    "qadha": "ADM2",
    "kaza": "ADM2",
    "province": "ADM1",
    "governorate": "ADM1",
    "muhafaza": "ADM1",
    "muhafazah": "ADM1",
    "sub district": "ADM3",
    "subdistrict": "ADM3",
    "nahiya": "ADM3",
    "nahiyah": "ADM3",
    "area": "",
    "region": "",
    "neighbourhood": "P",
    "neighborhood": "P",
    "camp": "CMP",
    "refugee camp": "CMP",
    "mountain": "MT",
    "mountains": "MT",
    "mountain range": "MT",
    "range": "MT",
    "valley": "VAL",
    "oil field": "OILF",
    "oilfield": "OILF",
    "oil fields": "OILF",
    "gas field": "GASF",
    "gasfield": "GASF",
    "refinery": "OILR",
    "oil refinery": "OILR",
    "dam": "DAM",
    "lake": "LK",
    "air base": "AIRB",
    "airbase": "AIRB",
    "airport": "AIRP",
    "international airport": "AIRP",
    "border crossing": "PSTB",
    "crossing": "PSTB",
    "bridge": "BDG",
    "square": "SQR",
    "ناحيه": "ADM3",
    "قضاء": "ADM2",
    "محافظه": "ADM1",
    "مدينه": "P",
    "قريه": "P",
}
_PREFIXES = {
    "qada": "ADM2",
    "qadha": "ADM2",
    "qaza": "ADM2",
    "kaza": "ADM2",
    "qeza i": "ADM2",
    "nahiyat": "ADM3",
    "nahiyah": "ADM3",
    "nahiya": "ADM3",
    "markaz": "ADM3",
    "muhafazat": "ADM1",
    "muhafazah": "ADM1",
    "qaryat": "P",
    "district of": "ADM2",
    "province of": "ADM1",
    "governorate of": "ADM1",
    "city of": "P",
    "town of": "P",
    "village of": "P",
    "قضاء": "ADM2",
    "ناحيه": "ADM3",
    "محافظه": "ADM1",
    "قريه": "P",
    "مدينه": "P",
    "مركز": "ADM3",
    "قهزاي": "ADM2",
    "باريزكاي": "ADM1",
    "شاروجكهي": "P",
    "mount": "MT",
    "jabal": "MT",
    "jebel": "MT",
    "jibal": "MT",
    "silsilat jibal": "MT",
    "chiya e": "MT",
    "çiyayê": "MT",
    "çiyayên": "MT",
    "wadi": "VAL",
    "lake": "LK",
    "camp": "CMP",
    "جبل": "MT",
    "جبال": "MT",
    "چیای": "MT",
    "وادي": "VAL",
    "بحيرة": "LK",
    "سد": "DAM",
    "حقل": "OILF",
    "مصفى": "OILR",
    "مصفاة": "OILR",
    "مخيم": "CMP",
    "مطار": "AIRP",
    "جسر": "BDG",
    "ساحة": "SQR",
}
# Compared with folded keys: folding drops the hamza of "قضاء".
_SUFFIXES = {fold(word): kind for word, kind in _SUFFIXES.items()}
_PREFIXES = {fold(word): kind for word, kind in _PREFIXES.items()}
_SUFFIX_RE = re.compile(r"^(.+?) ({})$".format("|".join(sorted(map(re.escape, _SUFFIXES), key=len, reverse=True))))
_PREFIX_RE = re.compile(r"^({}) (.+)$".format("|".join(sorted(map(re.escape, _PREFIXES), key=len, reverse=True))))

# Inside a name the article also appears as "ed-"/"es-" (Ed Dibis).
ARTICLE_WORDS = ARTICLES | {"ed", "es"}
_LATIN_DIGRAPHS = (
    ("kh", "h"),
    ("x", "h"),
    ("gh", "g"),
    ("sh", "$"),
    ("ch", "c"),
    ("dh", "d"),
    ("th", "t"),
    ("ph", "f"),
    ("ou", "u"),
    ("q", "k"),
    ("g", "j"),
    ("v", "w"),
)
_LATIN_VOWELS = re.compile(r"[aeiouyw]+")
_ARABIC_VOWELS = re.compile(r"[اويه]+")
_REPEATS = re.compile(r"(.)\1+")
_ARABIC_LETTER = re.compile(r"[\u0600-\u06ff]")


def name_key(text: str) -> str:
    """Folded, article-stripped key of a name or query (``"Al-Ḩawījah"`` -> ``"hawijah"``)."""
    return strip_article(fold(text))


def split_descriptor(key: str) -> tuple[str, str | None]:
    """Split a generic word off a folded key: ``"tall afar town"`` -> ``("tall afar", "P")``.

    Returns ``(core, kind)``; ``kind`` is "P", "ADM1", "ADM2", "ADM3", a landmark's feature code
    ("MT", "VAL", "OILF", ...), "" (a word with no kind, e.g. "area") or None when the key carries
    no descriptor (then ``core`` is ``key``).
    """
    match = _SUFFIX_RE.match(key)
    if match and len(match.group(1)) >= 2:
        return strip_article(match.group(1)), _SUFFIXES[match.group(2)]
    match = _PREFIX_RE.match(key)
    if match and len(match.group(2)) >= 2:
        return strip_article(match.group(2)), _PREFIXES[match.group(1)]
    return key, None


def descriptor_kind(word: str) -> str | None:
    """The kind of place a generic word asks for ("province" -> "ADM1", "sub-district" -> "ADM3",
    "town" -> "P"); None for a word with no kind ("area") or no descriptor at all."""
    key = fold(word)
    return _SUFFIXES.get(key) or _PREFIXES.get(key) or None


def skeleton(key: str) -> str:
    """Coarse transliteration key of a folded key (see the module docstring); ``""`` if too short."""
    words = key.split()
    if len(words) > 1:
        words = [w for w in words if w not in ARTICLE_WORDS and not (w.startswith("ال") and len(w) == 2)] or words
    if _ARABIC_LETTER.search(key):
        # Keep the first letter: a name may start with alef or waw as a consonant carrier.
        text = "".join(w[:1] + _ARABIC_VOWELS.sub("", w[1:]) for w in words)
    else:
        text = "".join(_latin_skeleton(w) for w in words)
    text = _REPEATS.sub(r"\1", text)
    return text if len(text) >= 3 else ""


def _latin_skeleton(word: str) -> str:
    for old, new in _LATIN_DIGRAPHS:
        word = word.replace(old, new)
    word = _LATIN_VOWELS.sub("a", word)
    # Word-final -ah and -a are one ending in transliteration (Tazah / Taza).
    return word[:-1] if len(word) > 2 and word.endswith("ah") else word
