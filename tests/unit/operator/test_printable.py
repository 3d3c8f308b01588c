"""Values an agency wrote reach an operator's terminal as printable, unambiguous text."""

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from broker.operator.printable import printable


def test_control_sequences_are_escaped() -> None:
    # Clear the screen, set the window title, ring the bell: all shown, none done.
    assert printable("\x1b[2J\x1b]0;owned\x07ok") == "\\x1b[2J\\x1b]0;owned\\x07ok"
    assert printable("a\nb\rc\td") == "a\\nb\\rc\\td"


def test_bidi_and_other_format_characters_are_escaped() -> None:
    assert printable("abc\u202edcb") == "abc\\u202edcb"
    assert printable("zero\u200bwidth") == "zero\\u200bwidth"


def test_the_backslash_is_escaped_so_nothing_can_pose_as_an_escape() -> None:
    assert printable("\\x1b") == "\\\\x1b"
    assert printable("\\x1b") != printable("\x1b")


def test_ordinary_text_and_accents_are_kept() -> None:
    assert printable("social-east rejected Åsa [bold]x[/bold]") == (
        "social-east rejected Åsa [bold]x[/bold]"
    )


def test_bytes_lists_and_times() -> None:
    assert printable(b"\xff\x1b") == "\\\\xff\\x1b"
    assert printable([{"queue": "q\x1b"}]) == "[{'queue': 'q\\\\x1b'}]"
    assert printable(datetime(2026, 1, 2, tzinfo=UTC)) == "2026-01-02T00:00:00+00:00"


def test_long_values_are_cut() -> None:
    assert printable("x" * 500, limit=10) == "x" * 10 + "..."


@given(st.text())
def test_the_result_is_always_printable(text: str) -> None:
    shown = printable(text, limit=1000)
    assert shown.isprintable()
