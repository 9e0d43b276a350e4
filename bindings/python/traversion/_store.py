"""The store: open it, record into it, ask it questions."""

from __future__ import annotations

import contextvars
import datetime as _dt
import enum
import functools
import inspect
import logging
import os
import re
import traceback
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Iterable,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
    cast,
    overload,
)

from . import _core
from ._result import Result, RootCauseCandidate
from ._time import TimeLike, quote, time_literal, to_unix_ns
from .errors import StoreClosedError

if TYPE_CHECKING:  # pragma: no cover
    from types import TracebackType

    from ._core import EventDict

__all__ = [
    "Severity",
    "Span",
    "SpanContext",
    "Store",
    "current_span",
    "open",
]

SpanContext = _core.SpanContext

#: A span's kind, as in OpenTelemetry.
SpanKind = Literal["internal", "server", "client", "producer", "consumer"]
#: A span's status.
SpanStatus = Literal["unset", "ok", "error"]
#: An attribute value the recorder keeps with its type.
AttributeValue = Union[str, int, float, bool]

F = TypeVar("F", bound=Callable[..., Any])

_HEX32 = re.compile(r"^[0-9a-f]{32}$")


class Severity(enum.IntEnum):
    """OpenTelemetry severity numbers (the first number of each range).
    Anywhere a severity is taken, its name (``"warn"``) works too."""

    UNSPECIFIED = 0
    TRACE = 1
    DEBUG = 5
    INFO = 9
    WARN = 13
    ERROR = 17
    FATAL = 21


SeverityLike = Union[Severity, int, str]

# The span the calling code is in: a contextvar, so that it follows threads
# (each starts empty) and asyncio tasks (each gets a copy) correctly.
_current: contextvars.ContextVar[Optional["Span"]] = contextvars.ContextVar(
    "traversion_current_span", default=None)


def current_span() -> Optional["Span"]:
    """The innermost span entered in this thread or task, or None."""
    return _current.get()


def _severity(value: SeverityLike) -> Union[int, str]:
    if isinstance(value, str):
        return value.lower()
    return int(value)


def _context() -> Optional[_core.SpanContext]:
    span = _current.get()
    return span.context if span is not None and span._core is not None else None


def _attrs(attributes: Optional[Mapping[str, Any]],
           extra: Mapping[str, Any]) -> Optional[dict[str, Any]]:
    if not attributes and not extra:
        return None
    merged = dict(attributes) if attributes else {}
    merged.update(extra)
    return merged


