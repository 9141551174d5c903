"""Which due play goes first, and which play on air a due one stops.

Split out of `timeline` because this is policy, not mechanism: the order must match the
controller's `schedules/priority.py` (priority rank - emergency, priority, normal -
then the earlier `play_at`, then the command id), and keeping it in a few pure
functions makes that easy to compare and to test apart from the runner thread.
"""

from __future__ import annotations

from protocol.commands import Priority
from speaker_agent.staged import StagedPlay

RANK = {Priority.EMERGENCY: 0, Priority.PRIORITY: 1, Priority.NORMAL: 2}


def due_key(p: StagedPlay) -> tuple[int, object, str]:
    """Sort key of due plays: the first one is the next to start."""
    return (RANK[p.priority], p.play_at, p.cmd)


def preempts(new: StagedPlay, current: StagedPlay) -> bool:
    """Whether `new`, due now, stops `current` on air.

    Emergencies stop any non-emergency play. A relay is also stopped by a play (not
    another relay) of strictly higher priority: a `normal` relay gives way to
    `priority` announcements, a `priority` relay only to emergencies; `normal`
    announcements due during a relay wait for its end (while unexpired).
    """
    if current.priority is Priority.EMERGENCY:
        return False
    if new.priority is Priority.EMERGENCY:
        return True
    return current.is_relay and not new.is_relay and RANK[new.priority] < RANK[current.priority]


__all__ = ["RANK", "due_key", "preempts"]
