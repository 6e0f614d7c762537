"""One voice at a time: calls and prompts are queued and played one after another.

Two windows calling together, or a recall while a prompt plays, must never sound over each
other; one worker thread renders each phrase (kiosk.voice) and plays it to the end before
taking the next. ``play`` is handed in (the Kivy app plays through SoundLoader; tests
record), and returns the sound's length so the worker knows when it is over.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path

from kiosk.voice import Phrase, Sound, Voice, duration

log = logging.getLogger(__name__)

# More waiting than this is stale (a queue of calls nobody is listening to any more).
MAX_WAITING = 8
PLAYED_KEPT = 50


class Announcer:
    """Plays phrases one after another on a worker thread."""

    def __init__(
        self,
        voice: Voice,
        play: Callable[[Path], float | None],
        *,
        wait: Callable[[float], object] | None = None,
    ):
        self.voice = voice
        self._play = play
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self._queue: queue.Queue[Phrase | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        # The latest sounds played, in order (tests and the log read it); bounded: a kiosk runs for months.
        self.played: deque[Sound] = deque(maxlen=PLAYED_KEPT)

    def say(self, phrase: Phrase) -> bool:
        """Queue ``phrase``; False (and nothing queued) when too many wait already."""
        if self._queue.qsize() >= MAX_WAITING:
            log.warning("announcer: %d phrases waiting; dropping %r", MAX_WAITING, phrase.text)
            return False
        self._queue.put(phrase)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="kiosk-announcer", daemon=True)
            self._thread.start()
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Stop after the phrase now playing; what still waits is dropped."""
        self._stop.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def idle(self) -> bool:
        """True when nothing is playing or waiting."""
        return self._queue.unfinished_tasks == 0

    def _run(self) -> None:
        while True:
            phrase = self._queue.get()
            try:
                if phrase is None or self._stop.is_set():
                    return
                sound = self.voice.render(phrase)
                try:
                    seconds = self._play(sound.path)
                except Exception as exc:  # a broken audio device must not end the announcer
                    log.warning("announcer: cannot play %s: %s", sound.path, exc)
                    continue
                self.played.append(sound)
                log.info("announcer: said %r (%s)", phrase.text, sound.source)
                # Wait out the sound so the next cannot start over it.
                self._wait(seconds if seconds is not None else duration(sound.path))
            finally:
                self._queue.task_done()
