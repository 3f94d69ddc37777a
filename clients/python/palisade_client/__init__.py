"""A client for Palisade, the guardrail service for AI traffic, over gRPC.

    from palisade_client import Palisade

    with Palisade("127.0.0.1:50051") as palisade:
        result = palisade.check("mail ana@example.com", direction="input")
        if result.denied:
            raise PermissionError(result.reason)
        prompt = result.text          # "mail [EMAIL_ADDRESS]"

`check` sends one text, `check_body` a request or answer body as a gateway holds it (an OpenAI or Anthropic
chat body as JSON), `check_stream` a streamed answer chunk by chunk, releasing only what Palisade has
checked, and `guard_stream` does that for the events of an OpenAI or Anthropic SDK stream.
`AsyncPalisade` is the same over `grpc.aio`. The stubs of `palisade.v1` are inside the package (no
protoc needed): `palisade_client.pb` and `palisade_client.rpc`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, AsyncIterable, AsyncIterator, Iterable, Iterator, Literal, Mapping, Sequence

import grpc

from ._proto import guardrail_pb2 as pb
from ._proto import guardrail_pb2_grpc as rpc

__all__ = ["Palisade", "AsyncPalisade", "Result", "Finding", "Denied", "StreamResult", "pb", "rpc"]

Direction = Literal["input", "output"]
Decision = Literal["allow", "modify", "deny"]

_DIRECTIONS = {"input": pb.DIRECTION_INPUT, "output": pb.DIRECTION_OUTPUT}
_DECISIONS = {pb.DECISION_ALLOW: "allow", pb.DECISION_MODIFY: "modify", pb.DECISION_DENY: "deny"}


@dataclass(frozen=True)
class Finding:
    """What a plugin found: never the value itself, only where it is (UTF-8 byte offsets into the text at
    `location`, a JSON pointer for bodies) and what the policy did."""

    plugin: str
    rule: str
    category: str
    start: int
    end: int
    location: str
    confidence: float
    action: str
    report_only: bool

    @classmethod
    def _of(cls, f: pb.Finding) -> "Finding":
        return cls(f.plugin, f.rule, f.category, f.start, f.end, f.location, f.confidence, f.action,
                   f.report_only)


@dataclass(frozen=True)
class Result:
    """Palisade's answer to a check. `text` (and `body`) is what to pass on: the input itself when
    allowed, the redacted form when modified, empty when denied."""

    decision: Decision
    text: str
    body: bytes
    reason: str
    findings: list[Finding]
    labels: list[str]
    bundle: str
    elapsed_us: int
    vault: str = ""
    restored: int = 0
    vault_error: str = ""

    @property
    def allowed(self) -> bool:
        """Allowed as it is or modified: the call may go on with `text` (or `body`)."""
        return self.decision != "deny"

    @property
    def denied(self) -> bool:
        return self.decision == "deny"

    @property
    def modified(self) -> bool:
        return self.decision == "modify"


@dataclass
class StreamResult:
    """Filled in when a checked stream ends: the decision over the whole stream."""

    decision: Decision | None = None
    reason: str = ""
    findings: list[Finding] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    bundle: str = ""
    restored: int = 0


class Denied(Exception):
    """A stream Palisade denied: nothing after the denied text was released. `result` has the findings."""

    def __init__(self, result: StreamResult):
        super().__init__(f"Palisade denied the stream: {result.reason}")
        self.reason = result.reason
        self.result = result


def _direction(direction: str) -> int:
    try:
        return _DIRECTIONS[direction]
    except KeyError:
        raise ValueError(f"direction {direction!r} is not 'input' or 'output'") from None


def _request(content: dict[str, Any], direction: str, content_type: str, principal: str | None,
             destination: str | None, tool: str | None, labels: Sequence[str],
             metadata: Mapping[str, str] | None, request_id: str | None, vault: str | None) -> pb.CheckRequest:
    return pb.CheckRequest(direction=_direction(direction), content_type=content_type,
                           principal=principal or "", destination=destination or "", tool=tool or "",
                           labels=list(labels), metadata=dict(metadata or {}), request_id=request_id or "",
                           vault=vault or "", **content)


def _result(answer: pb.CheckResponse, text: str, body: bytes) -> Result:
    decision = _DECISIONS.get(answer.decision, "allow")
    content = answer.WhichOneof("content")
    if decision == "deny":
        text, body = "", b""
    elif content == "text":
        text = answer.text
    elif content == "body":
        body = answer.body
        text = body.decode("utf-8")
    return Result(decision, text, body, answer.reason, [Finding._of(f) for f in answer.findings],
                  list(answer.labels), answer.bundle, answer.elapsed_us, answer.vault, answer.restored,
                  answer.vault_error)


def _body_bytes(body: bytes | str | Mapping[str, Any]) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _chunk(chunk: bytes | str) -> pb.CheckStreamRequest:
    return pb.CheckStreamRequest(chunk=chunk.encode("utf-8") if isinstance(chunk, str) else chunk)


def _stream_requests(chunks: Iterable[bytes | str], first: pb.CheckStreamRequest) -> Iterator[pb.CheckStreamRequest]:
    # The first message carries the exchange's fields; the chunks follow, one per message.
    yield first
    yield from map(_chunk, chunks)


def _end(answer: pb.CheckStreamResponse, into: StreamResult) -> None:
    into.decision = _DECISIONS.get(answer.decision, "allow")
    into.reason = answer.reason
    into.findings = [Finding._of(f) for f in answer.findings]
    into.labels = list(answer.labels)
    into.bundle = answer.bundle
    into.restored = answer.restored


def _stream_request(direction: str, content_type: str, principal: str | None, destination: str | None,
                    request_id: str | None, vault: str | None) -> pb.CheckStreamRequest:
    return pb.CheckStreamRequest(direction=_direction(direction), content_type=content_type,
                                 principal=principal or "", destination=destination or "",
                                 request_id=request_id or "", vault=vault or "")


def _sse(event: Any) -> bytes:
    """One SDK stream event (an OpenAI chunk, an Anthropic event: pydantic models, or dicts) as an SSE event."""
    data = event.model_dump(exclude_none=True) if hasattr(event, "model_dump") else event
    kind = data.get("type") if isinstance(data, dict) else None
    head = f"event: {kind}\n" if isinstance(kind, str) else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n".encode("utf-8")


class _SseEvents:
    """Released SSE bytes back into events (dicts), whatever the chunk boundaries."""

    def __init__(self) -> None:
        self.pending = b""

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        self.pending += data
        events = []
        while b"\n\n" in self.pending:
            raw, self.pending = self.pending.split(b"\n\n", 1)
            lines = [line[len(b"data: "):] for line in raw.split(b"\n") if line.startswith(b"data: ")]
            if lines:
                events.append(json.loads(b"\n".join(lines)))
        return events


class Palisade:
    """A blocking client. `target` is Palisade's gRPC address (`host:port`); pass `credentials`
    (`grpc.ssl_channel_credentials(...)`) for TLS or mutual TLS. `timeout` (seconds) bounds each call and
    is sent as the call's deadline, which Palisade honours."""

    def __init__(self, target: str = "127.0.0.1:50051", *, credentials: grpc.ChannelCredentials | None = None,
                 timeout: float | None = 5.0):
        self._channel = (grpc.secure_channel(target, credentials) if credentials
                         else grpc.insecure_channel(target))
        self._stub = rpc.GuardrailStub(self._channel)
        self.timeout = timeout

    def __enter__(self) -> "Palisade":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def check(self, text: str, *, direction: Direction = "input", principal: str | None = None,
              destination: str | None = None, tool: str | None = None, labels: Sequence[str] = (),
              metadata: Mapping[str, str] | None = None, request_id: str | None = None,
              vault: str | None = None) -> Result:
        """Checks one text: a prompt, a tool call's arguments, a tool's result, an answer."""
        request = _request({"text": text}, direction, "text/plain", principal, destination, tool, labels,
                           metadata, request_id, vault)
        return _result(self._stub.Check(request, timeout=self.timeout), text, text.encode("utf-8"))

    def check_body(self, body: bytes | str | Mapping[str, Any], *, content_type: str = "application/json",
                   direction: Direction = "input", principal: str | None = None,
                   destination: str | None = None, tool: str | None = None, labels: Sequence[str] = (),
                   metadata: Mapping[str, str] | None = None, request_id: str | None = None,
                   vault: str | None = None) -> Result:
        """Checks a body as a gateway holds it: a chat request or answer (OpenAI, Anthropic, Gemini,
        Bedrock, Ollama; a dict is sent as JSON), or any JSON, every string of which is read."""
        data = _body_bytes(body)
        request = _request({"body": data}, direction, content_type, principal, destination, tool, labels,
                           metadata, request_id, vault)
        return _result(self._stub.Check(request, timeout=self.timeout), data.decode("utf-8"), data)

    def check_stream(self, chunks: Iterable[bytes | str], *, content_type: str = "text/plain",
                     direction: Direction = "output", principal: str | None = None,
                     destination: str | None = None, request_id: str | None = None,
                     vault: str | None = None, result: StreamResult | None = None) -> Iterator[bytes]:
        """Yields what may be passed on of a streamed answer as it arrives (redacted, held back until no
        finding can span it). Raises `Denied` when Palisade denies the stream; what it held back is never
        released. Pass a `StreamResult` to read the decision and findings once the stream has ended."""
        result = result if result is not None else StreamResult()
        first = _stream_request(direction, content_type, principal, destination, request_id, vault)
        for answer in self._stub.CheckStream(_stream_requests(chunks, first), timeout=self.timeout):
            if answer.chunk:
                yield answer.chunk
            if answer.done:
                _end(answer, result)
                if result.decision == "deny":
                    raise Denied(result)

    def guard_stream(self, events: Iterable[Any], **kwargs: Any) -> Iterator[dict[str, Any]]:
        """An OpenAI or Anthropic SDK stream (`client.chat.completions.create(..., stream=True)`,
        `client.messages.create(..., stream=True)`) checked by Palisade: yields its events as dicts, their
        text redacted and released only once checked. Raises `Denied` when Palisade denies the answer."""
        parser = _SseEvents()
        chunks = (_sse(event) for event in events)
        for released in self.check_stream(chunks, content_type="text/event-stream", **kwargs):
            yield from parser.feed(released)


