"""The article text before extraction: HTML stripped, size limited, language identified.

Extraction reads English and Arabic. Anything else is refused with an error that says which
language was found, because rules written for English silently find nothing in French and a
user would take "no incidents" for an answer about the article.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

from langdetect import DetectorFactory, LangDetectException, detect_langs

from ..errors import InvalidRecord

# A long news report is 5-30 KB; 200 000 characters is a small book. Above it the request is
# refused rather than keeping a web worker busy for seconds (see bench/extract.py).
MAX_TEXT_CHARS = 200_000
# A saved web page carries scripts and markup around its text: HTML may be ten times longer, and
# its visible text is then held to MAX_TEXT_CHARS.
MAX_HTML_CHARS = 2_000_000
# A file holding MAX_HTML_CHARS characters of UTF-8 (at most 4 bytes each); a reader stops past it.
MAX_REPORT_BYTES = 4 * MAX_HTML_CHARS
LANGUAGES = {"en": "English", "ar": "Arabic"}
# langdetect names for languages an analyst of northern Iraq may paste by mistake.
_LANGUAGE_NAMES = {
    "fa": "Persian or Kurdish (Sorani)",
    "tr": "Turkish",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "pt": "Portuguese",
    "ru": "Russian",
    "it": "Italian",
    "nl": "Dutch",
    "zh-cn": "Chinese",
    "ur": "Urdu",
    "he": "Hebrew",
}

DetectorFactory.seed = 0  # langdetect samples at random; a fixed seed gives the same answer every time

_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?\s*>")
_BLOCK_TAGS = {
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "table",
    "article",
    "section",
    "header",
    "footer",
    "blockquote",
    "figcaption",
    "title",
    "hr",
}
_SKIP_TAGS = {"script", "style", "noscript", "template", "svg", "head"}


class _TextOfHTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        if tag in _SKIP_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if not self._skipping:
            self.parts.append(data)


def looks_like_html(text: str) -> bool:
    """True when ``text`` carries at least two HTML tags (a pasted web page, not prose with a '<')."""
    return len(_TAG.findall(text, 0, 20_000)) >= 2


def strip_html(text: str) -> str:
    """The visible text of an HTML document: tags dropped, entities decoded, blocks as paragraphs."""
    parser = _TextOfHTML()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)


def _normalise_whitespace(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _script_counts(text: str) -> dict[str, int]:
    counts = {"latin": 0, "arabic": 0, "other": 0}
    for ch in text[:20_000]:
        if not ch.isalpha():
            continue
        if ch.isascii():
            counts["latin"] += 1
            continue
        name = unicodedata.name(ch, "")
        kind = "latin" if name.startswith("LATIN") else "arabic" if name.startswith("ARABIC") else "other"
        counts[kind] += 1
    return counts


def detect_language(text: str) -> str | None:
    """``"en"`` or ``"ar"`` for text extraction can read, None for text without letters.

    Raises :class:`InvalidRecord` (field ``text``) naming the language found otherwise. Short
    Latin-script texts (under six words) are taken as English: language detection guesses on them.
    """
    scripts = _script_counts(text)
    letters = sum(scripts.values())
    if not letters:
        return None
    if scripts["other"] > letters / 2:
        raise InvalidRecord(
            "text",
            "is not in English or Arabic (mostly letters of another script); "
            "extraction reads English and Arabic news reports only",
        )
    try:
        best = detect_langs(text[:20_000])[0]
    except LangDetectException:
        return None
    if best.lang in LANGUAGES:
        return best.lang
    if scripts["arabic"] > scripts["latin"]:
        if best.prob < 0.9:
            return "ar"
    elif len(text.split()) < 6 or best.prob < 0.9:
        return "en"
    name = _LANGUAGE_NAMES.get(best.lang, f"language code {best.lang!r}")
    raise InvalidRecord(
        "text", f"looks like {name}, not English or Arabic; extraction reads English and Arabic news reports only"
    )


def prepare_text(raw: str) -> tuple[str, str | None]:
    """``(clean text, language)`` from what the analyst pasted or uploaded.

    HTML is reduced to its visible text; runs of spaces are collapsed, paragraphs kept. Refused
    with :class:`InvalidRecord` (field ``text``): non-strings, texts over :data:`MAX_TEXT_CHARS`
    characters and HTML over :data:`MAX_HTML_CHARS` (or whose text is over :data:`MAX_TEXT_CHARS`).
    Language as in :func:`detect_language`; an empty text gives ``("", None)``.
    """
    if not isinstance(raw, str):
        raise InvalidRecord("text", f"must be text, not {type(raw).__name__}")
    html = looks_like_html(raw)
    limit = MAX_HTML_CHARS if html else MAX_TEXT_CHARS
    if len(raw) > limit:
        raise InvalidRecord(
            "text",
            f"is {len(raw):,} characters long; the limit is {limit:,}"
            f"{' for HTML' if html else ''} (one report at a time)",
        )
    text = strip_html(raw) if html else raw
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidRecord(
            "text", f"holds {len(text):,} characters of text; the limit is {MAX_TEXT_CHARS:,} (one report at a time)"
        )
    text = _normalise_whitespace(text.replace("\u00a0", " "))
    if not text:
        return "", None
    return text, detect_language(text)
