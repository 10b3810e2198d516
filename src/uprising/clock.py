"""Ticks and clock time: the explicit mapping between a run's steps and dates.

Epstein's tick has no calendar meaning (model-notes §6); a country scenario gives
it one. A :class:`Clock` has a start, an end (exclusive) and a tick length in
hours: tick ``k`` (counting from 1, like the steps of Model I) covers the
interval ``[start + (k-1)*tick, start + k*tick)``, and step 0 is the state at
``start``. Times are naive local times (the scenario says which zone).
"""

from __future__ import annotations

import datetime as dt
import math

FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def parse_time(text: str) -> dt.datetime:
    """``YYYY-MM-DDTHH:MM`` (or a date, meaning its midnight) as a naive datetime; ValueError otherwise."""
    if isinstance(text, dt.datetime):
        return text.replace(second=0, microsecond=0, tzinfo=None)
    if isinstance(text, dt.date):
        return dt.datetime(text.year, text.month, text.day)
    for fmt in FORMATS:
        try:
            return dt.datetime.strptime(str(text).strip(), fmt)
        except ValueError:
            continue
    raise ValueError(f"not a time: {text!r}; write YYYY-MM-DDTHH:MM (local time) or YYYY-MM-DD")


def format_time(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M")


class Clock:
    """The run's calendar: ``ticks`` steps of ``tick_hours`` hours from ``start`` to ``end``."""

    def __init__(self, start: dt.datetime, end: dt.datetime, tick_hours: float):
        if end <= start:
            raise ValueError("end must be after start")
        if tick_hours <= 0:
            raise ValueError("tick_hours must be positive")
        self.start = start
        self.end = end
        self.tick_hours = float(tick_hours)
        self.ticks = int(math.ceil((end - start) / dt.timedelta(hours=tick_hours) - 1e-9))

    @property
    def tick(self) -> dt.timedelta:
        return dt.timedelta(hours=self.tick_hours)

    def time_of(self, step: int) -> dt.datetime:
        """The clock time at the end of step ``step`` (step 0: the start)."""
        return self.start + step * self.tick

    def step_at(self, when: dt.datetime) -> int:
        """The first step whose interval starts at or after ``when`` (an event at ``when`` acts from it on).

        An event at the start acts from step 1; one exactly on a tick boundary acts
        from the tick that starts there; one inside a tick acts from the next tick.
        """
        hours = (when - self.start) / dt.timedelta(hours=1)
        return int(math.ceil(hours / self.tick_hours - 1e-9)) + 1

    def contains(self, when: dt.datetime) -> bool:
        return self.start <= when <= self.end

    def hours_of_day(self) -> list[float]:
        """Local hour (0-24) at the middle of each step 1..ticks."""
        out = []
        for k in range(1, self.ticks + 1):
            mid = self.start + (k - 0.5) * self.tick
            out.append(mid.hour + mid.minute / 60.0)
        return out

    def day_of(self, step: int) -> dt.date:
        """The calendar day in which step ``step`` lies (by its midpoint; step 0: the start's day)."""
        if step == 0:
            return self.start.date()
        return (self.start + (step - 0.5) * self.tick).date()

    def per_tick(self, rate_per_day: float) -> float:
        """A probability per day as the probability per tick with the same daily total (geometric)."""
        if rate_per_day >= 1.0:
            return 1.0
        return 1.0 - (1.0 - rate_per_day) ** (self.tick_hours / 24.0)

    def ticks_of(self, hours: float) -> float:
        return hours / self.tick_hours
