"""Registering the controller's periodic jobs on its one APScheduler, all alike.

APScheduler 3 drops a run more than 1 s late unless `misfire_grace_time` is set (a busy
controller easily is), and without `coalesce`/`max_instances=1` a slow run would pile
up behind itself. Every periodic job (expiry sweep, dispatcher tick, offline alerts)
needs exactly these options, so they live here once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def add_interval_job(scheduler: Any, func: Callable[[], object], *, seconds: float, job_id: str, name: str) -> None:
    """Run `func` every `seconds`, never overlapping itself, late runs merged into one."""
    scheduler.add_job(
        func,
        "interval",
        seconds=seconds,
        id=job_id,
        name=name,
        misfire_grace_time=max(1, int(seconds * 2)),
        coalesce=True,
        max_instances=1,
        replace_existing=True,
    )


__all__ = ["add_interval_job"]
