"""Coordinators never see case content: every word on every page comes from the code's own
wording or from the tracker's records (ids, agencies, kinds, urgencies, phases, times)."""

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

import broker.look
import broker.web
from broker.look import Formats
from broker.tracker.memory_store import MemoryTrackerStore
from broker.tracker.state import FhirTaskStatus, Phase
from broker.web.models import AgencyOut, AgencyWeekOut, ThreadOut, TimelineOut
from schemas.kinds import AckStatus, ConsentStatus, LawfulBasis, MessageKind, Urgency
from tests.unit.web.conftest import Client
from tests.unit.web.seed import NAMES, Scenario

_WORD = re.compile(r"[A-Za-z]+")


class _Visible(HTMLParser):
    """Collects text and attribute values: everything a page could carry to its reader."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parts.extend(value for _, value in attrs if value)


def visible(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join(parser.parts)


def code_words() -> set[str]:
    """Every word in a string literal of broker/web and of the shared look (broker/look), and
    in the templates it renders (its own and the look's): the dashboard's own wording; and
    the words English dates and spans are written with (month names, AM and PM, units).

    Docstrings are left out: they are never shown, and their prose would let almost any
    leaked word pass as the dashboard's own.
    """
    words = template_words() | format_words()
    folders = (Path(broker.web.__file__).parent, Path(broker.look.__file__).parent)
    for path in (path for folder in folders for path in folder.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(doc) for node in ast.walk(tree) if (doc := _docstring(node)) is not None}
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
            ):
                words |= set(_WORD.findall(node.value))
    return words


def template_words() -> set[str]:
    """The words of every template the dashboard renders, their comments left out."""
    words: set[str] = set()
    for package in (broker.web, broker.look):
        for path in (Path(package.__file__).parent / "templates").glob("*.html"):
            text = re.sub(r"\{#.*?#\}", " ", path.read_text(encoding="utf-8"), flags=re.S)
            words |= set(_WORD.findall(text))
    return words


def format_words() -> set[str]:
    """The words of English times, dates and spans: a day in each month, morning and
    afternoon, spans from seconds to days."""
    fmt, words = Formats("en"), set()
    for month in range(12):
        moment = 1_700_000_000 + month * 31 * 86400 + month * 43200
        words |= set(_WORD.findall(f"{fmt.when(moment)} {fmt.day(moment)} {fmt.clock(moment)}"))
    for seconds in (1, 60, 3600, 86400, 3 * 86400):
        words |= set(_WORD.findall(f"{fmt.span(seconds)} {fmt.duration(seconds)}"))
    return words


def _docstring(node: ast.AST) -> ast.Constant | None:
    if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    first = node.body[0] if node.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        return first.value if isinstance(first.value.value, str) else None
    return None


async def record_values(store: MemoryTrackerStore, scenario: Scenario) -> set[str]:
    values = {
        v.value
        for enum in (
            Phase,
            FhirTaskStatus,
            Urgency,
            MessageKind,
            AckStatus,
            ConsentStatus,
            LawfulBasis,
        )
        for v in enum
    }
    for thread_id in scenario.ids.values():
        values |= {thread_id, thread_id[:8]}  # lists show an id's first 8 characters
        for entry in await store.timeline(thread_id):
            values |= {entry.message_id, entry.sender, entry.recipient, entry.kind}
    return values


def test_models_carry_ids_categories_and_times_only() -> None:
    assert set(ThreadOut.model_fields) == {
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
        "respond_by",
        "delivered_at",
        "responded_at",
        "closed_at",
        "current_deadline",
        "overdue_seconds",
        "updated_at",
        "basis",  # a lawful basis category
        "agency_names",  # from the verified directory: configuration, not a case
    }
    assert set(TimelineOut.model_fields) == {
        "message_id",
        "kind",
        "sender",
        "recipient",
        "status",
        "issued_at",
        "received_at",
    }
    assert set(AgencyOut.model_fields) == {
        "agency",
        "agency_name",
        "open",
        "overdue",
        "median_receipt_s",
        "median_answer_s",
    }
    assert set(AgencyWeekOut.model_fields) == {
        "agency",
        "agency_name",
        "week",
        "week_start",
        "received",
        "overdue",
        "median_receipt_s",
        "median_answer_s",
    }


async def test_pages_hold_nothing_but_records_and_wording(
    cora: Client, store: MemoryTrackerStore, scenario: Scenario
) -> None:
    allowed_words = code_words()
    # The signed-in user's name comes from the users file: configuration, not a case.
    # Agency names come from the verified directory: configuration too.
    found = await record_values(store, scenario) | {"cora"} | set(NAMES.values())
    values = sorted(found, key=len, reverse=True)
    paths = [
        "/unanswered",
        "/declined",
        "/transfers",
        "/transfers-taken",
        "/accepted",
        "/consent-withdrawals",
        "/agencies",
        *(f"/threads/{thread_id}" for thread_id in scenario.ids.values()),
    ]
    for path in paths:
        text = visible((await cora.get(path)).text)
        for value in values:  # longest first, so an id is not half-removed by an agency name
            text = re.sub(rf"(?<![A-Za-z0-9-]){re.escape(value)}(?![A-Za-z0-9-])", " ", text)
        strangers = set(_WORD.findall(text)) - allowed_words
        assert not strangers, f"{path} shows words from neither the code nor a record"
