"""The collection assistant: a Portuguese system prompt, channel-neutral tools with their guards in
code, a bounded tool loop over the chat model, and a deterministic fallback dialogue.

`respond(ctx, history)` answers the latest customer message of a conversation; the tools
(`shared.assistant.tools`) are shared with the voice bridge.
"""

from shared.assistant.runner import ModelUnavailable, Reply, respond
from shared.assistant.tools import TOOLS, Tool, ToolContext, ToolOutcome, invoke

__all__ = ["TOOLS", "ModelUnavailable", "Reply", "Tool", "ToolContext", "ToolOutcome", "invoke", "respond"]
