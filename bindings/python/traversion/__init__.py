"""Traversion for Python: record a service's history into a local store and
ask it questions with TimeQL.

::

    import traversion

    with traversion.open("history", service="checkout") as store:
        with store.span("GET /orders/{id}", kind="server") as span:
            span.set_http("GET", "/orders/{id}", 200)
            store.log("loaded", order_id=42)
        store.flush()
        df = store.query("TIMELINE IN LAST 10 minutes").to_pandas()

The store is libtraversion's (C++, LMDB); this package is a thin layer over
it. pandas, numpy, pyarrow and the OpenTelemetry SDK are optional and
imported only by the features that use them (:meth:`Result.to_pandas`,
:meth:`Result.to_arrow`, :mod:`traversion.otel`). docs/python.md has the
whole guide.
"""

from __future__ import annotations

from . import _core
from ._result import Column, Result, RootCauseCandidate
from ._store import (
    LoggingHandler,
    Severity,
    Span,
    SpanContext,
    Store,
    current_span,
    open,
)
from .errors import (
    CorruptStoreError,
    InvalidEventError,
    QueryError,
    QueryLimitError,
    RecorderError,
    StoreClosedError,
    StoreError,
    StoreFullError,
    StoreNotFoundError,
    TraversionError,
)

__version__ = "0.1.0"

__all__ = [
    "Column",
    "CorruptStoreError",
    "InvalidEventError",
    "LoggingHandler",
    "QueryError",
    "QueryLimitError",
    "RecorderError",
    "Result",
    "RootCauseCandidate",
    "Severity",
    "Span",
    "SpanContext",
    "Store",
    "StoreClosedError",
    "StoreError",
    "StoreFullError",
    "StoreNotFoundError",
    "TraversionError",
    "current_span",
    "format_query",
    "open",
]


def format_query(timeql: str) -> str:
    """A statement in canonical form (upper-case keywords, single spaces,
    explicit units). Raises :class:`QueryError` if it does not parse."""
    return _core.format_query(timeql)
