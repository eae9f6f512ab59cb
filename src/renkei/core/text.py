"""Showing untrusted text (log lines, shared reports) to a person safely."""

from __future__ import annotations

import re
import unicodedata

# C0/C1 controls and the bidi/invisible formatting characters that can hide or reorder text.
_HIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def visible(text: str) -> str:
    """Control and bidi characters as ``\\xNN``/``\\uNNNN``: they must not drive a terminal
    or reorder what an analyst reads."""

    def show(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _HIDDEN.sub(show, text)


def has_control_characters(text: str) -> bool:
    """Controls, format characters (bidi overrides, zero-width) or lone surrogates."""
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in text)


def is_clean_line(text: str, *, min_chars: int, max_chars: int) -> bool:
    """A one-line label: bounded length and nothing that could drive a terminal or page."""
    return min_chars <= len(text) <= max_chars and not has_control_characters(text)
