"""A dropped file's bytes as rows: CSV (RFC 4180, a header row) or JSON. Pure.

Both are read as UTF-8 with or without a byte-order mark. A file that cannot be read at all
(not UTF-8, not CSV or JSON, a header with an unknown or missing column, too many rows)
raises FileRefused; a row that cannot be read becomes an `Item` with its refusal, and the
others are still read. Items are numbered as a school sees them: a CSV row by its record
number counting the header as 1 (a spreadsheet's row number), a JSON report by its position
from 1, and a child of a Norway-shaped report as `report.child`.
"""

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.education import norway
from adapters.education.columns import COLUMNS, MULTI, Cell, Row, missing_columns
from adapters.education.mapping import Refusal
from broker.errors import CaselinkError

SUFFIXES = (".csv", ".json")


class FileRefused(CaselinkError):
    """The whole file is unreadable; `fields` names columns (or positions), never values."""

    reason = "unreadable_file"

    def __init__(self, reason: str, fields: tuple[str, ...] = ()) -> None:
        super().__init__(reason if not fields else f"{reason}: {', '.join(fields)}")
        self.reason = reason
        self.fields = fields


@dataclass(frozen=True)
class Item:
    """One report as read: its number in the file, and its row or why it is refused."""

    ref: str
    row: Row | None = None
    refusal: Refusal | None = None


@dataclass(frozen=True)
class Parsed:
    items: list[Item]
    iso_dates: bool


def parse(name: str, content: bytes, *, max_rows: int) -> Parsed:
    """The items of a file called `name` (its suffix says the format); raises FileRefused."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefused("not_utf8") from None
    if "\x00" in text:
        raise FileRefused("not_text")
    if name.lower().endswith(".csv"):
        items, iso = _csv(text, max_rows), False
    elif name.lower().endswith(".json"):
        items, iso = _json(text, max_rows), True
    else:
        raise FileRefused("unknown_format")
    return Parsed(items=items, iso_dates=iso)


def _csv(text: str, max_rows: int) -> list[Item]:
    # newline="" semantics: the csv module sees the file's own line ends, so a quoted cell
    # may hold a line break (RFC 4180 2.6).
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error:
        raise FileRefused("malformed_header") from None
    if header is None:
        raise FileRefused("empty_file")
    names = [name.strip() for name in header]
    unknown = [f"column {n}" for n, name in enumerate(names, 1) if name not in COLUMNS]
    if unknown:
        raise FileRefused("unknown_column", tuple(unknown))
    if len(set(names)) != len(names):
        raise FileRefused("repeated_column")
    missing = missing_columns(names)
    if missing:
        raise FileRefused("missing_column", tuple(missing))
    items: list[Item] = []
    record = 1
    while True:
        record += 1
        try:
            cells = next(reader, None)
        except csv.Error:
            # A broken quote: this record is refused; the reader goes on at the next line.
            items.append(Item(str(record), refusal=Refusal("malformed_csv_row")))
            continue
        if cells is None:
            return items
        if not cells or cells == [""]:
            continue  # a blank line: no record
        if len(items) >= max_rows:
            raise FileRefused("too_many_rows")
        if len(cells) != len(names):
            items.append(Item(str(record), refusal=Refusal("wrong_cell_count")))
            continue
        items.append(Item(str(record), row=dict(zip(names, cells, strict=True))))


def _json(text: str, max_rows: int) -> list[Item]:
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise FileRefused("malformed_json") from None
    if isinstance(document, Mapping) and norway.MARKER in document:
        reports: Any = [document]
    elif isinstance(document, Mapping) and set(document) == {"reports"}:
        reports = document["reports"]
    else:
        reports = document
    if not isinstance(reports, list):
        raise FileRefused("not_a_list_of_reports")
    if len(reports) > max_rows:
        raise FileRefused("too_many_rows")
    items: list[Item] = []
    for number, report in enumerate(reports, 1):
        items.extend(_report(str(number), report))
        if len(items) > max_rows:
            raise FileRefused("too_many_rows")
    return items


def _report(ref: str, report: Any) -> list[Item]:
    if not isinstance(report, Mapping):
        return [Item(ref, refusal=Refusal("not_an_object"))]
    if norway.MARKER in report:
        try:
            rows = norway.rows_of(report)
        except norway.NorwayError as error:
            return [Item(ref, refusal=Refusal("invalid_field", (str(error),)))]
        if len(rows) == 1:
            return [Item(ref, row=rows[0])]
        return [Item(f"{ref}.{n}", row=row) for n, row in enumerate(rows, 1)]
    unknown = [f"key {n}" for n, key in enumerate(report, 1) if key not in COLUMNS]
    if unknown:
        return [Item(ref, refusal=Refusal("unknown_field", tuple(unknown)))]
    row: dict[str, Cell] = {}
    wrong = []
    for key, value in report.items():
        if value is None:
            row[key] = ""
        elif isinstance(value, str) or (key in MULTI and isinstance(value, list)):
            row[key] = value
        else:
            wrong.append(key)
    if wrong:
        return [Item(ref, refusal=Refusal("invalid_field", tuple(wrong)))]
    return [Item(ref, row=row)]
