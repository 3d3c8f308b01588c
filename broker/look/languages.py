"""The languages people read Caselink in, and their gettext catalogues (Babel).

The catalogues are the `.po` files under `broker/look/locale/<language>/LC_MESSAGES/`,
edited by translators and checked by `make translations` (every message translated, none
fuzzy). They are compiled in memory when first used, so no compiled `.mo` file is kept in
the repository or can fall out of step with its `.po`. The `.po` files keep no header: the
plural rules come from each language's CLDR data (Babel), and a header's dates would change
the files at every extraction. English is the source language: its "catalogue" is the
messages themselves.
"""

import io
from functools import cache
from importlib.resources import files

from babel import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

DOMAIN = "caselink"
DEFAULT_LANGUAGE = "en"
LANGUAGES: dict[str, str] = {
    "en": "English",
    "th": "ไทย",
    "da": "Dansk",
    "es": "Español",
}
"""Each language by its code (BCP 47, as Babel and `<html lang>` take it), named in itself."""


def N_(message: str) -> str:
    """Marks `message` for extraction without translating it: constants in Python code
    (a page title, a category's label) are translated where they are shown."""
    return message


def is_language(code: str) -> bool:
    """Whether `code` is one of the languages Caselink is translated into."""
    return code in LANGUAGES


def accepted_language(header: str | None) -> str:
    """The language to show someone not signed in, from their browser's Accept-Language
    (`da, en-GB;q=0.8, *;q=0.1`): the first of theirs, by quality, that Caselink has, or
    English. Malformed parts are skipped; the header never raises."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")[:32]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip() == "q":
            try:
                quality = float(value)
            except ValueError:
                continue
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, index, tag.strip().replace("_", "-")))
    preferred = [tag for _, _, tag in sorted(ranked)]
    found = negotiate_locale(preferred, list(LANGUAGES), sep="-")
    return found if found is not None else DEFAULT_LANGUAGE


@cache
def translations(language: str) -> NullTranslations:
    """The catalogue of `language`; English translates to itself.

    Raises ValueError for a language Caselink has no catalogue for: users files and
    notifier configs are checked against LANGUAGES when read, so this is a programming error.
    """
    if language == DEFAULT_LANGUAGE:
        return NullTranslations()
    if not is_language(language):
        raise ValueError(f"no catalogue for language {language!r}")
    source = files(__package__).joinpath("locale", language, "LC_MESSAGES", f"{DOMAIN}.po")
    with source.open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)
