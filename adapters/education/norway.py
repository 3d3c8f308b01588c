"""Norway's public report of concern (`offentlig.bekymringsmelding.v2`) as school rows. Pure.

The schema (ks-no/fiks-io-bekymringsmelding-protokoll) holds a reporter, one or more
children, one or two guardians, the concern and its history. One row per child. What it
lacks is given in a `caselink` object beside its fields, with the CSV's column names:
`urgency` always (there is no default: a missing urgency would be read as routine), and
`categories`, `consent`, `consent_by`, ... as a school would. Mapped:

- `offentligMelder.virksomhet.orgnr` -> `school_urn` (the table's key for that school);
  `.navn` -> `school_name`; `personnavn`, `rolle`, `telefonnummer`, `epost` -> the recorder;
- `offentligBarn[].personnavn` -> forename(s) and surname (the last word);
  `fnr` -> `child_national_id` and `child_dob` (read from the number: D- and H-numbers and
  the tax office's synthetic test numbers included); `ufoedt` (unborn) is refused;
  `adresse` -> `address` and `postcode`; `orientert` (child told) -> `notes`;
- `foresatte[]` -> carers, as legal guardians with parental responsibility (that is what
  foresatt means); all `orientert` -> `parents_informed`, their `orientertGrunn` ->
  `not_informed_reason`;
- `melding.melding` -> `description`; `historie`, `andreSynspunkter`,
  `andreHjelpeinstanser`, `behovForTolk` (free text, not a language code) -> `notes`;
- `sendingstidspunkt` -> `recorded_at` (ISO 8601, as every date of a JSON report).
"""

from collections.abc import Mapping
from datetime import date
from typing import Any

from adapters.education.columns import COLUMNS, Cell

MARKER = "offentligMelder"
"""The key that tells a Norway-shaped report from one keyed by our columns."""


class NorwayError(ValueError):
    """The report does not have the schema's shape; the message names a field, no value."""


def _text(node: Any, key: str, *, required: bool = False) -> str:
    value = node.get(key) if isinstance(node, Mapping) else None
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise NorwayError(key)
    return value


def _object(node: Any, key: str) -> Mapping[str, Any]:
    value = node.get(key) if isinstance(node, Mapping) else None
    if not isinstance(value, Mapping):
        raise NorwayError(key)
    return value


def birth_date_of(fnr: str) -> date:
    """The birth date in a Norwegian national identity number (fødselsnummer, D- or H-number).

    Raises ValueError when it has no date in it.
    """
    if len(fnr) != 11 or not fnr.isdigit():
        raise ValueError("fnr")
    day, month, year = int(fnr[0:2]), int(fnr[2:4]), int(fnr[4:6])
    individual = int(fnr[6:9])
    if day > 40:  # D-number
        day -= 40
    if month > 80:  # the tax office's synthetic test numbers
        month -= 80
    elif month > 40:  # H-number
        month -= 40
    if individual < 500:
        century = 1900
    elif individual < 750 and year >= 54:
        century = 1800
    elif year < 40:
        century = 2000
    elif individual >= 900:
        century = 1900
    else:
        raise ValueError("fnr")
    return date(century + year, month, day)


def rows_of(report: Mapping[str, Any]) -> list[dict[str, Cell]]:
    """One row per child of a Norway-shaped report; raises NorwayError naming a field."""
    reporter = _object(report, "offentligMelder")
    workplace = _object(reporter, "virksomhet")
    message = _object(report, "melding")
    children = report.get("offentligBarn")
    guardians = report.get("foresatte")
    if not isinstance(children, list) or not children:
        raise NorwayError("offentligBarn")
    if not isinstance(guardians, list) or not 1 <= len(guardians) <= 2:
        raise NorwayError("foresatte")
    extension = report.get("caselink", {})
    if not isinstance(extension, Mapping) or not set(extension) <= set(COLUMNS):
        raise NorwayError("caselink")
    common: dict[str, Cell] = {
        "school_urn": _text(workplace, "orgnr", required=True),
        "school_name": _text(workplace, "navn"),
        "recorded_by": _text(reporter, "personnavn", required=True),
        "recorder_role": _text(reporter, "rolle", required=True),
        "recorder_phone": _text(reporter, "telefonnummer"),
        "recorder_email": _text(reporter, "epost"),
        "recorded_at": _text(report, "sendingstidspunkt"),
        "description": _text(message, "melding", required=True),
        **_guardians(guardians),
    }
    notes = [
        f"{label}: {value}"
        for label, value in (
            ("History", _text(message, "historie")),
            ("Other views", _text(message, "andreSynspunkter")),
            ("Other services involved", _text(report, "andreHjelpeinstanser")),
            ("Interpreter needed", _text(report, "behovForTolk")),
        )
        if value
    ]
    return [_child(child, common, notes) | dict(extension) for child in children]


def _guardians(guardians: list[Any]) -> dict[str, Cell]:
    names, phones, reasons = [], [], []
    informed = True
    for guardian in guardians:
        names.append(_text(guardian, "personnavn", required=True))
        phones.append(_text(guardian, "telefonnummer"))
        told = guardian.get("orientert") if isinstance(guardian, Mapping) else None
        if not isinstance(told, bool):
            raise NorwayError("orientert")
        if not told:
            informed = False
            reasons.append(_text(guardian, "orientertGrunn"))
    return {
        "carer_names": names,
        "carer_relations": ["legal_guardian"] * len(names),
        "carer_phones": phones if any(phones) else [],
        "carer_parental_responsibility": ["yes"] * len(names),
        "parents_informed": "yes" if informed else "no",
        "not_informed_reason": "; ".join(reason for reason in reasons if reason),
    }


def _child(child: Any, common: Mapping[str, Cell], notes: list[str]) -> dict[str, Cell]:
    if not isinstance(child, Mapping):
        raise NorwayError("offentligBarn")
    if child.get("ufoedt") is True:
        raise NorwayError("ufoedt")
    words = _text(child, "personnavn", required=True).split()
    if len(words) < 2:
        raise NorwayError("personnavn")
    fnr = _text(child, "fnr", required=True)
    try:
        born = birth_date_of(fnr).isoformat()
    except ValueError:
        raise NorwayError("fnr") from None
    address = child.get("adresse")
    lines = [_text(address, f"adresselinje{n}") for n in (1, 2, 3)]
    town = _text(address, "poststed")
    told = child.get("orientert")
    child_told = f"Child informed: {'yes' if told else 'no'}"
    if told is False and _text(child, "orientertGrunn"):
        child_told += f" ({_text(child, 'orientertGrunn')})"
    return {
        **common,
        "child_forename": " ".join(words[:-1]),
        "child_surname": words[-1],
        "child_dob": born,
        "child_national_id": fnr,
        "address": [line for line in [*lines, town] if line],
        "postcode": _text(address, "postnummer"),
        "notes": "\n".join([child_told, *notes]),
    }
