"""The tracker's bookkeeping: events become thread rows, due alerts become outbox records.

The one place where ingest and sweep are decided (with `schedule` and the fold); the store
under it only keeps rows, in one transaction per call (per chunk for a sweep). Imports no
I/O library: it runs the same over the SQL and the in-memory store.
"""

from collections.abc import Sequence

from broker.tracker.events import TrackedEvent
from broker.tracker.policy import SlaPolicy
from broker.tracker.ports import TrackerStore
from broker.tracker.records import RecordedAlert
from broker.tracker.schedule import folded_thread, plan_sweep


class TrackerLedger:
    """Ingests events and sweeps for due alerts over `store`, with one SLA policy and the
    coordinators' agency ids (the addressees of alerts for "the coordinators")."""

    def __init__(self, store: TrackerStore, policy: SlaPolicy, coordinators: Sequence[str]):
        self.store = store
        self._policy = policy
        self.coordinators = tuple(coordinators)

    async def ingest(self, events: Sequence[TrackedEvent], received_at: float) -> list[bool]:
        """Store new events and refold their threads, in ONE transaction.

        Returns True where the event was new (a duplicate message id changes nothing; of
        repeats within one batch only the first is True). A thread whose new state is
        declined-transfer or declined-emergency gets next_check_at = now-ish (received_at or
        the refusal's issue time, whichever is earlier) so the next sweep raises its alert.
        """
        received_at = float(received_at)
        first = first_of_each(events)
        if not first:
            return []
        async with self.store.writing("ingest") as writes:
            new_ids = await writes.add_events([events[i] for i in first.values()], received_at)
            touched = sorted({event.thread_id for event in events if event.message_id in new_ids})
            if touched:
                by_thread = await writes.events_for_update(touched)
                recorded = await writes.recorded_keys(touched)
                policy = self._policy
                await writes.save_threads(
                    [
                        folded_thread(tid, by_thread[tid], policy, recorded[tid], received_at)
                        for tid in touched
                    ]
                )
        return [
            first[event.message_id] == index and event.message_id in new_ids
            for index, event in enumerate(events)
        ]

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
