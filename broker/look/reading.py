"""A person's language and time zone as a users file gives them (the gateway's, the
dashboard's): checked when the file is read, by one rule, so that no page fails on them."""

from broker.look.formats import is_time_zone
from broker.look.languages import LANGUAGES, is_language

MAX_TIME_ZONE = 64
"""Characters of a time zone name (the longest IANA name has 32)."""


def checked_reading(language: object, time_zone: object) -> tuple[str, str]:
    """`language` and `time_zone` as the pages take them; raises ValueError saying, in words
    for the file's operator, which one is wrong."""
    if not (isinstance(language, str) and is_language(language)):
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    if not (
        isinstance(time_zone, str) and len(time_zone) <= MAX_TIME_ZONE and is_time_zone(time_zone)
    ):
        raise ValueError("time_zone must be an IANA time zone like Europe/Oslo")
    return language, time_zone
