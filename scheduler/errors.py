"""Errors of the scheduler, under borough's one root (see ``borough/errors.py``).

Tree::

    BoroughError
    └── SchedulerError              the scheduler cannot do what was asked
        ├── SchedulerLockedError    another scheduler holds this schedule store
        ├── ScheduleNotFoundError   no schedule has that name
        └── DispatchError           a run could not be handed to a process or a queue
"""

from __future__ import annotations

from borough.errors import BoroughError


class SchedulerError(BoroughError):
    """The scheduler cannot do that."""


class SchedulerLockedError(SchedulerError):
    """Another scheduler is using this schedule store; stop it first."""


class ScheduleNotFoundError(SchedulerError):
    """No schedule has that name; see `borough schedules list`."""


class DispatchError(SchedulerError):
    """The run could not be handed to its process or queue."""