def _exception_type(exc: BaseException) -> str:
    cls = type(exc)
    if cls.__module__ in ("builtins", "__main__"):
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _field_text(value: object) -> str:
    """An entity-state field's canonical text: true/false for bools, str()
    for the rest."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    return str(value)


class Span:
    """A timed operation, recorded when it ends.

    Use it as a context manager (``with store.span("GET /orders") as s:``)
    or as a decorator (``@store.span("charge")``, each call is a span). The
    span is the current one inside the block: logs, errors, metrics and new
    spans recorded there join its trace. An exception leaving the block is
    recorded as an error event in the span (``escaped=True``) and sets the
    span's status to error; the exception propagates.

    A span object is entered once. The decorator form makes a new span for
    each call, so it is safe for recursion, threads and coroutines.
    """

    def __init__(self, store: "Store", name: str, kind: SpanKind = "internal",
                 attributes: Optional[Mapping[str, AttributeValue]] = None,
                 parent: Optional[_core.SpanContext] = None) -> None:
        self._store = store
        self._name = name
        self._kind = kind
        self._attributes = dict(attributes) if attributes else None
        self._parent = parent
        self._core: Optional[_core.Span] = None
        self._token: Optional[contextvars.Token[Optional[Span]]] = None
        self._entered = False

    # --- lifecycle ------------------------------------------------------------

    def start(self) -> "Span":
        """Starts timing without making the span current (for spans ended
        elsewhere, e.g. by a callback). :meth:`__enter__` calls it."""
        if self._core is not None:
            raise RuntimeError(f"span {self._name!r} was already started")
        parent = self._parent if self._parent is not None else _context()
        self._core = self._store._core.start_span(self._name, self._kind, parent)
        if self._attributes:
            self._core.set_attributes(self._attributes)
        return self

    def end(self) -> None:
        """Records the span now (idempotent)."""
        if self._core is not None:
            self._core.end()

    def __enter__(self) -> "Span":
        if self._entered:
            raise RuntimeError(
                f"span {self._name!r} was already entered; use "
                "store.span(...) once per block")
        self._entered = True
        self.start()
        self._token = _current.set(self)
        return self

    def __exit__(self, exc_type: Optional[type[BaseException]],
                 exc: Optional[BaseException],
                 tb: Optional["TracebackType"]) -> None:
        try:
            if exc is not None and self._core is not None:
                self._store._record_exception(exc, handled=False, escaped=True,
                                              attributes=None)
                self._core.set_status("error", str(exc) or _exception_type(exc))
        finally:
            self.end()
            if self._token is not None:
                try:
                    _current.reset(self._token)
                except ValueError:  # exited in another context (a generator)
                    _current.set(None)
                self._token = None

    def __call__(self, func: F) -> F:
        """Decorates ``func`` so that each call runs in a new span with this
        span's name, kind and attributes (coroutine functions too)."""
        store, name, kind = self._store, self._name, self._kind
        attributes, parent = self._attributes, self._parent

        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with Span(store, name, kind, attributes, parent):
                    return await func(*args, **kwargs)
            return cast(F, run_async)

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with Span(store, name, kind, attributes, parent):
                return func(*args, **kwargs)
        return cast(F, run)

    # --- what it carries --------------------------------------------------------

    @property
    def name(self) -> str:
        """The span's name."""
        return self._name

    @property
    def context(self) -> _core.SpanContext:
        """Its trace id, span id and flags (valid once started)."""
        if self._core is None:
            raise RuntimeError(f"span {self._name!r} has not started")
        return self._core.context

    @property
    def trace_id(self) -> str:
        """The trace id, 32 hex digits."""
        return self.context.trace_id

    @property
    def span_id(self) -> str:
        """The span id, 16 hex digits."""
        return self.context.span_id

    @property
    def traceparent(self) -> str:
        """The W3C ``traceparent`` header for an outgoing call."""
        return self.context.traceparent

    def _started(self) -> _core.Span:
        if self._core is None:
            raise RuntimeError(f"span {self._name!r} has not started")
        return self._core

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        """Sets one attribute (str, int, float or bool)."""
        self._started().set_attributes({key: value})

    def set_attributes(self, attributes: Mapping[str, AttributeValue]) -> None:
        """Sets several attributes."""
        self._started().set_attributes(dict(attributes))

    def set_status(self, status: SpanStatus, message: str = "") -> None:
        """Sets the status: ``"unset"``, ``"ok"`` or ``"error"``."""
        self._started().set_status(status, message)

    def set_kind(self, kind: SpanKind) -> None:
        """Changes the kind."""
        self._started().set_kind(kind)

    def set_http(self, method: str, route: str, status_code: int = 0) -> None:
        """HTTP request fields (``status_code`` 0: not yet known)."""
        self._started().set_http(method, route, status_code)

    def set_http_status(self, status_code: int) -> None:
        """The HTTP response status code."""
        self._started().set_http_status(status_code)

    def set_http_url(self, url: str) -> None:
        """The full request URL (masked for personal data when stored)."""
        self._started().set_http_url(url)

    def set_db(self, system: str, operation: str, statement: str = "") -> None:
        """Database call fields."""
        self._started().set_db(system, operation, statement)

    def set_peer_service(self, peer_service: str) -> None:
        """The service called."""
        self._started().set_peer_service(peer_service)

    def __repr__(self) -> str:
        if self._core is None:
            return f"<traversion.Span {self._name!r} not started>"
        return f"<traversion.Span {self._name!r} {self._core.context!r}>"


