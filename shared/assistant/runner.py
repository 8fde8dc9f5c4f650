"""One assistant turn: the chat model with the tools in a bounded loop, or the fallback dialogue when
the model is unavailable. The customer always gets an answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from shared.adapters import clients
from shared.assistant import fallback, texts
from shared.assistant.prompt import system_prompt
from shared.assistant.tools import TOOLS, Tool, ToolContext, chat_tool_schemas, invoke
from shared.core.config import get_settings
from shared.core.observability import logger
from shared.domain.errors import ServiceUnavailable
from shared.domain.models import Message, Sender

if TYPE_CHECKING:
    from openai import OpenAI

MAX_STEPS = 6  # model calls per turn; the last one may not call tools
HISTORY_MESSAGES = 24
HISTORY_CHARS = 6000


class ModelUnavailable(ServiceUnavailable):
    """The model gave no usable answer: unreachable, timed out, 5xx, rate-limited or malformed."""

    code = "model_unavailable"


@dataclass(frozen=True)
class Reply:
    """The answer to send, and who wrote it (the model or the fallback dialogue)."""

    text: str
    source: Literal["model", "fallback"]


def respond(ctx: ToolContext, history: Sequence[Message]) -> Reply:
    """The assistant's answer to the latest customer message of `history` (oldest first).

    Uses the chat model when OPENAI_API_KEY is set; falls back to the deterministic dialogue when it
    is not, or when the model fails. Tools act through `ctx` either way.
    """
    client = clients.openai()
    if client is not None:
        try:
            return Reply(run_model(ctx, history, client=client, model=get_settings().openai_model), "model")
        except ModelUnavailable as exc:
            logger.warning("model unavailable, fallback dialogue answers", reason=exc.message)
    return Reply(fallback.respond(ctx, history), "fallback")


def run_model(
    ctx: ToolContext,
    history: Sequence[Message],
    *,
    client: OpenAI,
    model: str,
    tools: Mapping[str, Tool[Any]] = TOOLS,
    max_steps: int = MAX_STEPS,
) -> str:
    """Chat Completions with function tools, at most `max_steps` model calls. Tool results go back to
    the model as `tool` messages; the last call is made with `tool_choice="none"` so the turn ends in
    text. Raises `ModelUnavailable` when the model fails or answers nothing usable."""
    conversation: list[dict[str, Any]] = [
        {"role": "system", "content": system_prompt(ctx)},
        *history_messages(history),
    ]
    schemas = chat_tool_schemas(tools)
    for step in range(1, max_steps + 1):
        last = step == max_steps
        message = _complete(client, model, conversation, schemas, "none" if last else "auto")
        calls = list(getattr(message, "tool_calls", None) or [])
        content = (getattr(message, "content", None) or "").strip()
        if calls and not last:
            conversation.append(
                {
                    "role": "assistant",
                    "content": content or None,
                    "tool_calls": [_call_json(c) for c in calls],
                }
            )
            for call in calls:
                function = getattr(call, "function", None)
                name = getattr(function, "name", "") or ""
                outcome = invoke(name, getattr(function, "arguments", "") or "", ctx, tools)
                call_id = getattr(call, "id", "") or ""
                conversation.append({"role": "tool", "tool_call_id": call_id, "content": outcome.to_json()})
            continue
        if content:
            logger.info("model answered", steps=step)
            return content
        if calls:  # still calling tools on the last step: stop the loop, offer a human
            logger.warning("model tool loop exhausted", steps=step)
            return texts.MODEL_GAVE_NO_ANSWER
        raise ModelUnavailable("the model answered neither text nor tool calls")
    raise AssertionError("unreachable: the last step always returns or raises")


def history_messages(history: Sequence[Message]) -> list[dict[str, Any]]:
    """The conversation as chat messages: the newest `HISTORY_MESSAGES`, at most `HISTORY_CHARS`
    characters (the newest message is always kept, cut if needed). System notes are left out."""
    chosen: list[dict[str, Any]] = []
    used = 0
    for message in reversed(history):
        if message.sender is Sender.SYSTEM or not message.content:
            continue
        if len(chosen) == HISTORY_MESSAGES:
            break
        content = message.content
        if chosen and used + len(content) > HISTORY_CHARS:
            break
        content = content[:HISTORY_CHARS]
        used += len(content)
        if message.sender is Sender.CUSTOMER:
            chosen.append({"role": "user", "content": content})
        elif message.sender is Sender.AGENT:
            chosen.append({"role": "assistant", "content": f"[atendente humano] {content}"})
        else:
            chosen.append({"role": "assistant", "content": content})
    chosen.reverse()
    return chosen


def _complete(
    client: OpenAI,
    model: str,
    conversation: list[dict[str, Any]],
    schemas: list[dict[str, Any]],
    tool_choice: Literal["auto", "none"],
) -> Any:
    import openai  # the SDK costs ≈1 s of import: only a turn that calls the model pays it

    try:
        completion = client.chat.completions.create(
            model=model,
            messages=conversation,  # type: ignore[arg-type]
            tools=schemas,  # type: ignore[arg-type]
            tool_choice=tool_choice,
            parallel_tool_calls=False,  # strict schemas are only guaranteed one call at a time
        )
    except openai.APIStatusError as exc:
        raise ModelUnavailable(f"the model answered HTTP {exc.status_code}") from None
    except openai.OpenAIError as exc:  # connection errors, timeouts, unreadable bodies
        raise ModelUnavailable(f"the model call failed: {type(exc).__name__}") from None
    try:
        message = completion.choices[0].message
    except (AttributeError, IndexError, TypeError, KeyError):
        raise ModelUnavailable("the model's answer has no choices") from None
    if message is None:
        raise ModelUnavailable("the model's answer has no message")
    return message


def _call_json(call: Any) -> dict[str, Any]:
    function = getattr(call, "function", None)
    return {
        "id": getattr(call, "id", "") or "",
        "type": "function",
        "function": {
            "name": getattr(function, "name", "") or "",
            "arguments": getattr(function, "arguments", "") or "",
        },
    }
