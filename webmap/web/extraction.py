"""Reading a report for ``POST /api/extract``: who may, how many at once, how long.

Reading a long report costs seconds of CPU, so it is bounded three ways:

- **who**: users whose role may ``extract`` (a token, or a login with its CSRF header); with
  ``WEBMAP_PUBLIC_EXTRACT=1`` anyone, each client address at most :data:`PUBLIC_RATE`
  (429 with ``Retry-After`` past it);
- **where and how many**: off the request threads, in a pool of :data:`WORKERS` threads with
  :data:`WAITING` more reports allowed to wait; past that the server answers 503 with
  ``Retry-After`` at once. So at most ``WORKERS + WAITING`` request threads wait on reports, and
  readers of the map find the others free (``python bench/extract_load.py``);
- **how long**: :data:`SECONDS` per report (:func:`webmap.extract.extract` stops itself and the
  request is a 400 naming ``text``).
"""

from __future__ import annotations

import functools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from flask import Flask, current_app, request
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from werkzeug.exceptions import ServiceUnavailable, TooManyRequests

from ..extract import Extraction, extract
from ..roles import may
from . import EXTENSION, get_config
from .auth import current_actor_or_none, require

WORKERS = 2
WAITING = 2
SECONDS = 15.0
PUBLIC_RATE = "6/minute"
_RATE = parse(PUBLIC_RATE)


class Extractions:
    """One app's extraction pool and the rate of each public client address."""

    def __init__(self, workers: int = WORKERS, waiting: int = WAITING, seconds: float = SECONDS):
        self.seconds = seconds
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webmap-extract")
        self._slots = threading.BoundedSemaphore(workers + waiting)
        self._waiting_rounds = -(-waiting // workers)  # how many reports' time one may wait for at most
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def read(self, text: str, published, source: str | None) -> Extraction:
        """:func:`webmap.extract.extract` of the report in the pool; 503 when the pool and its queue are full."""
        if not self._slots.acquire(blocking=False):
            raise ServiceUnavailable(
                "other reports are being read: try again in a few seconds", retry_after=int(self.seconds)
            )
        future = self._pool.submit(extract, text, published, source=source, time_limit=self.seconds)
        future.add_done_callback(lambda _: self._slots.release())
        try:
            # A report waits for those before it, then stops itself once it has run self.seconds;
            # the margin covers the reading before its first look at the clock.
            return future.result(timeout=(1 + self._waiting_rounds) * self.seconds + 5)
        except FutureTimeout:
            raise ServiceUnavailable(
                "the server is too busy to read the report now: try again later", retry_after=int(self.seconds)
            ) from None

    def admit(self, address: str) -> None:
        """Count a public request from ``address``; 429 with ``Retry-After`` past :data:`PUBLIC_RATE`."""
        if self._limiter.hit(_RATE, "extract", address):
            return
        reset = self._limiter.get_window_stats(_RATE, "extract", address).reset_time
        raise TooManyRequests(
            f"reports from {address}: at most {PUBLIC_RATE} without a login; log in for more",
            retry_after=max(1, int(reset - time.time()) + 1),
        )


def init_app(app: Flask) -> None:
    """Give ``app`` its :class:`Extractions`."""
    app.extensions[EXTENSION]["extractions"] = Extractions()


def get_extractions() -> Extractions:
    """The running app's :class:`Extractions`."""
    return current_app.extensions[EXTENSION]["extractions"]


def writers_or_public(view):
    """The view for users whose role may ``extract`` (see :func:`webmap.web.auth.require`), or, with
    ``WEBMAP_PUBLIC_EXTRACT=1``, for anyone else at :data:`PUBLIC_RATE` per address."""
    guarded = require("extract")(view)

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if get_config().public_extract and not may(current_actor_or_none(), "extract"):
            get_extractions().admit(request.remote_addr or "unknown")
            return view(*args, **kwargs)
        return guarded(*args, **kwargs)

    return wrapper
