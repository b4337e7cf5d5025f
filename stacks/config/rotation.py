"""crm:rotation: when the stack's generated credentials are replaced (docs/runbooks/rotation.md).

    crm:rotation:
      generation: 1          # raise by one to rotate now (explicit trigger)
      intervalDays: 90       # and/or every 90 days, counted from `since`
      since: "2026-01-01"

The result is one string, the `keepers` of every rotating generator: it changes only when the
generation is raised or a new interval starts, so previews and deploys within an interval
reproduce the same credentials. With neither set, the generators carry no keepers at all (a stack
that adopts this key does not rotate until it asks to).
"""
from __future__ import annotations

import datetime

from .model import Rotation
from .reader import Problems, Section


def parse(problems: Problems, raw: dict) -> Rotation:
    section = Section(problems, "crm:rotation", raw.get("crm:rotation"))
    generation = section.integer("generation", 0, minimum=0, maximum=1_000_000)
    interval = section.integer("intervalDays", 0, minimum=0, maximum=3650)
    since_text = section.string("since", "2026-01-01")
    section.finish()
    try:
        since = datetime.date.fromisoformat(since_text)
    except ValueError:
        problems.add("crm:rotation.since", f"must be a date such as 2026-01-01, got '{since_text}'")
        since = datetime.date(2026, 1, 1)
    if 0 < interval < 7:
        problems.add("crm:rotation.intervalDays", f"must be 0 (no schedule) or at least 7: each rotation restarts the application, got {interval}")
    return Rotation(generation=generation, interval_days=interval, since=since)
