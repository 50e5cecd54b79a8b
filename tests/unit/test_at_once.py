"""at_once and side_by_side: results in order, pool.map's errors, and Ctrl-C heard at once."""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from mirrorcheck.at_once import at_once, side_by_side, thread_pool

BLOCKED_FOR = 30.0  # a worker's bound, far above what an interrupted wait may take


def test_results_come_in_the_order_of_the_items():
    # The first item ends last: the order is the items', not the finishing order.
    def slow_first(n: int) -> int:
        time.sleep(0.2 if n == 0 else 0.0)
        return n * 10

    assert at_once(slow_first, range(5)) == [0, 10, 20, 30, 40]


def test_the_steps_run_at_the_same_time():
    started = threading.Barrier(4, timeout=5)  # breaks unless all four wait on it together
    threads = at_once(lambda _: (started.wait(), threading.get_ident())[1], range(4))
    assert len(set(threads)) == 4


def test_no_items_start_no_thread():
    before = threading.active_count()
    assert at_once(lambda _: pytest.fail("a step ran"), []) == []
    assert threading.active_count() == before


def test_limit_bounds_the_threads():
    running, most, lock = [0], [0], threading.Lock()

    def step(n: int) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return n

    assert at_once(step, range(9), limit=3) == list(range(9))
    assert most[0] == 3


def test_a_limit_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        at_once(lambda n: n, [1], limit=0)


def test_the_first_error_in_order_is_raised_after_the_running_steps_end():
    ended = []

    def step(n: int) -> int:
        if n == 1:
            time.sleep(0.2)  # fails later than item 2: still the one raised
            raise ValueError("item 1")
        if n == 2:
            raise KeyError("item 2")
        time.sleep(0.3)
        ended.append(n)
        return n

    with pytest.raises(ValueError, match="item 1"):
        at_once(step, range(4))
    assert sorted(ended) == [0, 3]  # as pool.map in a `with` block: the others were waited for


def test_after_an_error_the_steps_not_started_never_run():
    ran = []

    def step(n: int) -> int:
        ran.append(n)
        if n == 0:
            raise RuntimeError("first")
        time.sleep(0.2)
        return n

    with pytest.raises(RuntimeError, match="first"):
        at_once(step, range(10), limit=2)
    time.sleep(0.5)
    assert len(ran) < 10, ran


def test_side_by_side_returns_each_steps_result_in_order():
    assert side_by_side(lambda: "a", lambda: (time.sleep(0.1), "b")[1], lambda: 3) == [
        "a",
        "b",
        3,
    ]


def test_side_by_side_raises_the_first_error_in_order():
    def later() -> None:
        time.sleep(0.1)
        raise LookupError("first step")

    def sooner() -> None:
        raise OSError("second step")

    with pytest.raises(LookupError, match="first step"):
        side_by_side(later, sooner)


@pytest.fixture
def ctrl_c():
    """``ctrl_c(seconds)``: SIGINT sent to the main thread ``seconds`` from now, as Ctrl-C is.

    A real signal, not ``_thread.interrupt_main``: only a signal wakes a thread
    blocked on a lock, where a wait on a future sleeps.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timers: list[threading.Timer] = []
    main = threading.main_thread().ident
    assert main is not None

    def after(seconds: float) -> None:
        timer = threading.Timer(seconds, signal.pthread_kill, (main, signal.SIGINT))
        timers.append(timer)
        timer.start()

    yield after
    for timer in timers:
        timer.cancel()
        timer.join()
    signal.signal(signal.SIGINT, previous)


def _blocked_steps(release: threading.Event, finished: list[int]):
    def blocked(n: int) -> int:
        release.wait(BLOCKED_FOR)
        finished.append(n)
        return n

    return blocked


def test_the_pool_map_pattern_holds_ctrl_c_until_the_workers_end(ctrl_c):
    """What the interrupt checks below would catch: a `with` pool joins blocked workers."""
    release, finished = threading.Event(), []
    threading.Timer(1.5, release.set).start()
    ctrl_c(0.3)
    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt), ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(_blocked_steps(release, finished), range(3)))
    assert time.monotonic() - began >= 1.4  # held until the workers were released
    assert sorted(finished) == [0, 1, 2]


@pytest.mark.parametrize("limit", [None, 2], ids=["a-thread-each", "steps-waiting"])
def test_ctrl_c_returns_at_once_while_every_step_is_blocked(ctrl_c, limit):
    release, finished = threading.Event(), []
    ctrl_c(0.3)
    began = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            at_once(_blocked_steps(release, finished), range(4), limit=limit)
        waited = time.monotonic() - began
        assert finished == [], "a step ended before the interrupt: nothing was blocked"
        assert 0.25 <= waited < 1.0, f"the interrupted wait took {waited:.2f} s"
    finally:
        release.set()
    time.sleep(0.3)
    # Released, the running steps end on their own; the steps not started never run.
    assert sorted(finished) == ([0, 1, 2, 3] if limit is None else [0, 1])


def _interrupted_at_once(ctrl_c, release, finished, wait) -> None:
    """Ctrl-C 0.3 s into ``wait()``: it raises KeyboardInterrupt within a second, no step having
    ended (they are blocked on ``release``, set afterwards whatever happened)."""
    ctrl_c(0.3)
    began = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            wait()
        waited = time.monotonic() - began
        assert finished == []
        assert waited < 1.0, f"the interrupted wait took {waited:.2f} s"
    finally:
        release.set()


def test_ctrl_c_is_heard_while_waiting_for_the_others_after_an_error(ctrl_c):
    release, finished = threading.Event(), []
    blocked = _blocked_steps(release, finished)

    def step(n: int) -> int:
        if n == 0:
            raise RuntimeError("node-1 failed")
        return blocked(n)

    _interrupted_at_once(ctrl_c, release, finished, lambda: at_once(step, range(3)))


def test_side_by_side_hears_ctrl_c_at_once(ctrl_c):
    release, finished = threading.Event(), []
    blocked = _blocked_steps(release, finished)
    _interrupted_at_once(
        ctrl_c, release, finished, lambda: side_by_side(lambda: blocked(1), lambda: blocked(2))
    )


def test_thread_pool_waits_for_its_steps_when_the_block_fails():
    release, finished = threading.Event(), []
    threading.Timer(0.3, release.set).start()
    with pytest.raises(RuntimeError, match="a step's need failed"), thread_pool(2) as pool:
        pool.submit(_blocked_steps(release, finished), 1)
        raise RuntimeError("a step's need failed")
    assert finished == [1]  # as ThreadPoolExecutor's `with`: the running step was waited for


def test_thread_pool_hears_ctrl_c_at_once(ctrl_c):
    release, finished = threading.Event(), []
    blocked = _blocked_steps(release, finished)
    submitted = []

    def wait() -> None:
        with thread_pool(1) as pool:
            submitted.extend([pool.submit(blocked, 1), pool.submit(blocked, 2)])
            submitted[0].result()

    _interrupted_at_once(ctrl_c, release, finished, wait)
    assert submitted[1].cancelled()
