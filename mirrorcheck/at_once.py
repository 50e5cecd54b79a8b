"""The one way mirrorcheck runs steps at the same time: a thread each, and Ctrl-C heard at once.

Usage::

    from mirrorcheck.at_once import at_once, side_by_side, thread_pool

    pulls = at_once(lambda node: node.pull(reference), nodes)   # [PullResult per node, in order]
    state, mark = side_by_side(read_state, read_mark)           # [each step's result, in order]
    with thread_pool(8) as pool:                                # steps that wait on others
        ...

Why not ``with ThreadPoolExecutor(n) as pool: list(pool.map(step, items))``:
Ctrl-C (KeyboardInterrupt) does interrupt the main thread's wait on a
future, but the ``with`` block's exit then calls ``shutdown(wait=True)``,
which joins every worker. A worker blocked in a node's ``docker pull`` over
``docker exec`` holds the interrupted run there until the exec returns
(up to its 300 s bound), and the lab's removal, which would end that exec,
waits behind it. Here an interrupt (KeyboardInterrupt, SystemExit: any
BaseException that is not an Exception) in the waiting thread cancels the
steps not yet started and returns at once, without joining: the caller's
cleanup (the pytest fixtures' teardown removing the lab's containers, which
ends their execs) runs now, and the workers end with their execs. The
interpreter still waits for running workers at its exit (concurrent.futures
joins its threads then): a step must end once its lab is gone.

An error a step raises (an Exception) is handled as ``pool.map`` does:
the steps not started are cancelled, the running ones are waited for, and
the first error in the order of ``items`` is raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def at_once(step: Callable[[T], R], items: Iterable[T], *, limit: int | None = None) -> list[R]:
    """``[step(item) for item in items]``, the steps run at the same time, a thread each.

    ``limit``: at most this many threads (``None``: one per item); the
    others wait for a free thread, in order. Returns the results in the
    order of ``items`` once every step has returned (``[]`` for no items,
    no thread started).

    Raises the first error (in the order of ``items``) a step raised, after
    the running steps have ended; the steps not started then never run.
    An interrupt while waiting (KeyboardInterrupt from Ctrl-C, SystemExit)
    is re-raised at once: the steps not started are cancelled, the running
    ones are left to end on their own.
    """
    listed = list(items)
    if not listed:
        return []
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1 thread, not {limit}")
    workers = len(listed) if limit is None else min(limit, len(listed))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="at_once")
    try:
        futures: list[Future[R]] = [pool.submit(step, item) for item in listed]
        results = [future.result() for future in futures]
    except Exception:
        pool.shutdown(wait=True, cancel_futures=True)  # as pool.map in a `with` block
        raise
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)  # heard at once: no join
        raise
    pool.shutdown(wait=True)  # every step has returned: joins idle threads only
    return results


def side_by_side(*steps: Callable[[], Any]) -> list[Any]:
    """Each of ``steps`` called at the same time, a thread each: their results, in order.

    Errors and interrupts as ``at_once``: the first error in the order of
    ``steps`` is raised once the others have ended; Ctrl-C returns at once.
    """
    return at_once(lambda step: step(), steps)


@contextmanager
def thread_pool(max_workers: int) -> Iterator[ThreadPoolExecutor]:
    """``with ThreadPoolExecutor(max_workers) as pool:`` for steps that wait on each other.

    Leaving the block waits for every submitted step, as the executor's own
    ``with`` does, also when the block raised an error; an interrupt
    (KeyboardInterrupt, SystemExit) leaves at once instead: the steps not
    started are cancelled, the running ones are left to end on their own.
    """
    pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="thread_pool")
    try:
        yield pool
    except Exception:
        pool.shutdown(wait=True)
        raise
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
