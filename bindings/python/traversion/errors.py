"""The exceptions of traversion.

Every error the library reports is a :class:`TraversionError`; the subclass
says what failed::

    TraversionError
    ├── StoreError              the store cannot be opened, read or written
    │   ├── StoreNotFoundError      no store there (and create_if_missing=False)
    │   ├── StoreClosedError        the store was closed
    │   ├── StoreFullError          the map or the disk is full; nothing written
    │   └── CorruptStoreError       a damaged file
    ├── InvalidEventError       an event refused by validation; nothing written
    ├── QueryError              a TimeQL statement that does not parse or check
    ├── QueryLimitError         a query went past max_rows, max_events_examined
    │                           or its timeout
    └── RecorderError           the recorder could not start or write

Bad Python values given to the API (a wrong type, an unknown keyword) raise
the built-in ``TypeError`` and ``ValueError`` instead, before anything is
written. :class:`QueryError` and :class:`InvalidEventError` are also
``ValueError``\\ s, so ``except ValueError`` catches every bad input.
"""

from __future__ import annotations

import re
from typing import Optional

__all__ = [
    "TraversionError",
    "StoreError",
    "StoreNotFoundError",
    "StoreClosedError",
    "StoreFullError",
    "CorruptStoreError",
    "InvalidEventError",
    "QueryError",
    "QueryLimitError",
    "RecorderError",
]


class TraversionError(Exception):
    """Base class of every error reported by libtraversion.

    Attributes:
        code: the canonical status code of the C++ library, such as
            ``"INVALID_ARGUMENT"`` or ``"NOT_FOUND"``.
        message: the library's message, without the code.
    """

    code: str
    message: str

    def __init__(self, message: str, code: str = "UNKNOWN") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class StoreError(TraversionError):
    """The store could not be opened, read or written."""


class StoreNotFoundError(StoreError):
    """There is no store at the path and ``create_if_missing`` was False."""


class StoreClosedError(StoreError):
    """The store was closed; open it again to use it."""


class StoreFullError(StoreError):
    """The store's map or the disk is full. The batch was not written."""


class CorruptStoreError(StoreError):
    """A store file is damaged (LMDB reported corruption)."""


class InvalidEventError(TraversionError, ValueError):
    """An event was refused by the store's validation (too large, invalid
    UTF-8...). Nothing of its batch was written."""


class QueryError(TraversionError, ValueError):
    """A TimeQL statement that does not parse, names an unknown field or
    uses a value of the wrong type.

    Attributes:
        line: the 1-based line of the offending text, or None if the message
            carries no position.
        column: the 1-based column (in characters), or None.
        source_line: the offending line of the statement, or None.
        caret: the caret line that underlines the offending text, or None.
        reason: the message without the position, e.g.
            ``"unexpected 'FOLLOWD', expected FOLLOWED BY"``.
    """

    line: Optional[int]
    column: Optional[int]
    source_line: Optional[str]
    caret: Optional[str]
    reason: str

    _POSITION = re.compile(r"^(\d+):(\d+): (.*)$", re.DOTALL)

    def __init__(self, message: str, code: str = "INVALID_ARGUMENT") -> None:
        super().__init__(message, code)
        self.line = self.column = None
        self.source_line = self.caret = None
        first, *rest = message.split("\n")
        match = self._POSITION.match(first)
        self.reason = first
        if match:
            self.line = int(match.group(1))
            self.column = int(match.group(2))
            self.reason = match.group(3)
            if len(rest) >= 2:
                self.source_line, self.caret = rest[0], rest[1]


class QueryLimitError(TraversionError):
    """A query went past one of its limits (``max_rows``,
    ``max_events_examined``, ``timeout``). No partial answer is returned for
    a whole-result read; raise the limit or narrow the query."""


class RecorderError(TraversionError):
    """The recorder could not be created (bad options, a read-only store) or
    failed to write what was recorded."""


def _from_status(operation: str, code: str, message: str) -> TraversionError:
    """Builds the exception for a failed C++ call. Called by ``_core``.

    Args:
        operation: what the call was doing: ``open``, ``read``, ``write``,
            ``query`` or ``record``.
        code: the canonical status code name.
        message: the status message.
    """
    if "is closed" in message and code == "FAILED_PRECONDITION":
        return StoreClosedError(message, code)
    if code == "DATA_LOSS":
        return CorruptStoreError(message, code)
    if operation == "query":
        if code == "INVALID_ARGUMENT":
            return QueryError(message, code)
        if code in ("RESOURCE_EXHAUSTED", "DEADLINE_EXCEEDED"):
            return QueryLimitError(message, code)
        return StoreError(message, code)
    if operation == "record":
        return RecorderError(message, code)
    if operation == "write":
        if code == "INVALID_ARGUMENT":
            return InvalidEventError(message, code)
        if code == "RESOURCE_EXHAUSTED":
            return StoreFullError(message, code)
    if operation == "open" and code == "NOT_FOUND":
        return StoreNotFoundError(message, code)
    return StoreError(message, code)
