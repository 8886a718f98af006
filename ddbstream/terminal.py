"""Text that reaches a terminal: user data shown as text, never as control sequences or markup.

Item values, attribute names, log lines and queue messages are data. safe() shows their control,
C1 and bidi characters escaped; escape() also quotes rich markup so data inside a markup string
prints literally; safe_json() keeps JSON the same JSON while escaping what json.dumps leaves raw.
Used by the CLI and by the flows that render (logs, invoke, demo); rich is imported only by json_text.
"""

from __future__ import annotations

import re

# Shown escaped: C0 controls, DEL, C1 controls and Unicode's bidi controls (which reorder what follows).
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_UNSAFE_IN_BLOCK = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")  # tabs and line breaks kept
_UNSAFE_IN_JSON = re.compile(f"[\x7f-\x9f{_BIDI}]")  # json.dumps escapes C0 itself
_SHORT = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _SHORT.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def safe(text: object, multiline: bool = False) -> str:
    """User data made harmless to a terminal: control, C1 and bidi characters shown escaped (\\x1b, \\u202e).

    ``multiline`` keeps line breaks and tabs (a block of text, such as a log message, rather than one field).
    """
    return (_UNSAFE_IN_BLOCK if multiline else _UNSAFE).sub(_escaped, str(text))


def safe_json(text: str) -> str:
    """JSON text made harmless to a terminal and still the same JSON (json.dumps leaves DEL, C1 and bidi raw)."""
    return _UNSAFE_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


# A backslash run and what follows it that rich's markup treats specially: a tag, a bare "[", the end.
_MARKUP_SPECIAL = re.compile(r"(\\*)(\[[a-z#/@][^[]*?]|\[|\Z)")


def escape(text: object) -> str:
    """User data for a markup string (note, console().print, a table cell): shown literally, controls escaped.

    rich.markup.escape loses backslashes before "[" and at the end; this keeps every character.
    """

    def quote(match: re.Match[str]) -> str:
        slashes, rest = match.groups()
        if len(rest) > 1:  # a tag: an odd run of backslashes makes it text, the pairs print as single ones
            return "\\" * (2 * len(slashes) + 1) + rest
        if rest:  # a bare "[": rich turns one "\\[" into "[", so one backslash more
            return "\\" * (len(slashes) + 1 if slashes else 0) + rest
        # The end: doubled, then an empty tag so the backslashes cannot escape the markup that follows.
        return "\\" * (2 * len(slashes)) + "[none][/none]" if slashes else ""

    return _MARKUP_SPECIAL.sub(quote, safe(text))


_TAG = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")  # rich.markup.RE_TAGS


def plain_text(markup: str) -> str:
    """The text rich prints for ``markup``, without its styles (tags dropped, escapes undone)."""
    parts, position = [], 0
    for match in _TAG.finditer(markup):
        parts.append(markup[position : match.start()].replace("\\[", "["))
        pairs, escaped = divmod(len(match.group(1)), 2)
        parts.append("\\" * pairs + (match.group(2) if escaped else ""))
        position = match.end()
    parts.append(markup[position:].replace("\\[", "["))
    return "".join(parts)


def json_text(text: str):
    """JSON text highlighted for a terminal (rich.json.JSON would re-encode it, undoing safe_json)."""
    from rich.highlighter import JSONHighlighter

    highlighted = JSONHighlighter()(safe_json(text))
    highlighted.no_wrap = True
    highlighted.overflow = None
    return highlighted
