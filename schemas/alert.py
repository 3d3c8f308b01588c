"""The alert body: the tracker tells an agency or coordinator that a thread needs attention.

Alerts go to coordinators, who never read case content: an alert holds ids, categories and
times only, never a name, narrative or free text.
"""

from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from schemas.common import AlertId, Wire
from schemas.header import UnixSeconds
from schemas.ids import AgencyId, MessageId, ThreadId, well_formed_ids
from schemas.kinds import MessageKind


class AlertLevel(StrEnum):
    REMINDER = "reminder"  # a deadline is near or just passed
    ESCALATION = "escalation"  # a deadline passed and the reminder went unanswered
    REFUSED = "refused"  # the tracker refused an envelope (bad signature, unknown key...)
    DECLINED = "declined"  # a recipient declined something that must not be dropped
    MISSED = "missed"  # the tracker missed messages: what it shows may be incomplete
    CAPACITY = "capacity"  # a bounded queue is near full: act before it stops taking messages
    FLAGGED = "flagged"  # nothing is late or wrong, but a person must look at it


class AlertReason(StrEnum):
    DELIVERY_OVERDUE = "delivery_overdue"  # no automatic `received` by the deadline
    RESPONSE_OVERDUE = "response_overdue"  # no accept/decline by respond_by
    COMPLETION_OVERDUE = "completion_overdue"  # accepted but not completed in time
    DECLINED_REFERRAL = "declined_referral"
    DECLINED_TRANSFER = "declined_transfer"  # the case is in limbo until someone takes it
    DECLINED_EMERGENCY = "declined_emergency"  # an emergency referral was declined
    REFUSED_ENVELOPE = "refused_envelope"
    DEAD_LETTERED = "dead_lettered"
    # A member agency's valid message carried the id of a thread it is not a party to: the
    # tracker kept it out of that thread. `sender` names that agency (signed, and the user
    # that published it).
    NOT_A_PARTY = "not_a_party"
    # A service refused a new agency directory file (older serial, bad signature...): the
    # directory in force stays. `detail` is the refusal's slug.
    DIRECTORY_REFUSED = "directory_refused"
    # RabbitMQ dropped messages from the tracker's tap and its overflow before the tracker
    # read them; the alert names the latest one it kept as evidence, when its header verifies.
    TAP_GAP = "tap_gap"
    # The dead-letter queue holds at least DEAD_LETTER_NEAR_FULL of its bound: when full, new
    # dead letters wait in the queues they died in. `queue_depth` and `queue_bound` say how full.
    DEAD_LETTERS_NEAR_FULL = "dead_letters_near_full"
    # A referral or transfer went under a lawful basis, not a consent: every such sharing is
    # reviewed. `detail` is the basis (a category), the ids say which message.
    SHARED_WITHOUT_CONSENT = "shared_without_consent"


OVERDUE_REASONS = frozenset(
    {AlertReason.DELIVERY_OVERDUE, AlertReason.RESPONSE_OVERDUE, AlertReason.COMPLETION_OVERDUE}
)


class Alert(Wire):
    """One alert about a thread or message, addressed to `agency`.

    Times are Unix seconds like the header. Overdue reasons carry `deadline` and
    `overdue_seconds`.
    """

    alert_id: AlertId
    level: AlertLevel
    reason: AlertReason
    agency: AgencyId
    thread_id: ThreadId | None = None
    message_id: MessageId | None = None
    kind: MessageKind | None = None
    sender: AgencyId | None = None
    recipient: AgencyId | None = None
    raised_at: UnixSeconds
    deadline: UnixSeconds | None = None
    overdue_seconds: Annotated[int, Field(ge=0, lt=2**40)] | None = None
    # The refusal category of a refused envelope (e.g. bad_signature): a slug, never text.
    detail: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", max_length=64)] | None = None
    # A capacity alert's figures: messages in the queue, and the most it keeps.
    queue_depth: Annotated[int, Field(ge=0, lt=2**40)] | None = None
    queue_bound: Annotated[int, Field(ge=1, lt=2**40)] | None = None

    @model_validator(mode="after")
    def _overdue_has_times(self) -> "Alert":
        if self.reason in OVERDUE_REASONS and (
            self.deadline is None or self.overdue_seconds is None
        ):
            raise ValueError("an overdue alert carries deadline and overdue_seconds")
        return self


def refused_envelope_alert(
    *,
    alert_id: str,
    agency: str,
    reason: str,
    message_id: str | None,
    sender: str | None,
    raised_at: int,
    recipient: str | None = None,
) -> Alert:
    """The alert announcing a refused envelope, addressed to `agency`.

    `reason` is the refusal's slug. The ids come from a refused, so untrusted, envelope:
    only well-formed ones are repeated; anything else is left out, never echoed.
    """
    ids = well_formed_ids(message_id=message_id, sender=sender)
    return Alert(
        alert_id=alert_id,
        level=AlertLevel.REFUSED,
        reason=AlertReason.REFUSED_ENVELOPE,
        agency=agency,
        recipient=recipient,
        raised_at=raised_at,
        detail=reason,
        message_id=ids.get("message_id"),
        sender=ids.get("sender"),
    )


def directory_refused_alert(*, alert_id: str, agency: str, reason: str, raised_at: int) -> Alert:
    """The alert that a service refused a new directory file (`reason`: the refusal's slug)."""
    return Alert(
        alert_id=alert_id,
        level=AlertLevel.REFUSED,
        reason=AlertReason.DIRECTORY_REFUSED,
        agency=agency,
        raised_at=raised_at,
        detail=reason,
    )


def tap_gap_alert(
    *,
    alert_id: str,
    agency: str,
    raised_at: int,
    message_id: str | None = None,
    thread_id: str | None = None,
    kind: MessageKind | None = None,
    sender: str | None = None,
    recipient: str | None = None,
) -> Alert:
    """The alert announcing that the tracker missed messages, addressed to `agency`.

    The ids are those of the latest missed message, and only when its header verified.
    """
    return Alert(
        alert_id=alert_id,
        level=AlertLevel.MISSED,
        reason=AlertReason.TAP_GAP,
        agency=agency,
        raised_at=raised_at,
        message_id=message_id,
        thread_id=thread_id,
        kind=kind,
        sender=sender,
        recipient=recipient,
    )


def dead_letters_near_full_alert(
    *, alert_id: str, agency: str, raised_at: int, depth: int, bound: int
) -> Alert:
    """The alert that the dead-letter queue holds `depth` of its `bound` letters."""
    return Alert(
        alert_id=alert_id,
        level=AlertLevel.CAPACITY,
        reason=AlertReason.DEAD_LETTERS_NEAR_FULL,
        agency=agency,
        raised_at=raised_at,
        queue_depth=depth,
        queue_bound=bound,
    )
