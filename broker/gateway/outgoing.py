"""Turn a body into an outbox entry: seal it for its recipient and name its route. Pure."""

from dataclasses import dataclass

from pydantic import BaseModel

from broker.envelope import AgencyKeys, TrustedDirectory, seal
from broker.gateway.records import OutboxMessage
from broker.topology.names import routing_key
from schemas.bodies import header_in_reply_to, header_status, header_urgency
from schemas.common import SharingBasis
from schemas.ids import new_message_id
from schemas.kinds import MessageKind, Suite


@dataclass(frozen=True)
class Sealer:
    """Seals bodies from this agency; the directory is the verified one the gateway loaded."""

    keys: AgencyKeys
    directory: TrustedDirectory
    suite: Suite = Suite.MLKEM768_X25519

    def outbox_entry(
        self,
        body: BaseModel,
        *,
        kind: MessageKind,
        recipient: str,
        thread_id: str,
        now: float,
        respond_by: int | None = None,
        message_id: str | None = None,
    ) -> OutboxMessage:
        """Seal `body` for `recipient` (as `message_id`, else a new id); raises the envelope
        errors of `seal`."""
        message_id = message_id or new_message_id()
        envelope = seal(
            body,
            kind=kind,
            sender=self.keys,
            recipient=recipient,
            directory=self.directory,
            now=int(now),
            thread_id=thread_id,
            message_id=message_id,
            respond_by=respond_by,
            suite=self.suite,
        )
        urgency = header_urgency(kind, body)
        return OutboxMessage(
            message_id=message_id,
            thread_id=thread_id,
            kind=kind.value,
            recipient=recipient,
            routing_key=routing_key(kind, self.keys.agency_id, recipient),
            envelope=envelope,
            created_at=now,
            in_reply_to=header_in_reply_to(kind, body),
            status=header_status(kind, body),
            urgency=urgency.value if urgency is not None else None,
            next_attempt_at=now,
            consent_ref=body.consent_ref if isinstance(body, SharingBasis) else None,
        )
