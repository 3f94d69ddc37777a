"""A LiteLLM proxy guardrail that asks Palisade about every prompt and every answer.

Pre-call, the request's messages go to Palisade's Check on the input path as an OpenAI chat body: a deny
stops the call with a 403 naming the plugin and rule, a modify replaces the messages with the redacted
ones. Post-call, the answer goes to Check on the output path; streamed answers go through CheckStream,
which releases text only once no finding can still span it.

Needs the Python stubs of proto/palisade/v1/guardrail.proto on the path (see README.md here) and grpcio.
"""

import json
import os
from typing import Any, AsyncGenerator, Optional

import grpc
from fastapi import HTTPException
from litellm.integrations.custom_guardrail import CustomGuardrail
from litellm.types.guardrails import GuardrailEventHooks

from palisade.v1 import guardrail_pb2 as pb
from palisade.v1 import guardrail_pb2_grpc as rpc

# The request fields Palisade's JSON adapter reads texts from; the rest (model, temperature, …) stays here.
TEXT_FIELDS = ("messages", "system", "input", "instructions", "prompt")


class PalisadeGuardrail(CustomGuardrail):
    def __init__(self, api_base: Optional[str] = None, timeout: float = 2.0, **kwargs):
        # A gRPC address, e.g. 127.0.0.1:50051 (the guardrail's `api_base` in config.yaml).
        self.address = api_base or os.environ.get("PALISADE_ADDR", "127.0.0.1:50051")
        self.timeout = timeout
        self.channel = grpc.aio.insecure_channel(self.address)
        self.stub = rpc.GuardrailStub(self.channel)
        super().__init__(**kwargs)

    def _exchange(self, data: dict, user_api_key_dict: Any) -> dict:
        """What Palisade is told about the exchange besides the text."""
        metadata = {}
        call_id = data.get("litellm_call_id")
        if call_id:
            metadata["litellm_call_id"] = str(call_id)
        return {
            "principal": getattr(user_api_key_dict, "user_id", None) or "",
            "destination": str(data.get("model") or ""),
            "metadata": metadata,
            "request_id": str(call_id or ""),
        }

    async def _check(self, direction: int, body: dict, exchange: dict) -> Any:
        request = pb.CheckRequest(
            direction=direction,
            body=json.dumps(body).encode(),
            content_type="application/json",
            **exchange,
        )
        return await self.stub.Check(request, timeout=self.timeout)

    @staticmethod
    def _deny(answer: Any) -> HTTPException:
        rule = next((f for f in answer.findings if f.action == "deny"), None)
        error = {"type": "palisade_denied", "message": f"Palisade: {answer.reason}"}
        if rule is not None:
            error.update(plugin=rule.plugin, rule=rule.rule)
        return HTTPException(status_code=403, detail={"error": error})

    async def async_pre_call_hook(self, user_api_key_dict, cache, data: dict, call_type):
        body = {k: data[k] for k in TEXT_FIELDS if k in data}
        if not body:
            return data
        if "input" in body:
            body["model"] = data.get("model", "")  # the Responses API shape has both
        answer = await self._check(pb.DIRECTION_INPUT, body, self._exchange(data, user_api_key_dict))
        if answer.decision == pb.DECISION_DENY:
            raise self._deny(answer)
        if answer.decision == pb.DECISION_MODIFY:
            redacted = json.loads(answer.body)
            for key in TEXT_FIELDS:
                if key in redacted:
                    data[key] = redacted[key]
        return data

    async def async_post_call_success_hook(self, data: dict, user_api_key_dict, response):
        if not hasattr(response, "choices"):
            return response
        body = {"choices": [c.model_dump() for c in response.choices]}
        answer = await self._check(pb.DIRECTION_OUTPUT, body, self._exchange(data, user_api_key_dict))
        if answer.decision == pb.DECISION_DENY:
            raise self._deny(answer)
        if answer.decision == pb.DECISION_MODIFY:
            redacted = json.loads(answer.body)["choices"]
            for choice, new in zip(response.choices, redacted):
                message = getattr(choice, "message", None)
                if message is not None and new.get("message"):
                    message.content = new["message"].get("content")
        return response

    async def async_post_call_streaming_iterator_hook(
        self, user_api_key_dict, response, request_data: dict
    ) -> AsyncGenerator[Any, None]:
        """Streams the answer's text through CheckStream: each chunk carries what Palisade releases."""
        call = self.stub.CheckStream(timeout=max(self.timeout, 300.0))
        exchange = self._exchange(request_data, user_api_key_dict)
        first = True
        last_chunk = None
        async for chunk in response:
            delta = chunk.choices[0].delta if getattr(chunk, "choices", None) else None
            text = getattr(delta, "content", None) if delta is not None else None
            if not text:
                if _finished(chunk) and last_chunk is not None:
                    # The rest goes out before the chunk that ends the answer.
                    rest = await _finish(call)
                    if rest:
                        yield _with_content(last_chunk, rest)
                    call = None
                yield chunk
                continue
            message = pb.CheckStreamRequest(chunk=text.encode())
            if first:
                message = pb.CheckStreamRequest(
                    chunk=text.encode(), direction=pb.DIRECTION_OUTPUT, **exchange
                )
                first = False
            await call.write(message)
            answer = await call.read()
            if answer.done and answer.decision == pb.DECISION_DENY:
                raise self._deny(answer)
            last_chunk = chunk
            yield _with_content(chunk, answer.chunk.decode())
        if call is not None and not first:
            rest = await _finish(call)
            if rest and last_chunk is not None:
                yield _with_content(last_chunk, rest)


def _finished(chunk: Any) -> bool:
    choices = getattr(chunk, "choices", None) or []
    return any(getattr(c, "finish_reason", None) for c in choices)


def _with_content(chunk: Any, text: str) -> Any:
    out = chunk.model_copy(deep=True)
    out.choices[0].delta.content = text
    return out


async def _finish(call: Any) -> str:
    """Half-closes the stream; returns the text released at its end. A deny raises."""
    await call.done_writing()
    rest = b""
    while (answer := await call.read()) is not grpc.aio.EOF:
        rest += answer.chunk
        if answer.done and answer.decision == pb.DECISION_DENY:
            raise PalisadeGuardrail._deny(answer)
    return rest.decode()
