"""The Agencies page's trends as SVG drawn on the server (pure: figures in, markup out).

Per agency, three small charts over the weeks of the last year: referrals and transfers
received with those overdue at their deadline drawn over them, the median time to receipt
and the median time to answer. Plain SVG in the page, so they show without JavaScript and
print. Colours and fonts come from the stylesheet's classes: the CSP allows no inline style
or script, so nothing here sets `style` or an event attribute. Every bar carries its figure
(`data-week`, `data-value`) and a `<title>` a pointer shows; every value is escaped.
"""

from collections.abc import Callable, Sequence
from itertools import groupby

from broker.web.models import AgencyWeekOut
from broker.web.render import duration, e

BAR, GAP = 8, 2  # px per week and between weeks
LEFT, TOP, PLOT_H, BOTTOM = 64, 16, 90, 22  # margins and the plot's height, px
TICK_EVERY = 13  # a date under every 13th week: about a quarter


def trend_charts(weeks: Sequence[AgencyWeekOut]) -> str:
    """A section per agency (in the order given, weeks ascending), or a note when none."""
    if not weeks:
        return '<p class="muted">No referrals or transfers in the last year.</p>'
    sections = [_agency_section(list(group)) for _, group in groupby(weeks, key=lambda w: w.agency)]
    return '<div class="trends">' + "".join(sections) + "</div>"


def _agency_section(weeks: list[AgencyWeekOut]) -> str:
    first = weeks[0]
    label = first.agency_name or first.agency
    heading = (
        f"<h3>{e(label)} <small>{e(first.agency)}</small></h3>"
        if first.agency_name
        else f"<h3>{e(first.agency)}</h3>"
    )
    received = sum(w.received for w in weeks)
    overdue = sum(w.overdue for w in weeks)
    return (
        f'<section class="trend" data-agency="{e(first.agency)}">{heading}'
        f'<p class="muted">{received} received, {overdue} overdue at the deadline, '
        f"weeks of {e(first.week)} to {e(weeks[-1].week)}.</p>"
        f"{_counts_chart(label, weeks)}"
        + _duration_chart(label, "receipt", weeks, lambda w: w.median_receipt_s)
        + _duration_chart(label, "answer", weeks, lambda w: w.median_answer_s)
        + "</section>"
    )


def _counts_chart(label: str, weeks: list[AgencyWeekOut]) -> str:
    top = _nice(max((w.received for w in weeks), default=0))
    bars = []
    for index, w in enumerate(weeks):
        bars.append(
            _bar("received", index, w.received, top, w.week, f"{w.received} received")
            + _bar("overdue", index, w.overdue, top, w.week, f"{w.overdue} overdue at the deadline")
        )
    legend = (
        '<g class="legend">'
        f'<rect class="bar received" x="{LEFT}" y="0" width="8" height="8"/>'
        f'<text x="{LEFT + 12}" y="8">received</text>'
        f'<rect class="bar overdue" x="{LEFT + 80}" y="0" width="8" height="8"/>'
        f'<text x="{LEFT + 92}" y="8">overdue at the deadline</text></g>'
    )
    title = f"{label}: referrals and transfers received, and overdue at the deadline, per week"
    return _svg("counts", title, weeks, str(top), legend + "".join(bars))


def _duration_chart(
    label: str,
    kind: str,
    weeks: list[AgencyWeekOut],
    value: Callable[[AgencyWeekOut], float | None],
) -> str:
    values = [value(w) for w in weeks]
    top = max((v for v in values if v is not None), default=0.0)
    bars = "".join(
        _bar(kind, index, v, top, w.week, f"median {duration(v)}")
        if v is not None
        else ""  # no answer that week: no bar, and no zero that would read as instant
        for index, (w, v) in enumerate(zip(weeks, values, strict=True))
    )
    caption = f"median time to {kind}"
    legend = (
        f'<g class="legend"><rect class="bar {e(kind)}" x="{LEFT}" y="0" width="8" height="8"/>'
        f'<text x="{LEFT + 12}" y="8">{e(caption)}</text></g>'
    )
    title = f"{label}: {caption}, per week"
    return _svg(kind, title, weeks, duration(top) if top else "0", legend + bars)


def _bar(kind: str, index: int, value: float, top: float, week: str, said: str) -> str:
    height = 0.0 if top <= 0 else PLOT_H * value / top
    x = LEFT + index * (BAR + GAP)
    y = TOP + PLOT_H - height
    shown = int(value) if float(value).is_integer() else round(value, 1)
    return (
        f'<rect class="bar {e(kind)}" x="{x}" y="{y:.1f}" width="{BAR}" height="{height:.1f}" '
        f'data-week="{e(week)}" data-value="{e(shown)}">'
        f"<title>Week of {e(week)}: {e(said)}</title></rect>"
    )


def _svg(kind: str, title: str, weeks: list[AgencyWeekOut], top_label: str, body: str) -> str:
    width = LEFT + len(weeks) * (BAR + GAP) + 8
    height = TOP + PLOT_H + BOTTOM
    base = TOP + PLOT_H
    ticks = "".join(
        f'<text class="tick" x="{LEFT + i * (BAR + GAP)}" y="{base + 16}">{e(w.week)}</text>'
        for i, w in enumerate(weeks)
        if i % TICK_EVERY == 0
    )
    axes = (
        f'<line class="axis" x1="{LEFT - 2}" y1="{base}" x2="{width - 4}" y2="{base}"/>'
        f'<line class="axis" x1="{LEFT - 2}" y1="{TOP}" x2="{LEFT - 2}" y2="{base}"/>'
        f'<text class="scale" x="{LEFT - 6}" y="{TOP + 8}">{e(top_label)}</text>'
        f'<text class="scale" x="{LEFT - 6}" y="{base}">0</text>'
    )
    return (
        f'<svg class="chart trend-chart {e(kind)}" role="img" aria-label="{e(title)}" '
        f'data-chart="{e(kind)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{e(title)}</title>{axes}{ticks}{body}</svg>'
    )


def _nice(top: int) -> int:
    """A round scale maximum at or above `top` (at least 1): 1, 2, 5, 10, 20, 50..."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= top:
                return step * factor
        step *= 10
