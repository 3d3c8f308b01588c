"""`python -m broker.look.catalogues [TEMPLATE]`: fails (exit 1) when a catalogue is incomplete.

`make translations` runs it after extracting the messages into `caselink.pot` and merging
them into each language's `.po`; `make check-translations` (part of `make test`) extracts
into a temporary template and checks the `.po` files against it without writing them.

A catalogue is complete when every message of the template has a translation that is
neither empty nor marked fuzzy (a guess by the merge, which a translator has not
confirmed). It prints one line per language and, for an
incomplete one, the first messages missing, so a translator knows where to start.
"""

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from broker.look.languages import DEFAULT_LANGUAGE, DOMAIN, LANGUAGES

LOCALE = Path(__file__).parent / "locale"
SHOWN = 5  # missing messages listed per language


def missing(template: Catalog, catalogue: Catalog) -> list[str]:
    """The template's messages that `catalogue` does not translate, or only fuzzily."""
    gaps: list[str] = []
    for message in template:
        if not message.id:
            continue  # the header
        found = catalogue.get(message.id, message.context)
        strings = (
            ()
            if found is None
            else (found.string if isinstance(found.string, tuple) else (found.string,))
        )
        if found is None or found.fuzzy or not all(strings):
            gaps.append(message.id if isinstance(message.id, str) else message.id[0])
    return gaps


def main(arguments: list[str]) -> int:
    source = Path(arguments[0]) if arguments else LOCALE / f"{DOMAIN}.pot"
    with source.open("rb") as pot:
        template = read_po(pot)
    complete = True
    for language in LANGUAGES:
        if language == DEFAULT_LANGUAGE:
            continue
        with (LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
            gaps = missing(template, read_po(po, locale=language))
        total = sum(1 for message in template if message.id)
        print(f"{language}: {total - len(gaps)} of {total} messages translated")
        for gap in gaps[:SHOWN]:
            print(f"  missing: {gap!r}")
        if len(gaps) > SHOWN:
            print(f"  ... and {len(gaps) - SHOWN} more")
        complete = complete and not gaps
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
