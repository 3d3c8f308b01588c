"""Synthetic school exports for the benchmark, the demo and the tests: no real person."""

import csv
import io
from collections.abc import Mapping, Sequence

from adapters.education.columns import COLUMNS

SAMPLE_URN = "100001"


def sample_row(**overrides: str) -> dict[str, str]:
    """One realistic report of concern as CSV cells (dates DD/MM/YYYY), consent given."""
    row = dict.fromkeys(COLUMNS, "")
    row |= {
        "record_id": "CP-2025-0147",
        "school_urn": SAMPLE_URN,
        "school_name": "Hillside Primary School",
        "child_forename": "Maya",
        "child_surname": "Okafor",
        "child_dob": "14/03/2016",
        "child_gender": "female",
        "child_upn": "H801200001001",
        "year_group": "Year 4",
        "address": "12 Alder Row;Eastfield",
        "postcode": "EF1 2AB",
        "carer_names": "Grace Okafor;Daniel Okafor",
        "carer_relations": "mother;father",
        "carer_phones": "+44 7700 900123;",
        "carer_parental_responsibility": "yes;yes",
        "categories": "Neglect;Attendance",
        "description": "Maya has come to school hungry on most days this half term and "
        "was wearing the same clothes all week; she fell asleep in class twice.",
        "child_words": "There isn't any food at home after Wednesday.",
        "observed_at": "03/02/2025 09:15",
        "location": "Classroom 4B",
        "recorded_at": "03/02/2025 12:40",
        "action_taken": "Breakfast club place offered; DSL informed the same morning.",
        "recorded_by": "Priya Shah",
        "recorder_role": "Designated safeguarding lead",
        "recorder_phone": "+44 20 7946 0123",
        "recorder_email": "dsl@hillside.example",
        "parents_informed": "yes",
        "consent": "yes",
        "consent_by": "Grace Okafor",
        "consent_by_relation": "parent",
        "urgency": "urgent",
    }
    return row | overrides


def sample_concern_csv(rows: Sequence[Mapping[str, str]] | None = None) -> bytes:
    """A school's export: a header row and `rows` (one sample row by default), UTF-8 with a
    byte-order mark, as spreadsheet programs write it."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows if rows is not None else [sample_row()]:
        writer.writerow(row)
    return buffer.getvalue().encode("utf-8-sig")
