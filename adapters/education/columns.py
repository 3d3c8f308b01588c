"""The school export's column set: names, which are required, and multi-value cells.

Drawn from what school safeguarding records (CPOMS, MyConcern, KCSIE) and UK multi-agency
referral forms hold. A CSV file has a header row naming these columns in any order; a JSON
report uses the same names as keys, with arrays for the multi-value columns. A column not
listed here refuses the whole file: a renamed export column would otherwise be dropped
without anyone noticing.
"""

from collections.abc import Mapping, Sequence

COLUMNS: tuple[str, ...] = (
    "record_id",
    "school_urn",
    "school_name",
    "child_forename",
    "child_surname",
    "child_dob",
    "child_gender",
    "child_upn",
    "child_national_id",
    "year_group",
    "address",
    "postcode",
    "carer_names",
    "carer_relations",
    "carer_phones",
    "carer_parental_responsibility",
    "categories",
    "description",
    "child_words",
    "observed_at",
    "location",
    "recorded_at",
    "action_taken",
    "notes",
    "recorded_by",
    "recorder_role",
    "recorder_phone",
    "recorder_email",
    "parents_informed",
    "not_informed_reason",
    "consent",
    "consent_by",
    "consent_by_relation",
    "no_consent_reason",
    "urgency",
    "requested_service",
    "linked_children",
    "interpreter_language",
)

REQUIRED: frozenset[str] = frozenset(
    {
        "school_urn",
        "child_forename",
        "child_surname",
        "child_dob",
        "description",
        "recorded_by",
        "recorder_role",
        "consent",
        "urgency",
    }
)
"""Columns a CSV header must name (a row may still leave optional ones empty)."""

MULTI: frozenset[str] = frozenset(
    {
        "address",
        "carer_names",
        "carer_relations",
        "carer_phones",
        "carer_parental_responsibility",
        "categories",
        "linked_children",
        "interpreter_language",
    }
)
"""Columns holding several values: one CSV cell separated by `;`, or a JSON array."""

SEPARATOR = ";"

Cell = str | list[str]
Row = Mapping[str, Cell]
"""One report as read: column name to its cell (a list only for MULTI columns from JSON)."""


def unknown_columns(names: Sequence[str]) -> list[str]:
    """The names that are not columns, in the order given."""
    known = set(COLUMNS)
    return [name for name in names if name not in known]


def missing_columns(names: Sequence[str]) -> list[str]:
    """The required columns `names` lacks, in COLUMNS order."""
    given = set(names)
    return [name for name in COLUMNS if name in REQUIRED and name not in given]


def one(row: Row, column: str) -> str:
    """The cell stripped, "" when absent; a list (from JSON) is not one value: ValueError."""
    cell = row.get(column, "")
    if not isinstance(cell, str):
        raise ValueError(column)
    return cell.strip()


def many(row: Row, column: str) -> list[str]:
    """The values of a multi-value cell, stripped; empty values kept so lists stay parallel.

    An empty cell is no values at all; a JSON array holding anything but strings raises
    ValueError.
    """
    cell = row.get(column, "")
    items = cell.split(SEPARATOR) if isinstance(cell, str) else cell
    if not all(isinstance(item, str) for item in items):
        raise ValueError(column)
    stripped = [item.strip() for item in items]
    return [] if stripped in ([], [""]) else stripped


def joined(values: Sequence[str]) -> str:
    """Several values as one CSV cell."""
    return SEPARATOR.join(values)
