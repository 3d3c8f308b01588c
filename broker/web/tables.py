"""HTML for the dashboard's tables, filter form and per-agency chart (escaped via `e`)."""

from collections.abc import Iterable, Sequence

from broker.tracker.state import Phase
from broker.web.models import AgencyOut, ThreadOut, TimelineOut, ViewOut
from broker.web.names import AgencyNames
from broker.web.queries import Filters, Listing, ThreadKind
from broker.web.render import Markup, agencies, agency, cell, duration, e, when
from schemas.kinds import Urgency

_THREAD_HEAD = ("Thread", "Kind", "Urgency", "State", "From", "To", "Opened", "Deadline")
# Transfer lists say who holds each case now; those in limbo, for how long.
_TRANSFER_LISTS = frozenset({Listing.TRANSFERS, Listing.TRANSFERS_TAKEN})
_ANSWERED_LISTS = frozenset({Listing.DECLINED, Listing.TRANSFERS_TAKEN})


def filter_form(listing_path: str, filters: Filters, export_path: str | None) -> str:
    """The GET form that narrows a list; `export_path` adds a CSV link with the same filters."""
    query = filters.query()
    export = ""
    if export_path is not None:
        href = export_path + (f"?{query}" if query else "")
        export = f'<a href="{e(href)}" download>Export CSV</a>'
    return (
        f'<form class="filters" method="get" action="{e(listing_path)}">'
        f'<label>Agency <input name="agency" value="{e(filters.agency)}" size="16" '
        'placeholder="any" pattern="[a-z][a-z0-9\\-]{1,30}[a-z0-9]"></label>'
        f"{_select('kind', 'Kind', list(ThreadKind), filters.kind)}"
        f"{_select('urgency', 'Urgency', list(Urgency), filters.urgency)}"
        f"{_select('state', 'State', list(Phase), filters.state)}"
        f'<button type="submit">Apply</button><a href="{e(listing_path)}">Clear</a>{export}</form>'
    )


def thread_table(items: Sequence[ThreadOut], listing: Listing, now: int, names: AgencyNames) -> str:
    """The rows of one list; overdue rows are red and say by how much."""
    if not items:
        return '<p class="muted" data-empty>Nothing here right now.</p>'
    head = "".join(f"<th>{e(label)}</th>" for label in _head(listing))
    rows = "".join(_thread_row(item, listing, now, names) for item in items)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def thread_facts(item: ThreadOut, now: int, names: AgencyNames) -> str:
    """The facts of one thread as a definition list."""
    acknowledged = set(item.acknowledged_by)
    legs = Markup(
        ", ".join(
            agency(r, names) + (" (answered)" if r in acknowledged else " (no answer yet)")
            for r in item.recipients
        )
    )
    facts: list[tuple[str, object]] = [
        ("Thread", item.thread_id),
        ("Kind", item.kind),
        ("State", _state(item)),
        ("Urgency", item.urgency),
        ("From", agency(item.sender, names)),
        ("To", legs),
        ("Holder now", None if item.responsibility is None else agency(item.responsibility, names)),
        ("In limbo for", _span(item.limbo_seconds)),
        ("Accepted, awaiting the outcome for", _span(item.accepted_seconds)),
        ("Shared without consent, under", item.basis),
        ("Opened", when(item.opened_at)),
        ("Respond by (header)", when(item.respond_by)),
        ("Delivered", when(item.delivered_at)),
        ("Answered", when(item.responded_at)),
        ("Closed", when(item.closed_at)),
        ("Current deadline", when(item.current_deadline)),
        ("Lateness", _lateness(item, now)),
    ]
    shown = "".join(
        f"<dt>{e(label)}</dt><dd>{cell(value if value not in (None, '') else chr(0x2014))}</dd>"
        for label, value in facts
    )
    return f'<dl class="facts">{shown}</dl>'


def timeline_table(entries: Sequence[TimelineOut], names: AgencyNames) -> str:
    """A thread's events in issued order."""
    if not entries:
        return '<p class="muted">No events.</p>'
    rows = "".join(
        "<tr>"
        + _cells(
            [
                when(x.issued_at),
                x.kind,
                x.status,
                agency(x.sender, names),
                agency(x.recipient, names),
                when(x.received_at),
            ]
        )
        + f'<td class="muted">{e(x.message_id)}</td></tr>'
        for x in entries
    )
    head = _cells(["Issued", "Kind", "Status", "From", "To", "Seen by tracker", "Message"], "th")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def views_table(views: Sequence[ViewOut]) -> str:
    """The audit trail of who looked at a thread."""
    rows = "".join(f"<tr>{_cells([v.user, when(v.at)])}</tr>" for v in views)
    return f"<table><thead><tr>{_cells(['User', 'Viewed at'], 'th')}</tr></thead>{rows}</table>"


