"""The shared look: templates escape, translate into each reader's language, and format
times in the reader's zone and locale; a catalogue with a gap is found incomplete."""

from datetime import UTC, datetime

import pytest
from babel.messages.catalog import Catalog

from broker.look import LANGUAGES, Formats, Look, Reader, translations
from broker.look.catalogues import missing
from broker.look.languages import accepted_language

# 2026-03-29 00:30 UTC: Copenhagen moves from CET to CEST an hour and a half later.
MOMENT = datetime(2026, 3, 29, 0, 30, tzinfo=UTC).timestamp()


def test_every_language_has_a_catalogue_that_translates_sign_in() -> None:
    translated = {code: translations(code).gettext("Sign in") for code in LANGUAGES}
    assert translated == {
        "en": "Sign in",
        "th": "เข้าสู่ระบบ",
        "da": "Log ind",
        "es": "Iniciar sesión",
    }


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="no catalogue"):
        translations("xx")
    with pytest.raises(ValueError, match="no catalogue"):
        Look([], app_name="x").environment("xx")


@pytest.mark.parametrize(
    ("language", "zone", "expected"),
    [
        ("en", "UTC", "3/29/26, 12:30\u202fAM UTC"),
        ("da", "Europe/Copenhagen", "29.03.2026 01.30 CET"),
        ("es", "America/Bogota", "28/3/26, 19:30 -05"),
        ("th", "Asia/Bangkok", "29/3/26 07:30 น. +07"),
    ],
)
def test_a_moment_reads_in_the_readers_zone_and_form(
    language: str, zone: str, expected: str
) -> None:
    assert Formats(language, zone).when(MOMENT) == expected


def test_durations_and_numbers_in_the_readers_words() -> None:
    assert Formats("en").duration(3 * 86400 + 7200) == "3 days"
    assert Formats("da").duration(2 * 3600) == "2 t."
    assert Formats("es").number(1234567) == "1.234.567"
    assert Formats("en").when(None) == "\u2014"


def test_templates_escape_what_they_are_given_and_translate_their_own_words() -> None:
    look = Look([], app_name="Agency inbox")
    page = look.render(
        "login.html",
        Reader(language="da"),
        heading="Sign in",
        message='<script>alert("x")</script>',
        next_path='/"><b>',
    )
    assert '<html lang="da">' in page
    assert "Log ind" in page
    assert "Adgangskode" in page
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page
    assert 'value="/&#34;&gt;&lt;b&gt;"' in page


def test_a_catalogue_is_incomplete_while_a_message_is_missing_empty_or_fuzzy() -> None:
    template = Catalog()
    for text in ("One", "Two", "Three"):
        template.add(text)
    catalogue = Catalog(locale="da")
    catalogue.add("One", "En")
    catalogue.add("Two", "")
    catalogue.add("Three", "Tre", flags=["fuzzy"])
    assert missing(template, catalogue) == ["Two", "Three"]
    complete = Catalog(locale="da")
    for text, translated in (("One", "En"), ("Two", "To"), ("Three", "Tre")):
        complete.add(text, translated)
    assert missing(template, complete) == []


def test_thai_dates_keep_the_gregorian_year() -> None:
    assert Formats("th", "Asia/Bangkok").day(MOMENT) == "29 มี.ค. 2026"


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", ["6h 5m", "9d 0h", "45m", "40s"]), ("da", ["6 t 5 m", "9 d 0 t", "45 m", "40 s"])],
)
def test_spans_keep_two_units(language: str, expected: list[str]) -> None:
    spans = [6 * 3600 + 300, 9 * 86400 + 59, 45 * 60 + 59, 40]
    assert [Formats(language).span(seconds) for seconds in spans] == expected
    assert Formats(language).span(None) == "\u2014"
    assert Formats(language).span(-5) == Formats(language).span(0)


def test_the_zone_is_named_as_at_the_moment() -> None:
    copenhagen = Formats("da", "Europe/Copenhagen")
    assert copenhagen.zone_name(MOMENT) == "CET"
    assert copenhagen.zone_name(MOMENT + 2 * 3600) == "CEST"  # after the clocks went forward


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("da, en-GB;q=0.8", "da"),
        ("th-TH,th;q=0.9,en;q=0.5", "th"),
        ("fr-FR, es;q=0.3", "es"),
        ("de;q=1, da;q=0.5, es;q=0.6", "es"),
        ("en-US", "en"),
        ("de, fr", "en"),
        ("", "en"),
        (None, "en"),
        ("da;q=zero, es-MX", "es"),
        ("*", "en"),
        ("da;q=0, th", "th"),
    ],
)
def test_a_visitor_reads_the_first_of_their_languages_caselink_has(
    header: str | None, language: str
) -> None:
    assert accepted_language(header) == language
