"""The tracker's bookkeeping: events become thread rows, due alerts become outbox records.

The one place where ingest and sweep are decided (with `parties`, `schedule` and the fold);
the store under it only keeps rows, in one transaction per call (per chunk for a sweep).
Imports no I/O library: it runs the same over the SQL and the in-memory store.
"""

from collections.abc import Mapping, Sequence

from broker.logs import bound_ids, get_logger
from broker.tracker.events import TrackedEvent
from broker.tracker.parties import NOT_A_PARTY, ThreadClaim, admit, refusal_alert
from broker.tracker.policy import SlaPolicy
from broker.tracker.ports import TrackerStore, TrackerWrites
from broker.tracker.records import RecordedAlert
from broker.tracker.schedule import folded_thread, outbox_alerts, plan_sweep
from broker.tracker.sharing import flagged, sharing_alert

log = get_logger(__name__)


class TrackerLedger:
    """Ingests events and sweeps for due alerts over `store`, with one SLA policy and the
    coordinators' agency ids (the addressees of alerts for "the coordinators")."""

    def __init__(self, store: TrackerStore, policy: SlaPolicy, coordinators: Sequence[str]):
        self.store = store
        self._policy = policy
        self.coordinators = tuple(coordinators)

    async def ingest(self, events: Sequence[TrackedEvent], received_at: float) -> list[bool]:
        """Admit, store and refold new events in ONE transaction, in their order of arrival.

        Returns True where the event was new and admitted to its thread (a duplicate message
        id changes nothing; of repeats within one batch only the first is True). An event
        whose sender is not a party of its thread (`broker.tracker.parties`) is False: kept
        as a refusal, not folded, with a `not_a_party` alert to every coordinator recorded
        in the same transaction. An admitted referral or transfer that declared a lawful
        basis instead of a consent raises a `shared_without_consent` alert to every
        coordinator, recorded in the same transaction, once per message. A thread whose new
        state is declined-transfer or declined-emergency gets next_check_at = now-ish
        (received_at or the refusal's issue time, whichever is earlier) so the next sweep
        raises its alert.
        """
        received_at = float(received_at)
        first = first_of_each(events)
        if not first:
            return []
        unique = [events[i] for i in first.values()]  # arrival order: the order given
        async with self.store.writing("ingest") as writes:
            # The threads first: a concurrent ingest of one waits here, and every read below
            # sees what it stored (its events, refusals and parties).
            claims = await writes.claims_for_update(sorted({e.thread_id for e in unique}))
            known = await writes.known_messages([event.message_id for event in unique])
            admission = admit(claims, [e for e in unique if e.message_id not in known])
            new_ids = await writes.add_events(admission.admitted, received_at)
            if admission.refused:
                await self._refuse(writes, admission.refused, received_at)
            stored = [event for event in admission.admitted if event.message_id in new_ids]
            shared = flagged(stored)
            if shared:
                planned = [sharing_alert(event, int(received_at)) for event in shared]
                await writes.add_alerts(outbox_alerts(planned, self.coordinators))
            touched = sorted({event.thread_id for event in stored} | admission.claims.keys())
            if touched:
                by_thread = await self._events_of(writes, touched, claims, stored)
                recorded = await writes.recorded_keys(touched)
                claims |= admission.claims  # saved with the folded rows: one write a thread
                policy = self._policy
                folded = [
                    folded_thread(t, by_thread[t], policy, recorded[t], received_at, claims[t])
                    for t in touched
                ]
                await writes.save_threads(folded)
        return [
            first[event.message_id] == index and event.message_id in new_ids
            for index, event in enumerate(events)
        ]

    @staticmethod
    async def _events_of(
        writes: TrackerWrites,
        thread_ids: Sequence[str],
        claims: Mapping[str, ThreadClaim],
        stored: Sequence[TrackedEvent],
    ) -> dict[str, list[TrackedEvent]]:
        """Every event of these threads: read back for threads stored before; a thread with
        an empty claim had no event stored, so its events are the ones `stored` now."""
        by_thread = await writes.events_of([tid for tid in thread_ids if claims[tid].parties])
        for event in stored:
            if not claims[event.thread_id].parties:
                by_thread.setdefault(event.thread_id, []).append(event)
        return {tid: by_thread.get(tid, []) for tid in thread_ids}

    async def _refuse(
        self, writes: TrackerWrites, refused: Sequence[TrackedEvent], received_at: float
    ) -> None:
        await writes.add_refusals(refused, NOT_A_PARTY, received_at)
        planned = [refusal_alert(event, int(received_at)) for event in refused]
        await writes.add_alerts(outbox_alerts(planned, self.coordinators))
        for event in refused:
            with bound_ids(message_id=event.message_id, thread_id=event.thread_id):
                log.warning(
                    "message refused for its thread", reason=NOT_A_PARTY, sender=event.sender
                )

    async def sweep(self, now: int, *, limit: int = 10_000) -> list[RecordedAlert]:
        """Record every alert due at `now` exactly once; return those newly recorded.

        Works through the due threads `limit` at a time, one transaction each; each alert is
        recorded in the transaction that moves its thread's next check, and alert keys are
        unique, so two trackers sweeping one database never record one twice. One record per
        addressee; key = planned key + ">" + addressee agency. Raises NoCoordinators (nothing
        of that chunk recorded) when an alert is for the coordinators and none is configured.
        """
        recorded: list[RecordedAlert] = []
        # Each chunk records every rung due by `now`, which moves its threads' next check
        # past `now` (or clears it): the due set shrinks chunk by chunk, so the loop ends.
        while True:
            async with self.store.writing("sweep") as writes:
                due = await writes.due_threads(now, limit)
                if not due:
                    return recorded
                keys = await writes.recorded_keys([thread.row.state.thread_id for thread in due])
                plan = plan_sweep(due, keys, self._policy, now, self.coordinators)
                # Only what this transaction recorded: another tracker's are its own to report.
                new_keys = await writes.add_alerts(plan.owed) if plan.owed else set()
                if plan.moves:
                    await writes.move_next_checks(plan.moves)
            recorded += [record for record, _ in plan.owed if record.key in new_keys]
            if len(due) < limit:
                return recorded


def first_of_each(events: Sequence[TrackedEvent]) -> dict[str, int]:
    """The index of the first event of each message id in `events`."""
    first: dict[str, int] = {}
    for index, event in enumerate(events):
        first.setdefault(event.message_id, index)
    return first