def agency_table(figures: Sequence[AgencyOut], names: AgencyNames) -> str:
    """Per-agency open and overdue counts with median times."""
    if not figures:
        return '<p class="muted">No agency figures yet.</p>'
    head = _cells(["Agency", "Open", "Overdue", "Median to receipt", "Median to answer"], "th")
    rows = "".join(
        f"<tr{' class=overdue' if f.overdue else ''}>{_cells(_figure_cells(f, names))}</tr>"
        for f in figures
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def agency_chart(figures: Sequence[AgencyOut], names: AgencyNames) -> str:
    """Inline SVG: one pair of bars per agency, open (blue) and overdue (red); colours come
    from the stylesheet's classes (the CSP allows no inline style)."""
    if not figures:
        return ""
    label_w, bar_w, row_h = 170, 360, 34
    top = max(max(f.open, f.overdue) for f in figures) or 1
    height = row_h * len(figures) + 24
    parts = [
        f'<svg class="chart" role="img" width="{label_w + bar_w + 60}" height="{height}" '
        f'viewBox="0 0 {label_w + bar_w + 60} {height}"><title>Open and overdue by agency</title>',
        f'<rect class="bar open" x="{label_w}" y="2" width="10" height="10"/>'
        f'<text x="{label_w + 14}" y="11">open</text>'
        f'<rect class="bar overdue" x="{label_w + 60}" y="2" width="10" height="10"/>'
        f'<text x="{label_w + 74}" y="11">overdue</text>',
    ]
    for index, f in enumerate(figures):
        y = 24 + index * row_h
        label = names(f.agency) or f.agency
        parts.append(
            f'<text x="0" y="{y + 18}" data-agency="{e(f.agency)}">'
            f"<title>{e(f.agency)}</title>{e(label[:26])}</text>"
        )
        for offset, count, kind in ((0, f.open, "open"), (14, f.overdue, "overdue")):
            width = round(bar_w * count / top)
            parts.append(
                f'<rect class="bar {kind}" x="{label_w}" y="{y + offset}" width="{width}" '
                f'height="12" data-agency="{e(f.agency)}" data-value="{count}"/>'
                f'<text x="{label_w + width + 4}" y="{y + offset + 10}">{count}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _figure_cells(f: AgencyOut, names: AgencyNames) -> list[object]:
    return [
        agency(f.agency, names),
        f.open,
        f.overdue,
        duration(f.median_receipt_s),
        duration(f.median_answer_s),
    ]


def _head(listing: Listing) -> list[str]:
    head = list(_THREAD_HEAD)
    if listing in _TRANSFER_LISTS:
        head.insert(head.index("To") + 1, "Holder now")
    if listing is Listing.TRANSFERS:
        head.append("In limbo for")
    if listing is Listing.ACCEPTED:
        head.append("Accepted for")
    if listing in _ANSWERED_LISTS:
        head.append("Answered")
    elif listing is Listing.SHARED_WITHOUT_CONSENT:
        head.append("Lawful basis")
    else:
        head.append("Lateness")
    return head


def _thread_row(item: ThreadOut, listing: Listing, now: int, names: AgencyNames) -> str:
    overdue = item.overdue_seconds is not None
    link = f'<a href="/threads/{e(item.thread_id)}" title="{e(item.thread_id)}">'
    if listing in _ANSWERED_LISTS:
        last = when(item.responded_at)
    elif listing is Listing.SHARED_WITHOUT_CONSENT:
        last = str(item.basis or "")
    else:
        last = _lateness(item, now)
    values: list[object] = [item.kind, item.urgency, _state(item), agency(item.sender, names)]
    values.append(_to(item, listing, names))
    if listing in _TRANSFER_LISTS:
        values.append(None if item.responsibility is None else agency(item.responsibility, names))
    values += [when(item.opened_at), when(item.current_deadline)]
    if listing is Listing.TRANSFERS:
        values.append(_span(item.limbo_seconds))
    if listing is Listing.ACCEPTED:
        values.append(_span(item.accepted_seconds))
    cells = _cells(values)
    return (
        f'<tr data-thread="{e(item.thread_id)}"{" class=overdue" if overdue else ""}>'
        f"<td>{link}{e(item.thread_id[:8])}\u2026</a></td>{cells}"
        f"<td{' class=late' if overdue else ''}>{e(last)}</td></tr>"
    )


def _to(item: ThreadOut, listing: Listing, names: AgencyNames) -> Markup:
    if listing is not Listing.CONSENT_WITHDRAWALS:
        return agencies(item.recipients, names)
    # A withdrawal goes to many agencies: the coordinator chases the ones still silent.
    done = set(item.acknowledged_by)
    return agencies(item.recipients, names, waiting=[r for r in item.recipients if r not in done])


def _state(item: ThreadOut) -> str:
    return f"{item.phase} ({item.fhir_status})" if item.fhir_status else str(item.phase)


def _span(seconds: int | None) -> str:
    return "" if seconds is None else duration(seconds)


def _lateness(item: ThreadOut, now: int) -> str:
    if item.overdue_seconds is not None:
        return f"late by {duration(item.overdue_seconds)}"
    if item.current_deadline is not None and item.closed_at is None:
        return f"due in {duration(item.current_deadline - now)}"
    return ""


def _cells(values: Iterable[object], tag: str = "td") -> str:
    return "".join(f"<{tag}>{cell(value)}</{tag}>" for value in values)


def _select(name: str, label: str, choices: Sequence[str], chosen: str | None) -> str:
    options = ['<option value="">any</option>'] + [
        f'<option value="{e(c)}"{" selected" if c == chosen else ""}>{e(c)}</option>'
        for c in choices
    ]
    return f'<label>{e(label)} <select name="{e(name)}">{"".join(options)}</select></label>'