class AsyncPalisade:
    """`Palisade` over `grpc.aio`, for asyncio gateways and agents."""

    def __init__(self, target: str = "127.0.0.1:50051", *, credentials: grpc.ChannelCredentials | None = None,
                 timeout: float | None = 5.0):
        self._channel = (grpc.aio.secure_channel(target, credentials) if credentials
                         else grpc.aio.insecure_channel(target))
        self._stub = rpc.GuardrailStub(self._channel)
        self.timeout = timeout

    async def __aenter__(self) -> "AsyncPalisade":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def check(self, text: str, *, direction: Direction = "input", principal: str | None = None,
                    destination: str | None = None, tool: str | None = None, labels: Sequence[str] = (),
                    metadata: Mapping[str, str] | None = None, request_id: str | None = None,
                    vault: str | None = None) -> Result:
        request = _request({"text": text}, direction, "text/plain", principal, destination, tool, labels,
                           metadata, request_id, vault)
        return _result(await self._stub.Check(request, timeout=self.timeout), text, text.encode("utf-8"))

    async def check_body(self, body: bytes | str | Mapping[str, Any], *, content_type: str = "application/json",
                         direction: Direction = "input", principal: str | None = None,
                         destination: str | None = None, tool: str | None = None, labels: Sequence[str] = (),
                         metadata: Mapping[str, str] | None = None, request_id: str | None = None,
                         vault: str | None = None) -> Result:
        data = _body_bytes(body)
        request = _request({"body": data}, direction, content_type, principal, destination, tool, labels,
                           metadata, request_id, vault)
        return _result(await self._stub.Check(request, timeout=self.timeout), data.decode("utf-8"), data)

    async def check_stream(self, chunks: AsyncIterable[bytes | str] | Iterable[bytes | str], *,
                           content_type: str = "text/plain", direction: Direction = "output",
                           principal: str | None = None, destination: str | None = None,
                           request_id: str | None = None, vault: str | None = None,
                           result: StreamResult | None = None) -> AsyncIterator[bytes]:
        result = result if result is not None else StreamResult()
        first = _stream_request(direction, content_type, principal, destination, request_id, vault)

        async def requests() -> AsyncIterator[pb.CheckStreamRequest]:
            yield first
            async for chunk in _aiter(chunks):
                yield _chunk(chunk)

        async for answer in self._stub.CheckStream(requests(), timeout=self.timeout):
            if answer.chunk:
                yield answer.chunk
            if answer.done:
                _end(answer, result)
                if result.decision == "deny":
                    raise Denied(result)

    async def guard_stream(self, events: AsyncIterable[Any] | Iterable[Any], **kwargs: Any) -> AsyncIterator[dict[str, Any]]:
        parser = _SseEvents()

        async def chunks() -> AsyncIterator[bytes]:
            async for event in _aiter(events):
                yield _sse(event)

        async for released in self.check_stream(chunks(), content_type="text/event-stream", **kwargs):
            for event in parser.feed(released):
                yield event


async def _aiter(items: AsyncIterable[Any] | Iterable[Any]) -> AsyncIterator[Any]:
    if hasattr(items, "__aiter__"):
        async for item in items:  # type: ignore[union-attr]
            yield item
    else:
        for item in items:  # type: ignore[union-attr]
            yield item
