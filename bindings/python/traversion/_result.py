"""Query results: a stream of typed rows, to pandas, Arrow or plain tuples."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, List, NamedTuple, Optional, Tuple

from . import _core

if TYPE_CHECKING:  # pragma: no cover - only for type checkers
    import pandas
    import pyarrow

__all__ = ["Column", "Result", "RootCauseCandidate"]

# Rows fetched from C++ per step of an iteration (with the GIL released).
_BATCH_ROWS = 1024
# Rows shown by _repr_html_ and __repr__.
_PREVIEW_ROWS = 20


class Column(NamedTuple):
    """One column of a result: its name and its TimeQL type, one of
    ``bool``, ``int64``, ``double``, ``string``, ``time``, ``duration``."""

    name: str
    type: str


class Result:
    """The answer to one TimeQL statement: named, typed columns and a stream
    of rows.

    A result is consumed once, like a database cursor: iterating it,
    :meth:`rows`, :meth:`to_pandas` and :meth:`__arrow_c_stream__` each take
    the rows not yet taken. Showing it in a notebook (``_repr_html_``),
    :meth:`peek` and :meth:`structured` do not consume anything.

    Values are ``None`` (NULL), ``bool``, ``int``, ``float``, ``str``,
    ``datetime.datetime`` (UTC) for times and ``datetime.timedelta`` for
    durations. Python's datetime types stop at microseconds; :meth:`to_pandas`
    and the Arrow stream keep the nanoseconds.

    The rows are read with the GIL released, so other Python threads run
    meanwhile. A result may be passed between threads; calls on one result
    are serialized. It keeps its read snapshot of the store (and the store
    itself, even after :meth:`Store.close`) until it is exhausted or dropped.
    """

    def __init__(self, core: _core.Result, query: str) -> None:
        self._core = core
        self._query = query
        self._columns = [Column(name, type_) for name, type_ in core.columns]

    @property
    def query(self) -> str:
        """The statement this is the answer to."""
        return self._query

    @property
    def kind(self) -> str:
        """What kind of answer: ``events``, ``aggregate``, ``state``,
        ``history``, ``changes``, ``trace``, ``traverse``, ``match``,
        ``compare``, ``predict`` or ``root_cause``."""
        return self._core.kind

    @property
    def columns(self) -> List[Column]:
        """The columns, in order."""
        return list(self._columns)

    @property
    def column_names(self) -> List[str]:
        """The columns' names, in order."""
        return [c.name for c in self._columns]

    @property
    def exhausted(self) -> bool:
        """True once every row has been taken."""
        return self._core.exhausted

    def __iter__(self) -> Iterator[Tuple[Any, ...]]:
        """Yields the remaining rows as tuples, fetched in batches."""
        while True:
            batch = self._core.fetch_rows(_BATCH_ROWS)
            if not batch:
                return
            yield from batch

    def fetchmany(self, size: int = _BATCH_ROWS) -> List[Tuple[Any, ...]]:
        """Takes up to ``size`` rows (fewer at the end, none once exhausted)."""
        if size <= 0:
            raise ValueError("size must be positive")
        return self._core.fetch_rows(size)

    def rows(self) -> List[Tuple[Any, ...]]:
        """Takes every remaining row as a list of tuples."""
        return self._core.fetch_rows(0)

    def dicts(self) -> List[dict[str, Any]]:
        """Takes every remaining row as a dict keyed by column name."""
        names = self.column_names
        return [dict(zip(names, row)) for row in self.rows()]

    def peek(self, n: int = _PREVIEW_ROWS) -> List[Tuple[Any, ...]]:
        """The next ``n`` rows, without taking them."""
        if n < 0:
            raise ValueError("n must not be negative")
        return self._core.peek(n)

    def structured(self) -> Optional[Any]:
        """The structured form of the answer, parsed from JSON: the span
        tree of TRACE, the chain of TRAVERSE, the candidates of ROOT CAUSE,
        the differences of CHANGES... None for kinds that have none (events,
        aggregates, compare, predict). Does not consume the rows."""
        text = self._core.structured_json()
        return json.loads(text) if text else None

    def stats(self) -> dict[str, Any]:
        """What the query did so far: ``plan``, ``events_examined``,
        ``rows``, ``elapsed_ns``."""
        return self._core.stats()

    def to_pandas(self) -> "pandas.DataFrame":
        """Takes every remaining row into a pandas DataFrame (pandas and
        numpy are imported now, not before).

        Column dtypes: ``time`` -> ``datetime64[ns, UTC]``, ``duration`` ->
        ``timedelta64[ns]`` (NULL: NaT), ``double`` -> ``float64`` (NULL:
        NaN), ``int64`` -> ``int64`` or, with NULLs, pandas' ``Int64``,
        ``bool`` -> ``bool`` or ``boolean``, ``string`` -> pandas' default
        string dtype (NULL: missing).

        Raises QueryLimitError if the query fails part-way (a limit): no
        partial frame is returned.
        """
        import pandas as pd

        _, columns = self._core.fetch_columns(0)
        data: dict[int, Any] = {}
        for i, column in enumerate(self._columns):
            # Let go of each column's raw values once pandas has them.
            values, valid = columns[i]
            columns[i] = None
            data[i] = _pandas_column(pd, column.type, values, valid)
            del values, valid
        frame = pd.DataFrame(data, copy=False)
        frame.columns = pd.Index(self.column_names)
        return frame

    def to_arrow(self) -> "pyarrow.Table":
        """Takes every remaining row into a ``pyarrow.Table`` (needs pyarrow)."""
        import pyarrow as pa

        return pa.RecordBatchReader.from_stream(self).read_all()

    def __arrow_c_stream__(self, requested_schema: Optional[object] = None) -> object:
        """The Arrow PyCapsule interface: a capsule holding an
        ``ArrowArrayStream`` over the remaining rows, in record batches of
        up to 65 536 rows. Any Arrow consumer reads it (``pyarrow.table(r)``,
        ``polars.from_arrow``, DuckDB...); pyarrow is not needed here.

        Types: bool, int64, float64, utf8, ``timestamp[ns, tz=UTC]``,
        ``duration[ns]``; every column nullable. ``requested_schema`` is
        ignored (the protocol allows a producer to keep its schema).
        """
        del requested_schema
        return self._core.arrow_stream(65536)

    def _repr_html_(self) -> str:
        """An HTML table of the first rows, for notebooks. Consumes nothing."""
        preview = self._core.peek(_PREVIEW_ROWS + 1)
        more = len(preview) > _PREVIEW_ROWS
        parts = ['<table class="traversion-result"><thead><tr>']
        for c in self._columns:
            parts.append(
                f'<th title="{html.escape(c.type)}">{html.escape(c.name)}</th>')
        parts.append("</tr></thead><tbody>")
        for row in preview[:_PREVIEW_ROWS]:
            parts.append("<tr>")
            for value in row:
                shown = "" if value is None else str(value)
                parts.append(f"<td>{html.escape(shown)}</td>")
            parts.append("</tr>")
        parts.append("</tbody></table>")
        note = f"{self.kind}: {len(preview[:_PREVIEW_ROWS])} rows shown"
        if more:
            note += "; more rows follow"
        parts.append(f"<p><small>{html.escape(note)}</small></p>")
        return "".join(parts)

    def __repr__(self) -> str:
        names = ", ".join(self.column_names)
        state = "exhausted" if self.exhausted else "open"
        return f"<traversion.Result {self.kind} [{names}] {state}>"


