"""The consent cache: what a send reads instead of the store, bounded, bodies left out."""

from dataclasses import replace

from broker.gateway.consent_cache import ConsentCache
from broker.gateway.consent_register import record_of
from broker.gateway.records import ConsentRecord
from tests.consents import wide_consent

IDS = [f"00000000-0000-4000-8000-00000000000{n}" for n in range(1, 4)]


def record(consent_id: str) -> ConsentRecord:
    return record_of(wide_consent(consent_id), sealed=b"sealed body", by="ana", at=1.0)


def test_entries_are_kept_without_their_body_and_replaced_on_save() -> None:
    cache = ConsentCache()
    assert cache.get(IDS[0]) is None
    cache.put(record(IDS[0]))
    assert cache.get(IDS[0]) == replace(record(IDS[0]), sealed=b"")
    withdrawn = replace(record(IDS[0]), status="withdrawn", withdrawn_at=2.0)
    cache.put(withdrawn)
    found = cache.get(IDS[0])
    assert found is not None
    assert found.status == "withdrawn"


def test_the_least_recently_used_entry_leaves_first() -> None:
    cache = ConsentCache(capacity=2)
    cache.put(record(IDS[0]))
    cache.put(record(IDS[1]))
    assert cache.get(IDS[0]) is not None  # now the most recent
    cache.put(record(IDS[2]))
    assert cache.get(IDS[1]) is None
    assert cache.get(IDS[0]) is not None
    assert cache.get(IDS[2]) is not None
