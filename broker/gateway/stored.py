"""Open a stored inbox entry for a reader: the one place a received body is decrypted again.

Pure: the entry and the agency's keys in, the body out. The inbox keeps envelopes sealed
(`records.InboxMessage`); the signature, the sender's key and the validity window were
checked when the message arrived (`incoming.decide`), and are not checked again
(`broker.envelope.reopen_stored` says why).
"""

from pydantic import BaseModel

from broker.envelope import AgencyKeys, reopen_stored
from broker.errors import CaselinkError
from broker.gateway.records import InboxMessage


class BodyErased(CaselinkError):
    """The body was erased (retention or on request); ids, kind, state and times remain."""

    reason = "body_erased"


class StoredEnvelopeMismatch(CaselinkError):
    """The stored envelope's header names another message than its row: the store was altered."""

    reason = "stored_envelope_mismatch"


def open_stored(message: InboxMessage, keys: AgencyKeys) -> BaseModel:
    """The decrypted body of `message`: hand it to the reader, never to a log.

    Raises BodyErased, StoredEnvelopeMismatch, and the EnvelopeError of `reopen_stored`.
    """
    if message.envelope is None:
        raise BodyErased(f"the body of message {message.message_id} has been erased")
    opened = reopen_stored(message.envelope, keys=keys)
    header = opened.header
    stored = (message.message_id, message.thread_id, message.kind, message.sender)
    if (header.message_id, header.thread_id, header.kind.value, header.sender) != stored:
        # Rows are only written from the envelope they hold: an envelope moved between rows
        # would show one message's body under another's sender and thread.
        raise StoredEnvelopeMismatch(f"message {message.message_id} holds another's envelope")
    return opened.body
