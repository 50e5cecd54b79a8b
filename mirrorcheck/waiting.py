"""The one way mirrorcheck waits: a bounded poll that says what it waited for.

Usage::

    from mirrorcheck.waiting import wait_until

    wait_until(lambda: registry.ping(), timeout=10, what="the upstream registry to answer /v2/")

A poll that runs out raises ``WaitTimeout`` naming what was awaited, for how
long, and the last thing the condition said (its return value or exception).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(TimeoutError):
    """A bounded wait ran out."""


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float,
    what: str,
    interval: float = 0.1,
    give_up: Callable[[], str | None] | None = None,
) -> T:
    """Poll ``condition`` until it returns a truthy value, at most ``timeout`` seconds.

    ``give_up`` is asked between polls; a non-empty answer ends the wait at once
    with that reason (e.g. "the container exited"), instead of running out the clock.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            result = condition()
            if result:
                return result
            last = result
        except Exception as error:  # the condition's failure is the last word, not fatal
            last = f"{type(error).__name__}: {error}"
        if give_up is not None:
            reason = give_up()
            if reason:
                raise WaitTimeout(f"stopped waiting for {what}: {reason}")
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"waited {timeout:g} s for {what}; last answer: {last!r}")
        time.sleep(interval)
