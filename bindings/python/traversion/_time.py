"""Times as the binding passes them: nanoseconds since the Unix epoch, UTC."""

from __future__ import annotations

import datetime as _dt
from typing import Union

#: What the API accepts as an instant: Unix nanoseconds, a datetime (naive
#: values are taken as UTC), or for queries a TimeQL time string such as
#: ``'2024-01-15 15:47:23'`` or ``'10 minutes ago'``.
TimeLike = Union[int, _dt.datetime, str]

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def to_unix_ns(value: Union[int, _dt.datetime], what: str = "time") -> int:
    """Unix nanoseconds of an int (returned as is) or a datetime (naive
    datetimes are UTC). TypeError for anything else."""
    if isinstance(value, bool):
        raise TypeError(f"{what}: expected an int or a datetime, got bool")
    if isinstance(value, int):
        return value
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        delta = value - _EPOCH
        return (delta // _dt.timedelta(microseconds=1)) * 1000
    raise TypeError(
        f"{what}: expected an int or a datetime, got {type(value).__name__}")


def quote(text: str) -> str:
    """A TimeQL string literal: single quotes, with '' for a quote inside."""
    return "'" + text.replace("'", "''") + "'"


def time_literal(value: TimeLike, what: str = "time") -> str:
    """The TimeQL form of an instant: integer nanoseconds, or a quoted time
    string (datetimes are written as RFC 3339 UTC with microseconds)."""
    if isinstance(value, str):
        return quote(value)
    return str(to_unix_ns(value, what))
