"""A LiteLLM proxy guardrail that asks Palisade about every prompt and every answer.

Pre-call, the request's messages go to Palisade's Check on the input path as an OpenAI chat body: a deny
stops the call with a 403 naming the plugin and rule, a modify replaces the messages with the redacted
ones. Post-call, the answer goes to Check on the output path; streamed answers go through CheckStream,
which releases text only once no finding can still span it.

With a bundle that pseudonymizes (`EMAIL_ADDRESS = "pseudonymize"`), the model sees stand-ins and the
input check answers with a sealed vault; the guardrail keeps it for the call and hands it to the output
check, which puts the real values back into the answer's text and its tool calls' arguments.

Needs the client package in this repository, which carries the gRPC stubs: `pip install ./clients/python`.
"""

import json
import os
from collections import OrderedDict
from typing import Any, AsyncGenerator, Optional

import grpc
from fastapi import HTTPException
from litellm.integrations.custom_guardrail import CustomGuardrail

from palisade_client import pb, rpc

# The request fields Palisade's JSON adapter reads texts from; the rest (model, temperature, …) stays here.
TEXT_FIELDS = ("messages", "system", "input", "instructions", "prompt")
# Vaults kept from a call's input check to its output check; calls that never finish drop out past this.
MAX_VAULTS = 10_000


class PalisadeGuardrail(CustomGuardrail):
    def __init__(self, api_base: Optional[str] = None, timeout: float = 2.0, **kwargs):
        # A gRPC address, e.g. 127.0.0.1:50051 (the guardrail's `api_base` in config.yaml).
        self.address = api_base or os.environ.get("PALISADE_ADDR", "127.0.0.1:50051")
        self.timeout = timeout
        self.channel = grpc.aio.insecure_channel(self.address)
        self.stub = rpc.GuardrailStub(self.channel)
        # litellm_call_id -> the vault of its input check. Never sent to the model: it stays in this process.
        self.vaults: "OrderedDict[str, str]" = OrderedDict()
        super().__init__(**kwargs)

    def _keep_vault(self, data: dict, vault: str) -> None:
        call_id = data.get("litellm_call_id")
        if vault and call_id:
            self.vaults[str(call_id)] = vault
            while len(self.vaults) > MAX_VAULTS:
                self.vaults.popitem(last=False)

    def _take_vault(self, data: dict) -> str:
        return self.vaults.pop(str(data.get("litellm_call_id")), "")

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

    async def _check(self, direction: int, body: dict, exchange: dict, vault: str = "") -> Any:
        request = pb.CheckRequest(
            direction=direction,
            body=json.dumps(body).encode(),
            content_type="application/json",
            vault=vault,
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
        self._keep_vault(data, answer.vault)
        return data

    async def async_post_call_success_hook(self, data: dict, user_api_key_dict, response):
        if not hasattr(response, "choices"):
            return response
        body = {"choices": [c.model_dump() for c in response.choices]}
        exchange = self._exchange(data, user_api_key_dict)
        answer = await self._check(pb.DIRECTION_OUTPUT, body, exchange, self._take_vault(data))
        if answer.decision == pb.DECISION_DENY:
            raise self._deny(answer)
        if answer.decision == pb.DECISION_MODIFY:
            # Redacted, or with the values of the vault restored: the text and the tool calls' arguments.
            changed = json.loads(answer.body)["choices"]
            for choice, new in zip(response.choices, changed):
                message = getattr(choice, "message", None)
                new_message = new.get("message") or {}
                if message is None or not new_message:
                    continue
                message.content = new_message.get("content")
                for call, new_call in zip(message.tool_calls or [], new_message.get("tool_calls") or []):
                    call.function.arguments = new_call["function"]["arguments"]
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
                    chunk=text.encode(),
                    direction=pb.DIRECTION_OUTPUT,
                    vault=self._take_vault(request_data),
                    **exchange,
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