def _pandas_column(pd: Any, type_: str, values: Any, valid: Any) -> Any:
    """One column as pandas wants it: dtype by TimeQL type, NULL as missing."""
    if type_ == "time":
        return pd.Series(values).dt.tz_localize("UTC")
    if type_ in ("duration", "double"):
        return pd.Series(values)
    if type_ == "int64":
        if valid is None:
            return pd.Series(values)
        return pd.Series(pd.arrays.IntegerArray(values, ~valid))
    if type_ == "bool":
        if valid is None:
            return pd.Series(values)
        return pd.Series(pd.arrays.BooleanArray(values, ~valid))
    return pd.Series(values, dtype=None if len(values) else object)


@dataclass(frozen=True)
class RootCauseCandidate:
    """One explanation found by ``ROOT CAUSE OF``, best first.

    Attributes:
        rank: 1 for the best candidate.
        kind: what it names: ``service``, ``operation``, ``entity``,
            ``kernel`` or ``event``.
        name: e.g. ``"payments-service"`` or ``"payments-service POST /pay"``.
        score: 0..1, comparable within one answer.
        explanation: one sentence for people.
        evidence: event ids of the chain, cause first
            (:meth:`Store.get` reads each).
    """

    rank: int
    kind: str
    name: str
    score: float
    explanation: str
    evidence: Tuple[str, ...]
