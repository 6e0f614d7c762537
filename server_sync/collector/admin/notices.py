"""The banners a page shows after a POST: texts the server chose, reached by a random key.

A redirect after a form carries ``?msg=KEY`` or ``?err=KEY``, never the text itself, so a
link someone else made cannot put words into the trusted admin UI: an unknown or expired
key shows nothing. Keys live in this process only (the collector runs one), at most
``LIMIT`` of them for ``TTL`` seconds; a restarted collector just shows no banner.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict

TTL = 600.0  # seconds: long enough to follow a redirect or reload the page
LIMIT = 1000


class Notices:
    """Server-chosen texts by random key, forgotten after ``ttl`` seconds or beyond ``limit`` keys."""

    def __init__(self, ttl: float = TTL, limit: int = LIMIT, clock=time.monotonic) -> None:
        self._ttl, self._limit, self._clock = ttl, limit, clock
        self._texts: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def keep(self, text: str) -> str:
        """A new key for ``text``."""
        key = secrets.token_urlsafe(12)
        with self._lock:
            self._texts[key] = (self._clock() + self._ttl, text)
            while len(self._texts) > self._limit:
                self._texts.popitem(last=False)
        return key

    def text(self, key: str) -> str:
        """The text kept under ``key``; "" for a key this process never gave out or has forgotten."""
        with self._lock:
            found = self._texts.get(key)
            if found is None:
                return ""
            if found[0] < self._clock():
                del self._texts[key]
                return ""
            return found[1]


NOTICES = Notices()  # the process's one store (admin.deps.back keeps, admin.deps.banner reads)
