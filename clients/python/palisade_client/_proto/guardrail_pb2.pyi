from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Direction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DIRECTION_UNSPECIFIED: _ClassVar[Direction]
    DIRECTION_INPUT: _ClassVar[Direction]
    DIRECTION_OUTPUT: _ClassVar[Direction]

class Decision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECISION_UNSPECIFIED: _ClassVar[Decision]
    DECISION_ALLOW: _ClassVar[Decision]
    DECISION_MODIFY: _ClassVar[Decision]
    DECISION_DENY: _ClassVar[Decision]
DIRECTION_UNSPECIFIED: Direction
DIRECTION_INPUT: Direction
DIRECTION_OUTPUT: Direction
DECISION_UNSPECIFIED: Decision
DECISION_ALLOW: Decision
DECISION_MODIFY: Decision
DECISION_DENY: Decision

class CheckRequest(_message.Message):
    __slots__ = ("direction", "text", "body", "content_type", "principal", "destination", "tool", "labels", "metadata", "request_id", "vault")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VAULT_FIELD_NUMBER: _ClassVar[int]
    direction: Direction
    text: str
    body: bytes
    content_type: str
    principal: str
    destination: str
    tool: str
    labels: _containers.RepeatedScalarFieldContainer[str]
    metadata: _containers.ScalarMap[str, str]
    request_id: str
    vault: str
    def __init__(self, direction: _Optional[_Union[Direction, str]] = ..., text: _Optional[str] = ..., body: _Optional[bytes] = ..., content_type: _Optional[str] = ..., principal: _Optional[str] = ..., destination: _Optional[str] = ..., tool: _Optional[str] = ..., labels: _Optional[_Iterable[str]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., request_id: _Optional[str] = ..., vault: _Optional[str] = ...) -> None: ...

class Finding(_message.Message):
    __slots__ = ("plugin", "rule", "category", "start", "end", "location", "confidence", "message", "action", "report_only")
    PLUGIN_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    REPORT_ONLY_FIELD_NUMBER: _ClassVar[int]
    plugin: str
    rule: str
    category: str
    start: int
    end: int
    location: str
    confidence: float
    message: str
    action: str
    report_only: bool
    def __init__(self, plugin: _Optional[str] = ..., rule: _Optional[str] = ..., category: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ..., location: _Optional[str] = ..., confidence: _Optional[float] = ..., message: _Optional[str] = ..., action: _Optional[str] = ..., report_only: _Optional[bool] = ...) -> None: ...

class WouldHave(_message.Message):
    __slots__ = ("decision", "reason")
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    decision: Decision
    reason: str
    def __init__(self, decision: _Optional[_Union[Decision, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class PluginFailure(_message.Message):
    __slots__ = ("plugin", "error", "on_error")
    PLUGIN_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ON_ERROR_FIELD_NUMBER: _ClassVar[int]
    plugin: str
    error: str
    on_error: str
    def __init__(self, plugin: _Optional[str] = ..., error: _Optional[str] = ..., on_error: _Optional[str] = ...) -> None: ...

class CheckResponse(_message.Message):
    __slots__ = ("decision", "text", "body", "reason", "findings", "labels", "bundle", "elapsed_us", "failures", "would", "findings_dropped", "vault", "restored", "vault_error")
    DECISION_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_US_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    WOULD_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_DROPPED_FIELD_NUMBER: _ClassVar[int]
    VAULT_FIELD_NUMBER: _ClassVar[int]
    RESTORED_FIELD_NUMBER: _ClassVar[int]
    VAULT_ERROR_FIELD_NUMBER: _ClassVar[int]
    decision: Decision
    text: str
    body: bytes
    reason: str
    findings: _containers.RepeatedCompositeFieldContainer[Finding]
    labels: _containers.RepeatedScalarFieldContainer[str]
    bundle: str
    elapsed_us: int
    failures: _containers.RepeatedCompositeFieldContainer[PluginFailure]
    would: WouldHave
    findings_dropped: int
    vault: str
    restored: int
    vault_error: str
    def __init__(self, decision: _Optional[_Union[Decision, str]] = ..., text: _Optional[str] = ..., body: _Optional[bytes] = ..., reason: _Optional[str] = ..., findings: _Optional[_Iterable[_Union[Finding, _Mapping]]] = ..., labels: _Optional[_Iterable[str]] = ..., bundle: _Optional[str] = ..., elapsed_us: _Optional[int] = ..., failures: _Optional[_Iterable[_Union[PluginFailure, _Mapping]]] = ..., would: _Optional[_Union[WouldHave, _Mapping]] = ..., findings_dropped: _Optional[int] = ..., vault: _Optional[str] = ..., restored: _Optional[int] = ..., vault_error: _Optional[str] = ...) -> None: ...

class CheckStreamRequest(_message.Message):
    __slots__ = ("direction", "chunk", "content_type", "principal", "destination", "tool", "labels", "metadata", "request_id", "vault")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VAULT_FIELD_NUMBER: _ClassVar[int]
    direction: Direction
    chunk: bytes
    content_type: str
    principal: str
    destination: str
    tool: str
    labels: _containers.RepeatedScalarFieldContainer[str]
    metadata: _containers.ScalarMap[str, str]
    request_id: str
    vault: str
    def __init__(self, direction: _Optional[_Union[Direction, str]] = ..., chunk: _Optional[bytes] = ..., content_type: _Optional[str] = ..., principal: _Optional[str] = ..., destination: _Optional[str] = ..., tool: _Optional[str] = ..., labels: _Optional[_Iterable[str]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., request_id: _Optional[str] = ..., vault: _Optional[str] = ...) -> None: ...

class CheckStreamResponse(_message.Message):
    __slots__ = ("chunk", "done", "decision", "reason", "findings", "labels", "bundle", "elapsed_us", "failures", "would", "findings_dropped", "restored", "vault_error")
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_US_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    WOULD_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_DROPPED_FIELD_NUMBER: _ClassVar[int]
    RESTORED_FIELD_NUMBER: _ClassVar[int]
    VAULT_ERROR_FIELD_NUMBER: _ClassVar[int]
    chunk: bytes
    done: bool
    decision: Decision
    reason: str
    findings: _containers.RepeatedCompositeFieldContainer[Finding]
    labels: _containers.RepeatedScalarFieldContainer[str]
    bundle: str
    elapsed_us: int
    failures: _containers.RepeatedCompositeFieldContainer[PluginFailure]
    would: WouldHave
    findings_dropped: int
    restored: int
    vault_error: str
    def __init__(self, chunk: _Optional[bytes] = ..., done: _Optional[bool] = ..., decision: _Optional[_Union[Decision, str]] = ..., reason: _Optional[str] = ..., findings: _Optional[_Iterable[_Union[Finding, _Mapping]]] = ..., labels: _Optional[_Iterable[str]] = ..., bundle: _Optional[str] = ..., elapsed_us: _Optional[int] = ..., failures: _Optional[_Iterable[_Union[PluginFailure, _Mapping]]] = ..., would: _Optional[_Union[WouldHave, _Mapping]] = ..., findings_dropped: _Optional[int] = ..., restored: _Optional[int] = ..., vault_error: _Optional[str] = ...) -> None: ...

class StatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PluginStatus(_message.Message):
    __slots__ = ("name", "wasm", "directions", "budget_us", "on_error")
    NAME_FIELD_NUMBER: _ClassVar[int]
    WASM_FIELD_NUMBER: _ClassVar[int]
    DIRECTIONS_FIELD_NUMBER: _ClassVar[int]
    BUDGET_US_FIELD_NUMBER: _ClassVar[int]
    ON_ERROR_FIELD_NUMBER: _ClassVar[int]
    name: str
    wasm: str
    directions: _containers.RepeatedScalarFieldContainer[str]
    budget_us: int
    on_error: str
    def __init__(self, name: _Optional[str] = ..., wasm: _Optional[str] = ..., directions: _Optional[_Iterable[str]] = ..., budget_us: _Optional[int] = ..., on_error: _Optional[str] = ...) -> None: ...

class StatusResponse(_message.Message):
    __slots__ = ("bundle", "digest", "plugins", "source", "last_reload_error", "loaded_at_unix_ms")
    BUNDLE_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    PLUGINS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    LAST_RELOAD_ERROR_FIELD_NUMBER: _ClassVar[int]
    LOADED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    bundle: str
    digest: str
    plugins: _containers.RepeatedCompositeFieldContainer[PluginStatus]
    source: str
    last_reload_error: str
    loaded_at_unix_ms: int
    def __init__(self, bundle: _Optional[str] = ..., digest: _Optional[str] = ..., plugins: _Optional[_Iterable[_Union[PluginStatus, _Mapping]]] = ..., source: _Optional[str] = ..., last_reload_error: _Optional[str] = ..., loaded_at_unix_ms: _Optional[int] = ...) -> None: ...

class ReloadRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReloadResponse(_message.Message):
    __slots__ = ("bundle", "digest", "elapsed_ms")
    BUNDLE_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_MS_FIELD_NUMBER: _ClassVar[int]
    bundle: str
    digest: str
    elapsed_ms: int
    def __init__(self, bundle: _Optional[str] = ..., digest: _Optional[str] = ..., elapsed_ms: _Optional[int] = ...) -> None: ...
