"""People's names as we show or say them: the one bound on a name that came from outside.

A WhatsApp push name, a CRM record or an import cell can hold anything — 200 KB of "P", control
characters, zero-width joiners. Every name that reaches a message, a prompt or a queue goes through
`display_name` first.
"""

from __future__ import annotations

MAX_DISPLAY_NAME_CHARS = 60


def display_name(raw: str | None) -> str | None:
    """`raw` fit to show: non-printable characters as spaces, spaces collapsed, at most
    `MAX_DISPLAY_NAME_CHARS` (cut at a word boundary when one is near); None when nothing is left."""
    if raw is None:
        return None
    # Only the start can survive the cut: look no further than a few times the limit.
    text = "".join(ch if ch.isprintable() else " " for ch in raw[: 4 * MAX_DISPLAY_NAME_CHARS])
    text = " ".join(text.split())
    if len(text) > MAX_DISPLAY_NAME_CHARS:
        cut = text[: MAX_DISPLAY_NAME_CHARS + 1].rfind(" ")
        text = text[: cut if cut >= MAX_DISPLAY_NAME_CHARS // 2 else MAX_DISPLAY_NAME_CHARS]
    return text or None
