"""CSV exports of the dashboard's lists and per-agency figures (times in ISO 8601 UTC).

CSV stays English and untranslated whatever the user's language: its column names and
values (ids, categories, times, seconds) are for machines and scripts, which read the same
file from every coordinator; the pages are where people read them in their own language.
"""

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from broker.web.models import AgencyOut, AgencyWeekOut, ThreadOut

THREAD_COLUMNS = (
    "thread_id",
    "kind",
    "phase",
    "fhir_status",
    "urgency",
    "sender",
    "recipients",
    "acknowledged_by",
    "responsibility",
    "limbo_seconds",
    "accepted_seconds",
    "opened_at",
    "current_deadline",
    "overdue_seconds",
    "delivered_at",
    "responded_at",
    "closed_at",
    "sender_name",
    "recipient_names",
)
"""The names come last, from the directory: a script reading the earlier columns by position
reads what it did before."""
AGENCY_COLUMNS = (
    "agency",
    "open",
    "overdue",
    "median_receipt_s",
    "median_answer_s",
    "agency_name",
)
AGENCY_WEEK_COLUMNS = (
    "agency",
    "agency_name",
    "week",
    "received",
    "overdue",
    "median_receipt_s",
    "median_answer_s",
)


def threads_csv(items: Sequence[ThreadOut]) -> str:
    """One row per thread, with a header row; several recipients are joined by `;`."""
    rows = (
        [
            t.thread_id,
            t.kind,
            t.phase,
            t.fhir_status,
            t.urgency,
            t.sender,
            ";".join(t.recipients),
            ";".join(t.acknowledged_by),
            t.responsibility,
            t.limbo_seconds,
            t.accepted_seconds,
            _iso(t.opened_at),
            _iso(t.current_deadline),
            t.overdue_seconds,
            _iso(t.delivered_at),
            _iso(t.responded_at),
            _iso(t.closed_at),
            t.agency_names.get(t.sender or "", ""),
            # In the order of `recipients`; an agency the directory does not name is empty.
            ";".join(t.agency_names.get(r, "") for r in t.recipients),
        ]
        for t in items
    )
    return _write(THREAD_COLUMNS, rows)


def agencies_csv(figures: Sequence[AgencyOut]) -> str:
    """One row per agency, with a header row."""
    rows = (
        [f.agency, f.open, f.overdue, f.median_receipt_s, f.median_answer_s, f.agency_name]
        for f in figures
    )
    return _write(AGENCY_COLUMNS, rows)


def agency_weeks_csv(weeks: Sequence[AgencyWeekOut]) -> str:
    """One row per agency and week (the Monday, YYYY-MM-DD), with a header row."""
    rows = (
        [
            w.agency,
            w.agency_name,
            w.week,
            w.received,
            w.overdue,
            w.median_receipt_s,
            w.median_answer_s,
        ]
        for w in weeks
    )
    return _write(AGENCY_WEEK_COLUMNS, rows)


def _write(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # Spreadsheets run a cell starting with = + - @ as a formula; ids and slugs never start so,
    # but an export must stay inert whatever a store hands back.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def file_stamp(now: float) -> str:
    """The moment of an export in its file name: 2024-05-01T1403Z (UTC, no colons)."""
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H%MZ")


def _iso(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
