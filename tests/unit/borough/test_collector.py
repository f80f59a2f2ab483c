"""The collector hint around runs: older objects frozen while any run works, never after."""

from __future__ import annotations

import gc
import threading
import weakref

from borough.collector import quiet_collector


def test_objects_are_unfrozen_only_when_the_last_of_overlapping_runs_ends() -> None:
    assert gc.get_freeze_count() == 0
    first_in, second_done, release = threading.Event(), threading.Event(), threading.Event()

    def second_run() -> None:
        first_in.wait()
        with quiet_collector():
            pass
        second_done.set()
        release.wait()

    other = threading.Thread(target=second_run)
    other.start()
    with quiet_collector():
        assert gc.get_freeze_count() > 0
        first_in.set()
        second_done.wait()
        # the other run ended first: this one still works with the old objects frozen
        assert gc.get_freeze_count() > 0
    release.set()
    other.join()
    assert gc.get_freeze_count() == 0


class _Node:
    def __init__(self) -> None:
        self.me = self


def test_garbage_frozen_by_a_run_is_freed_once_it_ends_even_if_it_raised() -> None:
    node = _Node()
    gone = weakref.ref(node)
    try:
        with quiet_collector():
            del node  # a cycle alive when the run began, garbage during it
            raise RuntimeError("the run failed")
    except RuntimeError:
        pass
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert gone() is None
