"""The gateway's figures for Prometheus: counts only, never an id, a name or a body.

The relay and the inbox bump plain integers on their hot paths (no lock, no allocation, no
label lookup per message); a prometheus-client collector reads them when /metrics is
scraped, in a registry of this gateway's own (not the process-wide default one, so two
gateways in one process, as in the tests, never mix their counts).
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "GatewayCounts", "GatewayMetrics"]


@dataclass(slots=True)
class GatewayCounts:
    """Running totals since the gateway started; bumped with `+= 1` where things happen."""

    # Outbox publishes: confirmed; refused by the broker (403, 404, 406, login); failed
    # otherwise (broker unavailable, unroutable, nacked).
    published: int = 0
    publish_refused: int = 0
    publish_failed: int = 0
    # Deliveries from this agency's queue.
    stored: int = 0
    duplicates: int = 0
    refused: int = 0
    requeued: int = 0
    # Arrival events (gateway/arrivals.py): confirmed by the broker; given up (the buffer
    # was full, or the gateway stopped with them unsent).
    arrivals_announced: int = 0
    arrivals_dropped: int = 0
    # Refused envelopes by reason slug (a fixed set: the envelope errors' `reason`s).
    refusals: dict[str, int] = field(default_factory=dict)

    def refusal(self, reason: str) -> None:
        self.refused += 1
        self.refusals[reason] = self.refusals.get(reason, 0) + 1


class GatewayMetrics:
    """One gateway's counts and the registry that exposes them."""

    def __init__(self) -> None:
        self.counts = GatewayCounts()
        # Read at scrape time; set by `exposition` just before the registry collects.
        self._outbox_pending = 0
        self._subscribed = False
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(self)

    def exposition(self, *, outbox_pending: int, subscribed: bool) -> bytes:
        """The Prometheus text of every figure, with these two read just now."""
        self._outbox_pending, self._subscribed = outbox_pending, subscribed
        return generate_latest(self.registry)

    def collect(self) -> Iterator[Metric]:
        """prometheus-client's Collector: the figures as metric families."""
        c = self.counts
        publishes = CounterMetricFamily(
            "caselink_gateway_publishes",
            "Outbox publishes: confirmed (ok), refused by the broker, failed otherwise.",
            labels=["outcome"],
        )
        for outcome, count in (
            ("ok", c.published),
            ("refused", c.publish_refused),
            ("failed", c.publish_failed),
        ):
            publishes.add_metric([outcome], count)
        yield publishes
        deliveries = CounterMetricFamily(
            "caselink_gateway_deliveries",
            "Deliveries from the agency's queue: stored, duplicate (already stored), "
            "refused (dead-lettered), requeued.",
            labels=["outcome"],
        )
        for outcome, count in (
            ("stored", c.stored),
            ("duplicate", c.duplicates),
            ("refused", c.refused),
            ("requeued", c.requeued),
        ):
            deliveries.add_metric([outcome], count)
        yield deliveries
        refusals = CounterMetricFamily(
            "caselink_gateway_refusals",
            "Refused envelopes by reason.",
            labels=["reason"],
        )
        for reason, count in sorted(c.refusals.items()):
            refusals.add_metric([reason], count)
        yield refusals
        arrivals = CounterMetricFamily(
            "caselink_gateway_arrival_events",
            "Arrival events for the notifier: announced (confirmed), dropped (never sent).",
            labels=["outcome"],
        )
        arrivals.add_metric(["announced"], c.arrivals_announced)
        arrivals.add_metric(["dropped"], c.arrivals_dropped)
        yield arrivals
        yield GaugeMetricFamily(
            "caselink_gateway_outbox_pending",
            "Outbox entries not yet confirmed by the broker.",
            value=self._outbox_pending,
        )
        yield GaugeMetricFamily(
            "caselink_gateway_consumer_subscribed",
            "1 while the consumer of the agency's queue is subscribed, else 0.",
            value=1 if self._subscribed else 0,
        )
