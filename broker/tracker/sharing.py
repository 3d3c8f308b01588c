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

from broker.tracker.escalation import Audience, PlannedAlert
from broker.tracker.events import TrackedEvent
from schemas.alert import AlertLevel, AlertReason


def flagged(events: Sequence[TrackedEvent]) -> list[TrackedEvent]:
    """The events of `events` that shared case data without citing a consent."""
    return [event for event in events if event.basis is not None]


def sharing_alert(event: TrackedEvent, raised_at: int) -> PlannedAlert:
    """The coordinators' alert that `event` shared case data under a lawful basis."""
    level, reason = AlertLevel.FLAGGED, AlertReason.SHARED_WITHOUT_CONSENT
    audience = Audience.COORDINATORS
    return PlannedAlert(
        # Keyed by the message: a redelivery, or a second tracker, records nothing new.
        key=f"{event.thread_id}:{event.message_id}:{reason}:{level}:{audience}",
        level=level,
        reason=reason,
        audience=audience,
        agency=None,
        thread_id=event.thread_id,
        kind=event.kind,
        sender=event.sender,
        recipient=event.recipient,
        message_id=event.message_id,
        raised_at=raised_at,
        detail=None if event.basis is None else event.basis.value,
    )
