"""When each step of a lab's start ran, on one clock: start and end, seconds from the lab's start.

Durations alone do not show which steps overlap and which wait for each
other; a timeline does. Steps may run in several threads at once.

Usage::

    timeline = Timeline()
    with timeline.span("nodes"):
        ...
    timeline.add("ready node-1", started)      # a step timed elsewhere, ending now
    timeline.rows()                            # {"nodes": [0.0, 3.71], ...} in start order
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Timeline:
    """Steps of one start, each ``[start, end]`` in seconds since ``origin`` (monotonic)."""

    def __init__(self, origin: float | None = None) -> None:
        self.origin = time.monotonic() if origin is None else origin
        self._spans: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def restart(self) -> None:
        """Start the clock again (at the start proper), forgetting what was recorded."""
        with self._lock:
            self.origin = time.monotonic()
            self._spans.clear()

    def add(self, step: str, started: float, ended: float | None = None) -> None:
        """Record ``step`` from the monotonic time ``started`` to ``ended`` (default: now)."""
        ended = time.monotonic() if ended is None else ended
        with self._lock:
            self._spans[step] = (started - self.origin, ended - self.origin)

    @contextmanager
    def span(self, step: str) -> Iterator[None]:
        """Record the ``with`` block as ``step`` (also when it raises)."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.add(step, started)

    def rows(self) -> dict[str, list[float]]:
        """Every step as ``[start, end]`` (seconds, 2 decimals), in the order the steps started."""
        with self._lock:
            spans = sorted(self._spans.items(), key=lambda item: item[1])
        return {step: [round(start, 2), round(end, 2)] for step, (start, end) in spans}