class Store:
    """A Traversion store: one directory holding an LMDB environment.

    Open it with :func:`traversion.open`. It records (spans, logs, errors,
    metrics, entity state) through an in-process recorder that writes in the
    background, and answers TimeQL queries. Use it as a context manager, or
    call :meth:`close`.

    Thread safety: every method may be called from any number of threads.
    Queries, writes, flushes and :meth:`close` release the GIL.
    """

    def __init__(self, core: _core.Store) -> None:
        self._core = core

    # --- lifecycle ------------------------------------------------------------

    @property
    def path(self) -> str:
        """The store's directory."""
        return self._core.path

    @property
    def read_only(self) -> bool:
        """Whether the store was opened read-only."""
        return self._core.read_only

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._core.closed

    def close(self) -> None:
        """Writes everything recorded so far, stops the recorder and closes
        the store. Idempotent. Results still being read keep their snapshot;
        new calls raise :class:`StoreClosedError`.

        Raises RecorderError if the final write failed."""
        self._core.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, exc_type: Optional[type[BaseException]],
                 exc: Optional[BaseException],
                 tb: Optional["TracebackType"]) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("read-only" if self.read_only else "open")
        return f"<traversion.Store {self.path!r} {state}>"

    # --- recording ------------------------------------------------------------

    def span(self, name: str, *, kind: SpanKind = "internal",
             attributes: Optional[Mapping[str, AttributeValue]] = None,
             parent: Optional[Union[_core.SpanContext, str]] = None) -> Span:
        """A new span: a context manager, or a decorator.

        Args:
            name: the operation, e.g. ``"GET /orders/{id}"``.
            kind: ``internal`` (default), ``server``, ``client``,
                ``producer`` or ``consumer``.
            attributes: set when the span starts.
            parent: an explicit parent: a :class:`SpanContext`, or a W3C
                ``traceparent`` header value (an invalid header starts a new
                trace, as the specification asks). Default: the current span.
        """
        if isinstance(parent, str):
            parent = _core.SpanContext.from_traceparent(parent)
        return Span(self, name, kind, attributes, parent)

    def log(self, message: str, severity: SeverityLike = "info", *,
            attributes: Optional[Mapping[str, AttributeValue]] = None,
            **attrs: AttributeValue) -> None:
        """Records a log line (in the current span, if any).

        Attributes come from ``attributes`` (any key) and keyword arguments
        (``order_id=42``)."""
        self._core.log(_severity(severity), message, _attrs(attributes, attrs),
                       _context())

    def error(self, type: str, message: str, *, stacktrace: str = "",
              handled: bool = True, escaped: bool = False,
              attributes: Optional[Mapping[str, AttributeValue]] = None) -> None:
        """Records an error event from its parts (see :meth:`exception` for
        a Python exception)."""
        self._core.error(type, message, stacktrace, handled, escaped,
                         _attrs(attributes, {}), _context())

    def exception(self, exc: Optional[BaseException] = None, *,
                  handled: bool = True,
                  attributes: Optional[Mapping[str, AttributeValue]] = None) -> None:
        """Records an exception as an error event: its qualified type, its
        message and its formatted traceback. Without ``exc``, the exception
        being handled (inside an ``except`` block)."""
        import sys

        if exc is None:
            exc = sys.exc_info()[1]
            if exc is None:
                raise ValueError("exception() outside an except block needs exc")
        self._record_exception(exc, handled=handled, escaped=False,
                               attributes=attributes)

    def _record_exception(self, exc: BaseException, *, handled: bool,
                          escaped: bool,
                          attributes: Optional[Mapping[str, AttributeValue]]) -> None:
        stack = "".join(traceback.format_exception(type(exc), exc,
                                                   exc.__traceback__))
        self._core.error(_exception_type(exc), str(exc), stack, handled,
                         escaped, _attrs(attributes, {}), _context())

    def gauge(self, name: str, value: float, *, unit: str = "",
              attributes: Optional[Mapping[str, AttributeValue]] = None) -> None:
        """Records a gauge sample (a value at an instant: cpu, pool size)."""
        self._core.metric("gauge", name, float(value), _attrs(attributes, {}),
                          unit, _context())

    def counter(self, name: str, increment: float = 1.0, *, unit: str = "",
                attributes: Optional[Mapping[str, AttributeValue]] = None) -> None:
        """Records a counter increment."""
        self._core.metric("counter", name, float(increment),
                          _attrs(attributes, {}), unit, _context())

    def histogram(self, name: str, value: float, *, unit: str = "",
                  attributes: Optional[Mapping[str, AttributeValue]] = None) -> None:
        """Records one observation of a histogram (a latency...)."""
        self._core.metric("histogram", name, float(value),
                          _attrs(attributes, {}), unit, _context())

    def entity_state(self, entity: str, entity_type: str,
                     fields: Mapping[str, object], *,
                     deleted: bool = False) -> None:
        """Records an observation of an entity's state (a connection pool, a
        config, a deployment). The store makes a new revision only when the
        fields differ from the entity's state at that time. Field values are
        kept as text (``True`` -> ``"true"``)."""
        self._core.entity_state(
            entity, entity_type,
            {str(k): _field_text(v) for k, v in fields.items()}, deleted)

    def event(self, name: str, *, severity: SeverityLike = "info",
              attributes: Optional[Mapping[str, AttributeValue]] = None,
              **attrs: AttributeValue) -> None:
        """Records a custom event: a name, attributes and a severity."""
        self._core.custom(name, _severity(severity), _attrs(attributes, attrs),
                          _context())

    def flush(self) -> None:
        """Returns once everything recorded before the call (from any
        thread) is durably in the store, or counted as dropped. Releases
        the GIL while it waits."""
        self._core.flush()

    def recorder_stats(self) -> Optional[dict[str, int]]:
        """The recorder's counters (recorded, stored, dropped, sampled_out,
        masked_values...), or None if nothing was recorded yet."""
        return self._core.recorder_stats()

    def write(self, events: Iterable["EventDict"], *, mask: bool = True) -> dict[str, Any]:
        """Writes complete events in one durable transaction: all or none.

        For events that carry their own times and ids (imports, the
        OpenTelemetry exporter); live code records through :meth:`span`,
        :meth:`log`... instead. Each event is a dict of the form of
        :class:`traversion._core.EventDict`; unknown keys are errors.
        With ``mask`` (default) personal data is masked first, with the
        recorder's rules and key.

        Returns ``{"written", "duplicates", "new_revisions", "ids"}``.
        Raises TypeError/ValueError for a malformed event and
        :class:`InvalidEventError` for one the store refuses, before
        anything is written.
        """
        if isinstance(events, Mapping):
            raise TypeError("write() takes a list of events; wrap one in [...]")
        return self._core.write(list(events), mask=mask)

    # --- reading --------------------------------------------------------------

    def query(self, timeql: str, *, params: Optional[Mapping[str, str]] = None,
              max_rows: int = 1_000_000,
              max_events_examined: int = 200_000_000,
              timeout: Optional[float] = 60.0,
              now: Optional[Union[int, _dt.datetime]] = None) -> Result:
        """Runs one TimeQL statement (docs/timeql.md) and returns its
        :class:`Result`. The GIL is released while it runs.

        Args:
            timeql: the statement.
            params: values of bare names where an event id is expected
                (``TRAVERSE FROM event_id ...``).
            max_rows: past this many rows the query fails
                (:class:`QueryLimitError`) rather than answer in part.
            max_events_examined: likewise for events looked at.
            timeout: seconds, or None for no limit.
            now: the instant ``'now'`` and relative times mean (Unix ns or a
                datetime); default the real clock.

        Raises:
            QueryError: the statement does not parse or check; ``line`` and
                ``column`` locate the problem.
            QueryLimitError: a limit was reached.
        """
        timeout_ns = 0 if timeout is None else max(1, int(timeout * 1e9))
        now_ns = None if now is None else to_unix_ns(now, "now")
        core = self._core.query(
            timeql, params=dict(params or {}), max_rows=max_rows,
            max_events_examined=max_events_examined, timeout_ns=timeout_ns,
            now_ns=now_ns)
        return Result(core, timeql)

    def trace(self, trace_id: str) -> Result:
        """The spans of a trace as a tree (``TRACE``): one row per event
        with its depth and parent; :meth:`Result.structured` gives the tree."""
        trace_id = trace_id.lower()
        if not _HEX32.match(trace_id):
            raise ValueError(f"not a trace id (32 hex digits): {trace_id!r}")
        return self.query(f"TRACE {quote(trace_id)}")

    def trace_events(self, trace_id: str) -> List["EventDict"]:
        """Every event of a trace, complete, in time order."""
        return self._core.trace_events(trace_id.lower())

    def get(self, event_id: str) -> Optional["EventDict"]:
        """One event by id, complete, or None if there is none."""
        return self._core.event(event_id.lower())

    def stats(self) -> dict[str, Any]:
        """Counts, time span, services and sizes of the store."""
        return self._core.stats()

    @overload
    def root_cause(self, event_id: str, *, where: Optional[str] = None,
                   limit: Optional[int] = None) -> List[RootCauseCandidate]: ...

    @overload
    def root_cause(self, event_id: None = None, *, last_error: bool = ...,
                   window: Optional[Tuple[TimeLike, TimeLike]] = ...,
                   where: Optional[str] = None,
                   limit: Optional[int] = None) -> List[RootCauseCandidate]: ...

    def root_cause(self, event_id: Optional[str] = None, *,
                   last_error: bool = False,
                   window: Optional[Tuple[TimeLike, TimeLike]] = None,
                   where: Optional[str] = None,
                   limit: Optional[int] = None) -> List[RootCauseCandidate]:
        """Ranked explanations of an event, of the latest error, or of an
        incident window: TimeQL's ``ROOT CAUSE OF``, answered by the
        causality engine (include/traversion/causality.h), TimeQL's default
        provider; its candidates come back typed, from the query's columns.

        Give exactly one of ``event_id``, ``last_error=True`` or
        ``window=(start, end)`` (ints of Unix ns, datetimes or TimeQL time
        strings). ``where`` is a TimeQL condition narrowing the events
        considered; ``limit`` the number of candidates.
        """
        chosen = sum([event_id is not None, bool(last_error), window is not None])
        if chosen != 1:
            raise ValueError(
                "root_cause() takes exactly one of event_id, last_error=True "
                "or window=(start, end)")
        if event_id is not None:
            event_id = event_id.lower()
            if not _HEX32.match(event_id):
                raise ValueError(f"not an event id (32 hex digits): {event_id!r}")
            target = quote(event_id)
        elif last_error:
            target = "LAST ERROR"
        else:
            assert window is not None
            if len(window) != 2:
                raise ValueError("window is a pair (start, end)")
            target = (f"WINDOW {time_literal(window[0], 'window start')} "
                      f"TO {time_literal(window[1], 'window end')}")
        statement = f"ROOT CAUSE OF {target}"
        if where:
            statement += f" WHERE {where}"
        if limit is not None:
            if limit <= 0:
                raise ValueError("limit must be positive")
            statement += f" LIMIT {int(limit)}"
        result = self.query(statement)
        index = {name: i for i, name in enumerate(result.column_names)}
        candidates: List[RootCauseCandidate] = []
        for row in result:
            def get(name: str, default: Any = None) -> Any:
                i = index.get(name)
                return row[i] if i is not None else default
            candidates.append(RootCauseCandidate(
                rank=int(get("rank", len(candidates) + 1)),
                kind=str(get("kind", "") or ""),
                name=str(get("name", "") or ""),
                score=float(get("score", 0.0) or 0.0),
                explanation=str(get("explanation", "") or ""),
                evidence=tuple(str(get("evidence", "") or "").split()),
            ))
        return candidates


