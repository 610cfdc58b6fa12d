"""Sentences, clauses and word tokens of an article, with character offsets into its text.

A report is read paragraph by paragraph (one line each after :func:`webmap.extract.text.prepare_text`).
Lines that are not reporting ("Read More: ...", photo captions, "Editing by ...") and repeated
lines are skipped; a dateline ("ERBIL (Kurdistan 24) –") is cut off its paragraph and kept
apart, because the city it names is where the reporter sat, not where anything happened.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import pysbd

from ..names import fold

_BOILERPLATE = re.compile(
    r"^\W{0,3}(read more|read also|also read|related|see also|photo|editing by|edited by|reporting by|"
    r"writing by|additional reporting|follow us|share this|click here|subscribe)\b",
    re.IGNORECASE,
)
# "ERBIL (Kurdistan 24) –", "ERBIL, Kurdistan Region (Kurdistan24) –", "BAGHDAD, March 3 (Reuters) -",
# "أربيل (كوردستان 24) -": up to four words, an optional "(outlet)", then a dash.
_DATELINE = re.compile(
    r"^(?P<place>[^\W\d_][^\s,()–—-]*(?:[ ,]+[^\s,()–—-]+){0,3}?)\s*"
    r"(?:\((?P<outlet>[^()]{2,60})\))?\s*[–—-]{1,2}\s+"
)
_WORD = re.compile(r"[\w'’]+")
_INNER_STOP = re.compile(r"[.!?؟]")
_STOP_THEN_SPACE = re.compile(r"[.!?؟]\s")
# pysbd's time grows with the square of a paragraph's length (each abbreviation it finds rewrites the
# whole paragraph): a longer one (a real paragraph is well under 3,000 characters; a pasted page
# without line breaks is not) goes to it in pieces cut after a full stop.
PARAGRAPH_PIECE_CHARS = 5_000
_ARABIC_LETTER = re.compile(r"[\u0600-\u06ff]")
# Arabic writes conjunctions and prepositions onto the next word: و (and), ف (then), ب (in/by), ل (for), ك (like).
_ARABIC_PREFIXES = ("و", "ف", "ب", "ل", "ك")


@dataclass(frozen=True)
class Dateline:
    """The dateline of a paragraph: ``start``/``end`` offsets in the article, the place and outlet named."""

    start: int
    end: int
    place: str
    outlet: str | None


@dataclass(frozen=True)
class Sentence:
    """One sentence: its text and ``start``/``end`` character offsets in the article."""

    text: str
    start: int
    end: int
    paragraph: int


@dataclass(frozen=True)
class Token:
    """A word with its offsets in the text it came from and its comparison keys.

    ``keys`` holds the folded word (:func:`webmap.names.fold`) and, for Arabic, the word without
    the one-letter prefixes and the article written onto it (لداعش -> داعش, والبيشمركة -> البيشمركة, بيشمركة).
    """

    text: str
    start: int
    end: int
    keys: tuple[str, ...] = field(default=())

    @property
    def key(self) -> str:
        return self.keys[0] if self.keys else ""


@dataclass
class Article:
    """A report split for extraction: its sentences, datelines and the outlet named in a dateline."""

    text: str
    sentences: list[Sentence]
    datelines: list[Dateline]

    @property
    def outlet(self) -> str | None:
        return next((d.outlet for d in self.datelines if d.outlet), None)


def _is_dateline_place(place: str) -> bool:
    first = place.split(",")[0].split()[0]
    # Latin datelines are set in capitals; Arabic ones have no case and are recognised by the outlet.
    return first.isupper() and len(first) >= 3 or bool(_ARABIC_LETTER.match(first))


def find_dateline(paragraph: str, offset: int = 0) -> Dateline | None:
    """The dateline that opens ``paragraph``, or None; offsets are shifted by ``offset``."""
    match = _DATELINE.match(paragraph)
    if not match or not _is_dateline_place(match.group("place")):
        return None
    if _ARABIC_LETTER.match(match.group("place")) and not match.group("outlet"):
        return None
    outlet = " ".join(match.group("outlet").split()) if match.group("outlet") else None
    return Dateline(offset, offset + match.end(), match.group("place").strip(), outlet)


@lru_cache(maxsize=4)
def _segmenter(language: str) -> pysbd.Segmenter:
    return pysbd.Segmenter(language=language, clean=False, char_span=True)


def split_sentences(paragraph: str, language: str = "en", offset: int = 0) -> list[tuple[str, int, int]]:
    """``(sentence, start, end)`` for each sentence of one paragraph (pysbd's rules for ``language``)."""
    body = paragraph.strip()
    if not _INNER_STOP.search(body[:-1]):
        # No full stop inside: one sentence, and pysbd (a third of the extraction time) is not needed.
        start = offset + len(paragraph) - len(paragraph.lstrip())
        return [(body, start, start + len(body))] if body else []
    out = []
    for piece, piece_offset in _pieces(paragraph, PARAGRAPH_PIECE_CHARS):
        for span in _segmenter(language).segment(piece):
            text = span.sent.strip()
            if not text:
                continue
            start = offset + piece_offset + span.start + (len(span.sent) - len(span.sent.lstrip()))
            out.append((text, start, start + len(text)))
    return out


def _pieces(paragraph: str, size: int) -> list[tuple[str, int]]:
    """``(piece, offset)``: ``paragraph`` cut after the last full stop before each ``size`` characters
    (at ``size`` when a stretch has none)."""
    out, start = [], 0
    while len(paragraph) - start > size:
        stops = list(_STOP_THEN_SPACE.finditer(paragraph, start + 1, start + size))
        end = stops[-1].end() if stops else start + size
        out.append((paragraph[start:end], start))
        start = end
    out.append((paragraph[start:], start))
    return out


def split_article(text: str, language: str = "en") -> Article:
    """The reporting sentences of ``text`` (boilerplate and repeated lines skipped) and its datelines."""
    sentences: list[Sentence] = []
    datelines: list[Dateline] = []
    seen: set[str] = set()
    offset = 0
    for number, line in enumerate(text.split("\n")):
        start = offset
        offset += len(line) + 1
        body = line.strip()
        key = fold(body)
        if not body or _BOILERPLATE.match(body) or key in seen:
            continue
        seen.add(key)
        start += len(line) - len(line.lstrip())
        dateline = find_dateline(body, start)
        if dateline:
            datelines.append(dateline)
            body = body[dateline.end - start :]
            start = dateline.end
        for sentence, s_start, s_end in split_sentences(body, language, start):
            sentences.append(Sentence(sentence, s_start, s_end, number))
    return Article(text, sentences, datelines)


def split_clauses(sentence: str, reports_event: Callable[[str], bool]) -> list[tuple[str, int]]:
    """``(clause, offset in sentence)``: ``sentence`` cut at "; " and ", while " when both sides report an event.

    "The first assault targeted ... in the Riyadh district, while the second one targeted ... in the
    Hawija district" is two attacks; "two soldiers were killed while on patrol near Tuz" is one,
    because "on patrol near Tuz" reports no event of its own.
    """
    pieces = [(sentence, 0)]
    for separator in (re.compile(r";\s+"), re.compile(r",?\s+(?:while|whereas)\s+", re.IGNORECASE)):
        next_pieces = []
        for piece, base in pieces:
            cut = 0
            for match in separator.finditer(piece):
                left, right = piece[cut : match.start()], piece[match.end() :]
                if reports_event(left) and reports_event(right):
                    next_pieces.append((left, base + cut))
                    cut = match.end()
            next_pieces.append((piece[cut:], base + cut))
        pieces = next_pieces
    return pieces


def arabic_keys(folded: str) -> tuple[str, ...]:
    """The folded Arabic word and its forms without written-on prefixes and article (longest first)."""
    keys = [folded]
    word = folded
    for _ in range(2):
        if len(word) > 3 and word[0] in _ARABIC_PREFIXES:
            word = word[1:]
            keys.append(word)
    for candidate in list(keys):
        if candidate.startswith("ال") and len(candidate) > 4:
            keys.append(candidate[2:])
    return tuple(dict.fromkeys(keys))


def tokens(text: str, offset: int = 0) -> list[Token]:
    """The words of ``text`` with offsets (shifted by ``offset``) and their comparison keys."""
    out = []
    for match in _WORD.finditer(text):
        folded = fold(match.group())
        if not folded:
            continue
        keys = arabic_keys(folded) if _ARABIC_LETTER.search(folded) else (folded,)
        out.append(Token(match.group(), offset + match.start(), offset + match.end(), keys))
    return out
