"""What reading a report needs, made ready before the first report comes.

The first :func:`webmap.extract.extract` of a process loads the gazetteer (its index of 57,000
places' names: about 15 s the first time after an install, then read back from the cache in a
fraction of a second), the boundary layers the places are joined to and langdetect's language
profiles. :data:`STEPS` are those loads, each a function that reports how far it is (0..1), so
``webmap serve`` runs them before it takes its first request and says where it is meanwhile.
Each step loads exactly what the extraction reads, from the same settings, so the report that
follows finds everything in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .. import spatial
from ..gazetteer import get_gazetteer
from ..gazetteer.load import Progress


@dataclass(frozen=True)
class Step:
    """One load: ``key`` (for programs), ``label`` (for people) and ``run(progress)``."""

    key: str
    label: str
    run: Callable[[Progress], None]


def _gazetteer(progress: Progress) -> None:
    gazetteer = get_gazetteer(progress=progress)
    # Indexes the gazetteer builds on first use, which the search of a report's words reads.
    gazetteer.key_starts()
    gazetteer.fuzzy_keys("warm")


def _boundaries(progress: Progress) -> None:
    spatial.AdminLayers.current()


def _languages(progress: Progress) -> None:
    from langdetect.detector_factory import init_factory

    init_factory()


STEPS: tuple[Step, ...] = (
    Step("gazetteer", "Loading the gazetteer: the places and every spelling of their names", _gazetteer),
    Step("boundaries", "Loading the governorate, district and sub-district boundaries", _boundaries),
    Step("languages", "Loading the language profiles (English, Arabic)", _languages),
)


def prepare(progress: Callable[[int, float], None] | None = None) -> None:
    """Run every step of :data:`STEPS` in turn; ``progress(step, share)`` hears how far each is."""
    for number, step in enumerate(STEPS):

        def report(share: float, number: int = number) -> None:
            if progress is not None:
                progress(number, share)

        report(0.0)
        step.run(report)
        report(1.0)
