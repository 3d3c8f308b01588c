"""The consent register's entries as the sending rules read them, kept in memory.

Every referral and transfer looks its consent up before it is sealed; on SQLite that read is
about 0.4 ms, most of what a whole send costs at 2,000 messages/s. This gateway is the only
writer of its register (it records and withdraws through `Gateway`), so an entry read once
stays right until this gateway changes it, and it updates the cache as it saves. Misses are
not kept: an unrecorded consent refuses the send, which is rare and may be recorded next.
Entries are kept without their sealed body, at most `capacity` of them, least recent out.
"""

from collections import OrderedDict
from dataclasses import replace

from broker.gateway.records import ConsentRecord

CAPACITY = 10_000


class ConsentCache:
    """Recently used consents by id (sealed bodies dropped); `put` after every save."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._entries: OrderedDict[str, ConsentRecord] = OrderedDict()
        self._capacity = capacity

    def get(self, consent_id: str) -> ConsentRecord | None:
        """The cached entry, or None when not cached (ask the store then)."""
        found = self._entries.get(consent_id)
        if found is not None:
            self._entries.move_to_end(consent_id)
        return found

    def put(self, record: ConsentRecord) -> None:
        """Keep `record` as the entry of its consent id."""
        self._entries[record.consent_id] = replace(record, sealed=b"")
        self._entries.move_to_end(record.consent_id)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