BackpressureLike = Literal["drop_newest", "drop_oldest", "block"]
SyncLike = Literal["durable", "no_meta_sync", "no_sync"]


def open(path: Union[str, "os.PathLike[str]"], *, service: Union[str, Mapping[str, str], None] = None,
         create: bool = True, read_only: bool = False,
         sync: SyncLike = "durable",
         map_size: int = 1 << 30, max_map_size: int = 1 << 40,
         source: str = "sdk",
         ring_capacity: int = 8192, max_thread_rings: int = 12,
         backpressure: BackpressureLike = "drop_newest",
         block_timeout: float = 0.005,
         flush_interval: float = 0.010, max_batch: int = 16384,
         sampling: bool = True,
         pii: bool = True, pii_key: Union[str, bytes] = "",
         pii_patterns: Optional[Mapping[str, str]] = None,
         pii_attribute_rules: Optional[Sequence[str]] = None) -> Store:
    """Opens (or creates) the store in directory ``path``.

    ::

        with traversion.open("history", service="checkout") as store:
            with store.span("GET /orders", kind="server"):
                store.log("loaded", order_id=42)
            df = store.query("TIMELINE IN LAST 1 hour").to_pandas()

    Args:
        path: the store's directory.
        service: the recording service: a name, or a dict with ``name``,
            ``instance``, ``host``, ``version``, ``namespace``,
            ``environment``. Stamped on every recorded event.
        create: create the store if absent (else StoreNotFoundError).
        read_only: open for reading only; recording raises RecorderError.
        sync: ``durable`` (fsync each commit, default), ``no_meta_sync`` or
            ``no_sync`` (see store.h's SyncMode).
        map_size, max_map_size: LMDB's initial and largest map, in bytes.
        source: the recorded events' ``source``.
        ring_capacity, max_thread_rings, backpressure, block_timeout,
            flush_interval, max_batch, sampling: the recorder's options
            (recorder.h's RecorderOptions; times in seconds).
        pii: mask personal data before it reaches disk (default on).
        pii_key: the masking key; empty: the store's own ``pii.key``.
        pii_patterns: extra detectors, tag name -> RE2 regular expression.
        pii_attribute_rules: replaces the attribute-name rules whose
            values are always masked (default: pii.h's list).

    Raises:
        StoreNotFoundError, StoreError, CorruptStoreError: as the store
            reports; RecorderError: bad PII options.
    """
    if isinstance(service, str):
        service_fields: dict[str, str] = {"name": service}
    else:
        service_fields = dict(service or {})
    key = pii_key.decode("latin-1") if isinstance(pii_key, bytes) else pii_key
    core = _core.Store(os.fspath(path), create_if_missing=create,
                       read_only=read_only, sync=sync,
                       initial_map_size=map_size, max_map_size=max_map_size)
    try:
        core.configure_recorder(
            service=service_fields, source=source,
            ring_capacity=ring_capacity, max_thread_rings=max_thread_rings,
            backpressure=backpressure,
            block_timeout_ns=int(block_timeout * 1e9),
            flush_interval_ns=int(flush_interval * 1e9), max_batch=max_batch,
            sampling=sampling, pii=pii, pii_key=key,
            pii_patterns=list((pii_patterns or {}).items()),
            pii_attribute_rules=(list(pii_attribute_rules)
                                 if pii_attribute_rules is not None else None))
    except BaseException:
        core.close()
        raise
    return Store(core)


class LoggingHandler(logging.Handler):
    """A ``logging`` handler that records each log record in a store, in the
    current span, with the logger's name, file and line as attributes.

    ::

        logging.getLogger().addHandler(traversion.LoggingHandler(store))
    """

    _LEVELS = ((logging.CRITICAL, Severity.FATAL), (logging.ERROR, Severity.ERROR),
               (logging.WARNING, Severity.WARN), (logging.INFO, Severity.INFO),
               (logging.DEBUG, Severity.DEBUG))

    def __init__(self, store: Store, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self._store = store

    def emit(self, record: logging.LogRecord) -> None:
        """Records one log record (errors go to ``handleError``)."""
        try:
            severity = Severity.TRACE
            for level, mapped in self._LEVELS:
                if record.levelno >= level:
                    severity = mapped
                    break
            self._store.log(record.getMessage(), severity, attributes={
                "logger": record.name,
                "code.filepath": record.pathname,
                "code.lineno": record.lineno,
            })
            if record.exc_info and record.exc_info[1] is not None:
                self._store.exception(record.exc_info[1])
        except StoreClosedError:
            pass
        except Exception:
            self.handleError(record)

