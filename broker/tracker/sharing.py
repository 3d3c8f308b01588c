"""Sharing without consent: every referral or transfer that declared a lawful basis instead
of citing a consent is flagged to every coordinator (pure).

The sending gateway lets such a message go only when a supervisor authorised it
(`broker.gateway.consent_rules`); the tracker cannot see the body, so it relies on the
signed clear header, whose `basis` the sealer copies from the body and the recipient checks
against it (`envelope.open`). Practice requires every sharing decision without consent to be
recorded with its reason and reviewed: the flag is that review's prompt, one per message,
raised when the tracker first admits it to its thread.
"""

from collections.abc import Sequence

from broker.tracker.escalation import PlannedAlert, message_alert
from broker.tracker.events import TrackedEvent
from schemas.alert import AlertLevel, AlertReason


def flagged(events: Sequence[TrackedEvent]) -> list[TrackedEvent]:
    """The events of `events` that shared case data without citing a consent."""
    return [event for event in events if event.basis is not None]


def sharing_alert(event: TrackedEvent, raised_at: int) -> PlannedAlert:
    """The coordinators' alert that `event` shared case data under a lawful basis."""
    basis = None if event.basis is None else event.basis.value
    reason = AlertReason.SHARED_WITHOUT_CONSENT
    return message_alert(event, AlertLevel.FLAGGED, reason, raised_at, detail=basis)
