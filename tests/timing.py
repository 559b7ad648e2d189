import datetime as dt

import time_machine

from core import clock


def at(text: str) -> time_machine.travel:
    """Freeze time at an operator-local wall time, e.g. `with at("2027-03-31 23:10:45"):`."""
    local = dt.datetime.fromisoformat(text).replace(tzinfo=clock.operator_tz())
    return time_machine.travel(local, tick=False)
