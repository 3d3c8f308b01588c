"""The receipt of one dropped file, as CSV and as JSON, row by row. Pure.

A receipt says, for each row, `sent` with its thread id or `refused` with a reason category
and the columns at fault; never a value from the row. The CSV is for a school's
spreadsheet, so every cell is quoted (RFC 4180) and any cell that begins with `=`, `+`, `-`,
`@`, tab, carriage return, line feed or NUL gets a leading `'` (OWASP CSV injection, ASVS
5.0 1.2.10): the file name and header positions come from the school's side and would
otherwise run as formulas. The JSON keeps the same values raw. The CSV is written UTF-8
with a byte-order mark so that spreadsheets read it as UTF-8.
"""

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Literal

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\x00")

CSV_HEADER = ("file", "sha256", "row", "outcome", "thread_id", "reason", "fields")

Outcome = Literal["sent", "refused"]
FileOutcome = Literal["processed", "refused", "duplicate"]


@dataclass(frozen=True)
class Line:
    """One row's fate: sent (thread and message id) or refused (reason and columns)."""

    row: str
    outcome: Outcome
    thread_id: str | None = None
    message_id: str | None = None
    reason: str | None = None
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Receipt:
    """The fate of one file: processed row by row, refused whole, or a duplicate."""

    file: str
    sha256: str
    processed_at: str
    outcome: FileOutcome
    reason: str | None = None
    fields: tuple[str, ...] = ()
    lines: list[Line] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(1 for line in self.lines if line.outcome == "sent")

    @property
    def refused(self) -> int:
        return sum(1 for line in self.lines if line.outcome == "refused")


def neutralise(cell: str) -> str:
    """`cell` as a spreadsheet shows it as text, never runs it as a formula."""
    return "'" + cell if cell.startswith(FORMULA_TRIGGERS) else cell


def receipt_csv(receipt: Receipt) -> bytes:
    """The receipt as CSV: a header, then one line per row (one line for a whole file)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    head = (receipt.file, receipt.sha256)
    rows: list[tuple[str, ...]]
    if receipt.outcome != "processed":
        rows = [(*head, "", receipt.outcome, "", receipt.reason or "", ";".join(receipt.fields))]
    else:
        rows = [
            (
                *head,
                line.row,
                line.outcome,
                line.thread_id or "",
                line.reason or "",
                ";".join(line.fields),
            )
            for line in receipt.lines
        ]
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return buffer.getvalue().encode("utf-8-sig")


def receipt_json(receipt: Receipt) -> bytes:
    """The receipt as JSON, values raw (JSON has no formulas)."""
    document = {
        "file": receipt.file,
        "sha256": receipt.sha256,
        "processed_at": receipt.processed_at,
        "outcome": receipt.outcome,
        "reason": receipt.reason,
        "fields": list(receipt.fields),
        "sent": receipt.sent,
        "refused": receipt.refused,
        "rows": [
            {
                "row": line.row,
                "outcome": line.outcome,
                "thread_id": line.thread_id,
                "message_id": line.message_id,
                "reason": line.reason,
                "fields": list(line.fields),
            }
            for line in receipt.lines
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
