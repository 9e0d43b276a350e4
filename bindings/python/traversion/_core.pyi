"""Type stubs of traversion._core, the pybind11 extension (src/module.cc).

Users call the pure-Python layer (traversion.Store, traversion.Result);
these are the signatures it relies on.
"""

from typing import Any, List, Optional, Tuple, TypedDict, Union

class ServiceDict(TypedDict, total=False):
    name: str
    instance: str
    host: str
    version: str
    namespace: str
    environment: str

class HttpDict(TypedDict, total=False):
    method: str
    route: str
    url: str
    status_code: int
    client_ip: str
    request_size: int
    response_size: int

class DbDict(TypedDict, total=False):
    system: str
    namespace: str
    operation: str
    statement: str
    table: str

class RpcDict(TypedDict, total=False):
    system: str
    service: str
    method: str
    grpc_status_code: int

class SpanDict(TypedDict, total=False):
    kind: str  # internal | server | client | producer | consumer | unspecified
    duration_ns: int
    status: str  # unset | ok | error
    status_message: str
    peer_service: str
    http: HttpDict
    db: DbDict
    rpc: RpcDict

class LogDict(TypedDict, total=False):
    body: str
    logger: str
    code_file: str
    code_line: int

class ErrorDict(TypedDict, total=False):
    type: str
    message: str
    stacktrace: str
    handled: bool
    escaped: bool

class MetricDict(TypedDict, total=False):
    kind: str  # gauge | counter | histogram
    value: float
    unit: str
    bucket_bounds: List[float]
    bucket_counts: List[int]
    sum: float
    count: int

class EntityStateDict(TypedDict, total=False):
    entity: str
    entity_type: str
    fields: dict[str, str]
    deleted: bool

class EventDict(TypedDict, total=False):
    """One event as Store.write takes it and Store.get returns it. Every key
    is optional; at most one of span/log/error/metric/entity_state. Ids are
    lowercase hex (event id 32, trace id 32, span ids 16 digits)."""

    id: str
    time_ns: int
    type: str  # span | log | error | metric | entity_state | custom | ...
    source: str
    service: Union[str, ServiceDict]
    trace_id: Optional[str]
    span_id: Optional[str]
    parent_span_id: Optional[str]
    trace_flags: int
    severity: Union[str, int]
    name: str
    attributes: dict[str, Union[str, int, float, bool, bytes]]
    entity_refs: List[str]
    sample_rate: float
    span: SpanDict
    log: LogDict
    error: ErrorDict
    metric: MetricDict
    entity_state: EntityStateDict

class SpanContext:
    def __init__(self, trace_id: str, span_id: str, trace_flags: int = 1) -> None: ...
    @staticmethod
    def from_traceparent(header: str) -> Optional[SpanContext]: ...
    @property
    def trace_id(self) -> str: ...
    @property
    def span_id(self) -> str: ...
    @property
    def trace_flags(self) -> int: ...
    @property
    def valid(self) -> bool: ...
    @property
    def sampled(self) -> bool: ...
    @property
    def traceparent(self) -> str: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

class Span:
    @property
    def context(self) -> SpanContext: ...
    @property
    def recording(self) -> bool: ...
    def set_attributes(self, attributes: dict[str, Any]) -> None: ...
    def set_status(self, status: str, message: str) -> None: ...
    def set_kind(self, kind: str) -> None: ...
    def set_http(self, method: str, route: str, status_code: int) -> None: ...
    def set_http_status(self, status_code: int) -> None: ...
    def set_http_url(self, url: str) -> None: ...
    def set_db(self, system: str, operation: str, statement: str) -> None: ...
    def set_peer_service(self, peer_service: str) -> None: ...
    def end(self) -> None: ...

class Result:
    @property
    def kind(self) -> str: ...
    @property
    def columns(self) -> List[Tuple[str, str]]: ...
    @property
    def exhausted(self) -> bool: ...
    def fetch_rows(self, max_rows: int) -> List[Tuple[Any, ...]]: ...
    def peek(self, n: int) -> List[Tuple[Any, ...]]: ...
    def fetch_columns(self, max_rows: int) -> Tuple[int, List[Any]]: ...
    def structured_json(self) -> str: ...
    def stats(self) -> dict[str, Any]: ...
    def arrow_stream(self, batch_rows: int) -> object: ...

class Store:
    def __init__(self, path: str, *, create_if_missing: bool = True,
                 read_only: bool = False, sync: str = "durable",
                 initial_map_size: int = ..., max_map_size: int = ...,
                 allow_map_growth: bool = True) -> None: ...
    @property
    def path(self) -> str: ...
    @property
    def read_only(self) -> bool: ...
    @property
    def closed(self) -> bool: ...
    @property
    def has_recorder(self) -> bool: ...
    def configure_recorder(self, *, service: dict[str, str], source: str,
                           ring_capacity: int, max_thread_rings: int,
                           backpressure: str, block_timeout_ns: int,
                           flush_interval_ns: int, max_batch: int,
                           sampling: bool, pii: bool, pii_key: str,
                           pii_patterns: List[Tuple[str, str]],
                           pii_attribute_rules: Optional[List[str]]) -> None: ...
    def close(self) -> None: ...
    def write(self, events: List[EventDict], *, mask: bool = True) -> dict[str, Any]: ...
    def query(self, text: str, *, params: dict[str, str], max_rows: int,
              max_events_examined: int, timeout_ns: int,
              now_ns: Optional[int]) -> Result: ...
    def stats(self) -> dict[str, Any]: ...
    def event(self, id: str) -> Optional[EventDict]: ...
    def trace_events(self, trace_id: str) -> List[EventDict]: ...
    def start_span(self, name: str, kind: str, parent: Optional[SpanContext]) -> Span: ...
    def log(self, severity: Union[int, str], body: str,
            attributes: Optional[dict[str, Any]],
            context: Optional[SpanContext]) -> None: ...
    def error(self, type: str, message: str, stacktrace: str, handled: bool,
              escaped: bool, attributes: Optional[dict[str, Any]],
              context: Optional[SpanContext]) -> None: ...
    def metric(self, kind: str, name: str, value: float,
               attributes: Optional[dict[str, Any]], unit: str,
               context: Optional[SpanContext]) -> None: ...
    def entity_state(self, entity: str, entity_type: str,
                     fields: dict[str, str], deleted: bool) -> None: ...
    def custom(self, name: str, severity: Union[int, str],
               attributes: Optional[dict[str, Any]],
               context: Optional[SpanContext]) -> None: ...
    def flush(self) -> None: ...
    def recorder_stats(self) -> Optional[dict[str, int]]: ...

def format_query(text: str) -> str: ...
