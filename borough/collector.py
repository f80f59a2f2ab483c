"""The garbage collector while runs work: what was alive before a run is not scanned again.

A run allocates a few container objects per item (rows, records, claims) that reference
counting frees; the cyclic collector still counts them, and each of its full collections
walks every object of the process: the imported libraries, the runtime, the compiled
statements (hundreds of thousands of objects). Measured on the no-op bot (5,000 items,
batch 500) that was 0.4 s of a 2 s run. :func:`quiet_collector` moves the objects alive
when the first run starts into the permanent generation (:func:`gc.freeze`) and back when
the last run of the process ends (:func:`gc.unfreeze`), so collections during a run walk
only what the run made. Only cycles among objects alive before the first run started
are freed later: when the last run ends.

Ingest holds a batch of 5,000 rows (items, rows, records) alive for tens of thousands of
allocations: at Python's default of a young collection every 700, the collector walks the
same live batch again and again (10-20% of ingest's CPU with batches of 500, measured with
the freeze above in place; every 20,000 allocations it still took 0.5 s of a 100,000-row
ingest in batches of 5,000, every 200,000 under 0.1 s). :func:`young_collections_fewer`
collects the youngest generation every :data:`INGEST_YOUNG_THRESHOLD` allocations instead
while any ingest runs (what it holds back is only cyclic garbage, which ingest hardly makes).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

_lock = threading.Lock()
_running = [0]  #: runs of this process inside quiet_collector (a scheduler runs several)
INGEST_YOUNG_THRESHOLD = 200_000
_ingesting = [0]  #: ingests of this process inside young_collections_fewer
_thresholds = [gc.get_threshold()]  #: what the first of them found


def quiet_collector() -> AbstractContextManager[None]:
    """While the block runs (and any other run's block), older objects are not scanned."""
    return _while_any(_running, gc.freeze, gc.unfreeze)


def young_collections_fewer() -> AbstractContextManager[None]:
    """While the block runs (and any other's), the youngest generation is collected every
    :data:`INGEST_YOUNG_THRESHOLD` allocations; the last one out restores the thresholds the
    first one found."""
    return _while_any(_ingesting, _fewer_young, lambda: gc.set_threshold(*_thresholds[0]))


def _fewer_young() -> None:
    _thresholds[0] = gc.get_threshold()
    youngest, *older = _thresholds[0]
    gc.set_threshold(max(youngest, INGEST_YOUNG_THRESHOLD), *older)


@contextmanager
def _while_any(
    count: list[int], first: Callable[[], None], last: Callable[[], None]
) -> Iterator[None]:
    """``first`` when the first block of ``count``'s kind starts, ``last`` when the last ends."""
    with _lock:
        if count[0] == 0:
            first()
        count[0] += 1
    try:
        yield
    finally:
        with _lock:
            count[0] -= 1
            if count[0] == 0:
                last()
