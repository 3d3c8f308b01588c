"""Identifiers: agency slugs, random message and thread ids, key ids.

Agency ids are short public slugs (they appear in routing keys). Message and thread ids are
random UUIDv4 strings: they must never be derived from a case number or a person.
"""

import re
import uuid
from typing import Annotated

from pydantic import StringConstraints

AGENCY_ID_PATTERN = r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$"
UUID4_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
KEY_ID_PATTERN = r"^[0-9a-f]{64}$"

AgencyId = Annotated[str, StringConstraints(pattern=AGENCY_ID_PATTERN, max_length=32)]
MessageId = Annotated[str, StringConstraints(pattern=UUID4_PATTERN, max_length=36)]
ThreadId = Annotated[str, StringConstraints(pattern=UUID4_PATTERN, max_length=36)]
KeyId = Annotated[str, StringConstraints(pattern=KEY_ID_PATTERN, max_length=64)]
"""Lower-case hex SHA-256 of the raw public key bytes."""


def new_message_id() -> str:
    """A fresh random message id (UUIDv4, 122 random bits)."""
    return str(uuid.uuid4())


def new_thread_id() -> str:
    """A fresh random thread id: one per referral, transfer or consent exchange."""
    return str(uuid.uuid4())


def well_formed_ids(*, message_id: str | None, sender: str | None) -> dict[str, str]:
    """The ids of a refused envelope that have the right shape, to repeat in an alert.

    A refused envelope's ids are untrusted: whatever does not parse is left out, not echoed.
    """
    found: dict[str, str] = {}
    if message_id is not None and re.fullmatch(UUID4_PATTERN.strip("^$"), message_id):
        found["message_id"] = message_id
    if sender is not None and re.fullmatch(AGENCY_ID_PATTERN.strip("^$"), sender):
        found["sender"] = sender
    return found
