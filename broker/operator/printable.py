"""Text that is safe in an operator's terminal: every value an agency could have written.

A header value is whatever its publisher chose: escape sequences could move the cursor,
rewrite earlier lines or set the window title, and bidi controls could reorder what is
shown. `printable` escapes every character that is not printable (Python's
`str.isprintable`: control, format, surrogate, private-use, unassigned and separator
characters other than the space) the way Python's `unicode_escape` codec writes it, and
escapes the backslash itself, so the output is unambiguous and holds printable characters
only. Rich markup is a separate concern: the command line shows these strings as
`rich.text.Text`, which never interprets markup.
"""

from datetime import datetime

MAX_SHOWN = 200
ELLIPSIS = "..."


def _escape(character: str) -> str:
    if character == "\\":
        return "\\\\"
    if character.isprintable():
        return character
    return character.encode("unicode_escape").decode("ascii")


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="backslashreplace")
    if isinstance(value, datetime):
        return value.isoformat()
    # Lists and tables (x-death): their repr already escapes the strings inside.
    return repr(value)


def printable(value: object, limit: int = MAX_SHOWN) -> str:
    """`value` as one line of printable characters, at most `limit` of them (then "...")."""
    text = _as_text(value)
    shown = "".join(_escape(character) for character in text[:limit])
    if len(text) > limit or len(shown) > limit:
        return shown[:limit] + ELLIPSIS
    return shown
