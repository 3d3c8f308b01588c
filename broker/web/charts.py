"""The Agencies page's charts as geometry (pure: figures in, positions out); the markup, the
words and the formatting of each figure are the template's (`templates/charts.html`).

The bar chart of now: a pair of bars per agency, open and overdue. The trends: per agency,
three small charts over the weeks of the last year: referrals and transfers received with
those overdue at their deadline drawn over them, the median time to receipt and the median
time to answer. Drawn on the server as SVG, so they show without JavaScript and print; each
bar carries its figure (`data-week`, `data-value`), which the browser test compares with
the JSON API's.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import groupby

from broker.web.models import AgencyOut, AgencyWeekOut

BAR, GAP = 8, 2  # px per week and between weeks
LEFT, TOP, PLOT_H, BOTTOM = 64, 16, 90, 22  # margins and the plot's height, px
TICK_EVERY = 13  # a date under every 13th week: about a quarter
LABEL_W, NOW_BAR_W, ROW_H = 170, 360, 34  # the bar chart of now: label column, bars, rows
LABEL_CHARS = 26  # an agency's name is cut to this in the bar chart (its table has it all)


@dataclass(frozen=True)
class Bar:
    """One bar: its stylesheet class (`received`, `overdue`, `receipt`, `answer`, `open`),
    where it is drawn, and the figure it stands for (a count, or seconds)."""

    kind: str
    x: float
    y: float
    width: float
    height: float
    value: float
    week_start: int | None = None  # a trend's week (Monday 00:00 UTC), Unix seconds
    week: str = ""  # the same, YYYY-MM-DD

    @property
    def data_value(self) -> str:
        """The figure as `data-value` holds it: whole numbers without a decimal point."""
        return str(int(self.value)) if float(self.value).is_integer() else str(round(self.value, 1))


@dataclass(frozen=True)
class Tick:
    """A week's date under the axis."""

    x: float
    y: float
    week_start: int


@dataclass(frozen=True)
class Chart:
    """One trend chart: its size, axis positions, scale maximum (`top`), bars and ticks."""

    kind: str  # counts, receipt or answer
    width: int
    height: int
    base: int  # the y of the axis
    top: float
    bars: list[Bar]
    ticks: list[Tick]
    left: int = LEFT
    plot_top: int = TOP


@dataclass(frozen=True)
class Trend:
    """One agency's year: its totals and its three charts."""

    agency: str
    agency_name: str | None
    first_week: int  # Unix seconds
    last_week: int
    received: int
    overdue: int
    counts: Chart
    receipt: Chart
    answer: Chart


@dataclass(frozen=True)
class NowRow:
    """One agency's row in the bar chart of now."""

    agency: str
    label: str  # its name (cut to LABEL_CHARS), or its id
    y: int
    bars: list[Bar]


@dataclass(frozen=True)
class NowChart:
    """The bar chart of open and overdue threads per agency."""

    width: int
    height: int
    rows: list[NowRow]
    label_w: int = LABEL_W


def now_chart(figures: Sequence[AgencyOut]) -> NowChart | None:
    """Open (blue) and overdue (red) per agency, on one scale; None without figures."""
    if not figures:
        return None
    top = max(max(f.open, f.overdue) for f in figures) or 1
    rows = []
    for index, f in enumerate(figures):
        y = 24 + index * ROW_H
        bars = [
            Bar(kind, LABEL_W, y + offset, round(NOW_BAR_W * count / top), 12, count)
            for offset, count, kind in ((0, f.open, "open"), (14, f.overdue, "overdue"))
        ]
        label = (f.agency_name or f.agency)[:LABEL_CHARS]
        rows.append(NowRow(f.agency, label, y, bars))
    return NowChart(LABEL_W + NOW_BAR_W + 60, ROW_H * len(figures) + 24, rows)


def trends(weeks: Sequence[AgencyWeekOut]) -> list[Trend]:
    """A trend per agency, in the order given (weeks ascending within each)."""
    return [_trend(list(group)) for _, group in groupby(weeks, key=lambda w: w.agency)]


def _trend(weeks: list[AgencyWeekOut]) -> Trend:
    first = weeks[0]
    counts_top = _nice(max((w.received for w in weeks), default=0))
    counts = [
        _bar(kind, index, value, counts_top, w)
        for index, w in enumerate(weeks)
        for kind, value in (("received", w.received), ("overdue", w.overdue))
    ]
    return Trend(
        agency=first.agency,
        agency_name=first.agency_name,
        first_week=first.week_start,
        last_week=weeks[-1].week_start,
        received=sum(w.received for w in weeks),
        overdue=sum(w.overdue for w in weeks),
        counts=_chart("counts", weeks, counts_top, counts),
        receipt=_duration_chart("receipt", weeks, lambda w: w.median_receipt_s),
        answer=_duration_chart("answer", weeks, lambda w: w.median_answer_s),
    )


def _duration_chart(
    kind: str, weeks: list[AgencyWeekOut], value: Callable[[AgencyWeekOut], float | None]
) -> Chart:
    values = [value(w) for w in weeks]
    top = max((v for v in values if v is not None), default=0.0)
    bars = [
        _bar(kind, index, v, top, w)
        for index, (w, v) in enumerate(zip(weeks, values, strict=True))
        if v is not None  # no answer that week: no bar, and no zero that would read as instant
    ]
    return _chart(kind, weeks, top, bars)


def _bar(kind: str, index: int, value: float, top: float, week: AgencyWeekOut) -> Bar:
    height = 0.0 if top <= 0 else PLOT_H * value / top
    x = LEFT + index * (BAR + GAP)
    y = TOP + PLOT_H - height
    return Bar(kind, x, round(y, 1), BAR, round(height, 1), value, week.week_start, week.week)


def _chart(kind: str, weeks: list[AgencyWeekOut], top: float, bars: list[Bar]) -> Chart:
    base = TOP + PLOT_H
    ticks = [
        Tick(LEFT + i * (BAR + GAP), base + 16, w.week_start)
        for i, w in enumerate(weeks)
        if i % TICK_EVERY == 0
    ]
    width = LEFT + len(weeks) * (BAR + GAP) + 8
    return Chart(kind, width, base + BOTTOM, base, top, bars, ticks)


def _nice(top: int) -> int:
    """A round scale maximum at or above `top` (at least 1): 1, 2, 5, 10, 20, 50..."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= top:
                return step * factor
        step *= 10
